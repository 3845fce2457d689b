/** What the checks look at, handed in by the wiring (server/app.ts) or by a test. */
import type { MetricsReport, ReportOptions } from '../../analytics/report.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { FeedbackReport, FeedbackReportOptions } from '../../feedback/report.js';
import type { HttpRequestMetrics } from '../../http/metrics.js';
import type { Store } from '../../store/open-store.js';
import type { ThresholdOverrides } from '../alerts/catalog.js';
import type { HealthService } from '../health/health.js';
import type { ReportKind } from '../reports/ops-report.js';
import type { ProducedReport, ProduceOptions } from '../reports/reports.js';

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
    'logFile' | 'dataDir' | 'tz' | 'cdnAccessLog' | 'publicUrl' | 'cdnBaseUrl' | 'prometheusUrl' | 'alertmanagerUrl'
  >;
  /** ALERTS_CONFIG's threshold overrides: checks judge with the alerts' own thresholds. */
  thresholds: ThresholdOverrides;
  /** ALERTS_CONFIG's `capacity`: what one instance takes (capacity.next_day). */
  capacity?: { eventsPerSecond: number };
  /** Build, save and send a report (report.daily, report.weekly, report.product_weekly). */
  produceReport?: (kind: ReportKind, options: ProduceOptions) => Promise<ProducedReport>;
  /** The scheduled jobs with their last runs (jobs.schedule), when a scheduler runs. */
  schedule?: () => Promise<Array<{ id: string; lastRun: { slot: string; status: string } | null; late: boolean }>>;
}
