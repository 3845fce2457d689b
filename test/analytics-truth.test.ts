/**
 * Ground truth: a simulated population with known journeys, played through the real
 * HTTP API (with retried batches and legacy aliases in the stream), and the metrics
 * report held to the numbers recomputed from the plans alone.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNNEL } from '../src/analytics/definitions.js';
import type { MetricsReport } from '../src/analytics/report.js';
import { runSimulation } from '../src/analytics/simulation-driver.js';
import { type LearnerPlan, planPopulation, simulationDefaults, uuidV7 } from '../src/analytics/simulation-plan.js';
import { defaultWindow } from '../src/time.js';
import { groundTruth } from './helpers/ground-truth.js';
import { api, onPostgres, startTestServer, type TestServer } from './helpers/server.js';

const TZ = 'Asia/Shanghai';
let server: TestServer;
let second: TestServer | undefined;
let plans: LearnerPlan[];
let now: Date;
let duplicateBatches = 0;

beforeAll(async () => {
  server = await startTestServer({ env: { SMARTALK_TZ: TZ } });
  // Two instances on one database and one Redis, where the run has a real PostgreSQL.
  if (onPostgres()) second = await startTestServer({ database: server.database, env: { SMARTALK_TZ: TZ } });
  now = new Date();
  const options = simulationDefaults({ users: 150, seed: 20261127, days: 16, now, tz: TZ });
  plans = planPopulation(options);
  const result = await runSimulation(plans, options, {
    baseUrls: second ? [server.url, second.url] : [server.url],
    opsToken: server.opsToken,
    concurrency: 6,
  });
  expect(result.failures).toEqual([]);
  duplicateBatches = result.duplicateBatches;
});

afterAll(async () => {
  await second?.close();
  await server?.close();
});

async function report(query: string): Promise<MetricsReport> {
  const res = await api<MetricsReport>(server.url, `/api/v1/ops/metrics-report?${query}`, { token: server.opsToken });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

const close = (actual: number | null, expected: number | null, digits = 9) => {
  if (expected === null) expect(actual).toBeNull();
  else expect(actual).toBeCloseTo(expected, digits);
};

/** Medians come from 1%-wide duration buckets: within 0.5% or 1 ms of the exact median. */
const closeMedian = (actual: number | null, expected: number | null) => {
  if (expected === null) return expect(actual).toBeNull();
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(0.005 * expected + 0.001);
};

describe('the metrics report against ground truth', () => {
  it('has a population worth testing: every funnel step, retries and aliases', () => {
    const reached = new Set(plans.map((p) => p.reachedStep));
    for (let step = 1; step <= 8; step++) expect(reached.has(step), `some learner stops at step ${step}`).toBe(true);
    expect(duplicateBatches).toBeGreaterThan(0);
    expect(plans.some((p) => p.events.some((e) => e.sentName !== e.name))).toBe(true);
  });

  for (const window of ['default', 'previous'] as const) {
    it(`matches exactly for the ${window} window: new users, activation, funnel, medians, retention, learning`, async () => {
      const until = new Date(now.getTime() + 1);
      const current = defaultWindow(until, 'day', TZ);
      const since = window === 'default' ? current.since : new Date(current.since.getTime() - 7 * 86_400_000);
      const end = window === 'default' ? until : current.since;
      const body = await report(`since=${since.toISOString()}&until=${end.toISOString()}&granularity=day`);
      const truth = groundTruth(plans, since, end, now, TZ);

      expect(body.newUsers).toBe(truth.newUsers);
      expect(body.activation.activated).toBe(truth.activated);
      close(body.activation.rate, truth.activationRate);
      expect(body.funnel.map((s) => s.users)).toEqual(truth.funnelUsers);
      body.funnel.forEach((step, i) => {
        expect(step.event).toBe(FUNNEL[i]?.event);
        close(step.overallConversion, truth.newUsers ? (truth.funnelUsers[i] ?? 0) / truth.newUsers : null);
        const previous = i === 0 ? truth.funnelUsers[0] : truth.funnelUsers[i - 1];
        close(step.stepConversion, previous ? (truth.funnelUsers[i] ?? 0) / previous : null);
        closeMedian(step.medianSecondsToConvert, truth.medianSecondsToConvert[i] ?? null);
      });
      expect(body.retention.d1).toMatchObject(truth.retention.d1);
      expect(body.retention.d7).toMatchObject(truth.retention.d7);
      expect(body.learning.attempts).toBe(truth.learning.attempts);
      expect(body.learning.correctAttempts).toBe(truth.learning.correctAttempts);
      close(
        body.learning.focusModeShare,
        truth.learning.attempts ? truth.learning.focusAttempts / truth.learning.attempts : null,
      );
      close(
        body.learning.rescueModeShare,
        truth.learning.attempts ? truth.learning.rescueAttempts / truth.learning.attempts : null,
      );
      expect(body.learning.dramasCompleted).toBe(truth.learning.dramasCompleted);
      close(body.learning.averageSecondsToCompleteDrama, truth.learning.averageSecondsToCompleteDrama, 6);
      const cohorts = Object.fromEntries(
        body.activation.cohorts.map((c) => [c.start, { newUsers: c.newUsers, activated: c.activated }]),
      );
      expect(cohorts).toEqual(Object.fromEntries(truth.cohorts));
    });
  }

  it('matches hourly cohorts across hour and day boundaries in the time zone', async () => {
    const until = new Date(now.getTime() + 1);
    const { since } = defaultWindow(until, 'hour', TZ);
    const body = await report(`since=${since.toISOString()}&until=${until.toISOString()}&granularity=hour`);
    const truth = groundTruth(plans, since, until, now, TZ, 'hour');
    const cohorts = Object.fromEntries(
      body.activation.cohorts.map((c) => [c.start, { newUsers: c.newUsers, activated: c.activated }]),
    );
    expect(cohorts).toEqual(Object.fromEntries(truth.cohorts));
    expect(body.activation.cohorts.length).toBeGreaterThan(24);
  });

  it('counts every simulated learner as a real-time user, on every instance', async () => {
    for (const instance of second ? [server, second] : [server]) {
      const res = await api<MetricsReport>(instance.url, '/api/v1/ops/metrics-report', { token: instance.opsToken });
      expect(res.body.realtime).toMatchObject({ activeUsers: plans.length, windowSeconds: 300 });
      expect(Date.parse(res.body.realtime?.readAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it('compares with the previous seven days', async () => {
    const body = await report('');
    const until = new Date(body.window.until);
    const truth = groundTruth(plans, new Date(body.baseline.since), new Date(body.baseline.until), now, TZ);
    expect(body.baseline.newUsers).toBe(truth.newUsers);
    close(body.baseline.activationRate, truth.activationRate);
    expect(new Date(body.baseline.until).getTime()).toBe(new Date(body.window.since).getTime());
    expect(until.getTime()).toBeGreaterThanOrEqual(now.getTime());
  });

  it('shows real-time users only in a window that reaches now, with the time they were read', async () => {
    const current = defaultWindow(new Date(now.getTime() + 1), 'day', TZ);
    const past = await report(
      `since=${new Date(current.since.getTime() - 7 * 86_400_000).toISOString()}&until=${current.since.toISOString()}`,
    );
    expect(past.realtime).toBeNull();
    const { renderReportText } = await import('../src/analytics/report-text.js');
    expect(renderReportText(past, 'en')).not.toContain('Real-time');
    const live = await report('');
    expect(renderReportText(live, 'en')).toMatch(/Real-time users \d+ \(last 5 min, read \d\d:\d\d\)/);
  });

  it('reports D1 and D7 by default for the latest activation days old enough to count', async () => {
    const body = await report('');
    const { localDay, dayStart } = await import('../src/time.js');
    const today = localDay(Date.now(), TZ);
    for (const [key, n] of [
      ['d1', 1],
      ['d7', 7],
    ] as const) {
      const since = new Date(dayStart(today - n - 7, TZ));
      const until = new Date(dayStart(today - n, TZ));
      expect(body.retention[key].cohort).toEqual({ since: since.toISOString(), until: until.toISOString() });
      const truth = groundTruth(plans, since, until, now, TZ).retention[key];
      expect(truth.eligible, `the ${key} cohort is old enough to have learners`).toBeGreaterThan(0);
      expect(body.retention[key]).toMatchObject(truth);
    }
  });

  it("prints the previous seven days' step-to-step rate beside each step's", async () => {
    const body = await report('');
    const { renderReportText } = await import('../src/analytics/report-text.js');
    const { percent } = await import('../src/format.js');
    const lines = renderReportText(body, 'en').split('\n');
    // Below 50 new users on a side no drop is flagged, and the text says why there is none.
    const few = Math.min(body.newUsers, body.baseline.newUsers) < 50;
    expect(lines.includes('No drop is judged: fewer than 50 new users on one side.')).toBe(few);
    if (few) expect(body.flags).toEqual([]);
    for (const step of body.funnel) {
      const before = body.baseline.funnel.find((b) => b.step === step.step)?.stepConversion ?? null;
      const row = lines.find((line) => line.includes(` ${FUNNEL[step.step - 1]?.label.en} `));
      expect(row, `step ${step.step}`).toBeDefined();
      const cells = (row as string).split('│').map((cell) => cell.trim());
      expect(cells[5]?.replace(' ⚠', '')).toBe(percent(step.stepConversion));
      expect(cells[6]).toBe(percent(before));
    }
  });

  it('backdates the feedback of a history run like its events', async () => {
    const rows = await server.runtime.db.kysely.selectFrom('feedback').select('created_at').execute();
    const stored = rows.map((r) => new Date(r.created_at).getTime()).sort((a, b) => a - b);
    const planned = plans.flatMap((p) => p.feedback.map((f) => f.at)).sort((a, b) => a - b);
    expect(stored).toEqual(planned);
    const days = new Set(planned.map((at) => new Date(at).toISOString().slice(0, 10)));
    expect(days.size).toBeGreaterThan(10);
  });

  it('counts retried batches as duplicates, never twice', async () => {
    // Each instance counts what it received; Prometheus would sum them.
    let accepted = 0;
    let duplicates = 0;
    for (const instance of second ? [server, second] : [server]) {
      const metrics = await (await fetch(`${instance.url}/metrics`)).text();
      accepted += Number(/^smartalk_analytics_events_total\{result="accepted"\} (\d+)/m.exec(metrics)?.[1]);
      duplicates += Number(/^smartalk_analytics_events_total\{result="duplicate"\} (\d+)/m.exec(metrics)?.[1]);
    }
    // The client sends its own events; the server records those of the actions it performed.
    const sent = plans.reduce((n, p) => n + p.events.filter((e) => e.by === 'client').length, 0);
    const recordedByServer = plans.reduce((n, p) => n + p.events.filter((e) => e.by === 'server').length, 0);
    expect(accepted).toBe(sent);
    expect(recordedByServer).toBeGreaterThan(0);
    expect(duplicates).toBeGreaterThan(0);
    const stored = await server.runtime.db.kysely
      .selectFrom('analytics_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    // Plus one feedback_submitted event per feedback item, recorded by the server.
    expect(stored.n).toBe(sent + recordedByServer + plans.reduce((n, p) => n + p.feedback.length, 0));
    const aliased = await server.runtime.db.kysely
      .selectFrom('analytics_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .whereRef('name', '!=', 'raw_name')
      .executeTakeFirstOrThrow();
    expect(aliased.n).toBe(plans.reduce((n, p) => n + p.events.filter((e) => e.sentName !== e.name).length, 0));
  });
});

describe('simulated event ids', () => {
  it('are UUIDv7 whose order is the order of their times', () => {
    const layout = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (a, b) => {
        const [idA, idB] = [uuidV7(a, Math.random), uuidV7(b, Math.random)];
        expect(idA).toMatch(layout);
        if (a !== b) expect(idA < idB).toBe(a < b);
      }),
    );
  });
});
