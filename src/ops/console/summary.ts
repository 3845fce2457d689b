/**
 * GET /api/v1/ops/console: everything the console's panels show, in one answer, from the
 * same cached reports the alert evaluator and the business gauges read; the whole answer
 * is itself shared for a few seconds (routes.ts), so twenty open consoles cost one
 * build per refresh interval, not twenty.
 */
import type { Presence } from '../../analytics/presence.js';
import type { MetricsReport } from '../../analytics/report.js';
import type { Cached } from '../../cached.js';
import { THEME_NAMES } from '../../feedback/definitions.js';
import type { FeedbackReport } from '../../feedback/report.js';
import { type ThresholdOverrides, thresholdOf } from '../alerts/catalog.js';
import type { AlertView } from '../alerts/messages.js';
import type { CheckRun } from '../checks/check.js';
import type { HealthReport, HealthService } from '../health/health.js';
import type { OpsLogEntry } from '../opslog/opslog.js';
import type { SavedReport } from '../reports/report-files.js';
import type { HttpHistory, HttpPoint } from './history.js';

export interface ConsoleDeps {
  health: Pick<HealthService, 'check'>;
  history: HttpHistory;
  presence: Pick<Presence, 'count'>;
  reports: {
    metrics: Pick<Cached<MetricsReport>, 'get'>;
    feedback: Pick<Cached<FeedbackReport>, 'get'>;
    /** The last two days by hour (activation by hour). */
    hourly: Pick<Cached<MetricsReport>, 'get'>;
  };
  tz: string;
  thresholds: ThresholdOverrides;
  /** The panels that read the alert store, the job log, the ops log and the saved reports. */
  lists: {
    alerts: () => Promise<AlertView[]>;
    checks: () => Promise<Array<{ job: string; scheduledFor: string; run: CheckRun | null }>>;
    opslog: () => Promise<OpsLogEntry[]>;
    reports: () => Promise<SavedReport[]>;
  };
}

export interface ConsoleSummary {
  generatedAt: string;
  tz: string;
  health: HealthReport;
  http: { points: HttpPoint[]; latencyLine: number; errorLine: number };
  realtimeUsers: number;
  activation: {
    target: number;
    rate: number | null;
    baseline: number | null;
    newUsers: number;
    byHour: Array<{ start: string; newUsers: number; rate: number | null }>;
  };
  funnel: Array<{
    step: number;
    event: string;
    users: number;
    stepConversion: number | null;
    overallConversion: number | null;
    baseline: number | null;
  }>;
  retention: MetricsReport['retention'];
  learning: MetricsReport['learning'];
  feedback: {
    items: number;
    negativeShare: number | null;
    baselineNegativeShare: number | null;
    trend: FeedbackReport['sentiment']['trend'];
    themes: Array<{
      theme: string;
      name: { en: string; zh: string };
      count: number;
      negativeShare: number | null;
      quotes: string[];
    }>;
  };
  alerts: AlertView[];
  checks: Array<{ job: string; scheduledFor: string; run: CheckRun | null }>;
  opslog: OpsLogEntry[];
  reports: SavedReport[];
}

export async function buildConsoleSummary(deps: ConsoleDeps): Promise<ConsoleSummary> {
  const [health, realtimeUsers, metrics, feedback, hourly, alerts, checks, opslog, reports] = await Promise.all([
    deps.health.check(),
    deps.presence.count(),
    deps.reports.metrics.get(),
    deps.reports.feedback.get(),
    deps.reports.hourly.get(),
    deps.lists.alerts(),
    deps.lists.checks(),
    deps.lists.opslog(),
    deps.lists.reports(),
  ]);
  return {
    generatedAt: new Date().toISOString(),
    tz: deps.tz,
    health,
    http: {
      points: deps.history.series(),
      latencyLine: thresholdOf('SlowApi', 'seconds', deps.thresholds),
      errorLine: thresholdOf('HighErrorRate', 'ratio', deps.thresholds),
    },
    realtimeUsers,
    activation: {
      target: thresholdOf('LowActivationRate', 'ratio', deps.thresholds),
      rate: metrics.activation.rate,
      baseline: metrics.baseline.activationRate,
      newUsers: metrics.newUsers,
      byHour: hourly.activation.cohorts.map((c) => ({ start: c.start, newUsers: c.newUsers, rate: c.rate })),
    },
    funnel: metrics.funnel.map((s) => ({
      step: s.step,
      event: s.event,
      users: s.users,
      stepConversion: s.stepConversion,
      overallConversion: s.overallConversion,
      baseline: metrics.baseline.funnel.find((b) => b.step === s.step)?.stepConversion ?? null,
    })),
    retention: metrics.retention,
    learning: metrics.learning,
    feedback: {
      items: feedback.totals.items,
      negativeShare: feedback.sentiment.negativeShare,
      baselineNegativeShare: feedback.baseline.negativeShare,
      trend: feedback.sentiment.trend,
      themes: feedback.themes
        .filter((t) => t.theme !== 'other' && t.count > 0)
        .slice(0, 5)
        .map((t) => ({
          theme: t.theme,
          name: THEME_NAMES[t.theme],
          count: t.count,
          negativeShare: t.negativeShare,
          quotes: t.examples.slice(0, 2).map((e) => e.text),
        })),
    },
    alerts,
    checks,
    opslog,
    reports: reports.slice(0, 10),
  };
}
