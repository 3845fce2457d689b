/**
 * The built-in evaluator's cost per cycle with the full catalog, on the analytics
 * bench database (1M users, 10M events; `npm run bench -- analytics` builds it),
 * next to a naive cycle that recomputes the business reports on every evaluation.
 *
 *   BENCH_DATABASE_URL=postgres://… npm run bench -- alerts
 */
import os from 'node:os';
import pg from 'pg';
import { DEFINITION_SETTINGS } from '../src/analytics/definitions.js';
import { Presence } from '../src/analytics/presence.js';
import { buildMetricsReport } from '../src/analytics/report.js';
import { Cached } from '../src/cached.js';
import { openDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { buildFeedbackReport } from '../src/feedback/report.js';
import { HttpRequestMetrics } from '../src/http/metrics.js';
import { createLogger } from '../src/logger.js';
import { DEFAULT_ALERTS_YAML, parseAlertsConfig } from '../src/ops/alerts/config.js';
import { BuiltinEvaluator } from '../src/ops/alerts/evaluator.js';
import { AlertService } from '../src/ops/alerts/service.js';
import { HealthService } from '../src/ops/health/health.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { openStore } from '../src/store/open-store.js';
import { machine, quantile, sortedTimings, table } from './lib.js';

export async function runAlertsBench(): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl)
    return '### Alert evaluation\n\nskipped: set BENCH_DATABASE_URL (and run the analytics bench first to build its database)';
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = 'smartalk_bench_report'")).rowCount;
  await admin.end();
  if (!exists)
    return '### Alert evaluation\n\nskipped: run `npm run bench -- analytics` first (it builds the 10M-event database)';
  const url = new URL(adminUrl);
  url.pathname = '/smartalk_bench_report';
  const db = await openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
  await migrate(db, { settings: DEFINITION_SETTINGS });
  const events = Number((await db.pool?.query('SELECT count(*) AS n FROM analytics_events'))?.rows[0]?.n ?? 0);
  const logger = createLogger({ logFile: `${os.tmpdir()}/smartalk-bench-alerts.log`, logLevel: 'error' }, { stdout: false });
  const store = openStore({ redisUrl: undefined });
  const tz = 'Asia/Shanghai';
  const presence = new Presence(new MemoryStore());
  const alerts = new AlertService({
    db,
    config: parseAlertsConfig(DEFAULT_ALERTS_YAML, 'defaults'),
    logger,
    messages: { lang: 'en', publicUrl: 'http://x', tz },
  });
  const health = new HealthService({
    db,
    store,
    dataDir: os.tmpdir(),
    version: 'bench',
    thresholds: { diskFreeRatioMin: 0.2, memoryUsedRatioMax: 0.85, cpuUsedRatioMax: 0.8 },
  });
  const http = new HttpRequestMetrics();
  for (let i = 0; i < 10_000; i++) http.record('GET', '/api/v1/interests', i % 50 === 0 ? 500 : 200, 0.004);
  const make = (
    metrics: () => Promise<Awaited<ReturnType<typeof buildMetricsReport>>>,
    feedback: () => Promise<Awaited<ReturnType<typeof buildFeedbackReport>>>,
  ) =>
    new BuiltinEvaluator({
      db,
      alerts,
      inputs: { health, http, metricsReport: { get: metrics }, feedbackReport: { get: feedback } },
      logger,
    });

  const cached = {
    metrics: new Cached(() => buildMetricsReport({ db, presence, tz }), { maxAgeMs: 30_000, stale: 'while-refreshing' }),
    feedback: new Cached(() => buildFeedbackReport({ db, tz }), { maxAgeMs: 30_000, stale: 'while-refreshing' }),
  };
  const ours = make(
    () => cached.metrics.get(),
    () => cached.feedback.get(),
  );
  const naive = make(
    () => buildMetricsReport({ db, presence, tz }),
    () => buildFeedbackReport({ db, tz }),
  );
  const time = async (evaluator: BuiltinEvaluator, cycles: number) => {
    // The warm-up run loads the reports and takes the leader lock.
    const times = await sortedTimings(() => evaluator.evaluate(), cycles);
    await evaluator.close();
    return { median: quantile(times, 0.5), p95: quantile(times, 0.95) };
  };
  const a = await time(ours, 50);
  const b = await time(naive, 3);
  health.close();
  await store.close();
  await db.close();
  return [
    `### Alert evaluation cycle (${events.toLocaleString('en')} stored events, full catalog)`,
    '',
    `Machine: ${machine()}. Ours: one evaluate() with the reports read from their background-refreshed cache.`,
    'Naive: the same cycle recomputing the metrics and feedback reports each time.',
    '',
    table(
      ['cycle', 'median ms', 'p95 ms', 'naive ÷ ours'],
      [
        ['built-in evaluator (ours)', a.median, a.p95, `${(b.median / a.median).toFixed(0)}×`],
        ['recompute reports every cycle (naive)', b.median, b.p95, '1×'],
      ],
    ),
  ].join('\n');
}
