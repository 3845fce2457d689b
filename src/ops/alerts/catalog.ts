/**
 * The one catalog of alert rules (docs/alerts.md, the runbook's 告警配置). From it:
 * the Prometheus rules file, the Alertmanager routing, promtool unit tests, the
 * built-in evaluator, and docs/alerts.md.
 *
 * Every rule reads a series the server (or Prometheus itself, for `up`) exports,
 * so Prometheus can evaluate all of them; rules about business numbers read the
 * gauges of the analytics and feedback services.
 */
import { METRICS } from '../../analytics/definitions.js';
import type { Bilingual } from '../../i18n.js';

export type Severity = 'critical' | 'warning' | 'info';

/** The runbook's three tiers: respond at once, within 1 hour, within 4 hours. */
export const SEVERITIES: Record<Severity, { responseMinutes: number; label: Bilingual }> = {
  critical: { responseMinutes: 0, label: { en: 'critical (respond immediately)', zh: '紧急（立即响应）' } },
  warning: { responseMinutes: 60, label: { en: 'warning (respond within 1 hour)', zh: '警告（1小时内响应）' } },
  info: { responseMinutes: 240, label: { en: 'info (respond within 4 hours)', zh: '信息（4小时内响应）' } },
};

export type RuleId =
  | 'ServiceDown'
  | 'DatabaseDown'
  | 'HighErrorRate'
  | 'ActivationRateDrop'
  | 'LowActivationRate'
  | 'HighCpu'
  | 'HighMemory'
  | 'LowDiskSpace'
  | 'SlowApi'
  | 'BackupStale'
  | 'BackupFailed'
  | 'DbConnectionsHigh'
  | 'NegativeFeedbackRising'
  | 'FunnelStepDrop'
  | 'CdnHitRateLow';

/** How the alert's value reads in messages (Prometheus template function). */
export type ValueFormat = 'percentage' | 'seconds' | 'number' | 'duration';

/** One promtool scenario: input series (promtool notation) and when to look. */
export interface RuleScenario {
  series: Array<{ series: string; values: string }>;
  evalTime: string;
  /** Labels the firing alert carries besides alertname/severity/rule labels. */
  labels?: Record<string, string>;
  /** The firing alert's value, as the template will print it. */
  value?: string;
}

/** The outside services whose support an alert may need (外部服务联系方式). */
export type VendorKind = 'cloud' | 'cdn' | 'database';

export interface AlertRule {
  id: RuleId;
  severity: Severity;
  /** Prometheus `for`: how long the condition must hold. */
  for: string;
  /** Default thresholds; overridable in the alerts config. */
  thresholds: Record<string, number>;
  /** PromQL, given the (possibly overridden) thresholds. */
  expr: (t: Record<string, number>) => string;
  valueFormat: ValueFormat;
  summary: Bilingual;
  /** What is wrong and what to look at first; `{{value}}` and `{{threshold}}` are filled in. */
  description: Bilingual;
  /** Section of docs/runbook.md (the runbook's own diagnosis steps). */
  runbook: string;
  /** Whose support line the alert carries when ALERTS_CONFIG names one (vendors.*). */
  vendor?: VendorKind;
  /** The main threshold, for messages ("current value vs threshold"). */
  threshold: (t: Record<string, number>) => string;
  /** promtool: fires after `for` … */
  firing: RuleScenario;
  /** … and stays silent just below the threshold … */
  quiet: RuleScenario;
  /** … and in the other cases it must not page for (named after what they show). */
  alsoQuiet?: Array<RuleScenario & { name: string }>;
}

const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;

/** Enough new learners in the window and in the 7 days before it for a comparison to mean something. */
const enoughNewUsers = (min: number) => `(smartalk_new_users >= ${min} and smartalk_baseline_new_users >= ${min})`;

/** promtool series of the two new-learner gauges the comparisons are gated on. */
const newUserSeries = (now: number, before: number, samples: number) => [
  { series: 'smartalk_new_users{job="smartalk",instance="app1:3000"}', values: `${now}x${samples}` },
  { series: 'smartalk_baseline_new_users{job="smartalk",instance="app1:3000"}', values: `${before}x${samples}` },
];

/** ActivationRateDrop's promtool inputs: activation from 40% to `to` against a steady 40% baseline, with these new learners. */
const activationDropSeries = (to: string, now: number, before: number) => [
  { series: 'smartalk_activation_ratio{job="smartalk",instance="app1:3000"}', values: `0.4 ${to}x20` },
  { series: 'smartalk_activation_baseline_ratio{job="smartalk",instance="app1:3000"}', values: '0.4x21' },
  ...newUserSeries(now, before, 21),
];

export const RULES: AlertRule[] = [
  {
    id: 'ServiceDown',
    severity: 'critical',
    vendor: 'cloud',
    for: '1m',
    thresholds: {},
    expr: () => 'up{job="smartalk"} == 0',
    valueFormat: 'number',
    summary: { en: 'SmarTalk is down', zh: '系统宕机或服务不可用' },
    description: {
      en: 'Prometheus cannot scrape {{instance}}: the server is not answering. Check the process and its log (systemctl status smartalk-backend; journalctl -u smartalk-backend).',
      zh: 'Prometheus 无法抓取 {{instance}}：服务无响应。检查进程与日志（systemctl status smartalk-backend；journalctl -u smartalk-backend）。',
    },
    runbook: 'docs/runbook.md#问题1-应用无法启动',
    threshold: () => 'up == 0',
    firing: {
      series: [{ series: 'up{job="smartalk",instance="app1:3000"}', values: '1 0x10' }],
      evalTime: '3m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '0',
    },
    quiet: { series: [{ series: 'up{job="smartalk",instance="app1:3000"}', values: '1 0 1x10' }], evalTime: '3m' },
  },
  {
    id: 'DatabaseDown',
    severity: 'critical',
    vendor: 'database',
    for: '1m',
    thresholds: {},
    expr: () => 'smartalk_db_up == 0',
    valueFormat: 'number',
    summary: { en: 'Database unreachable', zh: '数据库连接失败' },
    description: {
      en: '{{instance}} cannot reach PostgreSQL: user data cannot be saved. Check PostgreSQL (systemctl status postgresql) and /api/v1/health.',
      zh: '{{instance}} 无法连接 PostgreSQL，用户数据无法保存。检查 PostgreSQL（systemctl status postgresql）与 /api/v1/health。',
    },
    runbook: 'docs/runbook.md#问题2-数据库连接失败',
    threshold: () => 'smartalk_db_up == 0',
    firing: {
      series: [{ series: 'smartalk_db_up{job="smartalk",instance="app1:3000"}', values: '1 0x10' }],
      evalTime: '3m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '0',
    },
    quiet: { series: [{ series: 'smartalk_db_up{job="smartalk",instance="app1:3000"}', values: '1 0 1x10' }], evalTime: '3m' },
  },
  {
    id: 'HighErrorRate',
    severity: 'critical',
    for: '2m',
    thresholds: { ratio: 0.05 },
    // The runbook's rate(…{status=~"5.."}[5m]) > 0.05 compares errors per second with 0.05;
    // the rule is about the share of requests that fail.
    expr: (t) =>
      `sum by (job) (rate(http_requests_total{job="smartalk",status=~"5.."}[5m])) / sum by (job) (rate(http_requests_total{job="smartalk"}[5m])) > ${t.ratio}`,
    valueFormat: 'percentage',
    summary: { en: 'API error rate above 5%', zh: 'API 错误率 > 5%' },
    description: {
      en: '{{value}} of requests answered 5xx over 5 minutes (threshold {{threshold}}). Look at the log for `request failed` and at smartalk_db_up.',
      zh: '过去 5 分钟 {{value}} 的请求返回 5xx（阈值 {{threshold}}）。查看日志中的 request failed 与 smartalk_db_up。',
    },
    runbook: 'docs/runbook.md#系统监控指南--system-monitoring',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [
        {
          series: 'http_requests_total{job="smartalk",instance="app1:3000",route="/api/v1/users",method="POST",status="200"}',
          values: '0+94x20',
        },
        {
          series: 'http_requests_total{job="smartalk",instance="app1:3000",route="/api/v1/users",method="POST",status="500"}',
          values: '0+6x20',
        },
      ],
      evalTime: '10m',
      labels: { job: 'smartalk' },
      value: '6%',
    },
    quiet: {
      series: [
        {
          series: 'http_requests_total{job="smartalk",instance="app1:3000",route="/api/v1/users",method="POST",status="200"}',
          values: '0+951x20',
        },
        {
          series: 'http_requests_total{job="smartalk",instance="app1:3000",route="/api/v1/users",method="POST",status="500"}',
          values: '0+49x20',
        },
      ],
      evalTime: '10m',
    },
  },
  {
    id: 'ActivationRateDrop',
    severity: 'critical',
    for: '10m',
    thresholds: { factor: METRICS.activationDropFactor, minNewUsers: METRICS.minNewUsersToJudge },
    // The runbook's rate(user_activated_total[1h]) < 0.4 is activations per second, not a
    // ratio; this compares the activation ratio with the previous 7 days' (40% → 20%), with
    // enough new learners on both sides that the difference is not one learner's.
    expr: (t) =>
      `smartalk_activation_ratio < ${t.factor} * smartalk_activation_baseline_ratio and ${enoughNewUsers(t.minNewUsers as number)}`,
    valueFormat: 'percentage',
    summary: { en: 'Activation rate dropped by more than half', zh: '用户激活率下降 > 50%' },
    description: {
      en: 'Activation is {{value}}, under {{threshold}} of the previous 7 days. Find the funnel step that fell (smartalk metrics report) and read the feedback (smartalk feedback report).',
      zh: '当前激活率 {{value}}，低于前 7 天的 {{threshold}}。定位下降的漏斗环节（smartalk metrics report），查看用户反馈（smartalk feedback report）。',
    },
    runbook: 'docs/runbook.md#问题4-用户激活率突然下降',
    threshold: (t) => `${pct(t.factor as number)} × baseline`,
    firing: {
      series: activationDropSeries('0.19', 120, 150),
      evalTime: '12m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '19%',
    },
    quiet: {
      series: activationDropSeries('0.21', 120, 150),
      evalTime: '12m',
    },
    alsoQuiet: [
      {
        name: 'too few new learners this week to judge',
        series: activationDropSeries('0.1', 10, 150),
        evalTime: '12m',
      },
      {
        name: 'too few new learners the week before to judge',
        series: activationDropSeries('0.1', 120, 5),
        evalTime: '12m',
      },
    ],
  },
  {
    id: 'LowActivationRate',
    severity: 'warning',
    for: '10m',
    thresholds: { ratio: METRICS.activationTarget, minNewUsers: METRICS.minNewUsersToJudge },
    // The runbook's rule of this name, rate(user_activated_total[1h]) < 0.4, compares
    // activations per second with 0.4; its meaning is the activation ratio (docs/metrics.md)
    // below the 40% target — judged only with enough new learners, so a quiet night's
    // three installs do not page anyone.
    expr: (t) => `smartalk_activation_ratio < ${t.ratio} and smartalk_new_users >= ${t.minNewUsers}`,
    valueFormat: 'percentage',
    summary: { en: 'User activation rate below target', zh: '用户激活率低于目标' },
    description: {
      en: 'Activation of the last 7 days\u2019 new learners is {{value}}, under the {{threshold}} target. Find the weakest funnel step (smartalk metrics report) and what learners say about it (smartalk feedback report).',
      zh: '近 7 天新用户激活率 {{value}}，低于 {{threshold}} 目标。定位最弱的漏斗环节（smartalk metrics report），查看用户的相关反馈（smartalk feedback report）。',
    },
    runbook: 'docs/runbook.md#问题4-用户激活率突然下降',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [
        { series: 'smartalk_activation_ratio{job="smartalk",instance="app1:3000"}', values: '0.3x20' },
        { series: 'smartalk_new_users{job="smartalk",instance="app1:3000"}', values: '120x20' },
      ],
      evalTime: '12m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '30%',
    },
    quiet: {
      series: [
        { series: 'smartalk_activation_ratio{job="smartalk",instance="app1:3000"}', values: '0.45x20' },
        { series: 'smartalk_new_users{job="smartalk",instance="app1:3000"}', values: '120x20' },
      ],
      evalTime: '12m',
    },
    alsoQuiet: [
      {
        name: 'too few new learners to judge',
        series: [
          { series: 'smartalk_activation_ratio{job="smartalk",instance="app1:3000"}', values: '0.3x20' },
          { series: 'smartalk_new_users{job="smartalk",instance="app1:3000"}', values: '20x20' },
        ],
        evalTime: '12m',
      },
    ],
  },
  {
    id: 'HighCpu',
    severity: 'warning',
    for: '5m',
    thresholds: { ratio: 0.8 },
    expr: (t) => `smartalk_cpu_usage_ratio > ${t.ratio}`,
    valueFormat: 'percentage',
    summary: { en: 'CPU above 80%', zh: 'CPU 使用率 > 80%' },
    description: {
      en: 'CPU use on {{instance}} is {{value}} (threshold {{threshold}}) for 5 minutes. Check which process (top -p $(pgrep -f smartalk)) and the request rate.',
      zh: '{{instance}} CPU 使用率 {{value}}（阈值 {{threshold}}）持续 5 分钟。检查进程（top -p $(pgrep -f smartalk)）与请求量。',
    },
    runbook: 'docs/runbook.md#系统监控指南--system-monitoring',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [{ series: 'smartalk_cpu_usage_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.85x10' }],
      evalTime: '7m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '85%',
    },
    quiet: {
      series: [{ series: 'smartalk_cpu_usage_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.79x10' }],
      evalTime: '7m',
    },
  },
  {
    id: 'HighMemory',
    severity: 'warning',
    for: '5m',
    thresholds: { ratio: 0.85 },
    expr: (t) => `smartalk_memory_used_ratio > ${t.ratio}`,
    valueFormat: 'percentage',
    summary: { en: 'Memory above 85%', zh: '内存使用率 > 85%' },
    description: {
      en: 'Memory use on {{instance}} is {{value}} (threshold {{threshold}}). Check the largest processes (ps aux --sort=-%mem | head).',
      zh: '{{instance}} 内存使用率 {{value}}（阈值 {{threshold}}）。查看占用最多的进程（ps aux --sort=-%mem | head）。',
    },
    runbook: 'docs/runbook.md#系统监控指南--system-monitoring',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [{ series: 'smartalk_memory_used_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.9x10' }],
      evalTime: '7m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '90%',
    },
    quiet: {
      series: [{ series: 'smartalk_memory_used_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.84x10' }],
      evalTime: '7m',
    },
  },
  {
    id: 'LowDiskSpace',
    severity: 'warning',
    vendor: 'cloud',
    for: '5m',
    thresholds: { ratio: 0.2 },
    expr: (t) => `smartalk_disk_free_ratio < ${t.ratio}`,
    valueFormat: 'percentage',
    summary: { en: 'Disk space below 20%', zh: '磁盘空间 < 20%' },
    description: {
      en: 'Only {{value}} of the data disk is free on {{instance}} (threshold {{threshold}}). Clear old logs and temporary files (df -h; du -sh /var/log/*).',
      zh: '{{instance}} 数据盘仅剩 {{value}}（阈值 {{threshold}}）。清理过期日志和临时文件（df -h；du -sh /var/log/*）。',
    },
    runbook: 'docs/runbook.md#系统监控指南--system-monitoring',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [{ series: 'smartalk_disk_free_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.15x10' }],
      evalTime: '7m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '15%',
    },
    quiet: {
      series: [{ series: 'smartalk_disk_free_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.21x10' }],
      evalTime: '7m',
    },
  },
  {
    id: 'SlowApi',
    severity: 'warning',
    for: '5m',
    thresholds: { seconds: 1 },
    // avg(http_request_duration_seconds) averages bucket counters; a latency SLO reads the
    // histogram's 95th percentile over the last 5 minutes.
    expr: (t) =>
      `histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{job="smartalk"}[5m]))) > ${t.seconds}`,
    valueFormat: 'seconds',
    summary: { en: 'API response time above 1 s (p95)', zh: 'API 响应时间 > 1秒（p95）' },
    description: {
      en: 'The 95th percentile of API latency is {{value}} (threshold {{threshold}}). Check slow queries (pg_stat_statements) and the database pool.',
      zh: 'API 响应时间 p95 为 {{value}}（阈值 {{threshold}}）。检查慢查询（pg_stat_statements）与连接池。',
    },
    runbook: 'docs/runbook.md#性能优化指南--performance',
    threshold: (t) => `${t.seconds}s`,
    firing: {
      series: [
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="0.5"}',
          values: '0+10x20',
        },
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="1"}',
          values: '0+20x20',
        },
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="2.5"}',
          values: '0+100x20',
        },
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="+Inf"}',
          values: '0+100x20',
        },
      ],
      evalTime: '12m',
      labels: { job: 'smartalk' },
      value: '2.406s',
    },
    quiet: {
      series: [
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="0.5"}',
          values: '0+10x20',
        },
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="1"}',
          values: '0+96x20',
        },
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="2.5"}',
          values: '0+100x20',
        },
        {
          series: 'http_request_duration_seconds_bucket{job="smartalk",instance="app1:3000",route="/x",method="GET",le="+Inf"}',
          values: '0+100x20',
        },
      ],
      evalTime: '12m',
    },
  },
  {
    id: 'BackupStale',
    severity: 'warning',
    for: '5m',
    thresholds: { hours: 26 },
    expr: (t) => `time() - smartalk_backup_last_success_timestamp_seconds > ${(t.hours as number) * 3600}`,
    valueFormat: 'duration',
    summary: { en: 'No verified backup for over 26 hours', zh: '超过 26 小时没有可用备份' },
    description: {
      en: 'The last verified backup finished {{value}} ago (threshold {{threshold}}). Check the backup job (确认备份任务执行状态).',
      zh: '最近一次验证通过的备份在 {{value}} 前（阈值 {{threshold}}）。检查备份任务（确认备份任务执行状态）。',
    },
    runbook: 'docs/runbook.md#日常运维程序--daily-operations',
    threshold: (t) => `${t.hours}h`,
    firing: {
      series: [
        { series: 'smartalk_backup_last_success_timestamp_seconds{job="smartalk",instance="app1:3000"}', values: '-100000x10' },
      ],
      evalTime: '8m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '1d 3h 54m 40s',
    },
    quiet: {
      series: [{ series: 'smartalk_backup_last_success_timestamp_seconds{job="smartalk",instance="app1:3000"}', values: '0x10' }],
      evalTime: '8m',
    },
  },
  {
    id: 'BackupFailed',
    severity: 'warning',
    for: '0m',
    thresholds: {},
    expr: () => 'smartalk_backup_last_run_failed == 1',
    valueFormat: 'number',
    summary: { en: 'The last backup failed', zh: '最近一次备份失败' },
    description: {
      en: 'The last backup run on {{instance}} failed. `smartalk backup status` shows its error; fix the cause and run `smartalk backup create`.',
      zh: '{{instance}} 最近一次备份失败。`smartalk backup status` 显示其错误；排除原因后执行 `smartalk backup create`。',
    },
    runbook: 'docs/runbook.md#日常运维程序--daily-operations',
    threshold: () => 'failed',
    firing: {
      series: [{ series: 'smartalk_backup_last_run_failed{job="smartalk",instance="app1:3000"}', values: '0 1x10' }],
      evalTime: '2m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '1',
    },
    quiet: {
      series: [{ series: 'smartalk_backup_last_run_failed{job="smartalk",instance="app1:3000"}', values: '0x10' }],
      evalTime: '2m',
    },
  },
  {
    id: 'DbConnectionsHigh',
    severity: 'warning',
    for: '5m',
    thresholds: { ratio: 0.8 },
    expr: (t) => `smartalk_db_connections_used_ratio > ${t.ratio}`,
    valueFormat: 'percentage',
    summary: { en: 'Database connections above 80% of max', zh: '数据库连接数 > 最大值的 80%' },
    description: {
      en: '{{value}} of PostgreSQL max_connections are in use (threshold {{threshold}}). Check pg_stat_activity for idle or stuck sessions.',
      zh: 'PostgreSQL 已用连接占 max_connections 的 {{value}}（阈值 {{threshold}}）。检查 pg_stat_activity 中的空闲或卡住的会话。',
    },
    runbook: 'docs/runbook.md#问题2-数据库连接失败',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [{ series: 'smartalk_db_connections_used_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.9x10' }],
      evalTime: '7m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '90%',
    },
    quiet: {
      series: [{ series: 'smartalk_db_connections_used_ratio{job="smartalk",instance="app1:3000"}', values: '0.5 0.79x10' }],
      evalTime: '7m',
    },
  },
  {
    id: 'NegativeFeedbackRising',
    severity: 'info',
    for: '30m',
    thresholds: { factor: 1.5, minItems: 20 },
    expr: (t) =>
      `smartalk_feedback_negative_ratio > ${t.factor} * smartalk_feedback_negative_baseline_ratio and smartalk_feedback_window_items >= ${t.minItems}`,
    valueFormat: 'percentage',
    summary: { en: 'Negative feedback is rising', zh: '用户反馈负面情绪增加' },
    description: {
      en: '{{value}} of the last 7 days’ feedback is negative, over {{threshold}} of the 7 days before. Read the themes and quotes (smartalk feedback report).',
      zh: '近 7 天负面反馈占 {{value}}，超过前 7 天的 {{threshold}}。查看主题与原话（smartalk feedback report）。',
    },
    runbook: 'docs/runbook.md#用户反馈--feedback-issue-4',
    threshold: (t) => `${t.factor}× baseline, ≥ ${t.minItems} items`,
    firing: {
      series: [
        { series: 'smartalk_feedback_negative_ratio{job="smartalk",instance="app1:3000"}', values: '0.2 0.4x40' },
        { series: 'smartalk_feedback_negative_baseline_ratio{job="smartalk",instance="app1:3000"}', values: '0.2x41' },
        { series: 'smartalk_feedback_window_items{job="smartalk",instance="app1:3000"}', values: '50x41' },
      ],
      evalTime: '32m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '40%',
    },
    quiet: {
      series: [
        { series: 'smartalk_feedback_negative_ratio{job="smartalk",instance="app1:3000"}', values: '0.2 0.29x40' },
        { series: 'smartalk_feedback_negative_baseline_ratio{job="smartalk",instance="app1:3000"}', values: '0.2x41' },
        { series: 'smartalk_feedback_window_items{job="smartalk",instance="app1:3000"}', values: '50x41' },
      ],
      evalTime: '32m',
    },
  },
  {
    id: 'FunnelStepDrop',
    severity: 'info',
    for: '30m',
    thresholds: { factor: METRICS.funnelStepDropFactor, minNewUsers: METRICS.minNewUsersToJudge },
    expr: (t) =>
      `smartalk_funnel_step_conversion_ratio < ${t.factor} * smartalk_funnel_step_conversion_baseline_ratio and on(job, instance) ${enoughNewUsers(t.minNewUsers as number)}`,
    valueFormat: 'percentage',
    summary: { en: 'A funnel step dropped by more than 20%', zh: '转化漏斗某环节下降 > 20%' },
    description: {
      en: 'Funnel step {{step}} converts {{value}}, under {{threshold}} of the previous 7 days. Check what changed at that step (smartalk metrics report).',
      zh: '漏斗第 {{step}} 步转化率 {{value}}，低于前 7 天的 {{threshold}}。检查该环节的变化（smartalk metrics report）。',
    },
    runbook: 'docs/runbook.md#问题4-用户激活率突然下降',
    threshold: (t) => `${pct(t.factor as number)} × baseline`,
    firing: {
      series: [
        { series: 'smartalk_funnel_step_conversion_ratio{job="smartalk",instance="app1:3000",step="5"}', values: '0.9 0.7x40' },
        {
          series: 'smartalk_funnel_step_conversion_baseline_ratio{job="smartalk",instance="app1:3000",step="5"}',
          values: '0.9x41',
        },
        ...newUserSeries(120, 150, 41),
      ],
      evalTime: '32m',
      labels: { job: 'smartalk', instance: 'app1:3000', step: '5' },
      value: '70%',
    },
    quiet: {
      series: [
        { series: 'smartalk_funnel_step_conversion_ratio{job="smartalk",instance="app1:3000",step="5"}', values: '0.9 0.73x40' },
        {
          series: 'smartalk_funnel_step_conversion_baseline_ratio{job="smartalk",instance="app1:3000",step="5"}',
          values: '0.9x41',
        },
        ...newUserSeries(120, 150, 41),
      ],
      evalTime: '32m',
    },
    alsoQuiet: [
      {
        name: 'too few new learners to judge',
        series: [
          { series: 'smartalk_funnel_step_conversion_ratio{job="smartalk",instance="app1:3000",step="5"}', values: '0.9 0.5x40' },
          {
            series: 'smartalk_funnel_step_conversion_baseline_ratio{job="smartalk",instance="app1:3000",step="5"}',
            values: '0.9x41',
          },
          ...newUserSeries(12, 150, 41),
        ],
        evalTime: '32m',
      },
    ],
  },
  {
    id: 'CdnHitRateLow',
    severity: 'info',
    vendor: 'cdn',
    for: '15m',
    thresholds: { ratio: 0.9 },
    expr: (t) => `smartalk_cdn_cache_hit_ratio < ${t.ratio}`,
    valueFormat: 'percentage',
    summary: { en: 'CDN cache hit ratio below 90%', zh: 'CDN 缓存命中率 < 90%' },
    description: {
      en: 'The video edge served {{value}} of requests from cache over the last hour (threshold {{threshold}}). Check the edge: curl -I …/videos/sample.mp4 and the cache= field of the nginx access log.',
      zh: '过去一小时视频边缘缓存命中率 {{value}}（阈值 {{threshold}}）。检查边缘节点：curl -I …/videos/sample.mp4 与 nginx 访问日志中的 cache= 字段。',
    },
    runbook: 'docs/runbook.md#问题3-视频加载缓慢',
    threshold: (t) => pct(t.ratio as number),
    firing: {
      series: [{ series: 'smartalk_cdn_cache_hit_ratio{job="smartalk",instance="app1:3000"}', values: '0.95 0.8x20' }],
      evalTime: '17m',
      labels: { job: 'smartalk', instance: 'app1:3000' },
      value: '80%',
    },
    quiet: {
      series: [{ series: 'smartalk_cdn_cache_hit_ratio{job="smartalk",instance="app1:3000"}', values: '0.95 0.91x20' }],
      evalTime: '17m',
    },
  },
];

export const ruleById = (id: string) => RULES.find((rule) => rule.id === id);

/** Threshold overrides from the alerts config (ALERTS_CONFIG), by rule id. */
export type ThresholdOverrides = Partial<Record<string, Record<string, number>>>;

/**
 * A rule's thresholds as they apply: its defaults with the alerts config's overrides.
 * The one place the two meet — the exported rules, the built-in evaluator and the
 * health checks all read them here.
 */
export const thresholdsOf = (rule: AlertRule, overrides: ThresholdOverrides = {}): Record<string, number> => ({
  ...rule.thresholds,
  ...overrides[rule.id],
});

/** One threshold of a rule by id, as it applies. */
export const thresholdOf = (id: RuleId, key: string, overrides: ThresholdOverrides = {}): number =>
  thresholdsOf(ruleById(id) as AlertRule, overrides)[key] as number;
