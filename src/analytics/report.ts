/**
 * The metrics report (LaunchMetricsTracker's report): new users, activation by
 * cohort, the funnel, retention, real-time users, learning effectiveness, and the
 * comparison with the previous seven days. Every figure comes from definitions.ts
 * and the derived tables, so the cost grows with users and days, not with events.
 */
import type { Db } from '../db/database.js';
import { dayStart, defaultWindow, type Granularity, hoursAlignWithUtc, localDay } from '../time.js';
import { type ActivationVerdict, activationVerdict, enoughNewUsersToCompare, FUNNEL, METRICS, ratio } from './definitions.js';
import type { Presence } from './presence.js';
import {
  type Breakdown,
  breakdownKey,
  cohortKey,
  type FunnelCounts,
  funnelCounts,
  funnelMedians,
  learningCounts,
  retentionCounts,
  reviewsDueNow,
  splitWindow,
  unsplit,
} from './report-queries.js';

export type { Breakdown, Granularity };

export interface ReportOptions {
  since?: Date;
  until?: Date;
  granularity?: Granularity;
  breakdown?: Breakdown;
  /** The server's clock (tests move it). */
  now?: Date;
  /**
   * Whose retention to show: the learners activated in the window ("window", the default
   * when `since` is given), or the latest seven activation days old enough to count by the
   * window's end ("latest", the default otherwise; the daily and weekly reports use it).
   */
  retentionCohort?: 'window' | 'latest';
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
  /**
   * D1 / D7: of the learners activated in `cohort` whose day 1 / day 7 is over, the share
   * active on that day (local days in tz). The cohort is the report's window when one is
   * given, else the latest seven activation days old enough to count.
   */
  retention: { d1: RetentionFigure; d7: RetentionFigure };
  /** Learners active in the last few minutes, read at `readAt`; null for a window that has ended. */
  realtime: { activeUsers: number; windowSeconds: number; readAt: string } | null;
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
    /** Spaced reviews answered in the window, and the share answered right (keyword retention). */
    reviews: number;
    reviewsCorrect: number;
    reviewRetention: number | null;
    /** Keywords due for review now across learners; null for a window that has ended. */
    reviewsDue: number | null;
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

export interface RetentionFigure {
  rate: number | null;
  retained: number;
  eligible: number;
  target: number;
  met: boolean | null;
  /** Learners activated in [since, until) make up the figure. */
  cohort: { since: string; until: string };
}

export interface ReportDeps {
  db: Db;
  presence: Presence;
  tz: string;
  /** The learning actions' events still in the outbox are folded first (journey-sink.ts): none is missing. */
  journeyOutbox?: { drain(): Promise<unknown> };
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

const DAY_MS = 86_400_000;

function retentionFigure(
  counts: { retained: number; eligible: number },
  target: number,
  cohort: { since: Date; until: Date },
): RetentionFigure {
  const rate = ratio(counts.retained, counts.eligible);
  return {
    rate,
    ...counts,
    target,
    met: rate === null ? null : rate >= target,
    cohort: { since: cohort.since.toISOString(), until: cohort.until.toISOString() },
  };
}

/** The latest `days` local activation days whose day `n` is over. */
function recentCohort(now: Date, tz: string, n: number, days: number): { since: Date; until: Date } {
  const today = localDay(now.getTime(), tz);
  return { since: new Date(dayStart(today - n - days, tz)), until: new Date(dayStart(today - n, tz)) };
}

async function retentionReport(
  db: Db,
  window: { since: Date; until: Date } | undefined,
  tz: string,
  now: Date,
  /** The latest cohorts are the latest old enough by this time (the window's end, or now). */
  asOf: Date,
): Promise<MetricsReport['retention']> {
  const d1Cohort = window ?? recentCohort(asOf, tz, 1, METRICS.baselineDays);
  const d7Cohort = window ?? recentCohort(asOf, tz, 7, METRICS.baselineDays);
  const [d1, d7] = await Promise.all([
    retentionCounts(db, splitWindow(d1Cohort.since, d1Cohort.until), tz, now),
    window ? undefined : retentionCounts(db, splitWindow(d7Cohort.since, d7Cohort.until), tz, now),
  ]);
  const d7Counts = d7 ?? d1;
  return {
    d1: retentionFigure({ retained: d1.d1_retained, eligible: d1.d1_eligible }, METRICS.retentionD1Target, d1Cohort),
    d7: retentionFigure({ retained: d7Counts.d7_retained, eligible: d7Counts.d7_eligible }, METRICS.retentionD7Target, d7Cohort),
  };
}

function learningReport(counts: Awaited<ReturnType<typeof learningCounts>>): MetricsReport['learning'] {
  const { counter } = counts;
  const attempts = counter('event:keyword_attempt');
  const correct = counter('keyword_attempt:correct');
  return {
    attempts,
    correctAttempts: correct,
    averageAttemptsPerClue: ratio(attempts, correct),
    focusModeShare: ratio(counter('keyword_attempt:mode:focus'), attempts),
    rescueModeShare: ratio(counter('keyword_attempt:mode:rescue'), attempts),
    focusModeTriggers: counter('event:focus_mode_triggered'),
    rescueModeTriggers: counter('event:rescue_mode_triggered'),
    dramasCompleted: counts.dramasCompleted,
    averageSecondsToCompleteDrama: counts.dramasCompleted ? counts.dramaSeconds / counts.dramasCompleted : null,
    reviews: counter('event:srs_card_reviewed'),
    reviewsCorrect: counter('srs_card_reviewed:correct'),
    reviewRetention: ratio(counter('srs_card_reviewed:correct'), counter('event:srs_card_reviewed')),
    reviewsDue: null,
  };
}

function compare(
  current: { newUsers: number; rate: number | null; funnel: FunnelStepReport[] },
  baseline: MetricsReport['baseline'],
): MetricsFlag[] {
  const flags: MetricsFlag[] = [];
  // Too few learners on either side: a difference is noise, not a drop.
  if (!enoughNewUsersToCompare({ newUsers: current.newUsers, baseline })) return flags;
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
  await deps.journeyOutbox?.drain();
  const now = options.now ?? new Date();
  const granularity = options.granularity ?? 'day';
  const defaults = defaultWindow(now, granularity, deps.tz);
  const since = options.since ?? defaults.since;
  const until = options.until ?? defaults.until;
  const baselineSince = new Date(since.getTime() - METRICS.baselineDays * DAY_MS);
  // "Now" belongs only to a window that reaches now.
  const realtimeBelongs = until.getTime() >= now.getTime() - METRICS.realtimeWindowSeconds * 1000;

  const parts = splitWindow(since, until);
  const unit = granularity === 'hour' ? 'hour' : 'day';
  // Local hours and days are unions of UTC hours in all but a few zones; there the
  // cohort buckets are computed from the subjects instead.
  const cohortParts = hoursAlignWithUtc(since, until, deps.tz) ? parts : unsplit(since, until);
  const [buckets, medians, [previous], retained, learned, activeUsers, reviewsDue, breakdown] = await Promise.all([
    funnelCounts(deps.db, cohortParts, cohortKey(unit, deps.tz)),
    funnelMedians(deps.db, parts),
    funnelCounts(deps.db, splitWindow(baselineSince, since)),
    retentionReport(
      deps.db,
      (options.retentionCohort ?? (options.since ? 'window' : 'latest')) === 'window' ? { since, until } : undefined,
      deps.tz,
      now,
      new Date(Math.min(until.getTime(), now.getTime())),
    ),
    learningCounts(deps.db, since, until, deps.tz).then(learningReport),
    realtimeBelongs ? deps.presence.count() : 0,
    realtimeBelongs ? reviewsDueNow(deps.db, now) : null,
    options.breakdown ? funnelCounts(deps.db, parts, breakdownKey(options.breakdown)) : undefined,
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
    realtime: realtimeBelongs ? { activeUsers, windowSeconds: METRICS.realtimeWindowSeconds, readAt: now.toISOString() } : null,
    learning: { ...learned, reviewsDue },
    baseline,
    flags: compare({ newUsers, rate, funnel }, baseline),
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
