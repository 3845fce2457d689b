/**
 * One JSON log line per request, written when the response is sent: request id,
 * method, route template, status and latency. URLs are logged without their query
 * string and headers are never logged, so tokens cannot reach the log.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { UNMATCHED_ROUTE } from './metrics.js';

export const requestLogPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onResponse', async (request, reply) => {
      const status = reply.statusCode;
      const line = {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        path: request.url.split('?')[0],
        status,
        latencyMs: Number(reply.elapsedTime.toFixed(2)),
        ...(request.learnerId ? { userId: request.learnerId } : {}),
      };
      if (status >= 500) request.log.error(line, 'request failed');
      else request.log.info(line, 'request completed');
    });
  },
  { name: 'smartalk-request-log' },
);
