/** A report as Markdown (chat tools, email bodies, a terminal), in the report's language. */
import { FUNNEL } from '../../analytics/definitions.js';
import { THEME_NAMES } from '../../feedback/definitions.js';
import { escapeMarkdown } from '../../feedback/report-markdown.js';
import { bar, oneLine, percent } from '../../format.js';
import { say } from '../../i18n.js';
import type { Finding, OpsReport } from './ops-report.js';

const MARK: Record<Finding['severity'], string> = { critical: '🔴', warning: '🟠', info: '🔵' };

/** A finding as one Markdown line (`plain` for channels that show text as it is). */
export const findingLine = (finding: Finding, plain = false) =>
  `${MARK[finding.severity]} ${plain ? oneLine(finding.text) : escapeMarkdown(finding.text, 400)}`;

export function renderReportMarkdown(report: OpsReport): string {
  const lang = report.lang;
  const t = (en: string, zh: string) => say(lang, { en, zh });
  const local = (iso: string) =>
    new Date(iso).toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', { timeZone: report.window.tz, hourCycle: 'h23' });
  const { metrics, feedback, operations } = report;
  const lines: string[] = [
    `# ${escapeMarkdown(report.title)}`,
    '',
    `${local(report.window.since)} → ${local(report.window.until)} (${report.window.tz})`,
    '',
  ];

  lines.push(`## ${t('Findings', '要点')}`, '', ...report.findings.map((f) => `- ${findingLine(f)}`), '');

  lines.push(`## ${t('Key numbers', '关键指标')}`, '', `| ${t('measure', '指标')} | ${t('value', '数值')} |`, '|---|---|');
  lines.push(`| ${t('new learners', '新用户')} | ${metrics.newUsers} |`);
  lines.push(
    `| ${t('activation', '激活率')} | ${percent(metrics.activation.rate)} (${metrics.activation.activated}/${metrics.activation.newUsers}, ${t('target', '目标')} ${percent(metrics.activation.target, 0)}) |`,
  );
  lines.push(
    `| ${t('D1 / D7 retention', '次日 / 7 日留存')} | ${percent(metrics.retention.d1.rate)} / ${percent(metrics.retention.d7.rate)} |`,
  );
  lines.push(
    `| ${t('feedback (negative)', '反馈（负面）')} | ${feedback.totals.items} (${percent(feedback.sentiment.negativeShare)}) |`,
  );
  if (report.kind !== 'product') {
    lines.push(
      `| ${t('alerts fired', '告警数')} | ${operations.alerts.fired} (${operations.alerts.bySeverity.critical} critical) |`,
    );
    lines.push(
      `| ${t('API requests / 5xx (this instance)', 'API 请求 / 5xx（本实例）')} | ${operations.requests} / ${operations.errors} (${percent(operations.errorRate, 2)}) |`,
    );
  }
  lines.push('');

  lines.push(`## ${t('Activation trend', '激活率趋势')} (${t('target', '目标')} ${percent(report.trend.target, 0)})`, '', '```');
  for (const p of report.trend.points) {
    lines.push(
      `${p.day}  ${bar(p.rate).padEnd(20)} ${percent(p.rate).padStart(6)}  ${p.activated}/${p.newUsers}${p.complete ? '' : ' …'}`,
    );
  }
  lines.push('```', '');

  lines.push(
    `## ${t('Funnel', '转化漏斗')}`,
    '',
    `| ${t('step', '步骤')} | ${t('learners', '用户')} | ${t('step conversion', '步骤转化')} | ${t('target', '目标')} |`,
    '|---|---|---|---|',
  );
  for (const step of metrics.funnel) {
    lines.push(
      `| ${step.step}. ${say(lang, FUNNEL[step.step - 1]?.label ?? { en: step.event, zh: step.event })} | ${step.users} | ${percent(step.stepConversion)}${step.met === false ? ' ⚠' : ''} | ${percent(step.target, 0)} |`,
    );
  }
  lines.push('');

  lines.push(`## ${t('Feedback themes', '反馈主题')}`, '');
  for (const theme of feedback.themes.slice(0, 5)) {
    lines.push(
      `- **${say(lang, THEME_NAMES[theme.theme])}** ${theme.count} (${percent(theme.negativeShare)} ${t('negative', '负面')})`,
    );
    for (const example of theme.examples.slice(0, 2)) lines.push(`  > ${escapeMarkdown(example.text)}`);
  }
  if (feedback.themes.length === 0) lines.push(t('No feedback in this window.', '此期间无反馈。'));
  lines.push('');

  if (report.kind === 'product') {
    const l = metrics.learning;
    lines.push(
      `## ${t('Learning and features', '学习与功能使用')}`,
      '',
      `- ${t('answers', '作答')} ${l.attempts} (${t('correct', '正确')} ${l.correctAttempts}), ${t('per clue', '每线索')} ${l.averageAttemptsPerClue?.toFixed(2) ?? '—'}`,
      `- ${t('focus mode', '专注模式')} ${percent(l.focusModeShare)}, ${t('rescue mode', '救援模式')} ${percent(l.rescueModeShare)}`,
      `- ${t('dramas completed', '完成剧集')} ${l.dramasCompleted}`,
      '',
    );
  } else {
    lines.push(`## ${t('Alerts', '告警')}`, '');
    if (operations.alerts.items.length === 0) lines.push(t('No alert fired.', '无告警。'));
    for (const alert of operations.alerts.items)
      lines.push(
        `- ${local(alert.firedAt)} ${alert.ruleId} (${alert.severity}, ${alert.status}): ${escapeMarkdown(alert.summary)}`,
      );
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
