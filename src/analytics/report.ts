/**
 * The metrics report (LaunchMetricsTracker's report): new users, activation by
 * cohort, the funnel, retention, real-time users, learning effectiveness, and the
 * comparison with the previous seven days. Every figure comes from definitions.ts
 * and the derived tables, so the cost grows with users and days, not with events.
 */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import { defaultWindow, type Granularity, hoursAlignWithUtc } from '../time.js';
import { type ActivationVerdict, activationVerdict, FUNNEL, METRICS, ratio } from './definitions.js';
import type { Presence } from './presence.js';

export type { Granularity };
export type Breakdown = 'appVersion' | 'platform' | 'interest';

export interface ReportOptions {
  since?: Date;
  until?: Date;
  granularity?: Granularity;
  breakdown?: Breakdown;
  /** The server's clock (tests move it). */
  now?: Date;
}

export interface FunnelStepReport {
  step: number;
  event: string;
  users: number;
  overallConversion: number | null;
  stepConversion: number | null;
  dropOff: number | null;
  /** Median seconds from the previous step to this one, among users who reached it. */
  medianSecondsToConvert: number | null;
  target: number;
  met: boolean | null;
}

export interface CohortReport {
  start: string;
  newUsers: number;
  activated: number;
  rate: number | null;
  /** False while the cohort's activation window is still open: its rate can still rise. */
  complete: boolean;
}

export interface MetricsFlag {
  code: 'activation_drop' | 'funnel_step_drop';
  step?: number;
  current: number;
  baseline: number;
  message: string;
}

export interface MetricsReport {
  generatedAt: string;
  window: { since: string; until: string; granularity: Granularity; tz: string };
  newUsers: number;
  activation: {
    rate: number | null;
    activated: number;
    newUsers: number;
    target: number;
    verdict: ActivationVerdict;
    cohorts: CohortReport[];
  };
  funnel: FunnelStepReport[];
  retention: {
    d1: { rate: number | null; retained: number; eligible: number; target: number; met: boolean | null };
    d7: { rate: number | null; retained: number; eligible: number; target: number; met: boolean | null };
  };
  realtime: { activeUsers: number; windowSeconds: number };
  learning: {
    attempts: number;
    correctAttempts: number;
    averageAttemptsPerClue: number | null;
    focusModeShare: number | null;
    rescueModeShare: number | null;
    focusModeTriggers: number;
    rescueModeTriggers: number;
    dramasCompleted: number;
    averageSecondsToCompleteDrama: number | null;
  };
  baseline: {
    since: string;
    until: string;
    newUsers: number;
    activationRate: number | null;
    funnel: Array<{ step: number; stepConversion: number | null }>;
  };
  flags: MetricsFlag[];
  breakdown?: {
    by: Breakdown;
    groups: Array<{ key: string | null; newUsers: number; activationRate: number | null; funnel: number[] }>;
  };
}

export interface ReportDeps {
  db: Db;
  presence: Presence;
  tz: string;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

interface Range {
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
const unsplit = (since: Date, until: Date): WindowParts => ({ hours: null, days: null, edges: [{ from: since, to: until }] });

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
type GroupKey = (from: 'h' | 's') => RawBuilder<unknown>;

const NO_GROUP: GroupKey = () => sql`NULL::text`;

interface FunnelCounts {
  users: number[];
  medians: Array<number | null>;
  activated: number;
}

const BREAKDOWN_COLUMNS: Record<Breakdown, string> = {
  appVersion: 'app_version',
  platform: 'platform',
  interest: 'interest_id',
};

/**
 * New learners of the window by how many funnel steps in a row they reached (each
 * within the funnel window of their first launch), and how many activated, grouped.
 */
async function funnelCounts(
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
async function funnelMedians(db: Db, parts: WindowParts): Promise<Array<number | null>> {
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

/** Sum of grouped counts (the window's totals from its cohort buckets). */
function total(groups: FunnelCounts[]): FunnelCounts {
  return {
    users: FUNNEL.map((_, i) => groups.reduce((sum, g) => sum + (g.users[i] ?? 0), 0)),
    medians: FUNNEL.map(() => null),
    activated: groups.reduce((sum, g) => sum + g.activated, 0),
  };
}

function funnelReport(counts: FunnelCounts): FunnelStepReport[] {
  const first = counts.users[0] ?? 0;
  return FUNNEL.map((step, i) => {
    const users = counts.users[i] ?? 0;
    const previous = i === 0 ? users : (counts.users[i - 1] ?? 0);
    const overall = ratio(users, first);
    const stepConversion = i === 0 ? ratio(users, users) : ratio(users, previous);
    return {
      step: step.step,
      event: step.event,
      users,
      overallConversion: overall,
      stepConversion,
      dropOff: stepConversion === null ? null : 1 - stepConversion,
      medianSecondsToConvert: counts.medians[i] ?? null,
      target: step.target,
      met: overall === null ? null : overall >= step.target - 1e-12,
    };
  });
}

function cohortReports(
  groups: Array<FunnelCounts & { key: string | Date | null }>,
  granularity: Granularity,
  now: Date,
): CohortReport[] {
  const span = granularity === 'hour' ? 3_600_000 : DAY_MS;
  return groups
    .map((group) => ({ group, start: new Date(group.key as string | Date) }))
    .sort((a, b) => a.start.getTime() - b.start.getTime())
    .map(({ group, start }) => ({
      start: start.toISOString(),
      newUsers: group.users[0] ?? 0,
      activated: group.activated,
      rate: ratio(group.activated, group.users[0] ?? 0),
      complete: start.getTime() + span + METRICS.activationWindowDays * DAY_MS <= now.getTime(),
    }));
}

async function retention(db: Db, parts: WindowParts, tz: string, now: Date): Promise<MetricsReport['retention']> {
  // Learners activated in the window; a return counts once its day is over.
  const row = (
    await sql<{ d1_eligible: number; d1_retained: number; d7_eligible: number; d7_retained: number }>`
    WITH today AS (SELECT (${now.toISOString()}::timestamptz AT TIME ZONE ${tz})::date AS day)
    SELECT
      coalesce(sum(users) FILTER (WHERE activation_day + 1 < t.day), 0)::int AS d1_eligible,
      coalesce(sum(users) FILTER (WHERE activation_day + 1 < t.day AND returned_d1), 0)::int AS d1_retained,
      coalesce(sum(users) FILTER (WHERE activation_day + 6 < t.day), 0)::int AS d7_eligible,
      coalesce(sum(users) FILTER (WHERE activation_day + 6 < t.day AND returned_d7), 0)::int AS d7_retained
    FROM (
      SELECT h.activation_day, h.returned_d1, h.returned_d7, h.users
      FROM analytics_retention_hourly h WHERE ${within(sql`h.hour`, parts.hours)}
      UNION ALL
      SELECT s.activation_day, s.returned_d1, s.returned_d7, 1
      FROM analytics_subjects s
      WHERE ${withinAny(sql`s.magic_moment_completed_at`, parts.edges)} AND s.activation_day IS NOT NULL
    ) r CROSS JOIN today t`.execute(db.kysely)
  ).rows[0] ?? { d1_eligible: 0, d1_retained: 0, d7_eligible: 0, d7_retained: 0 };
  const entry = (retained: number, eligible: number, target: number) => {
    const rate = ratio(retained, eligible);
    return { rate, retained, eligible, target, met: rate === null ? null : rate >= target };
  };
  return {
    d1: entry(row.d1_retained, row.d1_eligible, METRICS.retentionD1Target),
    d7: entry(row.d7_retained, row.d7_eligible, METRICS.retentionD7Target),
  };
}

async function learning(db: Db, since: Date, until: Date, tz: string): Promise<MetricsReport['learning']> {
  const counters = await sql<{ counter: string; total: number }>`
    SELECT counter, sum(count)::bigint AS total FROM analytics_daily_counts
    WHERE day >= (${since.toISOString()}::timestamptz AT TIME ZONE ${tz})::date
      AND day <= (${until.toISOString()}::timestamptz AT TIME ZONE ${tz})::date
      AND (counter LIKE 'keyword_attempt%' OR counter IN ('event:keyword_attempt', 'event:focus_mode_triggered', 'event:rescue_mode_triggered'))
    GROUP BY counter`.execute(db.kysely);
  const get = (name: string) => Number(counters.rows.find((row) => row.counter === name)?.total ?? 0);
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
  const attempts = get('event:keyword_attempt');
  const correct = get('keyword_attempt:correct');
  return {
    attempts,
    correctAttempts: correct,
    averageAttemptsPerClue: ratio(attempts, correct),
    focusModeShare: ratio(get('keyword_attempt:mode:focus'), attempts),
    rescueModeShare: ratio(get('keyword_attempt:mode:rescue'), attempts),
    focusModeTriggers: get('event:focus_mode_triggered'),
    rescueModeTriggers: get('event:rescue_mode_triggered'),
    dramasCompleted: runs?.completed ?? 0,
    averageSecondsToCompleteDrama: runs?.completed ? Number(runs.seconds) / runs.completed : null,
  };
}

function compare(
  current: { rate: number | null; funnel: FunnelStepReport[] },
  baseline: MetricsReport['baseline'],
): MetricsFlag[] {
  const flags: MetricsFlag[] = [];
  if (current.rate !== null && baseline.activationRate !== null && baseline.activationRate > 0) {
    if (current.rate < METRICS.activationDropFactor * baseline.activationRate) {
      flags.push({
        code: 'activation_drop',
        current: current.rate,
        baseline: baseline.activationRate,
        message: `activation ${(current.rate * 100).toFixed(1)}% is below half of the previous 7 days' ${(baseline.activationRate * 100).toFixed(1)}%`,
      });
    }
  }
  for (const step of current.funnel.slice(1)) {
    const before = baseline.funnel.find((b) => b.step === step.step)?.stepConversion ?? null;
    if (step.stepConversion === null || before === null || before === 0) continue;
    if (step.stepConversion < METRICS.funnelStepDropFactor * before) {
      flags.push({
        code: 'funnel_step_drop',
        step: step.step,
        current: step.stepConversion,
        baseline: before,
        message: `step ${step.step} (${step.event}) converts ${(step.stepConversion * 100).toFixed(1)}% vs ${(before * 100).toFixed(1)}% in the previous 7 days`,
      });
    }
  }
  return flags;
}

/** Build the whole report for a window (default: the last seven days). */
export async function buildMetricsReport(deps: ReportDeps, options: ReportOptions = {}): Promise<MetricsReport> {
  const now = options.now ?? new Date();
  const granularity = options.granularity ?? 'day';
  const defaults = defaultWindow(now, granularity, deps.tz);
  const since = options.since ?? defaults.since;
  const until = options.until ?? defaults.until;
  const baselineSince = new Date(since.getTime() - METRICS.baselineDays * DAY_MS);

  const parts = splitWindow(since, until);
  const unit = granularity === 'hour' ? 'hour' : 'day';
  // Local hours and days are unions of UTC hours in all but a few zones; there the
  // cohort buckets are computed from the subjects instead.
  const cohortParts = hoursAlignWithUtc(since, until, deps.tz) ? parts : unsplit(since, until);
  const bucket: GroupKey = (from) =>
    sql`(date_trunc(${unit}, ${from === 'h' ? sql`h.hour` : sql`s.app_launched_at`} AT TIME ZONE ${deps.tz}) AT TIME ZONE ${deps.tz})`;
  const breakdownColumn = options.breakdown && BREAKDOWN_COLUMNS[options.breakdown];
  const [buckets, medians, [previous], retained, learned, activeUsers, breakdown] = await Promise.all([
    funnelCounts(deps.db, cohortParts, bucket),
    funnelMedians(deps.db, parts),
    funnelCounts(deps.db, splitWindow(baselineSince, since)),
    retention(deps.db, parts, deps.tz, now),
    learning(deps.db, since, until, deps.tz),
    deps.presence.count(),
    breakdownColumn ? funnelCounts(deps.db, parts, (from) => sql.ref(`${from}.${breakdownColumn}`)) : undefined,
  ]);
  const cohorts = cohortReports(buckets, granularity, now);
  const empty: FunnelCounts = { users: FUNNEL.map(() => 0), medians: FUNNEL.map(() => null), activated: 0 };
  const now_ = { ...total(buckets), medians };
  const before = previous ?? empty;
  const newUsers = now_.users[0] ?? 0;
  const funnel = funnelReport(now_);
  const rate = ratio(now_.activated, newUsers);
  const baselineFunnel = funnelReport(before);
  const baseline: MetricsReport['baseline'] = {
    since: baselineSince.toISOString(),
    until: since.toISOString(),
    newUsers: before.users[0] ?? 0,
    activationRate: ratio(before.activated, before.users[0] ?? 0),
    funnel: baselineFunnel.map((s) => ({ step: s.step, stepConversion: s.stepConversion })),
  };
  return {
    generatedAt: now.toISOString(),
    window: { since: since.toISOString(), until: until.toISOString(), granularity, tz: deps.tz },
    newUsers,
    activation: {
      rate,
      activated: now_.activated,
      newUsers,
      target: METRICS.activationTarget,
      verdict: activationVerdict(rate),
      cohorts,
    },
    funnel,
    retention: retained,
    realtime: { activeUsers, windowSeconds: METRICS.realtimeWindowSeconds },
    learning: learned,
    baseline,
    flags: compare({ rate, funnel }, baseline),
    ...(options.breakdown && breakdown
      ? {
          breakdown: {
            by: options.breakdown,
            groups: breakdown.map((group) => ({
              key: group.key === null ? null : String(group.key),
              newUsers: group.users[0] ?? 0,
              activationRate: ratio(group.activated, group.users[0] ?? 0),
              funnel: group.users,
            })),
          },
        }
      : {}),
  };
}
