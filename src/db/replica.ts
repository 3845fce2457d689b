/**
 * Reads for reports on a streaming replica (DATABASE_REPLICA_URL), so the heavy report
 * and check queries leave the primary to the learners' writes.
 *
 * `reads.db` is a Db like any other; each connection it hands out comes from the
 * replica while the replica is fit — answering, and no further behind than
 * REPLICA_MAX_LAG_SECONDS — and from the primary otherwise. Fitness is probed every few
 * seconds; a replica that refuses a connection in between is marked down on the spot
 * and that very query goes to the primary, so a stopped replica costs no report.
 * Without a replica, `reads.db` is the primary itself.
 */
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { type Db, openDb, withinMs } from './database.js';
import type { Database } from './schema.js';

export type ReplicaState = 'none' | 'unknown' | 'ok' | 'lagging' | 'down';

export interface ReplicaStatus {
  state: ReplicaState;
  /** Seconds the replica's replay is behind (0 when it has replayed all it received), null when unknown. */
  lagSeconds: number | null;
  detail: string;
  checkedAt: string | null;
}

export interface ReadRouting {
  /** Where report and check queries go. */
  readonly db: Db;
  status(): ReplicaStatus;
  close(): Promise<void>;
}

const PROBE_EVERY_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_500;

/**
 * Lag as PostgreSQL's documentation measures it: nothing received left to replay is no
 * lag (an idle primary sends nothing, and the last replayed transaction then only
 * looks old); otherwise the age of the last transaction replayed.
 */
const LAG_QUERY = sql<{ recovery: boolean; lag: number | null }>`
  SELECT pg_is_in_recovery() AS recovery,
    CASE WHEN NOT pg_is_in_recovery() THEN 0
         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
         ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END::float8 AS lag`;

export async function openReadRouting(
  primary: Db,
  options: {
    replicaUrl: string | undefined;
    maxLagSeconds: number;
    dataDir: string;
    onStateChange?: (status: ReplicaStatus) => void;
  },
): Promise<ReadRouting> {
  if (!options.replicaUrl || primary.engine !== 'postgres') {
    const status: ReplicaStatus = { state: 'none', lagSeconds: null, detail: 'no replica configured', checkedAt: null };
    return { db: primary, status: () => status, close: async () => {} };
  }
  const replica = await openDb({
    databaseUrl: options.replicaUrl,
    dataDir: options.dataDir,
    poolMax: 5,
    onPoolError: () => {}, // the probe notices and reports it
  });
  let status: ReplicaStatus = { state: 'unknown', lagSeconds: null, detail: 'not probed yet', checkedAt: null };
  const set = (next: Omit<ReplicaStatus, 'checkedAt'>) => {
    const changed = next.state !== status.state;
    status = { ...next, checkedAt: new Date().toISOString() };
    if (changed) options.onStateChange?.(status);
  };
  const markDown = (error: unknown) =>
    set({
      state: 'down',
      lagSeconds: null,
      detail: `replica unreachable (${(error as Error).message.split('\n')[0]}); reports read the primary`,
    });

  const probe = async (): Promise<void> => {
    try {
      const { rows } = await withinMs(LAG_QUERY.execute(replica.kysely), PROBE_TIMEOUT_MS);
      const lag = rows[0]?.lag ?? null;
      if (lag !== null && lag > options.maxLagSeconds) {
        set({
          state: 'lagging',
          lagSeconds: lag,
          detail: `replica ${lag.toFixed(1)} s behind (more than ${options.maxLagSeconds} s); reports read the primary`,
        });
      } else {
        set({
          state: 'ok',
          lagSeconds: lag,
          detail: rows[0]?.recovery === false ? 'the replica URL names a primary (not in recovery)' : 'reports read the replica',
        });
      }
    } catch (error) {
      markDown(error);
    }
  };
  await probe();
  const timer = setInterval(() => void probe(), PROBE_EVERY_MS);
  timer.unref();

  const primaryPool = () => primary.pool as pg.Pool;
  const useReplica = () => status.state === 'ok';
  // Kysely asks this for each connection it needs: the replica's while fit, else the primary's.
  const router = {
    connect: async () => {
      if (useReplica()) {
        try {
          return await (replica.pool as pg.Pool).connect();
        } catch (error) {
          markDown(error);
        }
      }
      return primaryPool().connect();
    },
    end: async () => {},
  } as unknown as pg.Pool;
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: router }) });
  const db: Db = {
    engine: 'postgres',
    kysely,
    get pool() {
      return primary.pool;
    },
    pglite: undefined,
    executePrepared: <R>(name: string, query: CompiledQuery<R>) =>
      useReplica() ? kysely.executeQuery(query) : primary.executePrepared(name, query),
    prepareText: (name, text) => primary.prepareText(name, text),
    ping: (timeoutMs) => primary.ping(timeoutMs),
    close: async () => {},
  };
  return {
    db,
    status: () => status,
    close: async () => {
      clearInterval(timer);
      await kysely.destroy();
      await replica.close();
    },
  };
}
