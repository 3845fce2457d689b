/**
 * Per-request telemetry: the RED metrics for every request and the access log (request
 * id, method, route template, status, latency), from a single onResponse hook — and for
 * answers sent before routing (prepared-answers.ts), from their observer.
 *
 * The hook is attached to each route as it is registered, with the route template
 * captured in a closure: reading `request.routeOptions` builds a fresh object per
 * call, and that plus a second hook measured as a quarter of a cheap request's cost
 * (bench/http.ts). URLs are logged without their query string and headers are never
 * logged, so tokens cannot reach the log.
 *
 * Which requests get a line of their own: every one, except
 * - routes polled hard (health, metrics: `logLevel: 'warn'`), whose successes add none;
 * - with ACCESS_LOG_PUBLIC=summary (the default), anonymous, successful and fast answers
 *   a shared cache may keep (`Cache-Control: public`: the catalog). They are counted into
 *   one line per route a minute instead: in production nginx's access log has a line for
 *   each, with the request id it forwards, and at tens of thousands a second a line each
 *   cost a tenth of the request (bench/http.ts). A learner's request, a write, any 4xx or
 *   5xx and anything slower than LINE_FROM_MS still get their own line.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { type AccessLog, accessLogOf } from '../logger.js';
import { type RouteRecorder, UNMATCHED_ROUTE } from './metrics.js';
import type { PreparedAnswerObserver } from './prepared-answers.js';

/** A public answer this slow is worth a line of its own. */
export const LINE_FROM_MS = 100;

const roundMs = (ms: number) => Math.round(ms * 100) / 100;

/** How often the counted public answers are written as summary lines. */
const SUMMARY_EVERY_MS = 60_000;

export interface TelemetryOptions {
  /** ACCESS_LOG_PUBLIC: count public answers into a line a minute (`summary`) or write each (`lines`). */
  accessLogPublic: 'summary' | 'lines';
}

/** Public answers counted per route and method, written as one line each per window. */
class PublicAnswers {
  readonly #tallies = new Map<string, { method: string; route: string; statuses: Map<number, number>; maxMs: number }>();
  #since = Date.now();

  constructor(private readonly access: AccessLog) {}

  count(method: string, route: string, status: number, latencyMs: number): void {
    const key = method === 'GET' ? route : `${method} ${route}`;
    let tally = this.#tallies.get(key);
    if (!tally) {
      tally = { method, route, statuses: new Map(), maxMs: 0 };
      this.#tallies.set(key, tally);
    }
    tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
    if (latencyMs > tally.maxMs) tally.maxMs = latencyMs;
  }

  write(): void {
    const windowSeconds = Math.round((Date.now() - this.#since) / 1000);
    this.#since = Date.now();
    for (const { method, route, statuses, maxMs } of this.#tallies.values()) {
      let requests = 0;
      for (const count of statuses.values()) requests += count;
      this.access.summary({
        method,
        route,
        requests,
        statuses: Object.fromEntries(statuses),
        maxLatencyMs: roundMs(maxMs),
        windowSeconds,
      });
    }
    this.#tallies.clear();
  }
}

export const telemetryPlugin = fp<TelemetryOptions>(
  async (app: FastifyInstance, { accessLogPublic }) => {
    const { http } = app.metrics;
    const access = accessLogOf(app.log as Logger);
    const publicAnswers = accessLogPublic === 'summary' ? new PublicAnswers(access) : undefined;
    if (publicAnswers) {
      const timer = setInterval(() => publicAnswers.write(), SUMMARY_EVERY_MS);
      timer.unref();
      app.addHook('onClose', async () => {
        clearInterval(timer);
        publicAnswers.write();
      });
    }

    const observe = (route: string, record: RouteRecorder, request: FastifyRequest, reply: FastifyReply, quiet = false) => {
      const status = reply.statusCode;
      const latencyMs = reply.elapsedTime;
      record(request.method, status, latencyMs / 1000);
      if (quiet && status < 500) return;
      if (
        publicAnswers &&
        status < 400 &&
        latencyMs < LINE_FROM_MS &&
        request.learnerId === undefined &&
        String(reply.getHeader('cache-control')).startsWith('public')
      ) {
        publicAnswers.count(request.method, route, status, latencyMs);
        return;
      }
      const { url } = request;
      const query = url.indexOf('?');
      const line = {
        reqId: request.id,
        method: request.method,
        route,
        path: query === -1 ? url : url.slice(0, query),
        status,
        latencyMs: roundMs(latencyMs),
        userId: request.learnerId,
      };
      if (status >= 500) {
        const { reqId: _bound, ...fields } = line; // request.log carries the request id already
        request.log.error(fields, 'request failed');
      } else access.request(line);
    };

    // Answers sent before routing (prepared-answers.ts) are anonymous GET 200s: the same
    // metrics, and the same rule for a line of their own (`quiet`: a route polled hard).
    app.decorate('preparedAnswerObserver', (route: string, { quiet = false } = {}): PreparedAnswerObserver => {
      const record = http.route(route);
      return (requestId, path, latencyMs) => {
        record('GET', 200, latencyMs / 1000);
        if (quiet) return;
        if (publicAnswers && latencyMs < LINE_FROM_MS) publicAnswers.count('GET', route, 200, latencyMs);
        else access.request({ reqId: requestId, method: 'GET', route, path, status: 200, latencyMs: roundMs(latencyMs) });
      };
    });

    app.addHook('onRoute', (route) => {
      if (route.url === '/metrics') return;
      const template = route.url;
      const record = http.route(template);
      // Routes polled hard (health) log at warn: their successful requests add no line.
      const quiet = route.logLevel === 'warn' || route.logLevel === 'error' || route.logLevel === 'fatal';
      const hook: onResponseHookHandler = (request, reply, done) => {
        observe(template, record, request, reply, quiet);
        done();
      };
      route.onResponse = route.onResponse ? [...[route.onResponse].flat(), hook] : [hook];
    });

    const unmatched = http.route(UNMATCHED_ROUTE);
    app.decorate('observeUnmatched', (request: FastifyRequest, reply: FastifyReply) => {
      reply.raw.once('finish', () => observe(UNMATCHED_ROUTE, unmatched, request, reply));
    });
  },
  { name: 'smartalk-telemetry', dependencies: ['smartalk-metrics'] },
);

declare module 'fastify' {
  interface FastifyInstance {
    /** Called by the not-found handler: requests that matched no route are observed too. */
    observeUnmatched(request: FastifyRequest, reply: FastifyReply): void;
    /** The metrics and access log of a route's prepared answers (prepared-answers.ts). */
    preparedAnswerObserver(route: string, options?: { quiet?: boolean }): PreparedAnswerObserver;
  }
}
