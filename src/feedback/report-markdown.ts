/**
 * The feedback report as Markdown, in English or Chinese. Learners' words are
 * quoted escaped (HTML and Markdown), so a pasted <script> or table pipe renders
 * as text wherever the report is shown.
 */
import type { Lang } from '../config.js';
import { bar, oneLine, percent } from '../format.js';
import { say } from '../i18n.js';
import { THEME_NAMES } from './definitions.js';
import type { FeedbackReport } from './report.js';

const num = (value: number | null, digits = 2) => (value === null ? '—' : value.toFixed(digits));

/** Safe inside Markdown text and table cells, and as HTML once rendered: one line, escaped. */
export function escapeMarkdown(text: string, maxLength = 240): string {
  const line = oneLine(text);
  const clipped = line.length > maxLength ? `${line.slice(0, maxLength)}…` : line;
  return clipped
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]()#|~!{}]/g, (char) => `\\${char}`);
}

export function renderFeedbackMarkdown(report: FeedbackReport, lang: Lang): string {
  const t = (en: string, zh: string) => say(lang, { en, zh });
  const day = (iso: string) =>
    new Date(iso).toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', { timeZone: report.window.tz, hourCycle: 'h23' });
  const lines: string[] = [];
  lines.push(`# ${t('SmarTalk feedback report', 'SmarTalk 用户反馈报告')}`, '');
  lines.push(`${t('Window', '时间范围')}: ${day(report.window.since)} → ${day(report.window.until)} (${report.window.tz})`, '');

  lines.push(`## ${t('Summary', '概览')}`, '');
  lines.push(`| ${t('measure', '指标')} | ${t('value', '数值')} |`, '|---|---|');
  lines.push(`| ${t('items', '反馈总数')} | ${report.totals.items} |`);
  for (const [type, n] of Object.entries(report.totals.byType)) lines.push(`| · ${type} | ${n} |`);
  lines.push(`| ${t('average rating', '平均评分')} | ${num(report.totals.averageRating)} (${report.totals.ratings}) |`);
  lines.push(`| ${t('average sentiment (−1…1)', '平均情绪（−1…1）')} | ${num(report.sentiment.average)} |`);
  lines.push(
    `| ${t('positive / neutral / negative', '正面 / 中性 / 负面')} | ${report.sentiment.positive} / ${report.sentiment.neutral} / ${report.sentiment.negative} |`,
  );
  lines.push(
    `| ${t('negative share vs previous 7 days', '负面占比（对比前 7 天）')} | ${percent(report.sentiment.negativeShare)} vs ${percent(report.baseline.negativeShare)}${report.negativeRising.rising ? t(' ⚠ rising', ' ⚠ 上升') : ''} |`,
  );
  lines.push(`| ${t('urgent', '紧急')} | ${report.urgent.count} |`);
  lines.push(
    `| ${t('last hour', '最近一小时')} | ${report.lastHour.items} ${t('items', '条')}, ${report.lastHour.negative} ${t('negative', '负面')}, ${report.lastHour.urgent} ${t('urgent', '紧急')} |`,
  );
  lines.push('');

  lines.push(`## ${t('Magic moment', '魔法时刻')}`, '');
  const verdict = {
    excellent: t('excellent', '优秀'),
    good: t('good', '良好'),
    needs_attention: t('needs attention', '需关注'),
    no_data: t('no data', '无数据'),
  }[report.magicMoment.verdict];
  lines.push(
    t(
      `${report.magicMoment.successes} of ${report.magicMoment.responses} answers were 😍/🤩/🔥: ${percent(report.magicMoment.successShare)} — ${verdict}.`,
      `${report.magicMoment.responses} 个回答中 ${report.magicMoment.successes} 个为 😍/🤩/🔥：${percent(report.magicMoment.successShare)} —— ${verdict}。`,
    ),
    '',
  );
  lines.push(`| ${t('answer', '回答')} | ${t('count', '数量')} | ${t('share', '占比')} | |`, '|---|---|---|---|');
  for (const e of report.emotions)
    lines.push(`| ${e.emoji} ${say(lang, e.label)} | ${e.count} | ${percent(e.share)} | ${bar(e.share)} |`);
  lines.push('');

  lines.push(`## ${t('Sentiment by day', '每日情绪趋势')}`, '');
  lines.push(
    `| ${t('day', '日期')} | ${t('items', '条数')} | ${t('average', '平均')} | ${t('negative', '负面')} | |`,
    '|---|---|---|---|---|',
  );
  for (const d of report.sentiment.trend)
    lines.push(`| ${d.day} | ${d.items} | ${num(d.average)} | ${percent(d.negativeShare)} | ${bar(d.negativeShare)} |`);
  if (report.sentiment.trend.length === 0) lines.push(`| — | 0 | — | — | |`);
  lines.push('');

  lines.push(`## ${t('Themes', '常见问题主题')}`, '');
  for (const theme of report.themes) {
    lines.push(
      `### ${say(lang, THEME_NAMES[theme.theme])} — ${theme.count} (${percent(theme.share)}), ${t('negative', '负面')} ${percent(theme.negativeShare)}`,
    );
    for (const example of theme.examples) lines.push(`> ${escapeMarkdown(example.text)} (${num(example.sentiment)})`, '');
    lines.push('');
  }
  if (report.themes.length === 0) lines.push(t('No feedback in this window.', '此时间范围内没有反馈。'), '');

  lines.push(`## ${t('Urgent items', '紧急反馈')}`, '');
  if (report.urgent.items.length === 0) lines.push(t('None.', '无。'), '');
  for (const item of report.urgent.items) {
    lines.push(
      `- ${day(item.createdAt)} · ${item.type} · ${t('rating', '评分')} ${item.rating ?? '—'} · ${escapeMarkdown(item.reasons.join(', '))}${item.text ? ` — “${escapeMarkdown(item.text, 160)}”` : ''}`,
    );
  }
  lines.push('');

  lines.push(`## ${t('Suggestions', '改进建议')}`, '');
  if (report.suggestions.length === 0) lines.push(t('Nothing stands out.', '暂无突出问题。'));
  for (const suggestion of report.suggestions) lines.push(`- ${say(lang, suggestion.message)}`);
  lines.push('');
  return lines.join('\n');
}
