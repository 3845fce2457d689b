/**
 * The runbook's reports (生成当日指标报告, 生成周度指标报告, 准备产品团队周报) as one model:
 * the metrics and feedback reports over the report's window, the activation trend
 * against the 40% target, what operations saw (requests, errors, latency, alerts,
 * checklist runs), and the findings that matter most, worst first. Rendered as
 * Markdown, HTML with charts, or JSON (render-*.ts); the numbers are computed once here.
 */
import { METRICS } from '../../analytics/definitions.js';
import type { MetricsReport, ReportOptions } from '../../analytics/report.js';
import type { Config, Lang } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { FeedbackReport, FeedbackReportOptions } from '../../feedback/report.js';
import { percent } from '../../format.js';
import type { HttpRequestMetrics } from '../../http/metrics.js';
import { say } from '../../i18n.js';
import { dayStart, isoDay, localDay, parseIsoDay } from '../../time.js';
import { type Severity, type ThresholdOverrides, thresholdOf } from '../alerts/catalog.js';
import { promRange } from '../prometheus-query.js';
import { slotTime } from '../schedule/scheduler.js';

/** What a report reads (the checklists' dependencies provide all of it). */
export interface ReportSources {
  db: Db;
  http: HttpRequestMetrics;
  reports: {
    metrics: (options: ReportOptions) => Promise<MetricsReport>;
    feedback: (options: FeedbackReportOptions) => Promise<FeedbackReport>;
  };
  config: Pick<Config, 'tz' | 'dataDir' | 'publicUrl' | 'prometheusUrl'>;
  /** ALERTS_CONFIG's overrides: the charts draw the alerts' own lines. */
  thresholds: ThresholdOverrides;
}

/** The part of a stored checklist run a report shows (ops/checks/check.ts: CheckRun). */
interface StoredCheckRun {
  worst: string;
  results: Array<{ id: string; status: string; summary: string }>;
}

export const REPORT_KINDS = ['daily', 'weekly', 'product'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** Days the report covers, and days its activation trend looks back over. */
const SPAN: Record<ReportKind, { days: number; trendDays: number }> = {
  daily: { days: 1, trendDays: 14 },
  weekly: { days: 7, trendDays: 28 },
  product: { days: 7, trendDays: 28 },
};

export interface Finding {
  severity: Severity;
  text: string;
}

export interface OpsReport {
  kind: ReportKind;
  title: string;
  lang: Lang;
  /** The local day the report is for (its last day): YYYY-MM-DD in `tz`. */
  date: string;
  window: { since: string; until: string; tz: string };
  generatedAt: string;
  metrics: MetricsReport;
  /** Activation per day of first launch over the trend window, against METRICS.activationTarget. */
  trend: {
    target: number;
    points: Array<{ day: string; newUsers: number; activated: number; rate: number | null; complete: boolean }>;
  };
  feedback: FeedbackReport;
  operations: {
    /** Requests this instance answered since it started (its own histogram: no history without Prometheus). */
    requests: number;
    errors: number;
    errorRate: number | null;
    routes: Array<{ method: string; route: string; count: number; p50Ms: number | null; p95Ms: number | null }>;
    alerts: {
      fired: number;
      bySeverity: Record<Severity, number>;
      items: Array<{ ruleId: string; severity: Severity; status: string; firedAt: string; summary: string }>;
    };
    checks: Array<{
      job: string;
      scheduledFor: string;
      worst: string;
      problems: Array<{ id: string; status: string; summary: string }>;
    }>;
    /**
     * p95 latency and the 5xx share over the window, from Prometheus when PROMETHEUS_URL is
     * set (every instance, with history); null without it, or why it failed.
     */
    timeline:
      | {
          stepSeconds: number;
          /** SlowApi's and HighErrorRate's thresholds, drawn on the charts. */
          limits: { p95Seconds: number; errorRate: number };
          points: Array<{ at: string; p95Seconds: number | null; errorRate: number | null }>;
        }
      | { error: string }
      | null;
  };
  findings: Finding[];
}

/** The local day `date` (YYYY-MM-DD) names, or today in `tz`. */
export function reportDay(date: string | undefined, now: Date, tz: string): number {
  if (date === undefined) return localDay(now.getTime(), tz);
  const day = parseIsoDay(date);
  if (day === undefined) throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  return day;
}

export async function buildOpsReport(
  deps: ReportSources,
  kind: ReportKind,
  options: { date?: string; lang: Lang; now?: Date },
): Promise<OpsReport> {
  const now = options.now ?? new Date();
  const { tz } = deps.config;
  const t = (en: string, zh: string) => say(options.lang, { en, zh });
  const last = reportDay(options.date, now, tz);
  const span = SPAN[kind];
  const since = new Date(dayStart(last - span.days + 1, tz));
  const until = new Date(Math.min(dayStart(last + 1, tz), now.getTime()));
  if (since.getTime() >= now.getTime()) throw new RangeError(`the report's day has not begun: ${isoDay(last)}`);
  const trendSince = new Date(dayStart(last - span.trendDays + 1, tz));

  const [metrics, trendReport, feedback, alerts, checks] = await Promise.all([
    // Retention of the latest cohorts old enough by the report's end: a day's own
    // activations have no D7 yet.
    deps.reports.metrics({ since, until, granularity: kind === 'daily' ? 'hour' : 'day', now, retentionCohort: 'latest' }),
    deps.reports.metrics({ since: trendSince, until, granularity: 'day', now }),
    deps.reports.feedback({ since, until, now }),
    deps.db.kysely
      .selectFrom('alerts')
      .select(['rule_id', 'severity', 'status', 'fired_at', 'summary', 'summary_zh'])
      .where('fired_at', '>=', since)
      .where('fired_at', '<', until)
      .orderBy('fired_at', 'desc')
      .execute(),
    deps.db.kysely
      .selectFrom('job_runs')
      .select(['job', 'slot', 'details'])
      .where('job', 'like', 'checks.%')
      .where('started_at', '>=', since)
      .where('started_at', '<', until)
      .orderBy('slot', 'desc')
      .execute(),
  ]);

  const http = deps.http.snapshot();
  const timeline = deps.config.prometheusUrl
    ? await prometheusTimeline(deps.config.prometheusUrl, since, until, kind === 'daily' ? 3_600 : 6 * 3_600, {
        p95Seconds: thresholdOf('SlowApi', 'seconds', deps.thresholds),
        errorRate: thresholdOf('HighErrorRate', 'ratio', deps.thresholds),
      })
    : null;
  const routes = deps.http
    .routeLatencies([0.5, 0.95])
    .filter((route) => route.count > 0)
    .sort((a, b) => b.count - a.count)
    .slice(0, 12)
    .map((route) => ({
      method: route.method,
      route: route.route,
      count: route.count,
      p50Ms: Number.isFinite(route.quantiles[0]) ? (route.quantiles[0] as number) * 1000 : null,
      p95Ms: Number.isFinite(route.quantiles[1]) ? (route.quantiles[1] as number) * 1000 : null,
    }));
  const bySeverity: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const alert of alerts) bySeverity[alert.severity]++;
  const checkRuns = checks.flatMap((row) => {
    const run = (row.details as { run?: StoredCheckRun }).run;
    if (!run) return [];
    return [
      {
        job: row.job,
        scheduledFor: slotTime(row.slot),
        worst: run.worst,
        problems: run.results
          .filter((r) => r.status === 'warn' || r.status === 'fail')
          .map((r) => ({ id: r.id, status: r.status, summary: r.summary })),
      },
    ];
  });

  const report: OpsReport = {
    kind,
    title: {
      daily: t(`SmarTalk daily report ${isoDay(last)}`, `SmarTalk 当日指标报告 ${isoDay(last)}`),
      weekly: t(`SmarTalk weekly report, week to ${isoDay(last)}`, `SmarTalk 周度指标报告（截至 ${isoDay(last)}）`),
      product: t(`SmarTalk product weekly, week to ${isoDay(last)}`, `SmarTalk 产品团队周报（截至 ${isoDay(last)}）`),
    }[kind],
    lang: options.lang,
    date: isoDay(last),
    window: { since: since.toISOString(), until: until.toISOString(), tz },
    generatedAt: now.toISOString(),
    metrics,
    trend: {
      target: METRICS.activationTarget,
      points: trendReport.activation.cohorts.map((cohort) => ({
        day: isoDay(localDay(Date.parse(cohort.start), tz)),
        newUsers: cohort.newUsers,
        activated: cohort.activated,
        rate: cohort.rate,
        complete: cohort.complete,
      })),
    },
    feedback,
    operations: {
      requests: http.total,
      errors: http.errors,
      errorRate: http.total > 0 ? http.errors / http.total : null,
      routes,
      alerts: {
        fired: alerts.length,
        bySeverity,
        items: alerts.slice(0, 20).map((alert) => ({
          ruleId: alert.rule_id,
          severity: alert.severity,
          status: alert.status,
          firedAt: new Date(alert.fired_at).toISOString(),
          summary: options.lang === 'zh-CN' ? (alert.summary_zh ?? alert.summary) : alert.summary,
        })),
      },
      checks: checkRuns,
      timeline,
    },
    findings: [],
  };
  report.findings = findingsOf(report, options.lang);
  return report;
}

/** Hourly (or six-hourly) p95 latency and 5xx share of every SmarTalk instance Prometheus scrapes. */
export async function prometheusTimeline(
  baseUrl: string,
  since: Date,
  until: Date,
  stepSeconds: number,
  limits: { p95Seconds: number; errorRate: number },
): Promise<OpsReport['operations']['timeline']> {
  // A point per whole step, each the step that ends there. In a day's first hour there is
  // no whole step yet: one point at `until` over the time elapsed (Prometheus refuses a
  // range that ends before it starts, and the report would say the history is unavailable).
  const elapsedSeconds = Math.floor((until.getTime() - since.getTime()) / 1000);
  const wholeStep = elapsedSeconds >= stepSeconds;
  const range = { start: wholeStep ? new Date(since.getTime() + stepSeconds * 1000) : until, end: until, stepSeconds };
  const window = `[${wholeStep ? stepSeconds : Math.max(60, elapsedSeconds)}s]`;
  try {
    const [latency, errors] = await Promise.all([
      promRange(
        baseUrl,
        `histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket{job="smartalk",route!="/metrics"}${window})))`,
        range,
      ),
      promRange(
        baseUrl,
        `sum(increase(http_requests_total{job="smartalk",status=~"5.."}${window})) / sum(increase(http_requests_total{job="smartalk"}${window}))`,
        range,
      ),
    ]);
    const points = new Map<number, { at: string; p95Seconds: number | null; errorRate: number | null }>();
    const point = (at: Date) => {
      const known = points.get(at.getTime());
      if (known) return known;
      const p = { at: at.toISOString(), p95Seconds: null as number | null, errorRate: null as number | null };
      points.set(at.getTime(), p);
      return p;
    };
    for (const [at, value] of latency[0]?.points ?? []) point(at).p95Seconds = value;
    for (const [at, value] of errors[0]?.points ?? []) point(at).errorRate = value;
    return { stepSeconds, limits, points: [...points.values()].sort((a, b) => a.at.localeCompare(b.at)) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** What a reader should know first, worst first: targets missed, drops, feedback, incidents. */
export function findingsOf(report: OpsReport, lang: Lang): Finding[] {
  const t = (en: string, zh: string) => say(lang, { en, zh });
  const { metrics, feedback, operations } = report;
  const findings: Finding[] = [];
  for (const flag of metrics.flags) {
    findings.push({
      severity: flag.code === 'activation_drop' ? 'critical' : 'warning',
      text:
        flag.code === 'activation_drop'
          ? t(
              `Activation ${percent(flag.current)} fell below half of the previous 7 days (${percent(flag.baseline)})`,
              `激活率 ${percent(flag.current)} 跌破前 7 天（${percent(flag.baseline)}）的一半`,
            )
          : t(
              `Funnel step ${flag.step} converts ${percent(flag.current)} vs ${percent(flag.baseline)} in the previous 7 days`,
              `漏斗第 ${flag.step} 步转化 ${percent(flag.current)}，前 7 天 ${percent(flag.baseline)}`,
            ),
    });
  }
  const activation = metrics.activation;
  if (activation.rate !== null && activation.rate < activation.target) {
    // A handful of new learners is a reading, not a verdict (LowActivationRate waits for as many).
    const few = activation.newUsers < METRICS.minNewUsersToJudge;
    findings.push({
      severity: few ? 'info' : activation.verdict === 'needs_work' ? 'warning' : 'info',
      text: t(
        `Activation ${percent(activation.rate)} (${activation.activated} of ${activation.newUsers}) is below the ${percent(activation.target)} target${few ? ` — too few new learners to judge (${METRICS.minNewUsersToJudge} needed)` : ''}`,
        `激活率 ${percent(activation.rate)}（${activation.newUsers} 人中 ${activation.activated} 人）低于 ${percent(activation.target)} 目标${few ? `——新用户太少，尚不足以判断（需 ${METRICS.minNewUsersToJudge} 人）` : ''}`,
      ),
    });
  }
  if (operations.alerts.bySeverity.critical > 0) {
    findings.push({
      severity: 'critical',
      text: t(
        `${operations.alerts.bySeverity.critical} critical alerts fired`,
        `触发 ${operations.alerts.bySeverity.critical} 条严重告警`,
      ),
    });
  }
  const failedChecks = operations.checks.flatMap((run) => run.problems.filter((p) => p.status === 'fail'));
  if (failedChecks.length > 0) {
    findings.push({
      severity: 'warning',
      text: t(
        `${failedChecks.length} checklist failures: ${[...new Set(failedChecks.map((p) => p.id))].join(', ')}`,
        `检查清单失败 ${failedChecks.length} 次：${[...new Set(failedChecks.map((p) => p.id))].join('、')}`,
      ),
    });
  }
  if (feedback.negativeRising.rising) {
    findings.push({
      severity: 'warning',
      text: t(
        `Negative feedback rising: ${percent(feedback.sentiment.negativeShare)} vs ${percent(feedback.baseline.negativeShare)} in the previous 7 days`,
        `负面反馈上升：${percent(feedback.sentiment.negativeShare)}，前 7 天 ${percent(feedback.baseline.negativeShare)}`,
      ),
    });
  }
  if (feedback.urgent.count > 0) {
    findings.push({
      severity: 'warning',
      text: t(`${feedback.urgent.count} urgent feedback items to answer`, `${feedback.urgent.count} 条紧急反馈待处理`),
    });
  }
  for (const [name, retention] of [
    ['D1', metrics.retention.d1],
    ['D7', metrics.retention.d7],
  ] as const) {
    if (retention.met === false) {
      findings.push({
        severity: 'info',
        text: t(
          `${name} retention ${percent(retention.rate)} is below its ${percent(retention.target)} target`,
          `${name} 留存 ${percent(retention.rate)} 低于 ${percent(retention.target)} 目标`,
        ),
      });
    }
  }
  if (operations.errorRate !== null && operations.errorRate > 0.01) {
    findings.push({
      severity: 'warning',
      text: t(`API error rate ${percent(operations.errorRate)}`, `API 错误率 ${percent(operations.errorRate)}`),
    });
  }
  if (findings.length === 0)
    findings.push({
      severity: 'info',
      text: t('Nothing needs attention: every target met, no incidents', '无需关注：各项指标达标，无事故'),
    });
  return findings.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
}
