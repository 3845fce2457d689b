/**
 * The feedback report for people, in English or Chinese: as blocks (document.ts), so one
 * layout gives Markdown (files, chat, pipes) and terminal text. Learners' words are
 * `said` spans: escaped for Markdown and HTML, stripped of control characters for a
 * terminal. Every share says what it divides by.
 */
import type { Lang } from '../config.js';
import { type Block, type OutputFormat, type Rich, render } from '../document.js';
import { bar, percent } from '../format.js';
import { say } from '../i18n.js';
import { THEME_NAMES } from './definitions.js';
import type { FeedbackReport } from './report.js';

const num = (value: number | null, digits = 2) => (value === null ? '—' : value.toFixed(digits));

/** An urgent item's reasons, each once: its rating (when it has one) and the terms it matched. */
export function urgentReasons(item: { rating: number | null; reasons: string[] }): string[] {
  const rating = item.rating === null ? [] : [`rating ${item.rating}`];
  return [...new Set([...rating, ...item.reasons])];
}

export function feedbackReportBlocks(report: FeedbackReport, lang: Lang): Block[] {
  const t = (en: string, zh: string) => say(lang, { en, zh });
  const when = (iso: string) =>
    new Date(iso).toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', { timeZone: report.window.tz, hourCycle: 'h23' });
  const blocks: Block[] = [];
  const heading = (level: 1 | 2 | 3, text: Rich) => blocks.push({ kind: 'heading', level, text });
  const paragraph = (text: Rich) => blocks.push({ kind: 'paragraph', text });

  heading(1, t('SmarTalk feedback report', 'SmarTalk 用户反馈报告'));
  paragraph(`${t('Window', '时间范围')}: ${when(report.window.since)} → ${when(report.window.until)} (${report.window.tz})`);

  heading(2, t('Summary', '概览'));
  const { totals, sentiment } = report;
  const rising = report.negativeRising.rising ? [{ text: t(' ⚠ rising', ' ⚠ 上升'), tone: 'bad' as const }] : [];
  blocks.push({
    kind: 'table',
    head: [t('measure', '指标'), t('value', '数值')],
    rows: [
      [t('items', '反馈总数'), String(totals.items)],
      ...Object.entries(totals.byType).map(([type, n]): Rich[] => [
        `· ${type}`,
        t(
          `${n} (${percent(totals.items ? n / totals.items : null)} of items)`,
          `${n}（占全部 ${percent(totals.items ? n / totals.items : null)}）`,
        ),
      ]),
      [t('average rating', '平均评分'), `${num(totals.averageRating)} (${totals.ratings} ${t('ratings', '条评分')})`],
      [t('average sentiment (−1…1)', '平均情绪（−1…1）'), num(sentiment.average)],
      [
        t('positive / neutral / negative', '正面 / 中性 / 负面'),
        `${sentiment.positive} / ${sentiment.neutral} / ${sentiment.negative}`,
      ],
      [
        t('negative share of items vs previous 7 days', '负面占全部反馈（对比前 7 天）'),
        [`${percent(sentiment.negativeShare)} vs ${percent(report.baseline.negativeShare)}`, ...rising],
      ],
      [t('urgent', '紧急'), String(report.urgent.count)],
      [
        t('last hour (read at generation)', '最近一小时（生成时读取）'),
        `${report.lastHour.items} ${t('items', '条')}, ${report.lastHour.negative} ${t('negative', '负面')}, ${report.lastHour.urgent} ${t('urgent', '紧急')}`,
      ],
    ],
  });

  heading(2, t('Magic moment', '魔法时刻'));
  const mm = report.magicMoment;
  const verdict = {
    excellent: t('excellent', '优秀'),
    good: t('good', '良好'),
    needs_attention: t('needs attention', '需关注'),
    no_data: t('no data', '无数据'),
  }[mm.verdict];
  const verdictTone = mm.verdict === 'needs_attention' ? 'bad' : mm.verdict === 'no_data' ? 'dim' : 'good';
  paragraph([
    t(
      `${mm.successes} of ${mm.responses} magic-moment answers were 😍/🤩/🔥: ${percent(mm.successShare)} — `,
      `${mm.responses} 个魔法时刻回答中 ${mm.successes} 个为 😍/🤩/🔥：${percent(mm.successShare)} —— `,
    ),
    { text: verdict, tone: verdictTone },
  ]);
  blocks.push({
    kind: 'table',
    head: [t('answer', '回答'), t('count', '数量'), t(`share of ${mm.responses} answers`, `占 ${mm.responses} 个回答`), ''],
    rows: report.emotions.map((e) => [`${e.emoji} ${say(lang, e.label)}`, String(e.count), percent(e.share), bar(e.share)]),
  });

  heading(2, t('Sentiment by day', '每日情绪趋势'));
  blocks.push({
    kind: 'table',
    head: [t('day', '日期'), t('items', '条数'), t('average', '平均'), t("negative (of the day's items)", '负面（占当日）'), ''],
    rows:
      sentiment.trend.length === 0
        ? [['—', '0', '—', '—', '']]
        : sentiment.trend.map((d) => [d.day, String(d.items), num(d.average), percent(d.negativeShare), bar(d.negativeShare)]),
  });

  // How far the figures above can be trusted: the analyzer's reading of real learners' text
  // against their own stars (docs/sentiment.md, "Text written by others").
  if (sentiment.textVsStars.length > 0) {
    heading(2, t('Text read against the stars', '文本判断与星级对照'));
    paragraph(
      t(
        'Items with text and 1–2 or 4–5 stars whose text alone the analyzer read on the side of the stars. Stars are a rough label (a 5-star "great, but it crashes" is a complaint): watch for a drop, not for 100%.',
        '带文本且评分为 1–2 星或 4–5 星的反馈中，仅凭文本判断与星级同向的比例。星级只是粗略的标签（五星的“很好，但是会闪退”按指南算抱怨）：应关注下降，而非追求 100%。',
      ),
    );
    blocks.push({
      kind: 'table',
      head: [t('language', '语言'), t('items', '条数'), t('agreeing', '一致'), ''],
      rows: sentiment.textVsStars.map((row) => [row.language, String(row.items), percent(row.agreement), bar(row.agreement)]),
    });
  }

  heading(2, t('Themes', '常见问题主题'));
  paragraph({
    text: t(
      `Shares are of the ${totals.withText} items with text; an item can touch several themes.`,
      `占比以 ${totals.withText} 条有文字的反馈为基数；一条反馈可属于多个主题。`,
    ),
    tone: 'dim',
  });
  for (const theme of report.themes) {
    heading(
      3,
      `${say(lang, THEME_NAMES[theme.theme])} — ${theme.count} (${percent(theme.share)}), ${t('negative', '负面')} ${percent(theme.negativeShare)}`,
    );
    for (const example of theme.examples) {
      const mark = theme.kind === 'topic' ? (example.label === 'negative' ? '👎 ' : '👍 ') : '';
      blocks.push({ kind: 'quote', text: [mark, { said: example.text }, ` (${num(example.sentiment)})`] });
    }
  }
  if (report.themes.length === 0) paragraph(t('No feedback with text in this window.', '此时间范围内没有带文字的反馈。'));

  heading(2, t('Urgent items', '紧急反馈'));
  if (report.urgent.items.length === 0) paragraph(t('None.', '无。'));
  else
    blocks.push({
      kind: 'list',
      items: report.urgent.items.map(
        (item): Rich => [
          `${when(item.createdAt)} · ${item.type} · `,
          { text: urgentReasons(item).join(', '), tone: 'bad' },
          ...(item.text ? [' — “', { said: item.text, max: 160 }, '”'] : []),
        ],
      ),
    });

  heading(2, t('Suggestions', '改进建议'));
  if (report.suggestions.length === 0) paragraph(t('Nothing stands out.', '暂无突出问题。'));
  else blocks.push({ kind: 'list', items: report.suggestions.map((s) => say(lang, s.message)) });
  return blocks;
}

export function renderFeedbackReport(report: FeedbackReport, lang: Lang, format: OutputFormat, color = false): string {
  return render(feedbackReportBlocks(report, lang), format, { color });
}

export function renderFeedbackMarkdown(report: FeedbackReport, lang: Lang): string {
  return renderFeedbackReport(report, lang, 'md');
}
