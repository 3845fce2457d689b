/**
 * The feedback report (LaunchFeedbackCollector's report): volume by type, ratings,
 * emotions, sentiment and its daily trend, the negative share against the previous
 * seven days (the NegativeFeedbackRising alert's basis), themes with example quotes,
 * urgent items, the magic moment's success share, the last hour, and suggestions
 * that each name the numbers behind them.
 */
import type { Db } from '../db/database.js';
import { percent } from '../format.js';
import type { Bilingual } from '../i18n.js';
import { EMOTION_IDS, EMOTIONS, type EmotionId } from '../learning/emotions.js';
import { defaultWindow } from '../time.js';
import { FEEDBACK_METRICS, QUOTED_LABELS, THEME_ADVICE, THEME_KIND, THEME_NAMES, type ThemeKind } from './definitions.js';
import { FEEDBACK_TYPES, type FeedbackType } from './feedback.js';
import {
  type GroupRow,
  groupedCounts,
  recentTotals,
  textRatingAgreement,
  themeCounts,
  themeExamples,
  urgentItems,
} from './report-queries.js';

import type { SentimentLabel, Theme } from './sentiment.js';

const DAY_MS = 86_400_000;

export interface FeedbackReport {
  generatedAt: string;
  window: { since: string; until: string; tz: string };
  totals: {
    items: number;
    byType: Record<FeedbackType, number>;
    withText: number;
    ratings: number;
    averageRating: number | null;
  };
  /** Magic-moment answers by emotion; each share is of `magicMoment.responses`. */
  emotions: Array<{ emotion: EmotionId; emoji: string; label: Bilingual; count: number; share: number | null }>;
  sentiment: {
    average: number | null;
    positive: number;
    neutral: number;
    negative: number;
    negativeShare: number | null;
    trend: Array<{ day: string; items: number; average: number | null; negativeShare: number | null }>;
    /**
     * Per language, items with text and 1–2 or 4–5 stars, and the share whose text alone the
     * analyzer read on the stars' side: its accuracy on real learners' words, every day.
     */
    textVsStars: Array<{ language: string; items: number; agreeing: number; agreement: number | null }>;
  };
  baseline: { since: string; until: string; items: number; negativeShare: number | null };
  negativeRising: { rising: boolean; factor: number | null; minItems: number; threshold: number };
  /**
   * Themes of the items with text (`totals.withText`, each share's base). An item may
   * touch several themes, so the shares can sum to more than 100%.
   */
  themes: Array<{
    theme: Theme;
    kind: ThemeKind;
    count: number;
    share: number | null;
    negativeShare: number | null;
    /** Distinct texts carrying the theme's polarity (THEME_KIND), newest first. */
    examples: Array<{ id: string; text: string; sentiment: number; label: SentimentLabel; createdAt: string }>;
  }>;
  urgent: {
    count: number;
    items: Array<{
      id: string;
      userId: string;
      type: string;
      rating: number | null;
      reasons: string[];
      text: string | null;
      createdAt: string;
    }>;
  };
  magicMoment: {
    responses: number;
    successes: number;
    successShare: number | null;
    verdict: 'excellent' | 'good' | 'needs_attention' | 'no_data';
  };
  lastHour: { items: number; negative: number; urgent: number; averageSentiment: number | null };
  suggestions: Array<{ code: string; message: Bilingual; evidence: Record<string, number | string | null> }>;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** Every total the report needs from its groups, in one pass over them. */
function tally(groups: GroupRow[]) {
  const t = {
    items: 0,
    with_text: 0,
    ratings: 0,
    rating_sum: 0,
    sentiment_sum: 0,
    urgent: 0,
    mm_responses: 0,
    mm_success: 0,
    byLabel: { positive: 0, neutral: 0, negative: 0 },
    byType: new Map<string, number>(),
    /** Magic-moment answers by emotion. */
    byEmotion: new Map<string, number>(),
    byDay: new Map<string, { items: number; sentiment_sum: number; negative: number }>(),
  };
  const success = FEEDBACK_METRICS.successEmotions as readonly string[];
  for (const row of groups) {
    t.items += row.items;
    t.with_text += row.with_text;
    t.ratings += row.ratings;
    t.rating_sum += row.rating_sum;
    t.sentiment_sum += row.sentiment_sum;
    t.urgent += row.urgent;
    if (row.label in t.byLabel) t.byLabel[row.label as keyof typeof t.byLabel] += row.items;
    t.byType.set(row.type, (t.byType.get(row.type) ?? 0) + row.items);
    const day = t.byDay.get(row.day) ?? { items: 0, sentiment_sum: 0, negative: 0 };
    day.items += row.items;
    day.sentiment_sum += row.sentiment_sum;
    if (row.label === 'negative') day.negative += row.items;
    t.byDay.set(row.day, day);
    if (row.type === 'magic_moment' && row.emotion !== '') {
      t.mm_responses += row.items;
      t.byEmotion.set(row.emotion, (t.byEmotion.get(row.emotion) ?? 0) + row.items);
      if (success.includes(row.emotion)) t.mm_success += row.items;
    }
  }
  return t;
}

export interface FeedbackReportOptions {
  since?: Date;
  until?: Date;
  now?: Date;
}

export async function buildFeedbackReport(
  deps: { db: Db; tz: string },
  options: FeedbackReportOptions = {},
): Promise<FeedbackReport> {
  const { db, tz } = deps;
  const now = options.now ?? new Date();
  const defaults = defaultWindow(now, 'day', tz);
  const since = options.since ?? defaults.since;
  const until = options.until ?? defaults.until;
  const baselineSince = new Date(since.getTime() - FEEDBACK_METRICS.baselineDays * DAY_MS);
  const hourAgo = new Date(now.getTime() - 3_600_000);

  const [groups, baselineGroups, themes, urgentRows, lastHour, agreement] = await Promise.all([
    groupedCounts(db, since, until, tz),
    groupedCounts(db, baselineSince, since, tz),
    themeCounts(db, since, until),
    urgentItems(db, since, until),
    recentTotals(db, hourAgo, now),
    textRatingAgreement(db, since, until),
  ]);
  const s = tally(groups);
  const b = tally(baselineGroups);
  const trend = [...s.byDay]
    .sort(([a], [z]) => a.localeCompare(z))
    .map(([day, d]) => ({
      day,
      items: d.items,
      average: ratio(d.sentiment_sum, d.items),
      negativeShare: ratio(d.negative, d.items),
    }));

  const topThemes = themes.filter((t) => t.theme !== 'other').slice(0, FEEDBACK_METRICS.quotedThemes);
  const examples = await Promise.all(
    topThemes.map((t) => themeExamples(db, t.theme, QUOTED_LABELS[THEME_KIND[t.theme]], since, until)),
  );

  const negativeShare = ratio(s.byLabel.negative, s.items);
  const baselineShare = ratio(b.byLabel.negative, b.items);
  const factor = negativeShare !== null && baselineShare !== null && baselineShare > 0 ? negativeShare / baselineShare : null;
  const rising = factor !== null && factor > FEEDBACK_METRICS.risingFactor && s.items >= FEEDBACK_METRICS.risingMinItems;
  const mmShare = ratio(s.mm_success, s.mm_responses);
  const verdict =
    mmShare === null
      ? 'no_data'
      : mmShare >= FEEDBACK_METRICS.magicMomentExcellent
        ? 'excellent'
        : mmShare >= FEEDBACK_METRICS.magicMomentGood
          ? 'good'
          : 'needs_attention';

  const report: FeedbackReport = {
    generatedAt: now.toISOString(),
    window: { since: since.toISOString(), until: until.toISOString(), tz },
    totals: {
      items: s.items,
      byType: Object.fromEntries(FEEDBACK_TYPES.map((t) => [t, s.byType.get(t) ?? 0])) as Record<FeedbackType, number>,
      withText: s.with_text,
      ratings: s.ratings,
      averageRating: ratio(s.rating_sum, s.ratings),
    },
    emotions: EMOTION_IDS.map((emotion) => {
      const count = s.byEmotion.get(emotion) ?? 0;
      return {
        emotion,
        emoji: EMOTIONS[emotion].emoji,
        label: { en: EMOTIONS[emotion].en, zh: EMOTIONS[emotion].zh },
        count,
        share: ratio(count, s.mm_responses),
      };
    }),
    sentiment: {
      average: ratio(s.sentiment_sum, s.items),
      positive: s.byLabel.positive,
      neutral: s.byLabel.neutral,
      negative: s.byLabel.negative,
      negativeShare,
      trend,
      textVsStars: agreement.map((row) => ({ ...row, agreement: ratio(row.agreeing, row.items) })),
    },
    baseline: { since: baselineSince.toISOString(), until: since.toISOString(), items: b.items, negativeShare: baselineShare },
    negativeRising: { rising, factor, minItems: FEEDBACK_METRICS.risingMinItems, threshold: FEEDBACK_METRICS.risingFactor },
    themes: themes.map((t) => ({
      theme: t.theme,
      kind: THEME_KIND[t.theme],
      count: t.n,
      share: ratio(t.n, s.with_text),
      negativeShare: ratio(t.negative, t.n),
      examples: (examples[topThemes.indexOf(t)] ?? []).map((e) => ({
        id: e.id,
        text: e.text,
        sentiment: e.sentiment,
        label: e.sentiment_label,
        createdAt: new Date(e.created_at).toISOString(),
      })),
    })),
    urgent: {
      count: s.urgent,
      items: urgentRows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        type: r.type,
        rating: r.rating,
        reasons: r.urgent_reasons,
        text: r.text,
        createdAt: new Date(r.created_at).toISOString(),
      })),
    },
    magicMoment: { responses: s.mm_responses, successes: s.mm_success, successShare: mmShare, verdict },
    lastHour: {
      items: lastHour.items,
      negative: lastHour.negative,
      urgent: lastHour.urgent,
      averageSentiment: lastHour.average,
    },
    suggestions: [],
  };
  report.suggestions = suggestions(report);
  return report;
}

/** Improvement suggestions, each with the numbers that triggered it. */
export function suggestions(report: FeedbackReport): FeedbackReport['suggestions'] {
  const out: FeedbackReport['suggestions'] = [];
  if (report.urgent.count > 0) {
    out.push({
      code: 'triage_urgent',
      message: {
        en: `Triage ${report.urgent.count} urgent item(s): crashes, unusable screens or lost progress`,
        zh: `优先处理 ${report.urgent.count} 条紧急反馈：崩溃、无法使用或进度丢失`,
      },
      evidence: { urgent: report.urgent.count },
    });
  }
  if (report.negativeRising.rising) {
    out.push({
      code: 'negative_rising',
      message: {
        en: `Negative feedback is rising: ${percent(report.sentiment.negativeShare, 0)} now vs ${percent(report.baseline.negativeShare, 0)} in the previous 7 days`,
        zh: `负面反馈上升：当前 ${percent(report.sentiment.negativeShare, 0)}，前 7 天 ${percent(report.baseline.negativeShare, 0)}`,
      },
      evidence: {
        negativeShare: report.sentiment.negativeShare,
        baselineNegativeShare: report.baseline.negativeShare,
        items: report.totals.items,
      },
    });
  }
  for (const theme of report.themes) {
    if (theme.kind === 'neutral' || theme.theme === 'other' || theme.count < 3 || (theme.negativeShare ?? 0) < 0.5) continue;
    out.push({
      code: `theme_${theme.theme}`,
      message: {
        en: `${THEME_NAMES[theme.theme].en}: ${theme.count} items, ${percent(theme.negativeShare, 0)} negative — ${THEME_ADVICE[theme.theme].en}`,
        zh: `${THEME_NAMES[theme.theme].zh}：${theme.count} 条，负面 ${percent(theme.negativeShare, 0)} —— ${THEME_ADVICE[theme.theme].zh}`,
      },
      evidence: { theme: theme.theme, count: theme.count, negativeShare: theme.negativeShare },
    });
  }
  if (report.magicMoment.verdict === 'needs_attention') {
    out.push({
      code: 'magic_moment_low',
      message: {
        en: `Only ${percent(report.magicMoment.successShare, 0)} of magic-moment answers are 😍/🤩/🔥 (aim ≥ 50%): review the dramas' difficulty`,
        zh: `魔法时刻只有 ${percent(report.magicMoment.successShare, 0)} 的回答是 😍/🤩/🔥（目标 ≥ 50%）：评估短剧难度`,
      },
      evidence: { responses: report.magicMoment.responses, successShare: report.magicMoment.successShare },
    });
  }
  if (report.totals.ratings >= 10 && (report.totals.averageRating ?? 5) < 3.5) {
    out.push({
      code: 'low_rating',
      message: {
        en: `Average rating ${report.totals.averageRating?.toFixed(2)} from ${report.totals.ratings} ratings is below 3.5`,
        zh: `${report.totals.ratings} 条评分的平均分 ${report.totals.averageRating?.toFixed(2)} 低于 3.5`,
      },
      evidence: { averageRating: report.totals.averageRating, ratings: report.totals.ratings },
    });
  }
  return out;
}
