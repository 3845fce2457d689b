/**
 * The feedback report (LaunchFeedbackCollector's report): volume by type, ratings,
 * emotions, sentiment and its daily trend, the negative share against the previous
 * seven days (the NegativeFeedbackRising alert's basis), themes with example quotes,
 * urgent items, the magic moment's success share, the last hour, and suggestions
 * that each name the numbers behind them.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { FeedbackHourlyTable } from '../db/schema.js';
import type { Bilingual } from '../i18n.js';
import { EMOTION_IDS, EMOTIONS, type EmotionId } from '../learning/emotions.js';
import { defaultWindow } from '../time.js';
import { FEEDBACK_TYPES, type FeedbackType } from './feedback.js';
import type { Theme } from './sentiment.js';

const DAY_MS = 86_400_000;

/** Definitions the report, the gauges and the alert share. */
export const FEEDBACK_METRICS = {
  baselineDays: 7,
  /** "Negative feedback rising": current negative share > this × the baseline's… */
  risingFactor: 1.5,
  /** …with at least this many items in the window. */
  risingMinItems: 20,
  /** Magic-moment answers that count as success: 😍 🤩 🔥. */
  successEmotions: ['fully_understood', 'easier_than_expected', 'want_more'] as EmotionId[],
  magicMomentGood: 0.5,
  magicMomentExcellent: 0.7,
  examplesPerTheme: 3,
  urgentListed: 20,
} as const;

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
  emotions: Array<{ emotion: EmotionId; emoji: string; label: Bilingual; count: number; share: number | null }>;
  sentiment: {
    average: number | null;
    positive: number;
    neutral: number;
    negative: number;
    negativeShare: number | null;
    trend: Array<{ day: string; items: number; average: number | null; negativeShare: number | null }>;
  };
  baseline: { since: string; until: string; items: number; negativeShare: number | null };
  negativeRising: { rising: boolean; factor: number | null; minItems: number; threshold: number };
  themes: Array<{
    theme: Theme;
    count: number;
    share: number | null;
    negativeShare: number | null;
    examples: Array<{ id: string; text: string; sentiment: number; createdAt: string }>;
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
const pct = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(0)}%`);

const THEME_ADVICE: Record<Theme, Bilingual> = {
  video_playback: {
    en: 'check the CDN cache hit ratio and the video encodings (ffprobe)',
    zh: '检查 CDN 缓存命中率与视频编码（ffprobe）',
  },
  loading_speed: { en: 'check API latency and video sizes at the edge', zh: '检查接口响应时间与视频体积' },
  audio_quality: { en: 'review the audio tracks and pronunciation clips', zh: '检查音轨与发音片段' },
  responsiveness: { en: 'profile the client screens named in the context', zh: '排查反馈上下文中提到的页面卡顿' },
  subtitle_sync: { en: 're-time the subtitle tracks of the dramas mentioned', zh: '重新校对相关短剧的字幕时间轴' },
  content_difficulty: {
    en: 'review chapter difficulty and add hints (focus/rescue mode)',
    zh: '评估章节难度，增加提示（专注/救援模式）',
  },
  pricing_payment: { en: 'review pricing copy and failed payments', zh: '检查价格说明与支付失败' },
  account_data: { en: 'check login and progress sync', zh: '检查登录与学习进度同步' },
  other: { en: 'read the items', zh: '逐条阅读反馈' },
};

export const THEME_NAMES: Record<Theme, Bilingual> = {
  video_playback: { en: 'Video playback', zh: '视频播放' },
  loading_speed: { en: 'Loading speed', zh: '加载速度' },
  audio_quality: { en: 'Audio quality', zh: '音频质量' },
  responsiveness: { en: 'Responsiveness', zh: '响应速度' },
  subtitle_sync: { en: 'Subtitle sync', zh: '字幕同步' },
  content_difficulty: { en: 'Content difficulty', zh: '内容难度' },
  pricing_payment: { en: 'Pricing / payment', zh: '价格 / 支付' },
  account_data: { en: 'Account / data', zh: '账号 / 数据' },
  other: { en: 'Other', zh: '其他' },
};

function window(since: Date, until: Date) {
  return sql`created_at >= ${since.toISOString()}::timestamptz AND created_at < ${until.toISOString()}::timestamptz`;
}

/** The hourly rollup's counters, summed by day. */
type GroupRow = Omit<FeedbackHourlyTable, 'hour'> & { day: string };

/** Whole UTC hours inside [since, until): read from the rollups; the ragged edges from the items. */
function hours(since: Date, until: Date): { from: Date; to: Date } {
  const from = new Date(Math.ceil(since.getTime() / 3_600_000) * 3_600_000);
  const to = new Date(Math.floor(until.getTime() / 3_600_000) * 3_600_000);
  return from < to ? { from, to } : { from: until, to: until };
}

const outsideHours = (since: Date, until: Date, h: { from: Date; to: Date }) =>
  sql`${window(since, until)} AND (created_at < ${h.from.toISOString()}::timestamptz OR created_at >= ${h.to.toISOString()}::timestamptz)`;

/** Items of [since, until) by type, label, emotion and local day: O(hours + edge items), not O(items). */
async function groupedCounts(db: Db, since: Date, until: Date, tz: string): Promise<GroupRow[]> {
  const h = hours(since, until);
  const result = await sql<GroupRow>`
    SELECT type, label, emotion, day::text AS day, sum(items)::int AS items, sum(with_text)::int AS with_text,
      sum(ratings)::int AS ratings, sum(rating_sum)::int AS rating_sum, sum(sentiment_sum)::float8 AS sentiment_sum,
      sum(urgent)::int AS urgent
    FROM (
      SELECT type, label, emotion, (hour AT TIME ZONE ${tz})::date AS day, items, with_text, ratings, rating_sum, sentiment_sum, urgent
      FROM feedback_hourly WHERE hour >= ${h.from.toISOString()}::timestamptz AND hour < ${h.to.toISOString()}::timestamptz
      UNION ALL
      SELECT type, sentiment_label, coalesce(emotion, ''), (created_at AT TIME ZONE ${tz})::date, 1,
        (coalesce(text, '') <> '')::int, (rating IS NOT NULL)::int, coalesce(rating, 0), sentiment, urgent::int
      FROM feedback WHERE ${outsideHours(since, until, h)}
    ) r
    GROUP BY 1, 2, 3, 4`.execute(db.kysely);
  return result.rows;
}

async function themeCounts(db: Db, since: Date, until: Date): Promise<Array<{ theme: Theme; n: number; negative: number }>> {
  const h = hours(since, until);
  const result = await sql<{ theme: Theme; n: number; negative: number }>`
    SELECT theme, sum(items)::int AS n, sum(items) FILTER (WHERE label = 'negative')::int AS negative
    FROM (
      SELECT theme, label, items FROM feedback_theme_hourly
      WHERE hour >= ${h.from.toISOString()}::timestamptz AND hour < ${h.to.toISOString()}::timestamptz
      UNION ALL
      SELECT theme, sentiment_label, 1 FROM feedback, unnest(themes) AS theme WHERE ${outsideHours(since, until, h)}
    ) r
    GROUP BY theme ORDER BY 2 DESC, 1`.execute(db.kysely);
  return result.rows.map((row) => ({ ...row, negative: row.negative ?? 0 }));
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
  const k = db.kysely;

  const [groups, baselineGroups, themes, urgentRows, lastHour] = await Promise.all([
    groupedCounts(db, since, until, tz),
    groupedCounts(db, baselineSince, since, tz),
    themeCounts(db, since, until),
    sql<{
      id: string;
      user_id: string;
      type: string;
      rating: number | null;
      urgent_reasons: string[];
      text: string | null;
      created_at: Date;
    }>`
      SELECT id, user_id, type, rating, urgent_reasons, text, created_at FROM feedback
      WHERE urgent AND ${window(since, until)} ORDER BY created_at DESC LIMIT ${FEEDBACK_METRICS.urgentListed}`.execute(k),
    sql<{ items: number; negative: number; urgent: number; average: number | null }>`
      SELECT count(*)::int AS items, count(*) FILTER (WHERE sentiment_label = 'negative')::int AS negative,
        count(*) FILTER (WHERE urgent)::int AS urgent, avg(sentiment)::float8 AS average
      FROM feedback WHERE ${window(hourAgo, now)}`.execute(k),
  ]);
  const sum = (rows: GroupRow[], pick: (row: GroupRow) => number, where: (row: GroupRow) => boolean = () => true) =>
    rows.reduce((n, row) => (where(row) ? n + pick(row) : n), 0);
  const s = {
    items: sum(groups, (r) => r.items),
    with_text: sum(groups, (r) => r.with_text),
    ratings: sum(groups, (r) => r.ratings),
    rating_sum: sum(groups, (r) => r.rating_sum),
    sentiment_sum: sum(groups, (r) => r.sentiment_sum),
    positive: sum(
      groups,
      (r) => r.items,
      (r) => r.label === 'positive',
    ),
    neutral: sum(
      groups,
      (r) => r.items,
      (r) => r.label === 'neutral',
    ),
    negative: sum(
      groups,
      (r) => r.items,
      (r) => r.label === 'negative',
    ),
    urgent: sum(groups, (r) => r.urgent),
    mm_responses: sum(
      groups,
      (r) => r.items,
      (r) => r.type === 'magic_moment' && r.emotion !== '',
    ),
    mm_success: sum(
      groups,
      (r) => r.items,
      (r) => r.type === 'magic_moment' && (FEEDBACK_METRICS.successEmotions as readonly string[]).includes(r.emotion),
    ),
  };
  const days = [...new Set(groups.map((r) => r.day))].sort();
  const trend = days.map((day) => {
    const items = sum(
      groups,
      (r) => r.items,
      (r) => r.day === day,
    );
    return {
      day,
      items,
      average: ratio(
        sum(
          groups,
          (r) => r.sentiment_sum,
          (r) => r.day === day,
        ),
        items,
      ),
      negativeShare: ratio(
        sum(
          groups,
          (r) => r.items,
          (r) => r.day === day && r.label === 'negative',
        ),
        items,
      ),
    };
  });
  const b = {
    items: sum(baselineGroups, (r) => r.items),
    negative: sum(
      baselineGroups,
      (r) => r.items,
      (r) => r.label === 'negative',
    ),
  };

  // Example quotes: the latest items of each of the top themes (an index scan each, not a sort of the window).
  const topThemes = themes.filter((t) => t.theme !== 'other').slice(0, 5);
  const examples = await Promise.all(
    topThemes.map((t) =>
      sql<{ id: string; text: string; sentiment: number; created_at: Date }>`
        SELECT id, text, sentiment, created_at FROM feedback
        WHERE ${window(since, until)} AND themes @> ARRAY[${t.theme}]::text[] AND text IS NOT NULL AND text <> ''
        ORDER BY created_at DESC LIMIT ${FEEDBACK_METRICS.examplesPerTheme}`.execute(k),
    ),
  );

  const negativeShare = ratio(s.negative, s.items);
  const baselineShare = ratio(b.negative, b.items);
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
      byType: Object.fromEntries(
        FEEDBACK_TYPES.map((t) => [
          t,
          sum(
            groups,
            (r) => r.items,
            (r) => r.type === t,
          ),
        ]),
      ) as Record<FeedbackType, number>,
      withText: s.with_text,
      ratings: s.ratings,
      averageRating: ratio(s.rating_sum, s.ratings),
    },
    emotions: EMOTION_IDS.map((emotion) => {
      const count = sum(
        groups,
        (r) => r.items,
        (r) => r.emotion === emotion,
      );
      return {
        emotion,
        emoji: EMOTIONS[emotion].emoji,
        label: { en: EMOTIONS[emotion].en, zh: EMOTIONS[emotion].zh },
        count,
        share: ratio(count, s.items),
      };
    }),
    sentiment: {
      average: ratio(s.sentiment_sum, s.items),
      positive: s.positive,
      neutral: s.neutral,
      negative: s.negative,
      negativeShare,
      trend,
    },
    baseline: { since: baselineSince.toISOString(), until: since.toISOString(), items: b.items, negativeShare: baselineShare },
    negativeRising: { rising, factor, minItems: FEEDBACK_METRICS.risingMinItems, threshold: FEEDBACK_METRICS.risingFactor },
    themes: themes.map((t) => ({
      theme: t.theme,
      count: t.n,
      share: ratio(t.n, s.items),
      negativeShare: ratio(t.negative, t.n),
      examples: (examples[topThemes.indexOf(t)]?.rows ?? []).map((e) => ({
        id: e.id,
        text: e.text,
        sentiment: e.sentiment,
        createdAt: new Date(e.created_at).toISOString(),
      })),
    })),
    urgent: {
      count: s.urgent,
      items: urgentRows.rows.map((r) => ({
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
      items: lastHour.rows[0]?.items ?? 0,
      negative: lastHour.rows[0]?.negative ?? 0,
      urgent: lastHour.rows[0]?.urgent ?? 0,
      averageSentiment: lastHour.rows[0]?.average ?? null,
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
        en: `Negative feedback is rising: ${pct(report.sentiment.negativeShare)} now vs ${pct(report.baseline.negativeShare)} in the previous 7 days`,
        zh: `负面反馈上升：当前 ${pct(report.sentiment.negativeShare)}，前 7 天 ${pct(report.baseline.negativeShare)}`,
      },
      evidence: {
        negativeShare: report.sentiment.negativeShare,
        baselineNegativeShare: report.baseline.negativeShare,
        items: report.totals.items,
      },
    });
  }
  for (const theme of report.themes) {
    if (theme.theme === 'other' || theme.count < 3 || (theme.negativeShare ?? 0) < 0.5) continue;
    out.push({
      code: `theme_${theme.theme}`,
      message: {
        en: `${THEME_NAMES[theme.theme].en}: ${theme.count} items, ${pct(theme.negativeShare)} negative — ${THEME_ADVICE[theme.theme].en}`,
        zh: `${THEME_NAMES[theme.theme].zh}：${theme.count} 条，负面 ${pct(theme.negativeShare)} —— ${THEME_ADVICE[theme.theme].zh}`,
      },
      evidence: { theme: theme.theme, count: theme.count, negativeShare: theme.negativeShare },
    });
  }
  if (report.magicMoment.verdict === 'needs_attention') {
    out.push({
      code: 'magic_moment_low',
      message: {
        en: `Only ${pct(report.magicMoment.successShare)} of magic-moment answers are 😍/🤩/🔥 (aim ≥ 50%): review the dramas' difficulty`,
        zh: `魔法时刻只有 ${pct(report.magicMoment.successShare)} 的回答是 😍/🤩/🔥（目标 ≥ 50%）：评估短剧难度`,
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
