/**
 * The runbook's dashboards (监控仪表板配置) as data: each panel's PromQL, unit and the
 * threshold line it shows, taken from the alert catalog so a dashboard and its alert never
 * disagree. The Grafana JSON is generated from this (grafana.ts), and a test runs every
 * query here through a real Prometheus scraping a real server.
 */
import type { Bilingual } from '../../i18n.js';
import { RULES, type RuleId, thresholdsOf } from '../alerts/catalog.js';

export type PanelKind = 'timeseries' | 'stat' | 'bargauge';

export interface PanelQuery {
  expr: string;
  legend: string;
}

export interface PanelDefinition {
  title: Bilingual;
  description: Bilingual;
  kind: PanelKind;
  /** Grafana's unit id: s, percentunit, short, reqps … */
  unit: string;
  queries: PanelQuery[];
  /** A line (or colour step) at the alert's threshold; `above`: bad when over it. */
  threshold?: { value: number; above: boolean; label: string };
  min?: number;
  max?: number;
  width?: number;
}

export interface DashboardDefinition {
  uid: string;
  title: Bilingual;
  tags: string[];
  panels: PanelDefinition[];
}

const threshold = (id: RuleId, key: string): number => {
  const rule = RULES.find((r) => r.id === id);
  if (!rule) throw new Error(`no rule ${id}`);
  return thresholdsOf(rule)[key] as number;
};

/** The scrape job's name in deploy/prometheus/prometheus.yml (and the alert rules). */
const JOB = 'job="smartalk"';

export const DASHBOARDS: DashboardDefinition[] = [
  {
    uid: 'smartalk-system',
    title: { en: 'SmarTalk — System overview', zh: 'SmarTalk — 系统概览' },
    tags: ['smartalk', 'system'],
    panels: [
      {
        title: { en: 'API response time', zh: 'API响应时间' },
        description: {
          en: 'p50 and p95 over 5 minutes; SlowApi fires over the line.',
          zh: '5 分钟内 p50 与 p95；超过红线触发 SlowApi。',
        },
        kind: 'timeseries',
        unit: 's',
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{${JOB}}[5m])))`,
            legend: 'p50',
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${JOB}}[5m])))`,
            legend: 'p95',
          },
        ],
        threshold: { value: threshold('SlowApi', 'seconds'), above: true, label: 'SlowApi' },
        min: 0,
      },
      {
        title: { en: 'Error rate', zh: '错误率' },
        description: {
          en: 'Share of requests answered 5xx over 5 minutes (a ratio, not errors per second); HighErrorRate fires over the line.',
          zh: '5 分钟内返回 5xx 的请求占比（比例，而非每秒错误数）；超过红线触发 HighErrorRate。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [
          {
            // No 5xx at all is no series; `or vector(0)` keeps the panel at 0 instead of empty.
            expr: `(sum(rate(http_requests_total{${JOB},status=~"5.."}[5m])) or vector(0)) / sum(rate(http_requests_total{${JOB}}[5m]))`,
            legend: '5xx',
          },
        ],
        threshold: { value: threshold('HighErrorRate', 'ratio'), above: true, label: 'HighErrorRate' },
        min: 0,
      },
      {
        title: { en: 'Requests per second by route', zh: '各接口每秒请求数' },
        description: { en: 'The ten busiest route templates.', zh: '请求最多的十个接口。' },
        kind: 'timeseries',
        unit: 'reqps',
        queries: [{ expr: `topk(10, sum by (route) (rate(http_requests_total{${JOB}}[5m])))`, legend: '{{route}}' }],
        min: 0,
      },
      {
        title: { en: 'Active users', zh: '活跃用户数' },
        description: {
          en: 'Learners with an event or a request in the last 5 minutes, and new learners of the last 7 days.',
          zh: '最近 5 分钟有事件或请求的学习者，以及最近 7 天的新用户。',
        },
        kind: 'timeseries',
        unit: 'short',
        queries: [
          { expr: `max(smartalk_active_users{${JOB}})`, legend: 'real-time' },
          { expr: `max(smartalk_new_users{${JOB}})`, legend: 'new (7 d)' },
        ],
        min: 0,
      },
      {
        title: { en: 'Database connections', zh: '数据库连接数' },
        description: {
          en: 'Share of max_connections in use; DbConnectionsHigh fires over the line.',
          zh: '已用 max_connections 的比例；超过红线触发 DbConnectionsHigh。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [{ expr: `max by (instance) (smartalk_db_connections_used_ratio{${JOB}})`, legend: '{{instance}}' }],
        threshold: { value: threshold('DbConnectionsHigh', 'ratio'), above: true, label: 'DbConnectionsHigh' },
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Database and cache up', zh: '数据库与缓存' },
        description: { en: '1 up, 0 down, per instance.', zh: '1 正常，0 故障（按实例）。' },
        kind: 'stat',
        unit: 'short',
        queries: [
          { expr: `min(smartalk_db_up{${JOB}})`, legend: 'database' },
          { expr: `min(smartalk_cache_up{${JOB}})`, legend: 'cache' },
        ],
        threshold: { value: 1, above: false, label: 'down' },
      },
      {
        title: { en: 'CPU, memory and disk', zh: 'CPU、内存与磁盘' },
        description: {
          en: 'HighCpu and HighMemory fire over 80%, LowDiskSpace under 10% free.',
          zh: 'CPU、内存超过 80% 或磁盘剩余低于 10% 时告警。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [
          { expr: `max(smartalk_cpu_usage_ratio{${JOB}})`, legend: 'cpu' },
          { expr: `max(smartalk_memory_used_ratio{${JOB}})`, legend: 'memory' },
          { expr: `min(smartalk_disk_free_ratio{${JOB}})`, legend: 'disk free' },
        ],
        threshold: { value: threshold('HighCpu', 'ratio'), above: true, label: 'HighCpu' },
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Event-loop lag p99', zh: '事件循环延迟 p99' },
        description: {
          en: 'Node.js event-loop delay; over 100 ms every request waits.',
          zh: 'Node.js 事件循环延迟；超过 100 毫秒时所有请求都在等待。',
        },
        kind: 'timeseries',
        unit: 's',
        queries: [{ expr: `max by (instance) (smartalk_event_loop_lag_p99_seconds{${JOB}})`, legend: '{{instance}}' }],
        min: 0,
      },
    ],
  },
  {
    uid: 'smartalk-business',
    title: { en: 'SmarTalk — Business metrics', zh: 'SmarTalk — 业务指标' },
    tags: ['smartalk', 'business'],
    panels: [
      {
        title: { en: 'Activation rate', zh: '用户激活率趋势' },
        description: {
          en: 'New learners of the last 7 days who reached a magic moment, the 7 days before, and the 40% target (LowActivationRate).',
          zh: '最近 7 天新用户中完成魔法时刻的比例、前 7 天的比例，以及 40% 目标线（LowActivationRate）。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [
          { expr: `max(smartalk_activation_ratio{${JOB}})`, legend: 'last 7 days' },
          { expr: `max(smartalk_activation_baseline_ratio{${JOB}})`, legend: 'the 7 days before' },
        ],
        threshold: { value: threshold('LowActivationRate', 'ratio'), above: false, label: 'target' },
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Conversion funnel', zh: '转化漏斗可视化' },
        description: {
          en: 'Share of step 1 reaching each step (last 7 days).',
          zh: '到达各步骤的用户占第 1 步的比例（最近 7 天）。',
        },
        kind: 'bargauge',
        unit: 'percentunit',
        queries: [{ expr: `max by (step) (smartalk_funnel_conversion_ratio{${JOB}})`, legend: 'step {{step}}' }],
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Step conversion vs the 7 days before', zh: '各步转化率与前 7 天对比' },
        description: {
          en: 'FunnelStepDrop fires when a step falls under 80% of its baseline.',
          zh: '某一步低于基线的 80% 时触发 FunnelStepDrop。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [
          { expr: `max by (step) (smartalk_funnel_step_conversion_ratio{${JOB}})`, legend: 'step {{step}}' },
          { expr: `max by (step) (smartalk_funnel_step_conversion_baseline_ratio{${JOB}})`, legend: 'step {{step}} before' },
        ],
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Feedback sentiment', zh: '用户反馈情绪分析' },
        description: {
          en: 'Negative share of the last 24 h against the 7 days before (NegativeFeedbackRising), and the average sentiment.',
          zh: '最近 24 小时负面反馈占比与前 7 天对比（NegativeFeedbackRising），以及平均情绪分。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [
          { expr: `max(smartalk_feedback_negative_ratio{${JOB}})`, legend: 'negative' },
          { expr: `max(smartalk_feedback_negative_baseline_ratio{${JOB}})`, legend: 'negative before' },
          { expr: `max(smartalk_feedback_sentiment_average{${JOB}})`, legend: 'average sentiment' },
        ],
      },
      {
        title: { en: 'Feedback by sentiment', zh: '反馈情绪分布' },
        description: { en: 'Feedback items per hour, by label.', zh: '每小时反馈数，按情绪分类。' },
        kind: 'timeseries',
        unit: 'short',
        queries: [{ expr: `sum by (label) (increase(smartalk_feedback_sentiment_total{${JOB}}[1h]))`, legend: '{{label}}' }],
        min: 0,
      },
      {
        title: { en: 'Learning effectiveness', zh: '学习效果统计' },
        description: {
          en: 'Right clip chosen, focus and rescue mode shares (last 7 days).',
          zh: '选对片段的比例、进入专注模式与救援模式的比例（最近 7 天）。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [
          { expr: `max(smartalk_learning_correct_ratio{${JOB}})`, legend: 'correct' },
          { expr: `max by (mode) (smartalk_learning_mode_ratio{${JOB}})`, legend: '{{mode}} mode' },
        ],
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Attempts per clue and dramas completed', zh: '每条线索尝试次数与完成剧集' },
        description: { en: 'Last 7 days.', zh: '最近 7 天。' },
        kind: 'stat',
        unit: 'short',
        queries: [
          { expr: `max(smartalk_learning_attempts_per_clue{${JOB}})`, legend: 'attempts per clue' },
          { expr: `max(smartalk_dramas_completed{${JOB}})`, legend: 'dramas completed' },
        ],
      },
      {
        title: { en: 'New and activated learners per hour', zh: '每小时新增与激活用户' },
        description: { en: 'From the counters of every instance.', zh: '来自各实例的计数器。' },
        kind: 'timeseries',
        unit: 'short',
        queries: [
          { expr: `sum(increase(user_created_total{${JOB}}[1h]))`, legend: 'new' },
          { expr: `sum(increase(user_activated_total{${JOB}}[1h]))`, legend: 'activated' },
        ],
        min: 0,
      },
    ],
  },
  {
    uid: 'smartalk-ops',
    title: { en: 'SmarTalk — Alerts and ops jobs', zh: 'SmarTalk — 告警与运维作业' },
    tags: ['smartalk', 'ops'],
    panels: [
      {
        title: { en: 'Open alerts', zh: '未解决告警' },
        description: {
          en: 'Firing or acknowledged, by severity (SmarTalk’s alert store).',
          zh: '触发中或已确认的告警，按级别（SmarTalk 告警库）。',
        },
        kind: 'stat',
        unit: 'short',
        queries: [{ expr: `max by (severity) (smartalk_alerts_open{${JOB}})`, legend: '{{severity}}' }],
        threshold: { value: 1, above: true, label: 'open' },
      },
      {
        title: { en: 'Hours since the last good backup', zh: '距上次成功备份（小时）' },
        description: { en: 'BackupStale fires over the line.', zh: '超过红线触发 BackupStale。' },
        kind: 'stat',
        unit: 'h',
        queries: [
          { expr: `(time() - max(smartalk_backup_last_success_timestamp_seconds{${JOB}})) / 3600`, legend: 'backup age' },
        ],
        threshold: { value: threshold('BackupStale', 'hours'), above: true, label: 'BackupStale' },
      },
      {
        title: { en: 'Backup and restore drill failed', zh: '备份与恢复演练失败' },
        description: { en: '1 when the latest run failed (BackupFailed).', zh: '最近一次失败时为 1（BackupFailed）。' },
        kind: 'stat',
        unit: 'short',
        queries: [
          { expr: `max(smartalk_backup_last_run_failed{${JOB}})`, legend: 'backup' },
          { expr: `max(smartalk_backup_restore_drill_last_run_failed{${JOB}})`, legend: 'restore drill' },
        ],
        threshold: { value: 1, above: true, label: 'failed' },
      },
      {
        title: { en: 'Restore time of the last drill', zh: '最近一次演练的恢复耗时' },
        description: { en: 'The recovery time the team can promise.', zh: '团队可承诺的恢复时间。' },
        kind: 'stat',
        unit: 's',
        queries: [{ expr: `max(smartalk_backup_restore_seconds{${JOB}})`, legend: 'restore' }],
      },
      {
        title: { en: 'CDN cache hit ratio', zh: 'CDN缓存命中率' },
        description: {
          en: 'Video requests served from the edge cache in the last hour; CdnHitRateLow fires under the line.',
          zh: '最近一小时视频请求的边缘缓存命中率；低于红线触发 CdnHitRateLow。',
        },
        kind: 'timeseries',
        unit: 'percentunit',
        queries: [{ expr: `max(smartalk_cdn_cache_hit_ratio{${JOB}})`, legend: 'hit ratio' }],
        threshold: { value: threshold('CdnHitRateLow', 'ratio'), above: false, label: 'CdnHitRateLow' },
        min: 0,
        max: 1,
      },
      {
        title: { en: 'Events ingested', zh: '事件写入' },
        description: {
          en: 'Analytics events per second, by result; batches and the statements that wrote them (group commit).',
          zh: '每秒分析事件数（按结果），以及批次与写入语句数（组提交）。',
        },
        kind: 'timeseries',
        unit: 'short',
        queries: [
          { expr: `sum by (result) (rate(smartalk_analytics_events_total{${JOB}}[5m]))`, legend: '{{result}}' },
          { expr: `sum(rate(smartalk_ingest_batches_total{${JOB}}[5m]))`, legend: 'batches' },
          { expr: `sum(rate(smartalk_ingest_statements_total{${JOB}}[5m]))`, legend: 'statements' },
        ],
        min: 0,
      },
    ],
  },
];
