/**
 * The metrics report (LaunchMetricsTracker's report): new users, activation by
 * cohort, the funnel, retention, real-time users, learning effectiveness, and the
 * comparison with the previous seven days. Every figure comes from definitions.ts
 * and the derived tables, so the cost grows with users and days, not with events.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { defaultWindow, type Granularity } from '../time.js';
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

/** The funnel window after the first launch, as an interval literal (a constant, folded once). */
const FUNNEL_WINDOW = sql.lit(`${METRICS.funnelWindowDays} days`);
const ACTIVATION_WINDOW = sql.lit(`${METRICS.activationWindowDays} days`);

/**
 * The subjects first launched in [since, until), one row each with its step times
 * t1…t8, and `level`: how many funnel steps in a row it reached, each within the
 * funnel window after the first launch (an ordered funnel, so counts never rise
 * from one step to the next). Computed once per row, then only counted.
 */
function cohortRows(since: Date, until: Date, key: ReturnType<typeof sql>) {
  const times = FUNNEL.map((step, i) => sql`s.${sql.ref(step.column)} AS ${sql.id(`t${i + 1}`)}`);
  const levels = FUNNEL.slice(1).map(
    (_, i) => sql`WHEN ${sql.ref(`t${i + 2}`)} IS NULL OR ${sql.ref(`t${i + 2}`)} >= w THEN ${sql.lit(i + 1)}`,
  );
  return sql`(
    SELECT c.*, CASE ${sql.join(levels, sql` `)} ELSE ${sql.lit(FUNNEL.length)} END AS level,
      (t8 IS NOT NULL AND t8 < t1 + ${ACTIVATION_WINDOW}::interval) AS activated
    FROM (
      SELECT ${key} AS key, ${sql.join(times)}, s.app_launched_at + ${FUNNEL_WINDOW}::interval AS w
      FROM analytics_subjects s
      WHERE s.app_launched_at >= ${since.toISOString()}::timestamptz AND s.app_launched_at < ${until.toISOString()}::timestamptz
    ) c
  )`;
}

interface FunnelCounts {
  users: number[];
  medians: Array<number | null>;
  activated: number;
}

const BREAKDOWN_COLUMNS: Record<Breakdown, string> = {
  appVersion: 's.app_version',
  platform: 's.platform',
  interest: 's.interest_id',
};

/** Funnel step counts and activations of [since, until), grouped by `key` (a cohort bucket, a breakdown, or nothing). */
async function funnelCounts(
  db: Db,
  since: Date,
  until: Date,
  key: ReturnType<typeof sql> = sql`NULL::text`,
): Promise<Array<FunnelCounts & { key: string | Date | null }>> {
  const counts = FUNNEL.map(
    (_, i) => sql`count(*) FILTER (WHERE level >= ${sql.lit(i + 1)})::int AS ${sql.id(`users_${i + 1}`)}`,
  );
  const result = await sql<Record<string, number | string | Date | null>>`
    SELECT key, ${sql.join(counts)}, count(*) FILTER (WHERE activated)::int AS activated
    FROM ${cohortRows(since, until, key)} r
    GROUP BY key ORDER BY 2 DESC`.execute(db.kysely);
  return result.rows.map((row) => ({
    key: (row.key as string | Date | null) ?? null,
    users: FUNNEL.map((_, i) => Number(row[`users_${i + 1}`] ?? 0)),
    medians: FUNNEL.map(() => null),
    activated: Number(row.activated ?? 0),
  }));
}

/** Median seconds from step k−1 to step k among the window's new users who reached step k. */
async function funnelMedians(db: Db, since: Date, until: Date): Promise<Array<number | null>> {
  const medians = FUNNEL.slice(1).map(
    (_, j) => sql`percentile_cont(0.5) WITHIN GROUP (
      ORDER BY GREATEST(0, extract(epoch FROM ${sql.ref(`t${j + 2}`)} - ${sql.ref(`t${j + 1}`)}))
    ) FILTER (WHERE level >= ${sql.lit(j + 2)}) AS ${sql.id(`median_${j + 2}`)}`,
  );
  const row = (
    await sql<Record<string, number | null>>`SELECT ${sql.join(medians)} FROM ${cohortRows(since, until, sql`NULL`)} r`.execute(
      db.kysely,
    )
  ).rows[0];
  return FUNNEL.map((_, i) => (i === 0 || row?.[`median_${i + 1}`] == null ? null : Number(row[`median_${i + 1}`])));
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

async function retention(db: Db, since: Date, until: Date, tz: string, now: Date): Promise<MetricsReport['retention']> {
  // One join and one aggregation over the cohort's activity, not a lookup per learner.
  const row = (
    await sql<{ d1_eligible: number; d1_retained: number; d7_eligible: number; d7_retained: number }>`
    WITH cohort AS (
      SELECT s.subject, (s.magic_moment_completed_at AT TIME ZONE ${tz})::date AS d0
      FROM analytics_subjects s
      WHERE s.magic_moment_completed_at >= ${since.toISOString()}::timestamptz
        AND s.magic_moment_completed_at < ${until.toISOString()}::timestamptz
    ),
    returns AS (
      SELECT c.subject, bool_or(a.day = c.d0 + 1) AS day2
      FROM cohort c JOIN analytics_daily_activity a ON a.subject = c.subject AND a.day BETWEEN c.d0 + 1 AND c.d0 + 6
      GROUP BY c.subject
    ),
    today AS (SELECT (${now.toISOString()}::timestamptz AT TIME ZONE ${tz})::date AS day)
    SELECT
      count(*) FILTER (WHERE c.d0 + 1 < t.day)::int AS d1_eligible,
      count(*) FILTER (WHERE c.d0 + 1 < t.day AND r.day2)::int AS d1_retained,
      count(*) FILTER (WHERE c.d0 + 6 < t.day)::int AS d7_eligible,
      count(*) FILTER (WHERE c.d0 + 6 < t.day AND r.subject IS NOT NULL)::int AS d7_retained
    FROM cohort c CROSS JOIN today t LEFT JOIN returns r ON r.subject = c.subject`.execute(db.kysely)
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
  const runs = (
    await sql<{ completed: number; avg_seconds: number | null }>`
    SELECT count(*)::int AS completed, avg(extract(epoch FROM completed_at - started_at)) AS avg_seconds
    FROM analytics_drama_runs
    WHERE completed_at >= ${since.toISOString()}::timestamptz AND completed_at < ${until.toISOString()}::timestamptz`.execute(
      db.kysely,
    )
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
    averageSecondsToCompleteDrama:
      runs?.avg_seconds === null || runs?.avg_seconds === undefined ? null : Number(runs.avg_seconds),
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

  const unit = granularity === 'hour' ? 'hour' : 'day';
  const bucket = sql`(date_trunc(${unit}, s.app_launched_at AT TIME ZONE ${deps.tz}) AT TIME ZONE ${deps.tz})`;
  // Two cores: a few queries at a time, the heavy ones not all at once.
  const [buckets, medians, [previous]] = await Promise.all([
    funnelCounts(deps.db, since, until, bucket),
    funnelMedians(deps.db, since, until),
    funnelCounts(deps.db, baselineSince, since),
  ]);
  const [retained, learned, activeUsers, breakdown] = await Promise.all([
    retention(deps.db, since, until, deps.tz, now),
    learning(deps.db, since, until, deps.tz),
    deps.presence.count(),
    options.breakdown
      ? funnelCounts(deps.db, since, until, sql.raw(BREAKDOWN_COLUMNS[options.breakdown]))
      : Promise.resolve(undefined),
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
