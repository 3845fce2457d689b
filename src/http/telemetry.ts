/**
 * Per-request telemetry: one JSON log line (request id, method, route template,
 * status, latency) and the RED metrics, from a single onResponse hook.
 *
 * The hook is attached to each route as it is registered, with the route template
 * captured in a closure: reading `request.routeOptions` builds a fresh object per
 * call, and that plus a second hook measured as a quarter of a cheap request's cost
 * (bench/http.ts). URLs are logged without their query string and headers are never
 * logged, so tokens cannot reach the log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { accessLogOf } from '../logger.js';
import { type RouteRecorder, UNMATCHED_ROUTE } from './metrics.js';

export const telemetryPlugin = fp(
  async (app: FastifyInstance) => {
    const { http } = app.metrics;
    const access = accessLogOf(app.log as Logger);

    const observe = (route: string, record: RouteRecorder, request: FastifyRequest, reply: FastifyReply, quiet = false) => {
      const status = reply.statusCode;
      const latencyMs = reply.elapsedTime;
      record(request.method, status, latencyMs / 1000);
      if (quiet && status < 500) return;
      const { url } = request;
      const query = url.indexOf('?');
      const line = {
        reqId: request.id,
        method: request.method,
        route,
        path: query === -1 ? url : url.slice(0, query),
        status,
        latencyMs: Math.round(latencyMs * 100) / 100,
        userId: request.learnerId,
      };
      if (status >= 500) {
        const { reqId: _bound, ...fields } = line; // request.log carries the request id already
        request.log.error(fields, 'request failed');
      } else access(line);
    };

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
  }
}
