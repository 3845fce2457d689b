/**
 * The rollups behind the metrics report (migration 006) against what they summarize:
 * after shuffled, duplicated, concurrent traffic every rollup equals a GROUP BY over
 * the subjects; the SQL funnel definitions equal definitions.ts; medians read from
 * duration buckets stay within their stated error; a window is cut without gaps.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNNEL, METRICS } from '../src/analytics/definitions.js';
import { medianFromBuckets, splitWindow } from '../src/analytics/report-queries.js';
import { api, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const db = () => server.runtime.db.kysely;
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** definitions.ts, read directly: steps in a row, each within the funnel window of step 1. */
function referenceLevel(times: Array<number | null>): number {
  const first = times[0];
  if (first === null || first === undefined) return 0;
  let level = 1;
  for (const at of times.slice(1)) {
    if (at === null || at === undefined || at - first >= METRICS.funnelWindowDays * DAY) break;
    level++;
  }
  return level;
}

describe('the funnel definitions in SQL', () => {
  it('equal definitions.ts for any step times, including missing and out-of-order ones', async () => {
    const base = Date.parse('2026-11-01T00:00:00Z');
    const stepTime = fc.option(
      fc.oneof(
        fc.integer({ min: -DAY, max: 10 * DAY }),
        // right at the edge of the funnel and activation windows
        fc.integer({ min: 7 * DAY - 2, max: 7 * DAY + 2 }),
      ),
      { nil: null, freq: 4 },
    );
    const samples = fc.sample(fc.array(stepTime, { minLength: 8, maxLength: 8 }), 400);
    const rows = samples.map((offsets) => offsets.map((o) => (o === null ? null : base + o)));
    const columns = FUNNEL.map((_, i) => rows.map((r) => (r[i] === null ? null : new Date(r[i] as number).toISOString())));
    const result = await sql<{ level: number; activated: boolean }>`
      SELECT analytics_funnel_level(t1, t2, t3, t4, t5, t6, t7, t8) AS level, analytics_activated(t1, t8) AS activated
      FROM unnest(${columns[0]}::timestamptz[], ${columns[1]}::timestamptz[], ${columns[2]}::timestamptz[],
        ${columns[3]}::timestamptz[], ${columns[4]}::timestamptz[], ${columns[5]}::timestamptz[],
        ${columns[6]}::timestamptz[], ${columns[7]}::timestamptz[]) WITH ORDINALITY AS u(t1, t2, t3, t4, t5, t6, t7, t8, n)
      ORDER BY n`.execute(db());
    rows.forEach((times, i) => {
      const row = result.rows[i];
      expect(Number(row?.level), JSON.stringify(times)).toBe(referenceLevel(times));
      const [first, , , , , , , last] = times;
      const activated =
        first !== null && first !== undefined && last !== null && last !== undefined
          ? last - first < METRICS.activationWindowDays * DAY
          : false;
      expect(row?.activated, JSON.stringify(times)).toBe(activated);
    });
  });
});

describe('medians from duration buckets', () => {
  it('are within 0.5% (or 1 ms) of the exact median', async () => {
    const durations = fc.array(
      fc.oneof(
        fc.constant(0),
        fc.double({ min: 0.0005, max: 3600, noNaN: true }),
        fc.double({ min: 3600, max: 7 * 86400, noNaN: true }),
      ),
      { minLength: 1, maxLength: 60 },
    );
    for (const values of fc.sample(durations, 60)) {
      const result = await sql<{ bucket: number; users: number }>`
        SELECT analytics_duration_bucket(make_interval(secs => v)) AS bucket, count(*)::int AS users
        FROM unnest(${values}::float8[]) AS v GROUP BY 1`.execute(db());
      const sorted = [...values].sort((a, b) => a - b);
      const exact =
        ((sorted[Math.floor((sorted.length - 1) / 2)] as number) + (sorted[Math.ceil((sorted.length - 1) / 2)] as number)) / 2;
      const median = medianFromBuckets(result.rows.map((r) => ({ bucket: Number(r.bucket), users: Number(r.users) })));
      expect(Math.abs((median as number) - exact), `${values.length} values`).toBeLessThanOrEqual(0.005 * exact + 0.001);
    }
    expect(medianFromBuckets([])).toBeNull();
  });
});

describe('a report window', () => {
  it('is cut into whole UTC hours, whole days inside them, and edges under an hour, with no gap or overlap', () => {
    const instant = fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') });
    fc.assert(
      fc.property(
        instant,
        fc.oneof(fc.integer({ min: 0, max: 3 * HOUR }), fc.integer({ min: 0, max: 40 * DAY })),
        (start, length) => {
          const since = new Date(start);
          const until = new Date(start + length);
          const { hours, days, edges } = splitWindow(since, until);
          const pieces = [...edges, ...(hours ? [hours] : [])].sort((a, b) => a.from.getTime() - b.from.getTime());
          let at = since.getTime();
          for (const piece of pieces) {
            expect(piece.from.getTime()).toBe(at);
            at = piece.to.getTime();
          }
          expect(at).toBe(length === 0 ? since.getTime() : until.getTime());
          for (const edge of edges) expect(edge.to.getTime() - edge.from.getTime()).toBeLessThan(HOUR);
          if (hours) expect((hours.from.getTime() % HOUR) + (hours.to.getTime() % HOUR)).toBe(0);
          if (days) {
            expect((days.from.getTime() % DAY) + (days.to.getTime() % DAY)).toBe(0);
            expect(days.from >= (hours as { from: Date }).from && days.to <= (hours as { to: Date }).to).toBe(true);
          }
        },
      ),
    );
  });
});

/** Learners who each walk part of the funnel, with activity on later days and drama runs. */
function traffic(seed: number, learners: number) {
  const rng = xoroshiro128plus(seed);
  const next = () => uniformFloat64(rng);
  const now = Date.now() - 15 * 60_000;
  const events: Array<Record<string, unknown>> = [];
  for (let i = 0; i < learners; i++) {
    const deviceId = `rollup-device-${seed}-${i}`;
    const launch = now - next() * 20 * DAY;
    const reached = 1 + Math.floor(next() * 8);
    const version = next() < 0.5 ? '1.0.0' : '1.1.0';
    const platform = next() < 0.5 ? 'ios' : 'android';
    let at = launch;
    FUNNEL.slice(0, reached).forEach((step, s) => {
      // some steps arrive with an earlier clock than the one before (skew), some after 7 days
      at += s === 0 ? 0 : next() < 0.1 ? -next() * 60_000 : next() < 0.05 ? 8 * DAY : next() * 3 * HOUR;
      const properties: Record<string, unknown> = {};
      if (step.event === 'interest_selected') properties.interestId = next() < 0.5 ? 'travel' : 'movies';
      if (step.event === 'vtpr_learning_started' || step.event === 'magic_moment_completed') properties.dramaId = 'travel-01';
      events.push({
        id: randomUUID(),
        name: step.event,
        deviceId,
        timestamp: new Date(Math.min(at, now)).toISOString(),
        appVersion: version,
        platform,
        properties,
      });
      // a repeated step, later, which must not move the first time
      if (next() < 0.1)
        events.push({
          id: randomUUID(),
          name: step.event,
          deviceId,
          timestamp: new Date(Math.min(at + HOUR, now)).toISOString(),
          properties,
        });
    });
    for (let day = 1; day <= 8; day++) {
      if (next() < 0.3) {
        const ts = Math.min(launch + day * DAY + next() * HOUR, now);
        events.push({ id: randomUUID(), name: 'srs_card_reviewed', deviceId, timestamp: new Date(ts).toISOString() });
      }
    }
  }
  // shuffled, so later steps and returns often arrive before the events they follow
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [events[i], events[j]] = [events[j] as Record<string, unknown>, events[i] as Record<string, unknown>];
  }
  return events;
}

async function rows(query: ReturnType<typeof sql>): Promise<Array<Record<string, unknown>>> {
  return (await query.execute(db())).rows as Array<Record<string, unknown>>;
}

describe('the rollups', () => {
  it('equal a GROUP BY over the subjects after shuffled, retried, concurrent batches', async () => {
    const events = traffic(7, 300);
    const batches: Array<Array<Record<string, unknown>>> = [];
    for (let i = 0; i < events.length; i += 40) batches.push(events.slice(i, i + 40));
    // every fifth batch is sent twice (a client retry)
    const sends = batches.flatMap((batch, i) => (i % 5 === 0 ? [batch, batch] : [batch]));
    for (let i = 0; i < sends.length; i += 6) {
      const answers = await Promise.all(
        sends
          .slice(i, i + 6)
          .map((batch) => api(server.url, '/api/v1/analytics/events', { body: { events: batch }, token: server.opsToken })),
      );
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
    const subjects = Number(
      (await rows(sql`SELECT count(*) AS n FROM analytics_subjects WHERE subject LIKE 'device:rollup-%'`))[0]?.n,
    );
    expect(subjects).toBe(300);

    const times = sql.join(FUNNEL.map((step) => sql.ref(step.column)));
    expect(
      await rows(sql`
        SELECT hour, app_version, platform, interest_id, level, activated, sum(users)::int AS users
        FROM analytics_funnel_hourly GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(users) <> 0 ORDER BY 1, 2, 3, 4, 5, 6`),
    ).toEqual(
      await rows(sql`
        SELECT date_trunc('hour', app_launched_at, 'UTC') AS hour, app_version, platform, interest_id,
          analytics_funnel_level(${times}) AS level, analytics_activated(app_launched_at, magic_moment_completed_at) AS activated,
          count(*)::int AS users
        FROM analytics_subjects WHERE app_launched_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`),
    );

    const durations = await rows(sql`
      SELECT span_hours, start, step, bucket, sum(users)::int AS users
      FROM analytics_step_durations GROUP BY 1, 2, 3, 4 HAVING sum(users) <> 0 ORDER BY 1, 2, 3, 4`);
    expect(durations.length).toBeGreaterThan(0);
    expect(durations).toEqual(
      await rows(sql`
        SELECT span.hours AS span_hours, date_trunc(span.unit, s.app_launched_at, 'UTC') AS start, g.step,
          analytics_duration_bucket(g.gap) AS bucket, count(*)::int AS users
        FROM analytics_subjects s
        CROSS JOIN LATERAL unnest(ARRAY[2, 3, 4, 5, 6, 7, 8]::smallint[], analytics_step_gaps(${times})) AS g(step, gap)
        CROSS JOIN (VALUES (1::smallint, 'hour'), (24::smallint, 'day')) AS span(hours, unit)
        WHERE s.app_launched_at IS NOT NULL AND g.step <= analytics_funnel_level(${times})
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
    );

    // The return flags themselves, recomputed from the activity days.
    const tz = server.runtime.config.tz;
    const wrongFlags = await rows(sql`
      SELECT subject FROM analytics_subjects s
      WHERE s.activation_day IS DISTINCT FROM (s.magic_moment_completed_at AT TIME ZONE ${tz})::date
        OR s.returned_d1 <> EXISTS (SELECT 1 FROM analytics_daily_activity a WHERE a.subject = s.subject AND a.day = s.activation_day + 1)
        OR s.returned_d7 <> EXISTS (SELECT 1 FROM analytics_daily_activity a WHERE a.subject = s.subject AND a.day = s.activation_day + 7)`);
    expect(wrongFlags).toEqual([]);
    const returned = await rows(
      sql`SELECT count(*) FILTER (WHERE returned_d1)::int AS d1, count(*) FILTER (WHERE returned_d7)::int AS d7 FROM analytics_subjects`,
    );
    expect(returned[0]?.d1).toBeGreaterThan(0);
    expect(returned[0]?.d7).toBeGreaterThan(0);
    expect(
      await rows(sql`
        SELECT hour, activation_day, returned_d1, returned_d7, sum(users)::int AS users
        FROM analytics_retention_hourly GROUP BY 1, 2, 3, 4 HAVING sum(users) <> 0 ORDER BY 1, 2, 3, 4`),
    ).toEqual(
      await rows(sql`
        SELECT date_trunc('hour', magic_moment_completed_at, 'UTC') AS hour, activation_day, returned_d1, returned_d7,
          count(*)::int AS users
        FROM analytics_subjects WHERE magic_moment_completed_at IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
    );

    expect(
      await rows(sql`
        SELECT hour, sum(runs)::int AS runs, sum(seconds)::float8 AS seconds
        FROM analytics_drama_runs_hourly GROUP BY 1 HAVING sum(runs) <> 0 ORDER BY 1`),
    ).toEqual(
      await rows(sql`
        SELECT date_trunc('hour', completed_at, 'UTC') AS hour, count(*)::int AS runs,
          sum(extract(epoch FROM completed_at - started_at))::float8 AS seconds
        FROM analytics_drama_runs WHERE completed_at IS NOT NULL GROUP BY 1 ORDER BY 1`),
    );
  });
});
