/**
 * Every query of the metrics report, in one file beside it: they read the derived
 * tables and hourly rollups (migrations 002 and 006), never the raw events, and return
 * counts; report.ts turns them into rates, targets and verdicts.
 */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import { FUNNEL, METRICS } from './definitions.js';

export type Breakdown = 'appVersion' | 'platform' | 'interest';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface Range {
  from: Date;
  to: Date;
}

/**
 * A window cut at UTC boundaries: the whole hours inside it, the whole days inside
 * those, and the minutes at either edge. Rollups answer for hours and days; only the
 * edges (under an hour each) are read from the subjects themselves.
 */
export interface WindowParts {
  hours: Range | null;
  days: Range | null;
  edges: Range[];
}

export function splitWindow(since: Date, until: Date): WindowParts {
  const s = since.getTime();
  const u = until.getTime();
  const h0 = Math.ceil(s / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(u / HOUR_MS) * HOUR_MS;
  const range = (from: number, to: number): Range | null => (from < to ? { from: new Date(from), to: new Date(to) } : null);
  // Inside one hour: no whole hour, a single edge.
  if (h0 > h1) return { hours: null, days: null, edges: s < u ? [{ from: since, to: until }] : [] };
  const edges = [range(s, h0), range(h1, u)].filter((r): r is Range => r !== null);
  const hours = range(h0, h1);
  return { hours, days: hours && range(Math.ceil(h0 / DAY_MS) * DAY_MS, Math.floor(h1 / DAY_MS) * DAY_MS), edges };
}

/** The whole window from the subjects (zones whose hours do not start on UTC hours). */
export const unsplit = (since: Date, until: Date): WindowParts => ({
  hours: null,
  days: null,
  edges: [{ from: since, to: until }],
});

const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;
const within = (column: RawBuilder<unknown>, range: Range | null) =>
  range ? sql`(${column} >= ${ts(range.from)} AND ${column} < ${ts(range.to)})` : sql`false`;
const withinAny = (column: RawBuilder<unknown>, ranges: Range[]) =>
  ranges.length === 0
    ? sql`false`
    : sql`(${sql.join(
        ranges.map((range) => within(column, range)),
        sql` OR `,
      )})`;

/** A subject's step times, as the arguments of the analytics_* SQL functions (migration 006). */
const stepTimes = sql.join(FUNNEL.map((step) => sql.ref(`s.${step.column}`)));

/** What a funnel count is grouped by, read from a rollup row (`h`) or a subject row (`s`). */
export type GroupKey = (from: 'h' | 's') => RawBuilder<unknown>;

const NO_GROUP: GroupKey = () => sql`NULL::text`;

export interface FunnelCounts {
  users: number[];
  medians: Array<number | null>;
  activated: number;
}

const BREAKDOWN_COLUMNS: Record<Breakdown, string> = {
  appVersion: 'app_version',
  platform: 'platform',
  interest: 'interest_id',
};

/** Group by a breakdown column (the same column on rollup and subject rows). */
export const breakdownKey =
  (breakdown: Breakdown): GroupKey =>
  (from) =>
    sql.ref(`${from}.${BREAKDOWN_COLUMNS[breakdown]}`);

/** Group by the cohort: the local hour or day of first launch in `tz`. */
export const cohortKey =
  (unit: 'hour' | 'day', tz: string): GroupKey =>
  (from) =>
    sql`(date_trunc(${unit}, ${from === 'h' ? sql`h.hour` : sql`s.app_launched_at`} AT TIME ZONE ${tz}) AT TIME ZONE ${tz})`;

/**
 * New learners of the window by how many funnel steps in a row they reached (each
 * within the funnel window of their first launch), and how many activated, grouped.
 */
export async function funnelCounts(
  db: Db,
  parts: WindowParts,
  key: GroupKey = NO_GROUP,
): Promise<Array<FunnelCounts & { key: string | Date | null }>> {
  const counts = FUNNEL.map(
    (_, i) => sql`coalesce(sum(users) FILTER (WHERE level >= ${sql.lit(i + 1)}), 0)::int AS ${sql.id(`users_${i + 1}`)}`,
  );
  const result = await sql<Record<string, number | string | Date | null>>`
    SELECT key, ${sql.join(counts)}, coalesce(sum(users) FILTER (WHERE activated), 0)::int AS activated
    FROM (
      SELECT ${key('h')} AS key, h.level, h.activated, h.users
      FROM analytics_funnel_hourly h WHERE ${within(sql`h.hour`, parts.hours)}
      UNION ALL
      SELECT ${key('s')}, analytics_funnel_level(${stepTimes}), analytics_activated(s.app_launched_at, s.magic_moment_completed_at), 1
      FROM analytics_subjects s WHERE ${withinAny(sql`s.app_launched_at`, parts.edges)}
    ) r
    GROUP BY key HAVING sum(users) FILTER (WHERE level >= 1) > 0 ORDER BY 2 DESC`.execute(db.kysely);
  return result.rows.map((row) => ({
    key: (row.key as string | Date | null) ?? null,
    users: FUNNEL.map((_, i) => Number(row[`users_${i + 1}`] ?? 0)),
    medians: FUNNEL.map(() => null),
    activated: Number(row.activated ?? 0),
  }));
}

/** Growth factor of the duration buckets: analytics_duration_bucket in migration 006. */
const BUCKET_GROWTH = 1.01;

/**
 * The median (percentile_cont(0.5)) of durations given as bucket counts, in seconds.
 * Each bucket stands for the point of least relative error in it, so the result is
 * within 0.5% (or 1 ms) of the exact median.
 */
export function medianFromBuckets(buckets: Array<{ bucket: number; users: number }>): number | null {
  const sorted = buckets.filter((b) => b.users > 0).sort((a, b) => a.bucket - b.bucket);
  const n = sorted.reduce((sum, b) => sum + b.users, 0);
  if (n === 0) return null;
  const valueAt = (rank: number) => {
    let seen = 0;
    for (const b of sorted) {
      seen += b.users;
      if (rank < seen) return b.bucket === 0 ? 0 : (2 * BUCKET_GROWTH ** b.bucket) / (BUCKET_GROWTH + 1) / 1000;
    }
    return 0;
  };
  return (valueAt(Math.floor((n - 1) / 2)) + valueAt(Math.ceil((n - 1) / 2))) / 2;
}

/** Median seconds from step k−1 to step k among the window's new users who reached step k. */
export async function funnelMedians(db: Db, parts: WindowParts): Promise<Array<number | null>> {
  const result = await sql<{ step: number; bucket: number; users: number }>`
    SELECT step, bucket, sum(users)::int AS users FROM (
      SELECT d.step, d.bucket, d.users FROM analytics_step_durations d
      WHERE d.span_hours = 24 AND ${within(sql`d.start`, parts.days)}
      UNION ALL
      SELECT d.step, d.bucket, d.users FROM analytics_step_durations d
      WHERE d.span_hours = 1 AND ${within(sql`d.start`, parts.hours)} AND NOT ${within(sql`d.start`, parts.days)}
      UNION ALL
      SELECT g.step, analytics_duration_bucket(g.gap), 1
      FROM analytics_subjects s
      CROSS JOIN LATERAL unnest(ARRAY[2, 3, 4, 5, 6, 7, 8]::smallint[], analytics_step_gaps(${stepTimes})) AS g(step, gap)
      WHERE ${withinAny(sql`s.app_launched_at`, parts.edges)} AND g.step <= analytics_funnel_level(${stepTimes})
    ) r
    GROUP BY step, bucket`.execute(db.kysely);
  return FUNNEL.map((step) =>
    step.step === 1
      ? null
      : medianFromBuckets(
          result.rows
            .filter((row) => Number(row.step) === step.step)
            .map((row) => ({ bucket: Number(row.bucket), users: Number(row.users) })),
        ),
  );
}

/**
 * Learners activated in the window, eligible for and retained at D1 and D7: active on day 1
 * / day 7 after the activation day (local days in `tz`); a learner counts once that day is over.
 */
export async function retentionCounts(
  db: Db,
  parts: WindowParts,
  tz: string,
  now: Date,
): Promise<{ d1_eligible: number; d1_retained: number; d7_eligible: number; d7_retained: number }> {
  const { rows } = await sql<{ d1_eligible: number; d1_retained: number; d7_eligible: number; d7_retained: number }>`
    WITH today AS (SELECT (${now.toISOString()}::timestamptz AT TIME ZONE ${tz})::date AS day)
    SELECT
      coalesce(sum(users) FILTER (WHERE activation_day + 1 < t.day), 0)::int AS d1_eligible,
      coalesce(sum(users) FILTER (WHERE activation_day + 1 < t.day AND returned_d1), 0)::int AS d1_retained,
      coalesce(sum(users) FILTER (WHERE activation_day + 7 < t.day), 0)::int AS d7_eligible,
      coalesce(sum(users) FILTER (WHERE activation_day + 7 < t.day AND returned_d7), 0)::int AS d7_retained
    FROM (
      SELECT h.activation_day, h.returned_d1, h.returned_d7, h.users
      FROM analytics_retention_hourly h WHERE ${within(sql`h.hour`, parts.hours)}
      UNION ALL
      SELECT s.activation_day, s.returned_d1, s.returned_d7, 1
      FROM analytics_subjects s
      WHERE ${withinAny(sql`s.magic_moment_completed_at`, parts.edges)} AND s.activation_day IS NOT NULL
    ) r CROSS JOIN today t`.execute(db.kysely);
  return rows[0] ?? { d1_eligible: 0, d1_retained: 0, d7_eligible: 0, d7_retained: 0 };
}

/** The learning counters of the window's local days, and the dramas completed in it with their total seconds. */
export async function learningCounts(
  db: Db,
  since: Date,
  until: Date,
  tz: string,
): Promise<{ counter: (name: string) => number; dramasCompleted: number; dramaSeconds: number }> {
  const counters = await sql<{ counter: string; total: number }>`
    SELECT counter, sum(count)::bigint AS total FROM analytics_daily_counts
    WHERE day >= (${since.toISOString()}::timestamptz AT TIME ZONE ${tz})::date
      AND day <= (${until.toISOString()}::timestamptz AT TIME ZONE ${tz})::date
      AND (counter LIKE 'keyword_attempt%' OR counter IN ('event:keyword_attempt', 'event:focus_mode_triggered',
        'event:rescue_mode_triggered', 'event:srs_card_reviewed', 'srs_card_reviewed:correct'))
    GROUP BY counter`.execute(db.kysely);
  const parts = splitWindow(since, until);
  const runs = (
    await sql<{ completed: number; seconds: string | null }>`
    SELECT coalesce(sum(runs), 0)::int AS completed, sum(seconds) AS seconds FROM (
      SELECT h.runs, h.seconds FROM analytics_drama_runs_hourly h WHERE ${within(sql`h.hour`, parts.hours)}
      UNION ALL
      SELECT 1, extract(epoch FROM r.completed_at - r.started_at)
      FROM analytics_drama_runs r WHERE ${withinAny(sql`r.completed_at`, parts.edges)}
    ) r`.execute(db.kysely)
  ).rows[0];
  return {
    counter: (name) => Number(counters.rows.find((row) => row.counter === name)?.total ?? 0),
    dramasCompleted: runs?.completed ?? 0,
    dramaSeconds: Number(runs?.seconds ?? 0),
  };
}

/**
 * Stop start-up when the database's funnel and activation windows (made from
 * METRICS by migration 009) are not those of this code: the rollups would answer one
 * definition and the edges of a window another.
 */
export async function assertDefinitionWindows(db: Db): Promise<void> {
  const { rows } = await sql<{ funnel: number; activation: number }>`
    SELECT funnel_window_days AS funnel, activation_window_days AS activation FROM analytics_windows()`.execute(db.kysely);
  const stored = rows[0];
  if (stored?.funnel === METRICS.funnelWindowDays && stored.activation === METRICS.activationWindowDays) return;
  throw new Error(
    `the database's analytics windows (funnel ${stored?.funnel} days, activation ${stored?.activation} days) differ from ` +
      `analytics/definitions.ts (${METRICS.funnelWindowDays} and ${METRICS.activationWindowDays}): ` +
      'a new migration must redefine the SQL functions and rebuild the rollups',
  );
}

/** Keywords due for review now, across every learner (an index count: migration 015). */
export async function reviewsDueNow(db: Db, now: Date): Promise<number> {
  const row = await db.kysely
    .selectFrom('keyword_progress')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('next_review_at', '<=', now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
