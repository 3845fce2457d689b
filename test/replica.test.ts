/**
 * DATABASE_REPLICA_URL: reports read a real streaming replica (pg_basebackup -R) while it
 * is fit; one paused behind the lag limit, or stopped, sends them to the primary, and a
 * replica that comes back is read again — without a restart.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBinaries } from './helpers/binaries.js';
import {
  type PrivatePostgres,
  startPrivatePostgres,
  startPrivateReplica,
  waitFor,
  withClient,
} from './helpers/private-services.js';
import { api, startTestServer, type TestServer } from './helpers/server.js';

let primary: PrivatePostgres | undefined;
let replica: PrivatePostgres | undefined;
let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  replica?.destroy();
  primary?.destroy();
});

/** Seconds of lag past which the replica is not read. */
const MAX_LAG = 3;

describe('read replica for reports', () => {
  it('reads the replica while fit, the primary while it lags or is down, and the replica again once back', async (context) => {
    requireBinaries(context, 'streaming replica test', 'initdb', 'pg_ctl', 'pg_basebackup');
    primary = await startPrivatePostgres();
    replica = await startPrivateReplica(primary);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-replica-'));
    server = await startTestServer({
      database: {
        dataDir,
        databaseUrl: primary.url,
        redisPrefix: `smartalk-replica-${randomUUID().slice(0, 8)}:`,
        drop: () => rm(dataDir, { recursive: true, force: true }),
      },
      env: { DATABASE_REPLICA_URL: replica.url, REPLICA_MAX_LAG_SECONDS: String(MAX_LAG) },
    });
    const base = server.url;
    const ops = server.opsToken;
    const replicaState = async () => (await api(base, '/api/v1/health')).body.checks.replica;
    const launched = async () => (await api(base, '/api/v1/ops/metrics-report', { token: ops })).body.funnel[0].users as number;
    const launch = async (device: string) => {
      const sent = await api(base, '/api/v1/analytics/events', {
        method: 'POST',
        token: ops,
        body: { events: [{ id: randomUUID(), name: 'app_launched', timestamp: new Date().toISOString(), deviceId: device }] },
      });
      expect(sent.body.accepted).toBe(1);
    };
    const replicaClient = new pg.Client({ connectionString: replica.url });
    await replicaClient.connect();
    const replayed = async () => {
      const { rows } = await replicaClient.query<{ caught: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught', [
        (await primaryLsn(primary as PrivatePostgres)) as string,
      ]);
      return rows[0]?.caught === true;
    };

    expect(await replicaState()).toMatchObject({ status: 'ok', state: 'ok', detail: 'reports read the replica' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^smartalk_db_replica_in_use 1$/m);
    expect(metrics).toMatch(/^smartalk_db_replica_lag_seconds \d/m);

    await launch('replica-device-1');
    await waitFor(replayed, 10_000, 'the replica to replay the first event');
    expect(await launched()).toBe(1);

    // Replay paused: the primary has the second event, the replica does not — and the
    // report, read from the replica, does not show it yet. That is the proof it reads there.
    await replicaClient.query('SELECT pg_wal_replay_pause()');
    await launch('replica-device-2');
    expect(await launched()).toBe(1);
    // Behind by more than the limit: reports go to the primary and see it.
    await waitFor(async () => (await replicaState()).state === 'lagging', 20_000, 'the replica to count as lagging');
    expect(await launched()).toBe(2);
    await replicaClient.query('SELECT pg_wal_replay_resume()');
    await waitFor(async () => (await replicaState()).state === 'ok', 20_000, 'the replica to be read again');
    await replicaClient.end();

    // Stopped: the very next report goes to the primary, health says so, no restart needed.
    replica.stop();
    await launch('replica-device-3');
    expect(await launched()).toBe(3);
    // (health's answer is cached for a second)
    await waitFor(async () => (await replicaState()).state === 'down', 3_000, 'health to show the replica down');
    expect(await replicaState()).toMatchObject({
      status: 'degraded',
      detail: expect.stringMatching(/reports read the primary$/),
    });
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^smartalk_db_replica_in_use 0$/m);
    replica.start();
    await waitFor(async () => (await replicaState()).state === 'ok', 20_000, 'the restarted replica to be read again');
    expect(await launched()).toBe(3);
  });
});

const primaryLsn = (primary: PrivatePostgres): Promise<string | undefined> =>
  withClient(
    primary.url,
    async (client) => (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn,
  );
