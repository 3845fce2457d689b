/**
 * /api/v1/health (deep), /api/v1/health/live and /api/v1/health/ready, and the
 * smartalk_db_up / smartalk_cache_up gauges that read the same probes.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { Cached } from '../../cached.js';
import type { Db } from '../../db/database.js';
import { JsonView, sendJsonView } from '../../http/json-view.js';
import { sample, sourcedGauge } from '../../http/metrics.js';
import type { PreparedAnswers } from '../../http/prepared-answers.js';
import { backupStatus } from '../backups/status.js';
import { cdnStats } from '../cdn.js';
import type { HealthReport, HealthService } from './health.js';

export interface HealthRoutesOptions {
  health: HealthService;
  db: Db;
  /** nginx access log of the video edge, when configured. */
  cdnAccessLog?: string | undefined;
  /** True once shutdown has begun: readiness fails so load balancers drain this instance. */
  isClosing: () => boolean;
  /** Where a healthy report is published to be answered before routing while fresh (http/prepared-answers.ts). */
  prepared?: PreparedAnswers;
}

/** Health is never stored by a proxy: it is about now. */
const HEALTH_HEADERS = { 'cache-control': 'no-store' } as const;

const Check = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
    latencyMs: Type.Optional(Type.Number()),
    detail: Type.Optional(Type.String()),
    detailZh: Type.Optional(Type.String()),
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
    replica: Type.Optional(Check),
  }),
});

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (
  app,
  { health, db, isClosing, cdnAccessLog, prepared },
) => {
  // The up gauges and the machine gauges of the warning rules (HighCpu, HighMemory,
  // LowDiskSpace, DbConnectionsHigh) read the same probe as /api/v1/health.
  const onError = (error: Error) => app.log.warn({ err: { message: error.message } }, 'health gauges not refreshed');
  const fromCheck = (name: string, help: string, read: (report: HealthReport) => number | undefined) =>
    sourcedGauge(app.metrics.registry, { name, help, onError }, async () => sample(read(await health.check())));
  fromCheck('smartalk_db_up', '1 when the database answers SELECT 1, else 0.', (r) =>
    r.checks.database.status === 'down' ? 0 : 1,
  );
  fromCheck('smartalk_cache_up', '1 when the cache (Redis, or the in-memory store) answers, else 0.', (r) =>
    r.checks.cache.status === 'ok' ? 1 : 0,
  );
  const ratio = (value: unknown) => (typeof value === 'number' ? value : undefined);
  fromCheck('smartalk_cpu_usage_ratio', 'Share of the machine\u2019s CPU time busy since the previous probe.', (r) =>
    ratio(r.checks.cpu.usedRatio),
  );
  fromCheck('smartalk_memory_used_ratio', 'Share of system memory in use (MemAvailable counted as free).', (r) =>
    ratio(r.checks.memory.usedRatio),
  );
  fromCheck('smartalk_disk_free_ratio', 'Free share of the file system holding DATA_DIR.', (r) => ratio(r.checks.disk.freeRatio));
  fromCheck('smartalk_db_connections_used_ratio', 'Connections in pg_stat_activity over max_connections.', (r) =>
    ratio(r.checks.database.connectionsUsedRatio),
  );
  // Only with a replica: no series at all without one (an absent replica is not "0 s behind").
  fromCheck('smartalk_db_replica_lag_seconds', 'Seconds the read replica is behind the primary (NaN while unreachable).', (r) =>
    r.checks.replica ? ((r.checks.replica.lagSeconds as number | null) ?? Number.NaN) : undefined,
  );
  fromCheck('smartalk_db_replica_in_use', '1 while reports read the replica, 0 while they read the primary.', (r) =>
    r.checks.replica ? (r.checks.replica.state === 'ok' ? 1 : 0) : undefined,
  );
  fromCheck('smartalk_event_loop_lag_p99_seconds', '99th percentile of event-loop lag since the previous probe.', (r) =>
    typeof r.checks.eventLoop.p99Ms === 'number' ? r.checks.eventLoop.p99Ms / 1000 : undefined,
  );

  const serialized = new WeakMap<HealthReport, JsonView>();

  // Backup status from the job log: the inputs of BackupStale and BackupFailed. No
  // series until a backup has run.
  const backups = new Cached(() => backupStatus(db), { maxAgeMs: 30_000, stale: 'while-refreshing' });
  sourcedGauge(
    app.metrics.registry,
    {
      name: 'smartalk_backup_last_success_timestamp_seconds',
      help: 'When the last successful (verified) backup finished, Unix seconds.',
      onError,
    },
    async () => {
      const { lastSuccess } = await backups.get();
      return sample(lastSuccess ? lastSuccess.getTime() / 1000 : undefined);
    },
  );
  sourcedGauge(
    app.metrics.registry,
    { name: 'smartalk_backup_last_run_failed', help: '1 when the most recent backup run failed, else 0.', onError },
    async () => {
      const { lastStatus } = await backups.get();
      return sample(lastStatus ? (lastStatus === 'failed' ? 1 : 0) : undefined);
    },
  );
  // The restore drill (backup verify): whether a backup comes back, and how long that takes.
  sourcedGauge(
    app.metrics.registry,
    {
      name: 'smartalk_backup_restore_drill_last_success_timestamp_seconds',
      help: 'When the last successful restore drill finished, Unix seconds.',
      onError,
    },
    async () => {
      const { lastDrillSuccess } = await backups.get();
      return sample(lastDrillSuccess ? lastDrillSuccess.getTime() / 1000 : undefined);
    },
  );
  sourcedGauge(
    app.metrics.registry,
    {
      name: 'smartalk_backup_restore_drill_last_run_failed',
      help: '1 when the most recent restore drill failed, else 0.',
      onError,
    },
    async () => {
      const { lastDrill } = await backups.get();
      return sample(lastDrill ? (lastDrill.status === 'failed' ? 1 : 0) : undefined);
    },
  );
  sourcedGauge(
    app.metrics.registry,
    {
      name: 'smartalk_backup_restore_seconds',
      help: 'How long the last successful restore drill took to restore the backup: the recovery time to expect.',
      onError,
    },
    async () => {
      const { lastDrill } = await backups.get();
      const restoreMs = (lastDrill?.details.drill as { restoreMs?: number } | undefined)?.restoreMs;
      return sample(lastDrill?.status === 'success' && typeof restoreMs === 'number' ? restoreMs / 1000 : undefined);
    },
  );

  if (cdnAccessLog) {
    const stats = new Cached(() => cdnStats(cdnAccessLog), { maxAgeMs: 60_000, stale: 'while-refreshing' });
    sourcedGauge(
      app.metrics.registry,
      {
        name: 'smartalk_cdn_cache_hit_ratio',
        help: 'Share of video requests served from the edge cache in the last hour (nginx access log).',
        onError,
      },
      async () => sample((await stats.get()).ratio ?? undefined),
    );
  }

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(HEALTH_HEADERS);
    done(null, payload);
  });

  const HEALTH_PATH = `${app.prefix}/health`;
  const observePrepared = app.preparedAnswerObserver(HEALTH_PATH, { quiet: true });
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
    async (request, reply) => {
      const report = await health.check();
      const status = report.status === 'down' ? 503 : 200;
      // The report is cached for a second; so is its JSON, for pollers hitting it hard.
      let view = serialized.get(report);
      if (view === undefined) {
        view = new JsonView((reply.getSerializationFunction(String(status)) as (value: unknown) => string)(report));
        serialized.set(report, view);
      }
      // A healthy report is answered before routing while it is the fresh one (a second).
      if (status === 200 && prepared && request.url === HEALTH_PATH) {
        prepared.publish(HEALTH_PATH, {
          view,
          headers: HEALTH_HEADERS,
          isCurrent: () => health.current() === report,
          observe: observePrepared,
        });
      }
      return sendJsonView(request, reply.code(status), view);
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
