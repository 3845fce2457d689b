/**
 * /api/v1/health (deep), /api/v1/health/live and /api/v1/health/ready, and the
 * smartalk_db_up / smartalk_cache_up gauges that read the same probes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import type { Db } from '../../db/database.js';
import { optionalGauge } from '../../http/metrics.js';
import { RefreshingCache } from '../../refreshing-cache.js';
import { cdnStats } from '../cdn.js';
import type { HealthService } from './health.js';

export interface HealthRoutesOptions {
  health: HealthService;
  db: Db;
  /** nginx access log of the video edge, when configured. */
  cdnAccessLog?: string | undefined;
  /** True once shutdown has begun: readiness fails so load balancers drain this instance. */
  isClosing: () => boolean;
}

const Check = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
    latencyMs: Type.Optional(Type.Number()),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const HealthReportSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  version: Type.String(),
  uptimeSeconds: Type.Number(),
  checkedAt: Type.String({ format: 'date-time' }),
  checks: Type.Object({
    database: Check,
    cache: Check,
    disk: Check,
    memory: Check,
    cpu: Check,
    eventLoop: Check,
  }),
});

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { health, db, isClosing, cdnAccessLog },
) => {
  new Gauge({
    name: 'smartalk_db_up',
    help: '1 when the database answers SELECT 1, else 0.',
    registers: [app.metrics.registry],
    async collect() {
      this.set((await health.check()).checks.database.status === 'down' ? 0 : 1);
    },
  });
  new Gauge({
    name: 'smartalk_cache_up',
    help: '1 when the cache (Redis, or the in-memory store) answers, else 0.',
    registers: [app.metrics.registry],
    async collect() {
      this.set((await health.check()).checks.cache.status === 'ok' ? 1 : 0);
    },
  });

  const serialized = new WeakMap<object, string>();

  // Machine gauges for the warning rules (HighCpu, HighMemory, LowDiskSpace, DbConnectionsHigh).
  const fromCheck = (name: string, help: string, read: (report: Awaited<ReturnType<HealthService['check']>>) => unknown) =>
    new Gauge({
      name,
      help,
      registers: [app.metrics.registry],
      async collect() {
        const value = read(await health.check());
        if (typeof value === 'number') this.set(value);
      },
    });
  fromCheck(
    'smartalk_cpu_usage_ratio',
    'Share of the machine\u2019s CPU time busy since the previous probe.',
    (r) => r.checks.cpu.usedRatio,
  );
  fromCheck(
    'smartalk_memory_used_ratio',
    'Share of system memory in use (MemAvailable counted as free).',
    (r) => r.checks.memory.usedRatio,
  );
  fromCheck('smartalk_disk_free_ratio', 'Free share of the file system holding DATA_DIR.', (r) => r.checks.disk.freeRatio);
  fromCheck(
    'smartalk_db_connections_used_ratio',
    'Connections in pg_stat_activity over max_connections.',
    (r) => r.checks.database.connectionsUsedRatio,
  );
  fromCheck('smartalk_event_loop_lag_p99_seconds', '99th percentile of event-loop lag since the previous probe.', (r) =>
    typeof r.checks.eventLoop.p99Ms === 'number' ? r.checks.eventLoop.p99Ms / 1000 : undefined,
  );

  // Backup status from the job log (rows of job 'backup', written by backup runs): the
  // inputs of BackupStale and BackupFailed. No series until a backup has run.
  const backups = new RefreshingCache(
    () =>
      sql<{ last_success: Date | null; last_status: string | null }>`
        SELECT (SELECT max(finished_at) FROM job_runs WHERE job = 'backup' AND status = 'success') AS last_success,
          (SELECT status FROM job_runs WHERE job = 'backup' AND status <> 'running' ORDER BY finished_at DESC NULLS LAST LIMIT 1) AS last_status`
        .execute(db.kysely)
        .then((result) => result.rows[0]),
    30_000,
  );
  optionalGauge(
    app.metrics.registry,
    'smartalk_backup_last_success_timestamp_seconds',
    'When the last successful (verified) backup finished, Unix seconds.',
    async () => {
      const row = await backups.get();
      return row?.last_success ? new Date(row.last_success).getTime() / 1000 : undefined;
    },
  );
  optionalGauge(
    app.metrics.registry,
    'smartalk_backup_last_run_failed',
    '1 when the most recent backup run failed, else 0.',
    async () => {
      const row = await backups.get();
      return row?.last_status ? (row.last_status === 'failed' ? 1 : 0) : undefined;
    },
  );

  if (cdnAccessLog) {
    const stats = new RefreshingCache(() => cdnStats(cdnAccessLog), 60_000);
    optionalGauge(
      app.metrics.registry,
      'smartalk_cdn_cache_hit_ratio',
      'Share of video requests served from the edge cache in the last hour (nginx access log).',
      async () => (await stats.get()).ratio ?? undefined,
    );
  }

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/health',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Deep health: database, cache, disk, memory, event loop',
        description: 'HTTP 200 when ok or degraded, 503 when down (the database is unreachable).',
        response: { 200: HealthReportSchema, 503: HealthReportSchema },
      },
    },
    async (_request, reply) => {
      const report = await health.check();
      const status = report.status === 'down' ? 503 : 200;
      // The report is cached for a second; so is its JSON, for pollers hitting it hard.
      let json = serialized.get(report);
      if (json === undefined) {
        json = (reply.getSerializationFunction(String(status)) as (value: unknown) => string)(report);
        serialized.set(report, json);
      }
      return reply
        .code(status)
        .type('application/json; charset=utf-8')
        .send(json as never);
    },
  );

  app.get(
    '/health/live',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process is up and its event loop turns',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      logLevel: 'warn',
      schema: {
        tags: ['health'],
        summary: 'Readiness: the database answers and the server is not shutting down',
        response: {
          200: Type.Object({ status: Type.Literal('ready') }),
          503: Type.Object({ status: Type.Literal('not_ready'), reason: Type.String() }),
        },
      },
    },
    async (_request, reply) => {
      if (isClosing()) return reply.code(503).send({ status: 'not_ready' as const, reason: 'shutting down' });
      const report = await health.check();
      if (report.checks.database.status === 'down') {
        return reply
          .code(503)
          .send({ status: 'not_ready' as const, reason: `database: ${report.checks.database.detail ?? 'down'}` });
      }
      return { status: 'ready' as const };
    },
  );
};
