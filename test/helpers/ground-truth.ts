/**
 * The test oracle: the metrics report's numbers for [since, until), recomputed from the
 * simulation plans alone (definitions in docs/metrics.md), independently of the SQL,
 * so tests can hold the report to them exactly.
 */

import { FUNNEL, METRICS, ratio } from '../../src/analytics/definitions.js';
import { DRAMA_START_EVENTS } from '../../src/analytics/event-store.js';
import type { LearnerPlan } from '../../src/analytics/simulation-plan.js';
import { dayStart, localDay } from '../../src/time.js';

const DAY = 86_400_000;

export interface GroundTruth {
  /** New users and activations per cohort (start of the hour or day in tz, ISO). */
  cohorts: Map<string, { newUsers: number; activated: number }>;
  newUsers: number;
  activated: number;
  activationRate: number | null;
  funnelUsers: number[];
  medianSecondsToConvert: Array<number | null>;
  retention: { d1: { retained: number; eligible: number }; d7: { retained: number; eligible: number } };
  learning: {
    attempts: number;
    correctAttempts: number;
    focusAttempts: number;
    rescueAttempts: number;
    dramasCompleted: number;
    averageSecondsToCompleteDrama: number | null;
  };
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  const lo = sorted[Math.floor(mid)] as number;
  const hi = sorted[Math.ceil(mid)] as number;
  return lo + (hi - lo) * (mid - Math.floor(mid));
};

/** The report's numbers for [since, until), from the plans alone (definitions in docs/metrics.md). */
export function groundTruth(
  plans: LearnerPlan[],
  since: Date,
  until: Date,
  now: Date,
  tz: string,
  granularity: 'hour' | 'day' = 'day',
): GroundTruth {
  const cohorts = new Map<string, { newUsers: number; activated: number }>();
  const inWindow = (at: number) => at >= since.getTime() && at < until.getTime();
  const funnelUsers = FUNNEL.map(() => 0);
  const gaps: number[][] = FUNNEL.map(() => []);
  let activated = 0;
  const retention = { d1: { retained: 0, eligible: 0 }, d7: { retained: 0, eligible: 0 } };
  const learning = { attempts: 0, correctAttempts: 0, focusAttempts: 0, rescueAttempts: 0, dramasCompleted: 0 };
  const dramaSeconds: number[] = [];
  const sinceDay = localDay(since.getTime(), tz);
  const untilDay = localDay(until.getTime(), tz);
  const today = localDay(now.getTime(), tz);

  for (const plan of plans) {
    const first = (name: string) => plan.events.find((e) => e.name === name)?.at;
    const launch = first('app_launched') as number;
    if (inWindow(launch)) {
      const windowEnd = launch + METRICS.funnelWindowDays * DAY;
      let ok = true;
      FUNNEL.forEach((step, i) => {
        const at = first(step.event);
        ok = ok && at !== undefined && at < windowEnd;
        if (ok) {
          funnelUsers[i] = (funnelUsers[i] ?? 0) + 1;
          if (i > 0) gaps[i]?.push(Math.max(0, ((at as number) - (first(FUNNEL[i - 1]?.event as string) as number)) / 1000));
        }
      });
      const activation = first('magic_moment_completed');
      const activatedInTime = activation !== undefined && activation < launch + METRICS.activationWindowDays * DAY;
      if (activatedInTime) activated++;
      const dayStartMs = dayStart(localDay(launch, tz), tz);
      const cohortStart =
        granularity === 'day' ? dayStartMs : dayStartMs + Math.floor((launch - dayStartMs) / 3_600_000) * 3_600_000;
      const key = new Date(cohortStart).toISOString();
      const cohort = cohorts.get(key) ?? { newUsers: 0, activated: 0 };
      cohort.newUsers++;
      if (activatedInTime) cohort.activated++;
      cohorts.set(key, cohort);
    }
    const activation = first('magic_moment_completed');
    if (activation !== undefined && inWindow(activation)) {
      const d0 = localDay(activation, tz);
      // Feedback is activity too: the server records a feedback_submitted event at each
      // item's writtenAt, which can fall on the next local day when a first session ends
      // near midnight (the test's clock at 10:58–11:02 UTC put one on a D1).
      const activeDays = new Set([...plan.events, ...plan.feedback].map((e) => localDay(e.at, tz)));
      if (d0 + 1 < today) {
        retention.d1.eligible++;
        if (activeDays.has(d0 + 1)) retention.d1.retained++;
      }
      if (d0 + 7 < today) {
        retention.d7.eligible++;
        if (activeDays.has(d0 + 7)) retention.d7.retained++;
      }
    }
    for (const event of plan.events) {
      const day = localDay(event.at, tz);
      if (day < sinceDay || day > untilDay || event.name !== 'keyword_attempt') continue;
      learning.attempts++;
      if (event.properties.correct === true) learning.correctAttempts++;
      if (event.properties.mode === 'focus') learning.focusAttempts++;
      if (event.properties.mode === 'rescue') learning.rescueAttempts++;
    }
    if (activation !== undefined && inWindow(activation)) {
      const started = plan.events.find((e) => e.properties.dramaId === plan.dramaId && DRAMA_START_EVENTS.has(e.name))?.at;
      learning.dramasCompleted++;
      dramaSeconds.push((activation - (started as number)) / 1000);
    }
  }
  const newUsers = funnelUsers[0] ?? 0;
  return {
    cohorts,
    newUsers,
    activated,
    activationRate: ratio(activated, newUsers),
    funnelUsers,
    medianSecondsToConvert: gaps.map((g, i) => (i === 0 ? null : median(g))),
    retention,
    learning: {
      ...learning,
      averageSecondsToCompleteDrama: dramaSeconds.length ? dramaSeconds.reduce((a, b) => a + b, 0) / dramaSeconds.length : null,
    },
  };
}
