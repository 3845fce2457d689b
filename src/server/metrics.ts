/**
 * RED metrics for every route and the `/metrics` scrape endpoint.
 *
 * Each app owns its registry (no prom-client globals), so two servers in one test
 * process never share counters. Features add their own metrics to `app.metrics.registry`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface AppMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

/** Latency buckets around the runbook's 1 s SlowApi threshold. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Requests that matched no route share one label, so scanners cannot blow up cardinality. */
export const UNMATCHED_ROUTE = 'unmatched';

export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    // prom-client also exports these gauges with a `_total` suffix, which promtool's
    // lint rejects (only counters end in _total); the per-type series remain.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
    const httpRequests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    });
    const httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency in seconds, by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
    app.decorate('metrics', { registry, httpRequests, httpDuration });

    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      if (route === '/metrics') return;
      const labels = { method: request.method, route };
      httpRequests.inc({ ...labels, status: String(reply.statusCode) });
      httpDuration.observe(labels, reply.elapsedTime / 1000);
    });

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
