/**
 * API latency and errors over the last hours, for the console: the server's request
 * counters sampled once a minute into a ring, each point the minute's requests, 5xx share
 * and p50/p95 (Prometheus's histogram_quantile on the bucket increase). A team without
 * Prometheus still sees the trend; with it, Grafana shows the same from the scrapes.
 */
import { HTTP_BUCKETS, type HttpRequestMetrics } from '../../http/metrics.js';
import { histogramQuantile } from '../alerts/evaluator.js';

export interface HttpPoint {
  at: string;
  requests: number;
  errorRatio: number | null;
  p50: number | null;
  p95: number | null;
}

type Snapshot = ReturnType<HttpRequestMetrics['snapshot']> & { at: number };

/** Six hours of one-minute points. */
const KEEP = 360;

export class HttpHistory {
  readonly #points: HttpPoint[] = [];
  #last: Snapshot;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly http: Pick<HttpRequestMetrics, 'snapshot'>,
    private readonly now: () => number = Date.now,
  ) {
    this.#last = { ...http.snapshot(), at: now() };
  }

  start(intervalMs = 60_000): void {
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Close the current interval as a point. */
  sample(): HttpPoint {
    const point = this.#pointSince(this.#last);
    this.#last = { ...this.http.snapshot(), at: this.now() };
    this.#points.push(point);
    if (this.#points.length > KEEP) this.#points.shift();
    return point;
  }

  /** The recorded points, and the interval still open as the last one. */
  series(): HttpPoint[] {
    return [...this.#points, this.#pointSince(this.#last)];
  }

  #pointSince(from: Snapshot): HttpPoint {
    const current = this.http.snapshot();
    const requests = current.total - from.total;
    const buckets = current.buckets.map((count, i) => count - (from.buckets[i] ?? 0));
    const quantile = (q: number) => (requests > 0 ? (histogramQuantile(q, buckets, HTTP_BUCKETS) ?? null) : null);
    return {
      at: new Date(this.now()).toISOString(),
      requests,
      errorRatio: requests > 0 ? (current.errors - from.errors) / requests : null,
      p50: quantile(0.5),
      p95: quantile(0.95),
    };
  }
}
