/**
 * The defects a black-box probe found, each held by a test that fails without its fix:
 * deep JSON, text and dates PostgreSQL refuses, account takeover by device id, token
 * hygiene, rate-limit bypass, authentication before parsing, errors in our shape,
 * Markdown injection, and the smaller ones (ids in upper case, Range, empty bodies,
 * content types, slow clients, file modes, the CLI's ops token, the catalog at start).
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import MarkdownIt from 'markdown-it';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFeedbackMarkdown } from '../src/feedback/report-markdown.js';
import { sharedRateLimitStore } from '../src/http/rate-limit-store.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { alertmanagerPayload } from './helpers/alertmanager.js';
import { smartalkAsync } from './helpers/cli.js';
import { waitFor } from './helpers/private-services.js';
import {
  api,
  createLearner,
  createTestDatabase,
  hasRedis,
  type Learner,
  onPostgres,
  startTestServer,
  type TestServer,
} from './helpers/server.js';

let server: TestServer;
let alice: Learner;

beforeAll(async () => {
  server = await startTestServer({
    env: { ALERT_INTERVAL_SECONDS: '3600' },
    extend: (runtime) => {
      // A bug on purpose: a 500 must still carry the request id.
      runtime.app.get('/api/v1/test/boom', async () => {
        throw new Error('boom');
      });
    },
  });
  alice = await createLearner(server.url);
});
afterAll(async () => {
  await server?.close();
});

const ops = () => server.opsToken;
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const event = (extra: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  name: 'app_launched',
  timestamp: new Date().toISOString(),
  ...extra,
});

function expectError(res: { status: number; body: any; text: string; headers: Headers }, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.body?.error?.code, res.text).toBe(code);
  expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('free-form JSON: depth before any walk', () => {
  it('rejects a deeply nested event alone and keeps the rest of its batch', async () => {
    const good = event();
    const body = `{"events":[${JSON.stringify(event()).replace(/}$/, `,"properties":${nested(5000)}}`)},${JSON.stringify(good)}]}`;
    const res = await api(server.url, '/api/v1/analytics/events', { token: alice.token, body });
    expect(res.status, res.text).toBe(200);
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected).toHaveLength(1);
    expect(res.body.rejected[0]).toMatchObject({ index: 0 });
    expect(res.body.rejected[0].reason).toMatch(/^\/properties\/a\/.* nests deeper than \d+ levels$/);
  });

  it('answers 400 for deep JSON in every other body, ops and learner alike', async () => {
    const deep = nested(5000);
    const cases: Array<[string, string, string | undefined]> = [
      ['/api/v1/users', `{"deviceId":"deep-device-01","platform":${deep}}`, undefined],
      ['/api/v1/feedback', `{"type":"bug_report","text":"x","context":${deep}}`, alice.token],
      ['/api/v1/ops/silences', `{"reason":"deep","by":"me","minutes":5,"matchers":${deep}}`, ops()],
      [
        '/api/v1/ops/alertmanager',
        JSON.stringify(alertmanagerPayload()).replace('"labels":{', `"labels":{"deep":${deep},`),
        ops(),
      ],
    ];
    for (const [route, body, token] of cases) {
      const res = await api(server.url, route, { token, body });
      expectError(res, 400, 'SMT_ERR_VALIDATION');
      expect(res.body.error.message, route).toMatch(/nests deeper than 32 levels/);
    }
  });
});

describe('text PostgreSQL refuses: NUL and lone surrogates are a 400 everywhere', () => {
  it('refuses them in every text field of the ops routes, and stores nothing', async () => {
    const fired = await api(server.url, '/api/v1/ops/alertmanager', { token: ops(), body: alertmanagerPayload() });
    expect(fired.status, fired.text).toBe(200);
    const [alert] = (await api(server.url, '/api/v1/ops/alerts?status=open', { token: ops() })).body.alerts;
    const silencesBefore = (await api(server.url, '/api/v1/ops/silences', { token: ops() })).body.silences.length;
    for (const bad of ['nul\u0000here', 'lone\ud800surrogate', '\udfffleading']) {
      const cases: Array<[string, unknown]> = [
        ['/api/v1/ops/silences', { reason: bad, by: 'me', minutes: 5 }],
        ['/api/v1/ops/silences', { reason: 'maintenance', by: bad, minutes: 5 }],
        ['/api/v1/ops/silences', { reason: 'maintenance', by: 'me', minutes: 5, matchers: { job: bad } }],
        ['/api/v1/ops/silences', { reason: 'maintenance', by: 'me', minutes: 5, matchers: { [bad]: 'x' } }],
        [`/api/v1/ops/alerts/${alert.id}/ack`, { by: bad }],
        [`/api/v1/ops/alerts/${alert.id}/resolve`, { by: bad }],
        ['/api/v1/ops/alertmanager', alertmanagerPayload({ alert: { labels: { alertname: bad } } })],
        ['/api/v1/ops/alertmanager', alertmanagerPayload({ alert: { annotations: { summary: bad } } })],
      ];
      for (const [route, body] of cases) {
        expectError(await api(server.url, route, { token: ops(), body }), 400, 'SMT_ERR_VALIDATION');
      }
    }
    expect((await api(server.url, '/api/v1/ops/silences', { token: ops() })).body.silences).toHaveLength(silencesBefore);
    const after = await api(server.url, `/api/v1/ops/alerts/${alert.id}`, { token: ops() });
    expect(after.body.alert).toMatchObject({ status: 'firing', acknowledgedBy: null });
  });

  it('refuses them in learner text, per event on the events route', async () => {
    for (const bad of ['a\u0000b', 'a\ud83db']) {
      expectError(
        await api(server.url, '/api/v1/feedback', { token: alice.token, body: { type: 'bug_report', text: bad } }),
        400,
        'SMT_ERR_VALIDATION',
      );
      const batch = await api(server.url, '/api/v1/analytics/events', {
        token: alice.token,
        body: { events: [event({ sessionId: bad }), event({ properties: { note: bad } }), event({ properties: { [bad]: 1 } })] },
      });
      expect(batch.status, batch.text).toBe(200);
      expect(batch.body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1, 2]);
    }
    // A pair is one character, escaped or not: an emoji is fine.
    const emoji = await api(server.url, '/api/v1/feedback', {
      token: alice.token,
      body: '{"type":"overall_experience","rating":5,"text":"\\ud83d\\ude00 great"}',
    });
    expect(emoji.status, emoji.text).toBe(201);
  });
});

describe('one date rule: 1970 to 2200, 400 outside, never rewritten', () => {
  it('refuses far dates on silences, reports and the Alertmanager intake', async () => {
    expectError(
      await api(server.url, '/api/v1/ops/silences', {
        token: ops(),
        body: { reason: 'far', by: 'me', minutes: 5, startsAt: '9999-12-31T23:59:59Z' },
      }),
      400,
      'SMT_ERR_VALIDATION',
    );
    for (const route of ['/api/v1/ops/metrics-report', '/api/v1/ops/feedback-report']) {
      const res = await api(server.url, `${route}?since=0001-01-01T00:00:00Z&until=0001-12-01T00:00:00Z`, { token: ops() });
      expectError(res, 400, 'SMT_ERR_VALIDATION');
      expect(res.body.error.message).toContain('1970-01-01T00:00:00.000Z');
    }
    const fingerprint = 'fa12fa12fa12fa12';
    expectError(
      await api(server.url, '/api/v1/ops/alertmanager', {
        token: ops(),
        body: alertmanagerPayload({ alert: { startsAt: '0001-01-01T00:00:00Z', fingerprint } }),
      }),
      400,
      'SMT_ERR_VALIDATION',
    );
    const alerts = (await api(server.url, '/api/v1/ops/alerts?status=all', { token: ops() })).body.alerts;
    expect(alerts.filter((a: { fingerprint?: string }) => a.fingerprint === `am:${fingerprint}`)).toEqual([]);
    const late = await api(server.url, '/api/v1/ops/silences', {
      token: ops(),
      body: { reason: 'late but in range', by: 'me', minutes: 5, startsAt: '2199-12-31T00:00:00Z' },
    });
    expect(late.status, late.text).toBe(201);
  });
});

describe('a device id is an identifier, not a credential', () => {
  it('does not resume, issue a token for, or revoke the tokens of a learner from the device id alone', async () => {
    const first = await api(server.url, '/api/v1/users', { body: { deviceId: 'victim-device-0001' } });
    expect(first.status).toBe(201);
    for (let i = 0; i < 6; i++) {
      const takeover = await api(server.url, '/api/v1/users', { body: { deviceId: 'victim-device-0001' } });
      expectError(takeover, 409, 'SMT_ERR_DEVICE_REGISTERED');
      expect(takeover.body.token).toBeUndefined();
    }
    expectError(
      await api(server.url, '/api/v1/users', { body: { deviceId: 'victim-device-0001', deviceSecret: 'sds_guessed-secret' } }),
      401,
      'SMT_ERR_AUTH_INVALID',
    );
    // Someone else's live token proves nothing about this device.
    expectError(
      await api(server.url, '/api/v1/users', { token: alice.token, body: { deviceId: 'victim-device-0001' } }),
      409,
      'SMT_ERR_DEVICE_REGISTERED',
    );
    const me = await api(server.url, `/api/v1/users/${first.body.userId}`, { token: first.body.token });
    expect(me.status, 'the real learner keeps their token').toBe(200);
    // The learner's own live token resumes (a second client of the same device).
    const own = await api(server.url, '/api/v1/users', { token: first.body.token, body: { deviceId: 'victim-device-0001' } });
    expect(own.status, own.text).toBe(200);
    expect(own.body.userId).toBe(first.body.userId);
  });

  it('counts anonymous events naming a registered device for the device, never for its learner', async () => {
    const owner = await api(server.url, '/api/v1/users', { body: { deviceId: 'attributed-device-01' } });
    const forged = await api(server.url, '/api/v1/analytics/events', {
      body: { events: [event({ name: 'magic_moment_completed', deviceId: 'attributed-device-01' })] },
    });
    expect(forged.body.accepted).toBe(1);
    const subjects = await server.runtime.db.kysely
      .selectFrom('analytics_subjects')
      .select(['subject', 'magic_moment_completed_at'])
      .where('subject', 'in', [owner.body.userId, 'device:attributed-device-01'])
      .execute();
    expect(subjects.find((s) => s.subject === owner.body.userId)?.magic_moment_completed_at ?? null).toBeNull();
    expect(subjects.find((s) => s.subject === 'device:attributed-device-01')?.magic_moment_completed_at).not.toBeNull();
  });

  it('lets a learner from before device secrets resume with a live token, and gives them their secret', async () => {
    const legacy = await api(server.url, '/api/v1/users', { body: { deviceId: 'legacy-device-0001' } });
    await server.runtime.db.kysely
      .updateTable('users')
      .set({ device_secret_hash: null })
      .where('id', '=', legacy.body.userId)
      .execute();
    expectError(
      await api(server.url, '/api/v1/users', { body: { deviceId: 'legacy-device-0001' } }),
      409,
      'SMT_ERR_DEVICE_REGISTERED',
    );
    const resumed = await api(server.url, '/api/v1/users', {
      token: legacy.body.token,
      body: { deviceId: 'legacy-device-0001' },
    });
    expect(resumed.status, resumed.text).toBe(200);
    expect(resumed.body.deviceSecret).toMatch(/^sds_/);
    const bySecret = await api(server.url, '/api/v1/users', {
      body: { deviceId: 'legacy-device-0001', deviceSecret: resumed.body.deviceSecret },
    });
    expect(bySecret.status, bySecret.text).toBe(200);
  });
});

describe('tokens', () => {
  it('logs out a token at once on every instance, and only that token', async () => {
    // One process per PGlite database: a second instance needs PostgreSQL.
    const second = onPostgres()
      ? await startTestServer({ database: server.database, env: { ALERT_INTERVAL_SECONDS: '3600' } })
      : undefined;
    const bases = [server.url, ...(second ? [second.url] : [])];
    try {
      const created = await api(server.url, '/api/v1/users', { body: { deviceId: 'logout-device-0001' } });
      const other = await api(server.url, '/api/v1/users', {
        body: { deviceId: 'logout-device-0001', deviceSecret: created.body.deviceSecret },
      });
      const me = `/api/v1/users/${created.body.userId}`;
      for (const base of bases) expect((await api(base, me, { token: created.body.token })).status).toBe(200);
      expectError(
        await api(server.url, `${me}/tokens/current`, { method: 'DELETE', token: alice.token }),
        403,
        'SMT_ERR_AUTH_FORBIDDEN',
      );
      const out = await api(server.url, `${me}/tokens/current`, { method: 'DELETE', token: created.body.token });
      expect(out.status, out.text).toBe(204);
      for (const base of bases) {
        expectError(await api(base, me, { token: created.body.token }), 401, 'SMT_ERR_AUTH_INVALID');
        expect((await api(base, me, { token: other.body.token })).status).toBe(200);
      }
    } finally {
      await second?.close();
    }
  });
});

describe('limits keyed on who the caller is', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({
      env: {
        RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '3',
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '4',
        REQUEST_TIMEOUT_SECONDS: '2',
        ALERT_INTERVAL_SECONDS: '3600',
      },
    });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('limits event batches per learner however the Authorization header is spelled', async () => {
    const learner = await createLearner(limited.url);
    const spellings = ['Bearer', 'bearer', 'Bearer ', 'BEARER'];
    const statuses: number[] = [];
    for (const scheme of spellings) {
      const res = await api(limited.url, '/api/v1/analytics/events', {
        headers: { authorization: `${scheme} ${learner.token}` },
        body: { events: [event()] },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Another learner on the same address has their own budget; ops is exempt.
    const other = await createLearner(limited.url);
    expect((await api(limited.url, '/api/v1/analytics/events', { token: other.token, body: { events: [event()] } })).status).toBe(
      200,
    );
    for (let i = 0; i < 5; i++) {
      const res = await api(limited.url, '/api/v1/analytics/events', {
        headers: { authorization: `bearer ${limited.opsToken}` },
        body: { events: [event({ deviceId: 'ops-device-01' })] },
      });
      expect(res.status, res.text).toBe(200);
    }
  });

  it('checks the ops token before reading the body, and refuses it after too many failures from an address', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(3 * 1024 * 1024) });
    expectError(await api(limited.url, '/api/v1/ops/alertmanager', { body: big }), 401, 'SMT_ERR_AUTH_MISSING');
    const from = { 'x-forwarded-for': '203.0.113.7' };
    for (let i = 0; i < 4; i++) {
      expectError(
        await api(limited.url, '/api/v1/ops/alerts', { headers: { ...from, authorization: `Bearer wrong-token-${i}-abcdefgh` } }),
        401,
        'SMT_ERR_AUTH_INVALID',
      );
    }
    const blocked = await api(limited.url, '/api/v1/ops/alerts', {
      headers: { ...from, authorization: `Bearer ${limited.opsToken}` },
    });
    expectError(blocked, 429, 'SMT_ERR_RATE_LIMITED');
    expect(blocked.headers.get('retry-after')).toBe('60');
    // Another address is not affected.
    const elsewhere = await api(limited.url, '/api/v1/ops/alerts', {
      headers: { 'x-forwarded-for': '203.0.113.8', authorization: `Bearer ${limited.opsToken}` },
    });
    expect(elsewhere.status, elsewhere.text).toBe(200);
  });

  it('believes X-Forwarded-For only from the proxies in TRUST_PROXY', async () => {
    // A balancer elsewhere (not this test's loopback): the forwarded addresses are ignored,
    // so failures "from" two addresses are one address's, and block it.
    const direct = await startTestServer({
      env: { TRUST_PROXY: '192.0.2.10', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2', ALERT_INTERVAL_SECONDS: '3600' },
    });
    try {
      for (const from of ['203.0.113.21', '203.0.113.22']) {
        const res = await api(direct.url, '/api/v1/ops/alerts', {
          headers: { 'x-forwarded-for': from, authorization: 'Bearer wrong-token-abcdefgh' },
        });
        expectError(res, 401, 'SMT_ERR_AUTH_INVALID');
      }
      const third = await api(direct.url, '/api/v1/ops/alerts', {
        headers: { 'x-forwarded-for': '203.0.113.23', authorization: `Bearer ${direct.opsToken}` },
      });
      expectError(third, 429, 'SMT_ERR_RATE_LIMITED');
    } finally {
      await direct.close();
    }
  });

  it('counts a limit once across instances that share Redis', async () => {
    if (onPostgres() && hasRedis()) {
      // A second instance on the same database and Redis, behind the same (imagined) balancer.
      const second = await startTestServer({
        database: limited.database,
        env: { RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '3', ALERT_INTERVAL_SECONDS: '3600' },
      });
      try {
        const learner = await createLearner(limited.url);
        const statuses: number[] = [];
        for (const url of [limited.url, second.url, limited.url, second.url]) {
          statuses.push(
            (await api(url, '/api/v1/analytics/events', { token: learner.token, body: { events: [event()] } })).status,
          );
        }
        expect(statuses).toEqual([200, 200, 200, 429]);
      } finally {
        await second.close();
      }
    } else {
      // Embedded (one instance, no Redis): two instances' limit stores over one shared
      // store count the same route and caller together, and another route apart.
      const shared = new MemoryStore();
      const route = { routeInfo: { method: 'POST', url: '/api/v1/analytics/events' } };
      const [first, second] = [0, 1].map(() => new (sharedRateLimitStore(shared))().child(route));
      const count = (store: typeof first, key: string) =>
        new Promise<number>((resolve, reject) =>
          store?.incr(key, (error, result) => (error ? reject(error) : resolve(result?.current ?? -1)), 60_000),
        );
      expect([await count(first, 'user:a'), await count(second, 'user:a'), await count(first, 'user:a')]).toEqual([1, 2, 3]);
      const other = new (sharedRateLimitStore(shared))().child({ routeInfo: { method: 'POST', url: '/api/v1/users' } });
      expect(await count(other, 'user:a')).toBe(1);
    }
  });

  it('answers a client that sends its headers too slowly with 408 and closes the connection', async () => {
    const port = Number(new URL(limited.url).port);
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /api/v1/interests HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('"code":"SMT_ERR_REQUEST_TIMEOUT"');
    expect(received.toLowerCase()).toContain('x-content-type-options: nosniff');
  });
});

describe('every error in our shape, with our headers and the request id', () => {
  it('covers the router, the HTTP parser, content types, empty bodies and bugs', async () => {
    expectError(await api(server.url, '/api/v1/dramas/%'), 400, 'SMT_ERR_BAD_URL');
    expectError(await api(server.url, `/api/v1/dramas/${'x'.repeat(300)}`), 414, 'SMT_ERR_URL_TOO_LONG');
    expectError(
      await api(server.url, '/api/v1/users', { body: 'deviceId=abc', headers: { 'content-type': 'text/plain' } }),
      415,
      'SMT_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    const boom = await api(server.url, '/api/v1/test/boom', { headers: { 'x-request-id': 'trace-me-42' } });
    expectError(boom, 500, 'SMT_ERR_INTERNAL');
    expect(boom.body.error.requestId).toBe('trace-me-42');
    // A client's request id is kept only when short and plain.
    const replaced = new Set<string>();
    for (const given of ['x'.repeat(8000), 'has spaces', '<script>']) {
      const res = await api(server.url, '/api/v1/nothing', { headers: { 'x-request-id': given } });
      // Ours instead: this process's random prefix and a counter, a new one each time.
      const id = res.headers.get('x-request-id') as string;
      expect(id).toMatch(/^[A-Za-z0-9_-]{12}-[0-9a-z]+$/);
      replaced.add(id);
    }
    expect(replaced.size).toBe(3);
    // The magic moment's body is optional: none at all is the same as {}.
    const magic = await api(server.url, '/api/v1/dramas/travel-01/magic-moment', { method: 'POST', token: alice.token });
    expectError(magic, 409, 'SMT_ERR_CLUES_INCOMPLETE');
    // Headers too large: refused by Node's parser before Fastify, still in our shape.
    const raw = await rawRequest(server.url, `GET /api/v1/interests HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toContain('"code":"SMT_ERR_HEADERS_TOO_LARGE"');
    expect(raw.toLowerCase()).toContain('x-request-id: ');
  });

  it('answers SMT_ERR_SHUTTING_DOWN to a request that arrives while draining', async () => {
    const draining = await startTestServer({ env: { ALERT_INTERVAL_SECONDS: '3600' } });
    const body = JSON.stringify({ deviceId: 'drain-device-0001' });
    const socket = net.connect(Number(new URL(draining.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write(
      `POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.slice(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = draining.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write(`${body.slice(5)}GET /api/v1/interests HTTP/1.1\r\nHost: x\r\n\r\n`);
    await waitFor(async () => (received.match(/HTTP\/1\.1 /g)?.length ?? 0) >= 2, 10_000, 'two responses');
    socket.destroy();
    await closing;
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 201 /);
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toContain('"code":"SMT_ERR_SHUTTING_DOWN"');
    expect(second?.toLowerCase()).toContain('retry-after: 5');
  });
});

async function rawRequest(base: string, text: string): Promise<string> {
  const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(text);
  await closed;
  return received;
}

describe('learner text stays inside its quote in the Markdown report', () => {
  it('normalizes every line-break form before escaping', async () => {
    // (Vertical tab and form feed are refused as control characters; escapeMarkdown folds them too.)
    const breaks = ['\r', '\n', '\r\n', '\u2028', '\u2029', '\u0085'];
    const learner = await createLearner(server.url);
    for (const br of breaks) {
      const text = `crashes all the time${br}# INJECTED HEADING${br}- [click](https://evil.example)${br}<b>bold</b>`;
      const res = await api(server.url, '/api/v1/feedback', {
        token: learner.token,
        body: { type: 'bug_report', rating: 1, text },
      });
      expect(res.status, `${JSON.stringify(br)} ${res.text}`).toBe(201);
    }
    const report = (await api(server.url, '/api/v1/ops/feedback-report', { token: ops() })).body;
    for (const lang of ['en', 'zh-CN'] as const) {
      const markdown = renderFeedbackMarkdown(report, lang);
      const tokens = new MarkdownIt().parse(markdown, {});
      const inline = tokens.flatMap((token) => [token, ...(token.children ?? [])]);
      expect(inline.filter((t) => t.type === 'link_open')).toEqual([]);
      expect(inline.filter((t) => t.type === 'html_inline' || t.type === 'html_block')).toEqual([]);
      const headings = tokens
        .map((token, i) => (token.type === 'heading_open' ? tokens[i + 1]?.content : undefined))
        .filter((content) => content !== undefined);
      expect(headings.join('\n')).not.toContain('INJECTED');
      // The learner's words are there, on the same line as the rest of their item.
      const quoted = markdown.split('\n').filter((line) => line.includes('INJECTED HEADING'));
      expect(quoted.length).toBeGreaterThan(0);
      for (const line of quoted) expect(line).toMatch(/crashes all the time .*INJECTED HEADING/);
    }
  });
});

describe('smaller defects', () => {
  it('treats a learner id in upper case as the same learner', async () => {
    const res = await api(server.url, `/api/v1/users/${alice.userId.toUpperCase()}/progress`, { token: alice.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.userId).toBe(alice.userId);
  });

  it('ignores a Range it cannot parse, and says the size in a 416', async () => {
    // A stand-in for a drama's video (this server renders none), fetched under its public name.
    await mkdir(path.join(server.config.contentDir, 'dramas/movies-01'), { recursive: true });
    await writeFile(path.join(server.config.contentDir, 'dramas/movies-01/plain.mp4'), Buffer.alloc(1000, 7));
    server.runtime.catalog.invalidate();
    const url = (await api(server.url, '/api/v1/dramas/movies-01')).body.videos.plain.url as string;
    for (const range of ['bytes=abc', 'bytes=9-2', 'pages=1-2']) {
      const res = await fetch(url, { headers: { range } });
      expect(res.status, range).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(1000);
    }
    const past = await fetch(url, { headers: { range: 'bytes=5000-6000' } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */1000');
    expect(((await past.json()) as { error: { code: string } }).error.code).toBe('SMT_ERR_RANGE_NOT_SATISFIABLE');
  });

  it('tells a CLI user without the right ops token what is wrong, and writes no token', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-cli-token-'));
    try {
      await writeFile(
        path.join(dataDir, 'server.json'),
        JSON.stringify({ pid: process.pid, url: server.url, startedAt: new Date().toISOString() }),
      );
      const missing = await smartalkAsync(['feedback', 'report', '--format', 'json'], { DATA_DIR: dataDir, OPS_TOKEN: '' });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain('no ops token: OPS_TOKEN is not set');
      await expect(stat(path.join(dataDir, 'ops-token'))).rejects.toThrow();
      const wrong = await smartalkAsync(['feedback', 'report', '--format', 'json'], {
        DATA_DIR: dataDir,
        OPS_TOKEN: 'not-the-servers-token-123',
      });
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toContain('the server refused the ops token from OPS_TOKEN');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps data files private, and serves the catalog loaded at start-up through a database outage', async () => {
    const fresh = await startTestServer({ env: { OPS_TOKEN: '', ALERT_INTERVAL_SECONDS: '3600' } });
    const { dataDir } = fresh.database;
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(dataDir, 'ops-token'))).mode & 0o777).toBe(0o600);
      expect((await stat(fresh.config.logFile)).mode & 0o777).toBe(0o600);
      // No request has read the catalog yet; the database goes away; content is still served.
      await fresh.runtime.db.close();
      for (const route of ['/api/v1/interests', '/api/v1/dramas/travel-01']) {
        const res = await api(fresh.url, route);
        expect(res.status, `${route} ${res.text}`).toBe(200);
      }
    } finally {
      await fresh.close();
    }
  });

  it('narrows a data directory and ops-token file found readable by others, with a warning', async () => {
    const database = await createTestDatabase();
    const env = { OPS_TOKEN: '', ALERT_INTERVAL_SECONDS: '3600' };
    await (await startTestServer({ database, env })).close();
    const { dataDir } = database;
    // Re-open the same data directory after widening it, as an operator's cp -r or umask would.
    await chmod(dataDir, 0o755);
    await chmod(path.join(dataDir, 'ops-token'), 0o644);
    const reopened = await startTestServer({ database, env });
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(path.join(dataDir, 'ops-token'))).mode & 0o777).toBe(0o600);
      await waitFor(
        async () => (await readFile(reopened.config.logFile, 'utf8')).includes('was readable by others'),
        5_000,
        'the warning in the log',
      );
    } finally {
      await reopened.close();
      await database.drop();
    }
  });
});
