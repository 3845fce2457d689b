/**
 * Checks run from the CLI when no server runs from this DATA_DIR: against the database
 * and store configured here, with the same checks the server runs. What only a server
 * knows (its request latencies) is empty here, and the checks say so.
 */
import { Presence } from '../analytics/presence.js';
import type { Config, Lang } from '../config.js';
import type { Db } from '../db/database.js';
import { HttpRequestMetrics } from '../http/metrics.js';
import { createLogger } from '../logger.js';
import { loadAlertsConfig } from '../ops/alerts/config.js';
import { AlertService } from '../ops/alerts/service.js';
import type { CheckRun } from '../ops/checks/check.js';
import { assembleChecksDeps, type ChecksDeps } from '../ops/checks/deps.js';
import { checklistJobs, checklistLogEntry } from '../ops/checks/jobs.js';
import { runChecks } from '../ops/checks/runner.js';
import { HealthService, healthThresholds } from '../ops/health/health.js';
import { addOpsLogEntry } from '../ops/opslog/opslog.js';
import type { ReportKind } from '../ops/reports/ops-report.js';
import { type ProducedReport, type ProduceOptions, produceReport } from '../ops/reports/reports.js';
import { type JobView, Scheduler } from '../ops/schedule/scheduler.js';
import type { Store } from '../store/open-store.js';
import { VERSION } from '../version.js';

async function depsHere(
  config: Config,
  db: Db,
  store: Store,
): Promise<{ deps: ChecksDeps; alerts: AlertService; close: () => void }> {
  const alertsConfig = await loadAlertsConfig(config.alertsConfig);
  const overrides = alertsConfig.thresholds;
  const alerts = new AlertService({
    db,
    config: alertsConfig,
    logger: createLogger(config, { stdout: false }),
    messages: { lang: config.lang, publicUrl: config.publicUrl, tz: config.tz },
  });
  const health = new HealthService({
    db,
    store,
    dataDir: config.dataDir,
    version: VERSION,
    thresholds: healthThresholds(overrides),
  });
  const deps = assembleChecksDeps({
    db,
    store,
    health,
    http: new HttpRequestMetrics(),
    presence: new Presence(store),
    config,
    alerts,
  });
  return { deps, alerts, close: () => health.close() };
}

/** Checks' dependencies made here for the length of `use`. */
async function withChecksHere<T>(
  config: Config,
  { db, store }: { db: Db; store: Store },
  use: (deps: ChecksDeps, alerts: AlertService) => Promise<T>,
): Promise<T> {
  const { deps, alerts, close } = await depsHere(config, db, store);
  try {
    return await use(deps, alerts);
  } finally {
    close();
  }
}

export const runChecksHere = (config: Config, here: { db: Db; store: Store }, names: string[], lang: Lang): Promise<CheckRun> =>
  withChecksHere(config, here, async (deps) => {
    const run = await runChecks(deps, names, { lang });
    await addOpsLogEntry(here.db.kysely, checklistLogEntry(run, 'cli', lang));
    return run;
  });

export const scheduleHere = (
  config: Config,
  here: { db: Db; store: Store },
): Promise<{ tz: string; enabledHere: boolean; jobs: JobView[] }> =>
  withChecksHere(config, here, async (deps) => {
    const scheduler = new Scheduler({
      db: here.db,
      jobs: checklistJobs(deps, { lang: config.lang }),
      tz: config.tz,
      instance: 'cli',
      logger: createLogger(config, { stdout: false }),
    });
    return { tz: config.tz, enabledHere: false, jobs: await scheduler.list() };
  });

export const produceReportHere = (
  config: Config,
  here: { db: Db; store: Store },
  kind: ReportKind,
  options: ProduceOptions,
): Promise<ProducedReport> => withChecksHere(config, here, (deps, alerts) => produceReport(deps, alerts, kind, options));
