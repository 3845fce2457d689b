/**
 * The built-in evaluator: pending → firing after `for`, silent below threshold,
 * hysteresis against flapping, resolution, restart, and one evaluating instance.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MetricsReport } from '../src/analytics/report.js';
import type { Db } from '../src/db/database.js';
import type { FeedbackReport } from '../src/feedback/report.js';
import { HTTP_BUCKETS, HttpRequestMetrics } from '../src/http/metrics.js';
import { createLogger } from '../src/logger.js';
import { DEFAULT_ALERTS_YAML, parseAlertsConfig } from '../src/ops/alerts/config.js';
import { BuiltinEvaluator, histogramQuantile } from '../src/ops/alerts/evaluator.js';
import { AlertService } from '../src/ops/alerts/service.js';
import type { HealthReport } from '../src/ops/health/health.js';
import { onPostgres, openTestDb } from './helpers/server.js';

let testDb: Awaited<ReturnType<typeof openTestDb>> | undefined;
let db: Db;
let clock = new Date('2026-11-27T02:00:00Z');
const logger = createLogger({ logFile: '/tmp/smartalk-evaluator-test.log', logLevel: 'warn' }, { stdout: false });
let databaseDown = false;

const health = {
  check: async () =>
    ({
      status: 'ok',
      checks: {
        database: { status: databaseDown ? 'down' : 'ok', connectionsUsedRatio: 0.1 },
        cache: { status: 'ok' },
        disk: { status: 'ok', freeRatio: 0.5 },
        memory: { status: 'ok', usedRatio: 0.3 },
        cpu: { status: 'ok', usedRatio: 0.2 },
        eventLoop: { status: 'ok' },
      },
    }) as unknown as HealthReport,
};
const noReport = { get: async (): Promise<never> => Promise.reject(new Error('not in this test')) };

/** The metrics report's numbers the activation rules read (the rest of the report is not read by them). */
const activation = (rate: number, newUsers: number, baseline: { rate: number; newUsers: number } | null = null) => ({
  get: async () =>
    ({
      activation: { rate },
      newUsers,
      baseline: { activationRate: baseline?.rate ?? null, newUsers: baseline?.newUsers ?? 0, funnel: [] },
      funnel: [],
    }) as unknown as MetricsReport,
});

function setup(http = new HttpRequestMetrics(), metricsReport: { get(): Promise<MetricsReport> } = noReport as never) {
  const alerts = new AlertService({
    db,
    config: parseAlertsConfig(DEFAULT_ALERTS_YAML, 'defaults'),
    logger,
    messages: { lang: 'en', publicUrl: 'http://x', tz: 'UTC' },
    now: () => clock,
  });
  const evaluator = new BuiltinEvaluator({
    db,
    alerts,
    inputs: {
      health,
      http,
      metricsReport,
      feedbackReport: noReport as unknown as { get(): Promise<FeedbackReport> },
    },
    logger,
    now: () => clock,
  });
  return { alerts, evaluator, http };
}

const tick = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};

function traffic(http: HttpRequestMetrics, requests: number, errors: number, seconds = 0.01) {
  for (let i = 0; i < requests; i++) http.record('GET', '/api/v1/interests', i < errors ? 503 : 200, seconds);
}

beforeAll(async () => {
  testDb = await openTestDb();
  db = testDb.db;
});
afterAll(async () => {
  await testDb?.close();
});
beforeEach(async () => {
  databaseDown = false;
  await db.kysely.deleteFrom('alert_notifications').execute();
  await db.kysely.deleteFrom('alerts').execute();
});

describe('built-in evaluation', () => {
  it('fires HighErrorRate only after its 2 minutes, and resolves after two quiet rounds', async () => {
    const { alerts, evaluator, http } = setup();
    await evaluator.evaluate(); // baseline sample
    // Breached from the first round (pending); 15 s rounds reach 2 minutes on the ninth.
    for (let round = 0; round < 9; round++) {
      tick(15);
      traffic(http, 100, 6);
      const result = await evaluator.evaluate();
      const open = await alerts.list({ open: true });
      if (round < 8) expect(open, `round ${round}`).toHaveLength(0);
      else {
        expect(result?.fired).toEqual(['HighErrorRate']);
        expect(open[0]).toMatchObject({ ruleId: 'HighErrorRate', severity: 'critical', value: '6%', threshold: '5%' });
      }
    }
    // Errors stop; once the 5-minute window holds only good requests it is quiet.
    let resolvedAt = -1;
    for (let round = 0; round < 30 && resolvedAt < 0; round++) {
      tick(15);
      traffic(http, 100, 0);
      if ((await evaluator.evaluate())?.resolved.includes('HighErrorRate')) resolvedAt = round;
    }
    expect(resolvedAt).toBeGreaterThan(0);
    expect(await alerts.list({ open: true })).toEqual([]);
    await evaluator.close();
  });

  it('fires LowActivationRate after 10 minutes below 40% with enough new learners, and not at 45% or with few', async () => {
    for (const [rate, newUsers, fires] of [
      [0.3, 120, true],
      [0.45, 120, false],
      [0.3, 20, false],
    ] as const) {
      await db.kysely.deleteFrom('alerts').execute();
      const { alerts, evaluator } = setup(new HttpRequestMetrics(), activation(rate, newUsers));
      for (let round = 0; round <= 41; round++) {
        await evaluator.evaluate();
        const open = (await alerts.list({ open: true })).filter((alert) => alert.ruleId === 'LowActivationRate');
        // 15-second rounds: the condition has held 10 minutes on round 40.
        if (!fires || round < 40) expect(open, `${rate} × ${newUsers}, round ${round}`).toEqual([]);
        tick(15);
      }
      const open = (await alerts.list({ open: true })).filter((alert) => alert.ruleId === 'LowActivationRate');
      if (fires) expect(open).toEqual([expect.objectContaining({ severity: 'warning', value: '30%', threshold: '40%' })]);
      else expect(open).toEqual([]);
      await evaluator.close();
    }
  });

  it('fires ActivationRateDrop under half the baseline only with enough new learners on both sides', async () => {
    for (const [newUsers, baselineUsers, fires] of [
      [120, 150, true],
      [20, 150, false],
      [120, 20, false],
    ] as const) {
      await db.kysely.deleteFrom('alerts').execute();
      const { alerts, evaluator } = setup(
        new HttpRequestMetrics(),
        activation(0.19, newUsers, { rate: 0.4, newUsers: baselineUsers }),
      );
      for (let round = 0; round <= 41; round++) {
        await evaluator.evaluate();
        tick(15);
      }
      const open = (await alerts.list({ open: true })).filter((alert) => alert.ruleId === 'ActivationRateDrop');
      expect(open, `${newUsers} new learners, ${baselineUsers} before`).toHaveLength(fires ? 1 : 0);
      await evaluator.close();
    }
  });

  it('stays silent just below the threshold', async () => {
    const { alerts, evaluator, http } = setup();
    await evaluator.evaluate();
    for (let round = 0; round < 20; round++) {
      tick(15);
      traffic(http, 1000, 49); // 4.9%
      await evaluator.evaluate();
    }
    expect(await alerts.list({ open: true })).toEqual([]);
    await evaluator.close();
  });

  it('does not page for a value flapping faster than the rule\u2019s for, nor resolve on one good round', async () => {
    const { alerts, evaluator } = setup();
    for (let round = 0; round < 12; round++) {
      databaseDown = round % 2 === 0;
      tick(40); // DatabaseDown needs 1 minute in a row
      await evaluator.evaluate();
    }
    expect(await alerts.list({ open: true })).toEqual([]);
    databaseDown = true;
    for (let round = 0; round < 3; round++) {
      tick(40);
      await evaluator.evaluate();
    }
    expect((await alerts.list({ open: true })).map((a) => a.ruleId)).toEqual(['DatabaseDown']);
    databaseDown = false;
    tick(40);
    await evaluator.evaluate();
    databaseDown = true;
    tick(40);
    await evaluator.evaluate();
    expect((await alerts.list({ open: true })).map((a) => a.ruleId)).toEqual(['DatabaseDown']);
    expect(await db.kysely.selectFrom('alerts').select('id').execute()).toHaveLength(1);
    await evaluator.close();
  });

  it('after a restart, resolves the alerts it had opened', async () => {
    const first = setup();
    databaseDown = true;
    for (let round = 0; round < 3; round++) {
      tick(40);
      await first.evaluator.evaluate();
    }
    await first.evaluator.close();
    expect(await first.alerts.list({ open: true })).toHaveLength(1);
    databaseDown = false;
    const second = setup();
    tick(15);
    await second.evaluator.evaluate();
    tick(15);
    const result = await second.evaluator.evaluate();
    expect(result?.resolved).toEqual(['DatabaseDown']);
    await second.evaluator.close();
  });

  // One process per PGlite database: only PostgreSQL has a second instance, so this test
  // exists in the PostgreSQL run alone (registered, not skipped).
  if (onPostgres()) {
    it('lets exactly one instance evaluate (PostgreSQL advisory lock)', async () => {
      const a = setup();
      const b = setup();
      expect(await a.evaluator.evaluate()).toBeDefined();
      expect(await b.evaluator.evaluate()).toBeUndefined();
      await a.evaluator.close();
      expect(await b.evaluator.evaluate()).toBeDefined();
      await b.evaluator.close();
    });
  }
});

describe('histogramQuantile', () => {
  it('reads a quantile as Prometheus does', () => {
    // 10 under 0.5 s, 10 more under 1 s, 80 more under 2.5 s: p95 lies in the 1–2.5 s bucket.
    const cumulative = HTTP_BUCKETS.map((le) => (le < 0.5 ? 0 : le < 1 ? 10 : le < 2.5 ? 20 : 100));
    cumulative.push(100);
    expect(histogramQuantile(0.95, cumulative, HTTP_BUCKETS)).toBeCloseTo(1 + 1.5 * (75 / 80), 9);
    expect(histogramQuantile(0.5, [0, 0], [1])).toBeUndefined();
  });
});
