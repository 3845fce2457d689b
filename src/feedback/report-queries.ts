/**
 * Every query of the feedback report, in one file beside it: whole UTC hours come from
 * the hourly rollups (migration 004), the ragged edges of the window from the items.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { FeedbackHourlyTable } from '../db/schema.js';
import { NEGATIVE_STARS, POSITIVE_STARS } from './agreement.js';
import { FEEDBACK_METRICS } from './definitions.js';
import type { SentimentLabel, Theme } from './sentiment.js';

function window(since: Date, until: Date) {
  return sql`created_at >= ${since.toISOString()}::timestamptz AND created_at < ${until.toISOString()}::timestamptz`;
}

/** The hourly rollup's counters, summed by day. */
export type GroupRow = Omit<FeedbackHourlyTable, 'hour'> & { day: string };

/** Whole UTC hours inside [since, until): read from the rollups; the ragged edges from the items. */
function hours(since: Date, until: Date): { from: Date; to: Date } {
  const from = new Date(Math.ceil(since.getTime() / 3_600_000) * 3_600_000);
  const to = new Date(Math.floor(until.getTime() / 3_600_000) * 3_600_000);
  return from < to ? { from, to } : { from: until, to: until };
}

const outsideHours = (since: Date, until: Date, h: { from: Date; to: Date }) =>
  sql`${window(since, until)} AND (created_at < ${h.from.toISOString()}::timestamptz OR created_at >= ${h.to.toISOString()}::timestamptz)`;

/** Items of [since, until) by type, label, emotion and local day: O(hours + edge items), not O(items). */
export async function groupedCounts(db: Db, since: Date, until: Date, tz: string): Promise<GroupRow[]> {
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

export async function themeCounts(
  db: Db,
  since: Date,
  until: Date,
): Promise<Array<{ theme: Theme; n: number; negative: number }>> {
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

/** The window's urgent items, newest first. */
export async function urgentItems(db: Db, since: Date, until: Date) {
  const { rows } = await sql<{
    id: string;
    user_id: string;
    type: string;
    rating: number | null;
    urgent_reasons: string[];
    text: string | null;
    created_at: Date;
  }>`
    SELECT id, user_id, type, rating, urgent_reasons, text, created_at FROM feedback
    WHERE urgent AND ${window(since, until)} ORDER BY created_at DESC LIMIT ${FEEDBACK_METRICS.urgentListed}`.execute(db.kysely);
  return rows;
}

/**
 * Per language, the window's items with text and a side-taking rating (1–2 or 4–5 stars), and
 * how many of them the analyzer read, from the text alone, on the side of the stars
 * (agreement.ts: the same definition as `smartalk feedback agreement`).
 */
export async function textRatingAgreement(db: Db, since: Date, until: Date) {
  const { rows } = await sql<{ language: string; items: number; agreeing: number }>`
    SELECT language, count(*)::int AS items,
      count(*) FILTER (WHERE (rating <= ${NEGATIVE_STARS} AND text_label = 'negative')
        OR (rating >= ${POSITIVE_STARS} AND text_label = 'positive'))::int AS agreeing
    FROM feedback
    WHERE ${window(since, until)} AND text_label IS NOT NULL AND language IS NOT NULL
      AND (rating <= ${NEGATIVE_STARS} OR rating >= ${POSITIVE_STARS})
    GROUP BY language ORDER BY 2 DESC, 1`.execute(db.kysely);
  return rows;
}

/** Items, negative and urgent ones, and the average sentiment of [since, until). */
export async function recentTotals(db: Db, since: Date, until: Date) {
  const { rows } = await sql<{ items: number; negative: number; urgent: number; average: number | null }>`
    SELECT count(*)::int AS items, count(*) FILTER (WHERE sentiment_label = 'negative')::int AS negative,
      count(*) FILTER (WHERE urgent)::int AS urgent, avg(sentiment)::float8 AS average
    FROM feedback WHERE ${window(since, until)}`.execute(db.kysely);
  return rows[0] ?? { items: 0, negative: 0, urgent: 0, average: null };
}

/**
 * The latest distinct quotes of a theme with one of `labels`: an index scan of its newest
 * items, not a sort of the window; the same sentence sent by many learners is quoted once.
 */
export async function themeExamples(db: Db, theme: Theme, labels: readonly SentimentLabel[], since: Date, until: Date) {
  const { rows } = await sql<{ id: string; text: string; sentiment: number; sentiment_label: SentimentLabel; created_at: Date }>`
    SELECT id, text, sentiment, sentiment_label, created_at FROM feedback
    WHERE ${window(since, until)} AND themes @> ARRAY[${theme}]::text[] AND text IS NOT NULL AND text <> ''
      AND sentiment_label IN (${sql.join([...labels])})
    ORDER BY created_at DESC LIMIT ${FEEDBACK_METRICS.quoteCandidates}`.execute(db.kysely);
  const seen = new Set<string>();
  const distinct = rows.filter((row) => {
    const key = row.text.trim().toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  // A topic theme quotes both sides: its complaints first, then its praise.
  const quotes = labels.flatMap((label) =>
    distinct
      .filter((row) => row.sentiment_label === label)
      .slice(0, Math.ceil(FEEDBACK_METRICS.examplesPerTheme / labels.length)),
  );
  return quotes.slice(0, FEEDBACK_METRICS.examplesPerTheme);
}
