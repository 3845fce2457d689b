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
import { withLocalDatabase } from './report-source.js';

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

export async function runChecksHere(config: Config, names: string[], lang: Lang): Promise<CheckRun> {
  return withLocalDatabase(config, async ({ db, store }) => {
    const { deps, close } = await depsHere(config, db, store);
    try {
      const run = await runChecks(deps, names, { lang });
      await addOpsLogEntry(db.kysely, checklistLogEntry(run, 'cli', lang));
      return run;
    } finally {
      close();
    }
  });
}

export async function scheduleHere(config: Config): Promise<{ tz: string; enabledHere: boolean; jobs: JobView[] }> {
  return withLocalDatabase(config, async ({ db, store }) => {
    const { deps, close } = await depsHere(config, db, store);
    try {
      const scheduler = new Scheduler({
        db,
        jobs: checklistJobs(deps, { lang: config.lang }),
        tz: config.tz,
        instance: 'cli',
        logger: createLogger(config, { stdout: false }),
      });
      return { tz: config.tz, enabledHere: false, jobs: await scheduler.list() };
    } finally {
      close();
    }
  });
}

export async function produceReportHere(config: Config, kind: ReportKind, options: ProduceOptions): Promise<ProducedReport> {
  return withLocalDatabase(config, async ({ db, store }) => {
    const { deps, alerts, close } = await depsHere(config, db, store);
    try {
      return await produceReport(deps, alerts, kind, options);
    } finally {
      close();
    }
  });
}
