/**
 * What a notification says: what, how bad, since when, the current value and the
 * threshold, the runbook section, and how to acknowledge — in the ops team's
 * language (SMARTALK_LANG) with the other language's summary alongside.
 */
import type { Lang } from '../../config.js';
import { oneLine } from '../../format.js';
import { say } from '../../i18n.js';
import { ruleById, SEVERITIES, type Severity, type VendorKind } from './catalog.js';
import type { VendorContact } from './config.js';

export type NotificationKind = 'firing' | 'escalation' | 'reminder' | 'resolved' | 'test';

export interface AlertView {
  id: string;
  fingerprint: string;
  source: 'builtin' | 'alertmanager' | 'watchdog';
  ruleId: string;
  severity: Severity;
  status: 'firing' | 'acknowledged' | 'resolved';
  summary: string;
  summaryZh: string | null;
  description: string | null;
  descriptionZh: string | null;
  value: string | null;
  threshold: string | null;
  runbook: string | null;
  labels: Record<string, string>;
  /** When the problem started: Alertmanager's startsAt, or the first pending evaluation of a built-in rule. */
  startedAt: Date;
  /** When SmarTalk opened the alert. */
  firedAt: Date;
  /** When L1 was paged (null until then: e.g. inside a silence); escalation counts from it. */
  pagedAt: Date | null;
  escalationLevel: number;
  acknowledgedBy: string | null;
  resolvedAt: Date | null;
  /** The diagnosis that ran when it fired, when its rule has one. */
  diagnosis: AlertDiagnosis | null;
}

/** What `smartalk ops diagnose` found when the alert fired: the findings that were not a pass. */
export interface AlertDiagnosis {
  scenario: string;
  worst: string;
  at: string;
  findings: Array<{ id: string; status: string; summary: string }>;
}

export interface Message {
  title: string;
  /** Plain text, several lines. */
  text: string;
  /** The same as Markdown (DingTalk, WeCom, Slack mrkdwn). */
  markdown: string;
  /** What it is about: an alert's notification, or a report (ops/reports). */
  kind: NotificationKind | 'report';
  level: number;
  severity: Severity;
  /** A whole HTML document, for channels that can carry one (email). */
  html?: string;
}

const KIND: Record<NotificationKind, { en: string; zh: string }> = {
  firing: { en: 'FIRING', zh: '告警' },
  escalation: { en: 'ESCALATED', zh: '升级' },
  reminder: { en: 'STILL OPEN', zh: '仍未解决' },
  resolved: { en: 'RESOLVED', zh: '已恢复' },
  test: { en: 'TEST', zh: '测试' },
};

const VENDOR_KINDS: Record<VendorKind, string> = { cloud: '云服务商', cdn: 'CDN服务商', database: '数据库服务' };

export interface MessageOptions {
  lang: Lang;
  /** Base URL of the server, for the acknowledge link. */
  publicUrl: string;
  tz: string;
  /** ALERTS_CONFIG's vendor contacts: an alert whose rule names one carries its support line. */
  vendors?: Partial<Record<VendorKind, VendorContact>>;
}

/** The vendor contact an alert's rule names, when the config has one. */
export function vendorOf(
  ruleId: string,
  vendors: Partial<Record<VendorKind, VendorContact>> | undefined,
): (VendorContact & { kind: VendorKind }) | null {
  const kind = ruleById(ruleId)?.vendor;
  const contact = kind ? vendors?.[kind] : undefined;
  return kind && contact ? { kind, ...contact } : null;
}

/** "阿里云 CDN · 95187 · https://… · account 1234" */
export const vendorLine = (vendor: VendorContact): string =>
  [vendor.name, vendor.phone, vendor.ticketUrl, vendor.accountId ? `account ${vendor.accountId}` : undefined]
    .filter(Boolean)
    .join(' · ');

export function renderMessage(alert: AlertView, kind: NotificationKind, level: number, options: MessageOptions): Message {
  const t = (en: string, zh: string) => say(options.lang, { en, zh });
  const when = (d: Date) =>
    d.toLocaleString(options.lang === 'zh-CN' ? 'zh-CN' : 'en-CA', { timeZone: options.tz, hourCycle: 'h23' });
  const summary = options.lang === 'zh-CN' ? (alert.summaryZh ?? alert.summary) : alert.summary;
  const other = options.lang === 'zh-CN' ? alert.summary : alert.summaryZh;
  const description = options.lang === 'zh-CN' ? (alert.descriptionZh ?? alert.description) : alert.description;
  const title = `[${say(options.lang, KIND[kind])}] [${alert.severity.toUpperCase()}] ${summary}`;
  const labels = Object.entries(alert.labels)
    .filter(([key]) => !['alertname', 'severity', 'response_minutes', 'service'].includes(key))
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  const lines: Array<[string, string]> = [
    [t('Alert', '告警'), `${alert.ruleId}${other ? ` (${other})` : ''}`],
    [t('Severity', '级别'), say(options.lang, SEVERITIES[alert.severity].label)],
    [t('Problem since', '问题开始'), `${when(alert.startedAt)} (${options.tz})`],
    [t('L1 paged', 'L1 通知时间'), alert.pagedAt ? `${when(alert.pagedAt)} (${options.tz})` : t('now', '现在')],
    [t('Value', '当前值'), `${alert.value ?? '—'} / ${t('threshold', '阈值')} ${alert.threshold ?? '—'}`],
  ];
  if (labels) lines.push([t('Where', '位置'), labels]);
  if (kind !== 'resolved' && kind !== 'test') lines.push([t('Escalation level', '升级级别'), `L${level}`]);
  if (kind === 'resolved' && alert.resolvedAt) lines.push([t('Resolved', '恢复时间'), when(alert.resolvedAt)]);
  if (alert.runbook) lines.push([t('Runbook', '处理手册'), alert.runbook]);
  if (alert.diagnosis && kind !== 'resolved') {
    const found = alert.diagnosis.findings.filter((f) => f.status === 'fail' || f.status === 'warn').slice(0, 5);
    lines.push([
      t(`Diagnosis (${alert.diagnosis.scenario})`, `自动诊断（${alert.diagnosis.scenario}）`),
      found.length
        ? found.map((f) => `${f.status.toUpperCase()} ${f.id}: ${oneLine(f.summary)}`).join(' · ')
        : t('nothing wrong found', '未发现异常'),
    ]);
  }
  const vendor = vendorOf(alert.ruleId, options.vendors);
  if (vendor) lines.push([t(`Vendor (${vendor.kind})`, `外部联系（${VENDOR_KINDS[vendor.kind]}）`), vendorLine(vendor)]);
  if (kind !== 'resolved') {
    lines.push([
      t('Acknowledge', '确认'),
      `smartalk alerts ack ${alert.id}  |  POST ${options.publicUrl}/api/v1/ops/alerts/${alert.id}/ack`,
    ]);
  }
  const text = [title, ...(description ? [description] : []), ...lines.map(([k, v]) => `${k}: ${v}`)].join('\n');
  const markdown = [`### ${title}`, ...(description ? [description] : []), ...lines.map(([k, v]) => `- **${k}**: ${v}`)].join(
    '\n\n',
  );
  return { title, text, markdown, kind, level, severity: alert.severity };
}
