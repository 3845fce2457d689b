/**
 * Faults degrade and recover without a restart: real PostgreSQL stopped and
 * started under a running server, real Redis killed and restarted.
 */

import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchAnswerKey } from '../src/analytics/simulation-driver.js';
import { requireBinaries } from './helpers/binaries.js';
import {
  type PrivatePostgres,
  type PrivateRedis,
  startOldRedis,
  startPrivatePostgres,
  startPrivateRedis,
  waitFor,
} from './helpers/private-services.js';
import { api, createLearner, startTestServer, type TestServer } from './helpers/server.js';

/** Not a benchmark: a generous bound that still catches a request hanging on a dead database. */
const NO_HANG_MS = 4_000;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
}

describe('database outage (real PostgreSQL stopped and started)', () => {
  let pg: PrivatePostgres | undefined;
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
    pg?.destroy();
  });

  it('answers 503 quickly while the database is down and recovers by itself', async (context) => {
    requireBinaries(context, 'database outage test', 'initdb', 'pg_ctl');
    pg = await startPrivatePostgres();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-fault-'));
    server = await startTestServer({
      database: {
        dataDir,
        databaseUrl: pg.url,
        redisPrefix: 'smartalk-fault:',
        drop: () => rm(dataDir, { recursive: true, force: true }),
      },
    });
    const learner = await createLearner(server.url, 'fault-device-0001');
    expect((await api(server.url, `/api/v1/users/${learner.userId}/progress`, { token: learner.token })).status).toBe(200);
    // Warm the catalog so content can be served from memory during the outage.
    expect((await api(server.url, '/api/v1/interests')).status).toBe(200);
    // A transaction between two statements when the database goes away (as a background
    // fold or a scheduled job may be): its connection's error must fail that transaction,
    // not crash the process (an uncaught 'error' on a checked-out pg client).
    let resume: () => void = () => {};
    let started: () => void = () => {};
    const paused = new Promise<void>((resolve) => {
      started = resolve;
    });
    const heldOutcome = server.runtime.db.kysely
      .transaction()
      .execute(async (trx) => {
        await sql`SELECT 1`.execute(trx);
        await new Promise<void>((resolve) => {
          resume = resolve;
          started();
        });
        await sql`SELECT 1`.execute(trx);
      })
      .then(
        () => 'committed',
        () => 'failed',
      );
    await paused;

    pg.stop();

    const [health, healthMs] = await timed(() => api(server?.url as string, '/api/v1/health'));
    expect(healthMs).toBeLessThan(NO_HANG_MS);
    if (health.status === 200) {
      // The previous probe may still be cached for up to a second.
      server.runtime.health.invalidate();
    }
    const down = await api(server.url, '/api/v1/health');
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('down');
    expect(down.body.checks.database.status).toBe('down');

    resume();
    expect(await heldOutcome).toBe('failed');

    const [write, writeMs] = await timed(() =>
      api(server?.url as string, '/api/v1/users', { body: { deviceId: 'fault-device-0002' } }),
    );
    expect(writeMs).toBeLessThan(NO_HANG_MS);
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe('SMT_ERR_DB_UNAVAILABLE');
    expect(write.headers.get('retry-after')).toBe('5');

    // Concurrent event batches share statements (group commit); a dead database fails them all at once.
    const batch = () => ({ events: [{ id: randomUUID(), name: 'app_launched', timestamp: new Date().toISOString() }] });
    const [ingest, ingestMs] = await timed(() =>
      Promise.all(
        Array.from({ length: 6 }, () =>
          api(server?.url as string, '/api/v1/analytics/events', { body: batch(), token: learner.token }),
        ),
      ),
    );
    expect(ingestMs).toBeLessThan(NO_HANG_MS);
    expect(ingest.map((res) => [res.status, res.body.error?.code])).toEqual(
      Array.from({ length: 6 }, () => [503, 'SMT_ERR_DB_UNAVAILABLE']),
    );

    const read = await api(server.url, `/api/v1/users/${learner.userId}/progress`, { token: learner.token });
    expect(read.status).toBe(503);
    expect((await api(server.url, '/api/v1/health/ready')).status).toBe(503);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^smartalk_db_up 0$/m);
    // Content is cached in memory: the catalog still answers.
    expect((await api(server.url, '/api/v1/interests')).status).toBe(200);
    expect((await api(server.url, '/api/v1/health/live')).status).toBe(200);

    pg.start();

    await waitFor(
      async () => {
        server?.runtime.health.invalidate();
        return (await api(server?.url as string, '/api/v1/health')).status === 200;
      },
      15_000,
      'health to recover',
    );
    const after = await api(server.url, '/api/v1/users', { body: { deviceId: 'fault-device-0002' } });
    expect(after.status).toBe(201);
    const progress = await api(server.url, `/api/v1/users/${learner.userId}/progress`, { token: learner.token });
    expect(progress.status).toBe(200);
    expect((await api(server.url, '/api/v1/health/ready')).status).toBe(200);
    const events = await api(server.url, '/api/v1/analytics/events', { body: batch(), token: learner.token });
    expect(events.body.accepted).toBe(1);
  });
});

describe('cache outage (real Redis killed and restarted)', () => {
  let redis: PrivateRedis | undefined;
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('keeps learner endpoints working on the memory fallback and returns to Redis', async (context) => {
    requireBinaries(context, 'Redis outage test', 'redis-server');
    redis = await startPrivateRedis();
    server = await startTestServer({ env: { REDIS_URL: redis.url } });
    await waitFor(
      async () => (await api(server?.url as string, '/api/v1/health')).body.checks.cache.status === 'ok',
      5_000,
      'redis',
    );
    const learner = await createLearner(server.url);
    const answerKey = await fetchAnswerKey(server.url, server.opsToken);

    await redis.stop();

    const [progress, ms] = await timed(() =>
      api(server?.url as string, `/api/v1/users/${learner.userId}/progress`, { token: learner.token }),
    );
    expect(progress.status).toBe(200);
    expect(ms).toBeLessThan(NO_HANG_MS);
    const attempt = await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
      token: learner.token,
      body: { selectedClipId: answerKey.right('travel-01-k01') },
    });
    expect(attempt.status).toBe(200);
    expect((await createLearner(server.url)).token).toMatch(/^stk_/);

    server.runtime.health.invalidate();
    const degraded = await api(server.url, '/api/v1/health');
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.checks.cache.status).toBe('degraded');
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^smartalk_cache_up 0$/m);

    await redis.start();

    await waitFor(
      async () => {
        server?.runtime.health.invalidate();
        return (await api(server?.url as string, '/api/v1/health')).body.checks.cache.status === 'ok';
      },
      15_000,
      'cache to recover',
    );
    expect(server.runtime.store.health().up).toBe(true);
    // Writes reach Redis again.
    await server.runtime.store.set('probe:after-recovery', 'yes', 60);
    expect(await server.runtime.store.get('probe:after-recovery')).toBe('yes');
  });
});

describe('a Redis too old for us', () => {
  let redis: PrivateRedis | undefined;
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('is not used, says why, and is used once a newer Redis answers on the same address', async (context) => {
    requireBinaries(context, 'old Redis test', 'redis-server');
    redis = await startPrivateRedis();
    await redis.stop();
    const old = await startOldRedis(redis.port, '6.0.16');
    server = await startTestServer({ env: { REDIS_URL: redis.url } });
    const cacheCheck = async () => {
      server?.runtime.health.invalidate();
      return (await api(server?.url as string, '/api/v1/health')).body.checks.cache;
    };
    // 'not connected yet' until the client has connected and read the version.
    await waitFor(async () => (await cacheCheck()).detail?.includes('6.0.16') === true, 5_000, 'the version check');
    expect(await cacheCheck()).toMatchObject({
      status: 'degraded',
      detail: 'Redis unavailable (Redis 6.0.16 is older than 7.0, which SmarTalk needs); serving from per-instance memory',
    });
    // Served from memory: the old server would refuse ZADD GT (real-time users) and PEXPIRE NX (counters).
    const learner = await createLearner(server.url);
    const answerKey = await fetchAnswerKey(server.url, server.opsToken);
    const attempt = await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
      token: learner.token,
      body: { selectedClipId: answerKey.right('travel-01-k01') },
    });
    expect(attempt.status).toBe(200);
    expect(server.runtime.store.health().up).toBe(false);

    await old.stop();
    await redis.start();
    await waitFor(async () => (await cacheCheck()).status === 'ok', 15_000, 'the newer Redis to be used');
    await server.runtime.store.set('probe:after-upgrade', 'yes', 60);
    expect(await server.runtime.store.get('probe:after-upgrade')).toBe('yes');
  });
});
