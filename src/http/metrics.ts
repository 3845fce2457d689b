/**
 * RED metrics for every route and the `/metrics` scrape endpoint.
 *
 * Each app owns its registry (no prom-client globals), so two servers in one test
 * process never share counters. Features add their own metrics to `app.metrics.registry`.
 *
 * The per-request counters are plain numbers in Maps, turned into Prometheus series
 * only when scraped: prom-client's labelled `inc`/`observe` hash and validate labels
 * on every call, which measured as the largest cost of a cheap request (bench/http.ts).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { registry: Registry; http: HttpRequestMetrics };
  }
}

/** Latency buckets around the runbook's 1 s SlowApi threshold. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Requests that matched no route share one label, so scanners cannot blow up cardinality. */
export const UNMATCHED_ROUTE = 'unmatched';

interface CountSeries {
  labels: { method: string; route: string; status: string };
  count: number;
}

interface LatencySeries {
  labels: { method: string; route: string };
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** One route and method's series: its latency histogram and a count per status. */
interface MethodSeries {
  latency: LatencySeries;
  counts: Map<number, CountSeries>;
}

/** Records one route's requests (telemetry makes one per route as it is registered). */
export type RouteRecorder = (method: string, status: number, seconds: number) => void;

/** `http_requests_total` and `http_request_duration_seconds`, recorded without allocation per request. */
export class HttpRequestMetrics {
  readonly #counts: CountSeries[] = [];
  readonly #latency: LatencySeries[] = [];
  readonly #routes = new Map<string, RouteRecorder>();

  /**
   * The recorder of one route template: its series are found by method and status in
   * small maps, with no key built per request.
   */
  route(route: string): RouteRecorder {
    let recorder = this.#routes.get(route);
    if (recorder) return recorder;
    const byMethod = new Map<string, MethodSeries>();
    recorder = (method, status, seconds) => {
      let series = byMethod.get(method);
      if (!series) {
        const latency = { labels: { method, route }, buckets: new Array(HTTP_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
        this.#latency.push(latency);
        series = { latency, counts: new Map() };
        byMethod.set(method, series);
      }
      let count = series.counts.get(status);
      if (!count) {
        count = { labels: { method, route, status: String(status) }, count: 0 };
        this.#counts.push(count);
        series.counts.set(status, count);
      }
      count.count++;
      const { latency } = series;
      let bucket = 0;
      while (bucket < HTTP_BUCKETS.length && seconds > (HTTP_BUCKETS[bucket] as number)) bucket++;
      latency.buckets[bucket] = (latency.buckets[bucket] as number) + 1;
      latency.sum += seconds;
      latency.count++;
    };
    this.#routes.set(route, recorder);
    return recorder;
  }

  record(method: string, route: string, status: number, seconds: number): void {
    this.route(route)(method, status, seconds);
  }

  /** Total requests recorded with a status matching `status` (tests, and the built-in alert evaluator). */
  total(filter: (labels: CountSeries['labels']) => boolean = () => true): number {
    let total = 0;
    for (const series of this.#counts) if (filter(series.labels)) total += series.count;
    return total;
  }

  /** Totals across routes now: requests, 5xx answers, cumulative latency buckets (+Inf last). */
  snapshot(): { total: number; errors: number; buckets: number[] } {
    let total = 0;
    let errors = 0;
    for (const series of this.#counts) {
      total += series.count;
      if (series.labels.status.startsWith('5')) errors += series.count;
    }
    const buckets = new Array<number>(HTTP_BUCKETS.length + 1).fill(0);
    for (const series of this.#latency) {
      let cumulative = 0;
      series.buckets.forEach((count, i) => {
        cumulative += count;
        buckets[i] = (buckets[i] as number) + cumulative;
      });
    }
    return { total, errors, buckets };
  }

  /**
   * Per route since this process started: requests, and the latency quantiles read from
   * the histogram (each the upper edge of the bucket holding it, as Prometheus'
   * histogram_quantile would bound it; Infinity past the last bucket).
   */
  routeLatencies(
    quantiles: number[] = [0.5, 0.95],
  ): Array<{ method: string; route: string; count: number; quantiles: number[] }> {
    return this.#latency.map((series) => ({
      method: series.labels.method,
      route: series.labels.route,
      count: series.count,
      quantiles: quantiles.map((q) => {
        let cumulative = 0;
        for (let i = 0; i < series.buckets.length; i++) {
          cumulative += series.buckets[i] as number;
          if (cumulative >= q * series.count) return HTTP_BUCKETS[i] ?? Number.POSITIVE_INFINITY;
        }
        return Number.POSITIVE_INFINITY;
      }),
    }));
  }

  /** prom-client metric objects reading these counters at scrape time. */
  collectors(): Metric[] {
    const counter = {
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        name: 'http_requests_total',
        help: 'HTTP requests answered, by method, route template and status code.',
        type: 'counter',
        aggregator: 'sum',
        values: this.#counts.map((s): MetricValue => ({ labels: s.labels, value: s.count })),
      }),
    };
    const histogram = {
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency in seconds, by method and route template.',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const values: MetricValue[] = [];
        for (const series of this.#latency) {
          let cumulative = 0;
          HTTP_BUCKETS.forEach((le, i) => {
            cumulative += series.buckets[i] as number;
            values.push({
              metricName: 'http_request_duration_seconds_bucket',
              labels: { le, ...series.labels },
              value: cumulative,
            });
          });
          values.push({
            metricName: 'http_request_duration_seconds_bucket',
            labels: { le: '+Inf', ...series.labels },
            value: series.count,
          });
          values.push({ metricName: 'http_request_duration_seconds_sum', labels: series.labels, value: series.sum });
          values.push({ metricName: 'http_request_duration_seconds_count', labels: series.labels, value: series.count });
        }
        return {
          name: 'http_request_duration_seconds',
          help: 'HTTP request latency in seconds, by method and route template.',
          type: 'histogram',
          aggregator: 'sum',
          values,
        };
      },
    };
    return [counter, histogram] as unknown as Metric[];
  }
}

/** One series of a gauge: its labels and value (null: "no data", written as NaN). */
export interface GaugeSample {
  labels?: Record<string, string>;
  value: number | null;
}

/**
 * A gauge read at scrape time from a source — a report, a health probe, a log — the one
 * way every such gauge is defined. `read` resolves with the samples: none while there is
 * nothing to say (no series, where prom-client's default 0 would mean "last backup in
 * 1970" or "0% cache hits" to an alert rule), `value: null` for "no data" (NaN). A read
 * that fails keeps the previous samples (a scrape during a database outage still shows
 * the last known business numbers) and is logged once until the source answers again.
 */
export function sourcedGauge(
  registry: Registry,
  gauge: { name: string; help: string; onError?: (error: Error) => void },
  read: () => Promise<GaugeSample[]>,
): void {
  const { name, help } = gauge;
  let last: GaugeSample[] = [];
  let failing = false;
  registry.registerMetric({
    name,
    help,
    type: 'gauge',
    aggregator: 'omit',
    get: async () => {
      try {
        last = await read();
        failing = false;
      } catch (error) {
        if (!failing) gauge.onError?.(error as Error);
        failing = true;
      }
      const values = last.map((sample) => ({ labels: sample.labels ?? {}, value: sample.value ?? Number.NaN }));
      return { name, help, type: 'gauge', aggregator: 'omit', values };
    },
  } as unknown as Metric);
}

/** One unlabelled sample, or none when the value is undefined. */
export const sample = (value: number | null | undefined): GaugeSample[] => (value === undefined ? [] : [{ value }]);

export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    // prom-client also exports these gauges with a `_total` suffix, which promtool's
    // lint rejects (only counters end in _total); the per-type series remain.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
    const http = new HttpRequestMetrics();
    for (const collector of http.collectors()) registry.registerMetric(collector);
    app.decorate('metrics', { registry, http });

    app.get(
      '/metrics',
      {
        schema: { hide: true },
        logLevel: 'warn',
      },
      async (_request, reply) => {
        const body = await registry.metrics();
        reply.header('content-type', registry.contentType).header('cache-control', 'no-store');
        return body;
      },
    );
  },
  { name: 'smartalk-metrics' },
);
