/**
 * The metrics report (LaunchMetricsTracker's report): new users, activation by
 * cohort, the funnel, retention, real-time users, learning effectiveness, and the
 * comparison with the previous seven days. Every figure comes from definitions.ts
 * and the derived tables, so the cost grows with users and days, not with events.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { type ActivationVerdict, activationVerdict, FUNNEL, type FunnelColumn, METRICS, ratio } from './definitions.js';
import type { Presence } from './presence.js';

export type Granularity = 'hour' | 'day';
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

/** Start of the hour or day (in `tz`) that contains `at`. */
export function startOf(at: Date, granularity: Granularity, tz: string): Date {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  const localAsUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offset = localAsUtc - Math.floor(at.getTime() / 1000) * 1000;
  const floored =
    granularity === 'hour'
      ? Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour))
      : Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day));
  return new Date(floored - offset);
}

/** The default window: the last seven days up to now, starting on a day (or hour) boundary in `tz`. */
export function defaultWindow(now: Date, granularity: Granularity, tz: string): { since: Date; until: Date } {
  const since =
    granularity === 'hour'
      ? new Date(startOf(now, 'hour', tz).getTime() - (7 * 24 - 1) * 3_600_000)
      : new Date(startOf(now, 'day', tz).getTime() - 6 * DAY_MS);
  return { since, until: now };
}

const stepAt = (i: number) => sql.ref(`s.${FUNNEL[i]?.column as FunnelColumn}`);

/**
 * SQL for "reached step i within the funnel window": every step up to i reached,
 * each no later than the window after the first launch (an ordered funnel, so the
 * counts never rise from one step to the next).
 */
function reached(i: number) {
  const parts = [];
  for (let k = 1; k <= i; k++) {
    parts.push(
      sql`${stepAt(k)} IS NOT NULL AND ${stepAt(k)} < s.app_launched_at + make_interval(days => ${METRICS.funnelWindowDays})`,
    );
  }
  return parts.length === 0 ? sql`TRUE` : sql.join(parts, sql` AND `);
}

const activatedWithinWindow = sql`s.magic_moment_completed_at IS NOT NULL
  AND s.magic_moment_completed_at < s.app_launched_at + make_interval(days => ${METRICS.activationWindowDays})`;

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

/** Funnel step counts, median step times and activations for the new users of [since, until). */
async function funnelCounts(
  db: Db,
  since: Date,
  until: Date,
  breakdown?: Breakdown,
): Promise<Array<FunnelCounts & { key: string | null }>> {
  const counts = FUNNEL.map((_, i) => sql`count(*) FILTER (WHERE ${reached(i)})::int AS ${sql.id(`users_${i + 1}`)}`);
  const medians = FUNNEL.slice(1).map(
    (_, j) => sql`percentile_cont(0.5) WITHIN GROUP (
      ORDER BY GREATEST(0, extract(epoch FROM ${stepAt(j + 1)} - ${stepAt(j)}))
    ) FILTER (WHERE ${reached(j + 1)}) AS ${sql.id(`median_${j + 2}`)}`,
  );
  const key = breakdown ? sql.raw(BREAKDOWN_COLUMNS[breakdown]) : sql`NULL::text`;
  const result = await sql<Record<string, number | string | null>>`
    SELECT ${key} AS key, ${sql.join([...counts, ...medians])},
      count(*) FILTER (WHERE ${activatedWithinWindow})::int AS activated
    FROM analytics_subjects s
    WHERE s.app_launched_at >= ${since.toISOString()}::timestamptz AND s.app_launched_at < ${until.toISOString()}::timestamptz
    ${breakdown ? sql`GROUP BY 1 ORDER BY 2 DESC` : sql``}`.execute(db.kysely);
  return result.rows.map((row) => ({
    key: (row.key as string | null) ?? null,
    users: FUNNEL.map((_, i) => Number(row[`users_${i + 1}`] ?? 0)),
    medians: FUNNEL.map((_, i) => (i === 0 || row[`median_${i + 1}`] === null ? null : Number(row[`median_${i + 1}`]))),
    activated: Number(row.activated ?? 0),
  }));
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

async function activationCohorts(
  db: Db,
  since: Date,
  until: Date,
  granularity: Granularity,
  tz: string,
  now: Date,
): Promise<CohortReport[]> {
  const unit = granularity === 'hour' ? 'hour' : 'day';
  const result = await sql<{ start: Date; new_users: number; activated: number }>`
    SELECT (date_trunc(${unit}, s.app_launched_at AT TIME ZONE ${tz}) AT TIME ZONE ${tz}) AS start,
      count(*)::int AS new_users,
      count(*) FILTER (WHERE ${activatedWithinWindow})::int AS activated
    FROM analytics_subjects s
    WHERE s.app_launched_at >= ${since.toISOString()}::timestamptz AND s.app_launched_at < ${until.toISOString()}::timestamptz
    GROUP BY 1 ORDER BY 1`.execute(db.kysely);
  const span = granularity === 'hour' ? 3_600_000 : DAY_MS;
  return result.rows.map((row) => {
    const start = new Date(row.start);
    return {
      start: start.toISOString(),
      newUsers: row.new_users,
      activated: row.activated,
      rate: ratio(row.activated, row.new_users),
      complete: start.getTime() + span + METRICS.activationWindowDays * DAY_MS <= now.getTime(),
    };
  });
}

async function retention(db: Db, since: Date, until: Date, tz: string, now: Date): Promise<MetricsReport['retention']> {
  const row = (
    await sql<{ d1_eligible: number; d1_retained: number; d7_eligible: number; d7_retained: number }>`
    WITH today AS (SELECT (${now.toISOString()}::timestamptz AT TIME ZONE ${tz})::date AS day),
    cohort AS (
      SELECT s.subject, (s.magic_moment_completed_at AT TIME ZONE ${tz})::date AS d0
      FROM analytics_subjects s
      WHERE s.magic_moment_completed_at >= ${since.toISOString()}::timestamptz
        AND s.magic_moment_completed_at < ${until.toISOString()}::timestamptz
    )
    SELECT
      count(*) FILTER (WHERE c.d0 + 1 < t.day)::int AS d1_eligible,
      count(*) FILTER (WHERE c.d0 + 1 < t.day AND EXISTS (
        SELECT 1 FROM analytics_daily_activity a WHERE a.subject = c.subject AND a.day = c.d0 + 1))::int AS d1_retained,
      count(*) FILTER (WHERE c.d0 + 6 < t.day)::int AS d7_eligible,
      count(*) FILTER (WHERE c.d0 + 6 < t.day AND EXISTS (
        SELECT 1 FROM analytics_daily_activity a WHERE a.subject = c.subject AND a.day BETWEEN c.d0 + 1 AND c.d0 + 6))::int AS d7_retained
    FROM cohort c CROSS JOIN today t`.execute(db.kysely)
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

  const [[current], [previous], cohorts, retained, learned, activeUsers, breakdown] = await Promise.all([
    funnelCounts(deps.db, since, until),
    funnelCounts(deps.db, baselineSince, since),
    activationCohorts(deps.db, since, until, granularity, deps.tz, now),
    retention(deps.db, since, until, deps.tz, now),
    learning(deps.db, since, until, deps.tz),
    deps.presence.count(),
    options.breakdown ? funnelCounts(deps.db, since, until, options.breakdown) : Promise.resolve(undefined),
  ]);
  const empty: FunnelCounts = { users: FUNNEL.map(() => 0), medians: FUNNEL.map(() => null), activated: 0 };
  const now_ = current ?? empty;
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
              key: group.key,
              newUsers: group.users[0] ?? 0,
              activationRate: ratio(group.activated, group.users[0] ?? 0),
              funnel: group.users,
            })),
          },
        }
      : {}),
  };
}
