/** What the checks look at, handed in by the wiring (server/app.ts, the CLI's local run) or by a test. */
import type { Presence } from '../../analytics/presence.js';
import { buildMetricsReport, type MetricsReport, type ReportDeps, type ReportOptions } from '../../analytics/report.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { buildFeedbackReport, type FeedbackReport, type FeedbackReportOptions } from '../../feedback/report.js';
import type { HttpRequestMetrics } from '../../http/metrics.js';
import type { Store } from '../../store/open-store.js';
import type { ThresholdOverrides } from '../alerts/catalog.js';
import type { AlertService } from '../alerts/service.js';
import type { HealthService } from '../health/health.js';
import type { ReportKind } from '../reports/ops-report.js';
import { type ProducedReport, type ProduceOptions, produceReport } from '../reports/reports.js';

export interface ChecksDeps {
  db: Db;
  store: Store;
  health: HealthService;
  http: HttpRequestMetrics;
  /** The LaunchMetricsTracker and LaunchFeedbackCollector reports over a chosen window. */
  reports: {
    metrics: (options: ReportOptions) => Promise<MetricsReport>;
    feedback: (options: FeedbackReportOptions) => Promise<FeedbackReport>;
  };
  config: Pick<
    Config,
    | 'logFile'
    | 'dataDir'
    | 'tz'
    | 'cdnAccessLog'
    | 'publicUrl'
    | 'cdnBaseUrl'
    | 'prometheusUrl'
    | 'alertmanagerUrl'
    | 'eventsRetentionDays'
  >;
  /** ALERTS_CONFIG's threshold overrides: checks judge with the alerts' own thresholds. */
  thresholds: ThresholdOverrides;
  /** ALERTS_CONFIG's `capacity`: what one instance takes (capacity.next_day). */
  capacity?: { eventsPerSecond: number; postgresCores?: number };
  /** Build, save and send a report (report.daily, report.weekly, report.product_weekly). */
  produceReport?: (kind: ReportKind, options: ProduceOptions) => Promise<ProducedReport>;
  /** The scheduled jobs with their last runs (jobs.schedule), when a scheduler runs. */
  schedule?: () => Promise<Array<{ id: string; lastRun: { slot: string; status: string } | null; late: boolean }>>;
}

/**
 * The checks' dependencies from the parts a process holds. With the alert service, its
 * thresholds, capacity and channels come too (reports can then be sent); without it
 * (a benchmark) the defaults apply and report checks skip.
 */
export function assembleChecksDeps(parts: {
  db: Db;
  /** Where the reports read (a replica, db/replica.ts); `db` by default. */
  reportDb?: Db;
  store: Store;
  health: HealthService;
  http: HttpRequestMetrics;
  presence: Presence;
  config: ChecksDeps['config'];
  alerts?: AlertService;
  schedule?: ChecksDeps['schedule'];
  journeyOutbox?: ReportDeps['journeyOutbox'];
}): ChecksDeps {
  const { db, presence, config, alerts } = parts;
  const reportDb = parts.reportDb ?? db;
  const deps: ChecksDeps = {
    db,
    store: parts.store,
    health: parts.health,
    http: parts.http,
    reports: {
      metrics: (options) =>
        buildMetricsReport(
          { db: reportDb, presence, tz: config.tz, ...(parts.journeyOutbox ? { journeyOutbox: parts.journeyOutbox } : {}) },
          options,
        ),
      feedback: (options) => buildFeedbackReport({ db: reportDb, tz: config.tz }, options),
    },
    config,
    thresholds: alerts?.config.thresholds ?? {},
    ...(alerts?.config.capacity ? { capacity: alerts.config.capacity } : {}),
    ...(parts.schedule ? { schedule: parts.schedule } : {}),
    ...(alerts ? { produceReport: (kind, options) => produceReport(deps, alerts, kind, options) } : {}),
  };
  return deps;
}
