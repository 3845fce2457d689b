/** A report for people, in the report's language: Markdown (chat tools, email bodies, files) or a terminal's text. */
import { FUNNEL } from '../../analytics/definitions.js';
import { type Block, escapeMarkdown, type Rich, type Tone, toMarkdown, toTerminal } from '../../document.js';
import { THEME_NAMES } from '../../feedback/definitions.js';
import { bar, oneLine, percent } from '../../format.js';
import { say } from '../../i18n.js';
import type { Finding, OpsReport } from './ops-report.js';

const MARK: Record<Finding['severity'], string> = { critical: '🔴', warning: '🟠', info: '🔵' };

/** A finding as one Markdown line (`plain` for channels that show text as it is). */
export const findingLine = (finding: Finding, plain = false) =>
  `${MARK[finding.severity]} ${plain ? oneLine(finding.text) : escapeMarkdown(finding.text, 400)}`;

/** The report as blocks (document.ts): Markdown for files, chat and pipes; text for a terminal. */
export function reportBlocks(report: OpsReport): Block[] {
  const lang = report.lang;
  const t = (en: string, zh: string) => say(lang, { en, zh });
  const local = (iso: string) =>
    new Date(iso).toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', { timeZone: report.window.tz, hourCycle: 'h23' });
  const { metrics, feedback, operations } = report;
  const blocks: Block[] = [];
  const heading = (level: 1 | 2 | 3, text: Rich) => blocks.push({ kind: 'heading', level, text });
  const TONE: Record<Finding['severity'], Tone> = { critical: 'bad', warning: 'warn', info: 'dim' };

  heading(1, { said: report.title });
  blocks.push({
    kind: 'paragraph',
    text: `${local(report.window.since)} → ${local(report.window.until)} (${report.window.tz})`,
  });

  heading(2, t('Findings', '要点'));
  blocks.push({
    kind: 'list',
    items: report.findings.map(
      (f): Rich => [{ text: MARK[f.severity], tone: TONE[f.severity] }, ' ', { said: f.text, max: 400 }],
    ),
  });

  heading(2, t('Key numbers', '关键指标'));
  const rows: Rich[][] = [
    [t('new learners', '新用户'), String(metrics.newUsers)],
    [
      t('activation', '激活率'),
      `${percent(metrics.activation.rate)} (${metrics.activation.activated}/${metrics.activation.newUsers}, ${t('target', '目标')} ${percent(metrics.activation.target, 0)})`,
    ],
    [
      t('D1 / D7 retention (day 1 / day 7 after activation)', '次日 / 7 日留存（激活后第 1 / 第 7 天）'),
      `${percent(metrics.retention.d1.rate)} / ${percent(metrics.retention.d7.rate)}`,
    ],
    [
      t('feedback (negative share of items)', '反馈（负面占比）'),
      `${feedback.totals.items} (${percent(feedback.sentiment.negativeShare)})`,
    ],
  ];
  if (report.kind !== 'product') {
    rows.push(
      [t('alerts fired', '告警数'), `${operations.alerts.fired} (${operations.alerts.bySeverity.critical} critical)`],
      [
        t('API requests / 5xx (this instance)', 'API 请求 / 5xx（本实例）'),
        `${operations.requests} / ${operations.errors} (${percent(operations.errorRate, 2)})`,
      ],
    );
  }
  blocks.push({ kind: 'table', head: [t('measure', '指标'), t('value', '数值')], rows });

  heading(2, `${t('Activation trend', '激活率趋势')} (${t('target', '目标')} ${percent(report.trend.target, 0)})`);
  blocks.push({
    kind: 'table',
    head: [
      t('day', '日期'),
      t('activation (of the day’s new learners)', '激活率（占当日新用户）'),
      '',
      t('activated / new', '激活 / 新用户'),
    ],
    rows: report.trend.points.map((p) => [
      p.day,
      percent(p.rate),
      bar(p.rate),
      `${p.activated}/${p.newUsers}${p.complete ? '' : ' …'}`,
    ]),
  });

  heading(2, t('Funnel', '转化漏斗'));
  blocks.push({
    kind: 'table',
    head: [
      t('step', '步骤'),
      t('learners', '用户'),
      t('step conversion (of the step before)', '步骤转化（占上一步）'),
      t('previous 7 days', '前 7 天'),
      t('target (of new learners)', '目标（占新用户）'),
    ],
    rows: metrics.funnel.map((step) => [
      `${step.step}. ${say(lang, FUNNEL[step.step - 1]?.label ?? { en: step.event, zh: step.event })}`,
      String(step.users),
      [percent(step.stepConversion), ...(step.met === false ? [{ text: ' ⚠', tone: 'warn' as const }] : [])],
      percent(metrics.baseline.funnel.find((b) => b.step === step.step)?.stepConversion ?? null),
      percent(step.target, 0),
    ]),
  });

  heading(2, t('Feedback themes', '反馈主题'));
  if (feedback.themes.length === 0) blocks.push({ kind: 'paragraph', text: t('No feedback in this window.', '此期间无反馈。') });
  for (const theme of feedback.themes.slice(0, 5)) {
    blocks.push({
      kind: 'paragraph',
      text: [
        { text: say(lang, THEME_NAMES[theme.theme]), tone: 'strong' },
        ` ${theme.count} (${percent(theme.negativeShare)} ${t('negative', '负面')})`,
      ],
    });
    for (const example of theme.examples.slice(0, 2)) blocks.push({ kind: 'quote', text: { said: example.text } });
  }

  if (report.kind === 'product') {
    const l = metrics.learning;
    heading(2, t('Learning and features', '学习与功能使用'));
    blocks.push({
      kind: 'list',
      items: [
        `${t('answers', '作答')} ${l.attempts} (${t('correct', '正确')} ${l.correctAttempts}), ${t('per clue', '每线索')} ${l.averageAttemptsPerClue?.toFixed(2) ?? '—'}`,
        `${t('focus mode', '专注模式')} ${percent(l.focusModeShare)} ${t('of answers', '的作答')}, ${t('rescue mode', '救援模式')} ${percent(l.rescueModeShare)}`,
        `${t('dramas completed', '完成剧集')} ${l.dramasCompleted}`,
      ],
    });
  } else {
    heading(2, t('Alerts', '告警'));
    if (operations.alerts.items.length === 0) blocks.push({ kind: 'paragraph', text: t('No alert fired.', '无告警。') });
    else
      blocks.push({
        kind: 'list',
        items: operations.alerts.items.map(
          (alert): Rich => [
            `${local(alert.firedAt)} ${alert.ruleId} (${alert.severity}, ${alert.status}): `,
            { said: alert.summary },
          ],
        ),
      });
  }
  return blocks;
}

export const renderReportMarkdown = (report: OpsReport): string => toMarkdown(reportBlocks(report));
export const renderReportText = (report: OpsReport, color: boolean): string => toTerminal(reportBlocks(report), { color });
