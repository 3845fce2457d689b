/** Event ingestion: per-event reasons, idempotency, aliases, callers, limits, and never a 5xx. */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventWriter } from '../src/analytics/event-writer.js';
import { checkEvent, EVENT_LIMITS, type IngestCaller, isRejected } from '../src/analytics/events.js';
import { CANONICAL_TIMESTAMP, canonicalTimestampMs } from '../src/timestamps.js';
import { rfc3339DateTime } from '../src/validation.js';
import { api, createLearner, type Learner, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let learner: Learner;
beforeAll(async () => {
  server = await startTestServer();
  learner = await createLearner(server.url, 'ingest-device-0001');
});
afterAll(async () => {
  await server?.close();
});

const event = (overrides: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  name: 'app_launched',
  timestamp: new Date().toISOString(),
  ...overrides,
});

/** An event as the writer receives it: checked. */
const pending = (raw: Record<string, unknown>, caller: IngestCaller) => {
  const checked = checkEvent(raw, 0, caller, new Date());
  if (isRejected(checked)) throw new Error(checked.reason);
  return checked;
};

const post = (events: unknown, token?: string) => api(server.url, '/api/v1/analytics/events', { body: { events }, token });

describe('event ingestion', () => {
  it('accepts good events, rejects bad ones by index and reason, and stores the rest', async () => {
    const good = [
      event(),
      event({ name: 'retention_day1' }),
      event({ name: 'vtpr_start', properties: { dramaId: 'travel-01' } }),
    ];
    const res = await post(
      [
        good[0],
        { ...event(), id: 'not-a-uuid' },
        good[1],
        { ...event(), name: 'Bad-Name!' },
        { ...event(), timestamp: new Date(Date.now() + 3_600_000).toISOString() },
        { ...event(), timestamp: '2020-01-01T00:00:00Z' },
        { ...event(), timestamp: 'yesterday' },
        { ...event(), properties: { blob: 'x'.repeat(EVENT_LIMITS.maxPropertiesBytes) } },
        { ...event(), surprise: true },
        'not an object',
        { ...event(), userId: randomUUID() },
        good[2],
        { ...event(), id: `urn:uuid:${randomUUID()}` },
        { ...event(), properties: { ['k'.repeat(65)]: 1 } },
      ],
      learner.token,
    );
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(3);
    expect(res.body.duplicates).toBe(0);
    expect(res.body.rejected.map((r: { index: number; reason: string }) => [r.index, r.reason])).toEqual([
      [1, 'id must match format "uuid"'],
      [3, 'name must be 1–64 characters of a-z, 0-9 and _'],
      [4, 'timestamp is more than 10 minutes in the future'],
      [5, 'timestamp is more than 90 days in the past'],
      [6, 'timestamp must be an ISO 8601 date-time or epoch milliseconds'],
      [7, 'properties are larger than 8 KiB'],
      [8, 'unknown field "surprise"'],
      [9, 'event must be object'],
      [10, "userId is not the token's user"],
      [12, 'id must match format "uuid"'],
      [13, 'properties have a key longer than 64 characters'],
    ]);
    const rows = await server.runtime.db.kysely
      .selectFrom('analytics_events')
      .select(['id', 'name', 'raw_name', 'user_id'])
      .where(
        'id',
        'in',
        good.map((g) => g.id),
      )
      .orderBy('name')
      .execute();
    expect(rows.map((r) => [r.name, r.raw_name, r.user_id])).toEqual([
      ['app_launched', 'app_launched', learner.userId],
      ['retention_day1', 'retention_day1', learner.userId],
      ['vtpr_learning_started', 'vtpr_start', learner.userId],
    ]);
  });

  it('counts a retried batch as duplicates and stores nothing twice', async () => {
    const batch = [event(), event({ name: 'onboarding_started' })];
    const first = await post([...batch, batch[0]], learner.token);
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 1 });
    const retry = await post(batch, learner.token);
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 2, rejected: [] });
    const n = await server.runtime.db.kysely
      .selectFrom('analytics_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(
        'id',
        'in',
        batch.map((b) => b.id),
      )
      .executeTakeFirstOrThrow();
    expect(n.n).toBe(2);
  });

  it('splits a group of concurrent requests back per request: stored once, duplicates and unknown users to their own', async () => {
    // One statement at a time, so the requests below wait and go in as one group.
    const writer = new EventWriter(
      { db: server.runtime.db, tz: server.config.tz },
      { maxEvents: 10_000, concurrency: 1, minEventsToOverlap: 0 },
    );
    const self: IngestCaller = { kind: 'learner', userId: learner.userId };
    const shared = event({ name: 'magic_moment_completed' });
    const earlier = event();
    await writer.write([pending(earlier, self)]);
    const results = await Promise.all([
      writer.write([pending(event(), self)]),
      writer.write([pending(shared, self), pending(event(), self), pending(earlier, self)]),
      writer.write([pending(shared, self), pending(event({ userId: randomUUID() }), { kind: 'ops' })]),
      writer.write([pending(event({ deviceId: 'group-device-1' }), { kind: 'anonymous' })]),
    ]);
    expect(results.map((r) => [r.stored.length, r.duplicates, r.unknownUser.length])).toEqual([
      [1, 0, 0],
      [2, 1, 0], // its copy of `earlier` was stored by the first write
      [0, 1, 1], // `shared` went in with the request before; the made-up user is unknown
      [1, 0, 0],
    ]);
    // The first of the four ran at once; the other three waited for it and went in together.
    expect(writer.stats).toEqual({ requests: 5, statements: 3 });
    // The activation is reported once, by the request that carried it.
    expect(results.map((r) => r.newlyActivated.length)).toEqual([0, 1, 0, 0]);
    const stored = await server.runtime.db.kysely
      .selectFrom('analytics_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', '=', shared.id)
      .executeTakeFirstOrThrow();
    expect(stored.n).toBe(1);
  });

  it('stores an event once when two statements carry it at the same time', async () => {
    // Two writers, as two server instances: their statements run side by side.
    const writers = [1, 2].map(
      () =>
        new EventWriter(
          { db: server.runtime.db, tz: server.config.tz },
          { maxEvents: 10_000, concurrency: 1, minEventsToOverlap: 0 },
        ),
    );
    const self: IngestCaller = { kind: 'learner', userId: learner.userId };
    for (let round = 0; round < 20; round++) {
      const raw = Array.from({ length: 50 }, () => event());
      const results = await Promise.all(writers.map((writer) => writer.write(raw.map((e) => pending(e, self)))));
      // One statement stores all fifty; the other finds them all stored (at once, or on its retry).
      expect(results.map((r) => [r.stored.length, r.duplicates]).sort()).toEqual([
        [0, 50],
        [50, 0],
      ]);
    }
  });

  it('runs a second statement beside the first only when enough events wait for it', async () => {
    const self: IngestCaller = { kind: 'learner', userId: learner.userId };
    const statementsFor = async (minEventsToOverlap: number) => {
      const writer = new EventWriter(
        { db: server.runtime.db, tz: server.config.tz },
        { maxEvents: 10_000, concurrency: 2, minEventsToOverlap },
      );
      // The first starts at once; three more arrive while it runs.
      await Promise.all([1, 2, 3, 4].map(() => writer.write([pending(event(), self)])));
      return writer.stats.statements;
    };
    // Eager: the second request takes the free slot alone, the last two share the next.
    expect(await statementsFor(0)).toBe(3);
    // Three events are not worth a statement of their own: they wait and go in together.
    expect(await statementsFor(1_000)).toBe(2);
  });

  it('fails only the request PostgreSQL refuses when a group statement fails', async () => {
    const writer = new EventWriter(
      { db: server.runtime.db, tz: server.config.tz },
      { maxEvents: 10_000, concurrency: 1, minEventsToOverlap: 0 },
    );
    const self: IngestCaller = { kind: 'learner', userId: learner.userId };
    // Validation never lets this through; it stands for whatever PostgreSQL might refuse.
    const poison = { ...pending(event(), self), propertiesJson: '{"broken": ' };
    const outcomes = await Promise.allSettled([
      writer.write([pending(event(), self)]),
      writer.write([pending(event(), self)]),
      writer.write([poison]),
      writer.write([pending(event(), self)]),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.stored.length : 'failed'))).toEqual([1, 1, 'failed', 1]);
    expect(writer.stats.statements).toBe(2);
  });

  it('shows on /metrics how many batches were written and in how many statements', async () => {
    const scrape = async () => {
      const text = (await api(server.url, '/metrics')).text;
      const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
      return { batches: value('smartalk_ingest_batches_total'), statements: value('smartalk_ingest_statements_total') };
    };
    const before = await scrape();
    await Promise.all(Array.from({ length: 6 }, () => post([event(), event()], learner.token)));
    const after = await scrape();
    expect(after.batches - before.batches).toBe(6);
    expect(after.statements - before.statements).toBeGreaterThanOrEqual(1);
    expect(after.statements - before.statements).toBeLessThanOrEqual(6);
  });

  it('takes device-only events without a token, and needs the ops token to name any user', async () => {
    const anonymous = await post([event({ deviceId: 'fresh-device-77' }), event({ userId: learner.userId })]);
    expect(anonymous.body.accepted).toBe(1);
    expect(anonymous.body.rejected[0]).toMatchObject({ index: 1, reason: "events naming a userId need that learner's token" });
    const ops = await post(
      [event({ userId: learner.userId }), event({ userId: randomUUID() }), event({ deviceId: 'ingest-device-0001' })],
      server.opsToken,
    );
    expect(ops.body.accepted).toBe(2);
    expect(ops.body.rejected).toMatchObject([{ index: 1, reason: 'unknown user' }]);
    // Device-only events count for the device (from anyone), never for a learner named by nobody.
    const owner = await server.runtime.db.kysely
      .selectFrom('analytics_subjects')
      .select('subject')
      .where('subject', 'in', ['device:fresh-device-77', learner.userId])
      .orderBy('subject')
      .execute();
    expect(owner.map((o) => o.subject).sort()).toEqual(['device:fresh-device-77', learner.userId].sort());
  });

  it('stores events named like Object.prototype members under their own names', async () => {
    const names = ['constructor', '__proto__', 'valueof', 'tostring', 'hasownproperty'];
    const batch = names.map((name) => event({ name }));
    const res = await post(batch, learner.token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: names.length, rejected: [] });
    const stored = await server.runtime.db.kysely
      .selectFrom('analytics_events')
      .select(['name', 'raw_name'])
      .where(
        'id',
        'in',
        batch.map((e) => e.id),
      )
      .execute();
    expect(stored.map((row) => row.name).sort()).toEqual([...names].sort());
    expect(stored.every((row) => row.name === row.raw_name)).toBe(true);
  });

  it('rejects malformed batches with a 4xx', async () => {
    expect((await api(server.url, '/api/v1/analytics/events', { body: { events: [] } })).status).toBe(400);
    expect((await api(server.url, '/api/v1/analytics/events', { body: { events: 'x' } })).status).toBe(400);
    expect((await api(server.url, '/api/v1/analytics/events', { body: [] })).status).toBe(400);
    expect((await api(server.url, '/api/v1/analytics/events', { body: '{"events": [' })).status).toBe(400);
    const tooMany = await post(
      Array.from({ length: EVENT_LIMITS.maxEventsPerBatch + 1 }, () => event()),
      learner.token,
    );
    expect(tooMany.status).toBe(400);
    const tooBig = await api(server.url, '/api/v1/analytics/events', {
      body: JSON.stringify({ events: [event({ properties: { x: 'y'.repeat(EVENT_LIMITS.maxBatchBytes) } })] }),
      token: learner.token,
    });
    expect(tooBig.status).toBe(413);
    expect((await post([event()], 'stk_wrong')).status).toBe(401);
  });

  it('refuses what PostgreSQL cannot store (NUL, broken Unicode) per event, not with a 5xx', async () => {
    const res = await post(
      [
        event({ properties: { text: 'a\u0000b' } }),
        event({ properties: { text: 'half \ud800 pair' } }),
        event({ sessionId: 'tab\tbed' }),
        event({ properties: { text: '完整的中文 and emoji 😀' } }),
      ],
      learner.token,
    );
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1, 2]);
  });

  it('never answers 5xx to random event batches (property)', async () => {
    const anyEvent = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          id: fc.oneof(
            fc.uuid(),
            fc.uuid().map((id) => `urn:uuid:${id}`),
            fc.uuid().map((id) => id.toUpperCase()),
            fc.string(),
          ),
          name: fc.oneof(
            fc.constantFrom('app_launched', 'app_launch', 'keyword_attempt', 'x', 'constructor', '__proto__', 'tostring'),
            fc.string(),
          ),
          timestamp: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.integer(),
            fc.string(),
          ),
          deviceId: fc.string(),
          sessionId: fc.string(),
          platform: fc.string(),
          properties: fc.oneof(fc.object(), fc.jsonValue(), fc.dictionary(fc.string(), fc.string())),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(anyEvent, { minLength: 1, maxLength: 20 }), async (events) => {
        const res = await post(events, learner.token);
        expect(res.status, res.text).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });
});

describe('checkEvent (unit)', () => {
  const now = new Date('2026-11-27T00:00:00Z');
  it('maps legacy aliases and keeps the raw name', () => {
    const result = checkEvent(
      event({ name: 'user_activation_completed', timestamp: now.toISOString(), deviceId: 'd-1' }),
      0,
      { kind: 'anonymous' },
      now,
    );
    expect(result).toMatchObject({ name: 'magic_moment_completed', rawName: 'user_activation_completed' });
  });
  it('accepts epoch milliseconds and defaults the learner', () => {
    const result = checkEvent(event({ timestamp: now.getTime() - 1000 }), 3, { kind: 'learner', userId: 'u-1' }, now);
    expect(result).toMatchObject({ index: 3, userId: 'u-1', timestamp: new Date(now.getTime() - 1000) });
  });
  it('hands PostgreSQL a canonical UTC timestamp whatever form the client used', () => {
    const text = (timestamp: unknown) => {
      const result = checkEvent(event({ timestamp, deviceId: 'd-1' }), 0, { kind: 'anonymous' }, now);
      if (isRejected(result)) throw new Error(result.reason);
      return result.timestampText;
    };
    expect(text('2026-11-26T23:59:58.500Z')).toBe('2026-11-26T23:59:58.500Z');
    expect(text('2026-11-27T07:59:58.5+08:00')).toBe('2026-11-26T23:59:58.500Z');
    expect(text('2026-11-26t23:59:58z')).toBe('2026-11-26T23:59:58.000Z');
    expect(text(now.getTime() - 1500)).toBe('2026-11-26T23:59:58.500Z');
  });
  it('reads a canonical timestamp exactly as ajv-formats and Date do, or refuses it as they do (property)', () => {
    const pad = (value: number, width: number) => String(value).padStart(width, '0');
    // Canonical shape, fields drawn around their limits: 02-29 in 1900/2000/2024/2026, 04-31, 24:00, month 13 …
    const near = (limits: number[], max: number) => fc.oneof(fc.constantFrom(...limits), fc.integer({ min: 0, max }));
    const canonicalShaped = fc
      .tuple(
        near([0, 1900, 2000, 2024, 2026, 2100], 9999),
        near([0, 1, 2, 4, 12, 13], 99),
        near([0, 1, 28, 29, 30, 31, 32], 99),
        near([0, 23, 24], 99),
        near([0, 59, 60], 99),
        near([0, 59, 60], 99),
        fc.integer({ min: 0, max: 999 }),
      )
      .map(
        ([y, mo, d, h, mi, s, ms]) =>
          `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${pad(ms, 3)}Z`,
      );
    const text = fc.oneof(
      canonicalShaped,
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (value) => {
        // The shortcut of the date-time format (isApiDateTime) agrees with ajv-formats' full check.
        expect(canonicalTimestampMs(value) !== undefined || rfc3339DateTime(value)).toBe(rfc3339DateTime(value));
        const ms = canonicalTimestampMs(value);
        if (ms !== undefined) expect(ms).toBe(Date.parse(value));
        // Refused in canonical form: invalid, or a leap second (which the full check takes).
        else if (CANONICAL_TIMESTAMP.test(value)) expect(rfc3339DateTime(value) && value.slice(17, 19) !== '60').toBe(false);
      }),
      { numRuns: 5000 },
    );
  });
  it('needs a user or a device', () => {
    expect(checkEvent(event({ timestamp: now.toISOString() }), 0, { kind: 'ops' }, now)).toMatchObject({
      reason: 'an event needs a userId or a deviceId',
    });
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a client exceeds its batches per minute', async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '3' } });
    try {
      const who = await createLearner(limited.url);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await api(limited.url, '/api/v1/analytics/events', { body: { events: [event()] }, token: who.token });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.body.error.code).toBe('SMT_ERR_RATE_LIMITED');
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      // Another learner has their own allowance; the ops token has none.
      const other = await createLearner(limited.url);
      expect(
        (await api(limited.url, '/api/v1/analytics/events', { body: { events: [event()] }, token: other.token })).status,
      ).toBe(200);
      for (let i = 0; i < 5; i++) {
        const res = await api(limited.url, '/api/v1/analytics/events', {
          body: { events: [event({ deviceId: 'ops-backfill' })] },
          token: limited.opsToken,
        });
        expect(res.status).toBe(200);
      }
    } finally {
      await limited.close();
    }
  });
});
