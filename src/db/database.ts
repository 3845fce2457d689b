/**
 * One query interface over two engines: PostgreSQL through `pg` when
 * DATABASE_URL is set, PGlite (PostgreSQL in WASM, in process) under DATA_DIR
 * otherwise. Both speak the same SQL; callers only see `Db`.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { type CompiledQuery, Kysely, PostgresDialect, type QueryResult, sql } from 'kysely';
import pg from 'pg';
import { isAlive } from '../process.js';
import { pgliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type DbEngine = 'postgres' | 'pglite';

export interface Db {
  readonly engine: DbEngine;
  readonly kysely: Kysely<Database>;
  /** The pg pool, for COPY and pool statistics; undefined on PGlite. */
  readonly pool: pg.Pool | undefined;
  /** The PGlite instance, for its dump; undefined on PostgreSQL. */
  readonly pglite: PGlite | undefined;
  /**
   * Run a hot statement as a named prepared statement on PostgreSQL (planned once
   * per connection instead of per call); on PGlite, as usual. The name must be
   * unique to the SQL text.
   */
  executePrepared<R>(name: string, query: CompiledQuery<R>): Promise<QueryResult<R>>;
  /**
   * The same for a statement run through Kysely on any connection — inside a transaction
   * too, where executePrepared cannot reach: once its SQL text is registered here, every
   * run of it is a named prepared statement on PostgreSQL. No-op on PGlite.
   */
  prepareText(name: string, sqlText: string): void;
  /** Round-trip `SELECT 1`; resolves with the latency in ms, rejects when unreachable. */
  ping(timeoutMs?: number): Promise<number>;
  /**
   * The runbook's 重置连接池: later queries get a fresh pg pool; the old one closes its idle
   * connections now and each busy one when its query returns. Undefined on PGlite.
   */
  resetPool?(): Promise<PoolReset>;
  close(): Promise<void>;
}

export interface PoolReset {
  /** The old pool's connections when it was replaced. */
  before: { total: number; idle: number; waiting: number };
}

/** The runbook's pool settings (连接池优化): max 20, idle 30 s, connect timeout 2 s. */
export const POOL_SETTINGS = { max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 2_000 } as const;

// int8 (counts, bigserial) and numeric as JS numbers on both engines: every value
// we store fits in 2^53, and one representation keeps the SQL identical.
const INT8 = 20;
const NUMERIC = 1700;
const DATE = 1082;
const toNumber = (value: string) => Number(value);
const keepText = (value: string) => value;

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Called when the pg pool reports an error on an idle client (the server went away). */
  onPoolError?: (error: Error) => void;
  /** Pool size override (tests and benchmarks); defaults to the runbook's 20. */
  poolMax?: number;
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options) : openPglite(options.dataDir);
}

function openPostgres(connectionString: string, options: OpenDbOptions): Db {
  const parsers: Record<number, (value: string) => unknown> = {
    [INT8]: toNumber,
    [NUMERIC]: toNumber,
    [DATE]: keepText,
  };
  const makePool = () => {
    const pool = new pg.Pool({
      connectionString,
      ...POOL_SETTINGS,
      max: options.poolMax ?? POOL_SETTINGS.max,
      application_name: 'smartalk',
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          parsers[oid] ?? pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client whose server restarts emits 'error' on the pool; unhandled, it
    // would crash the process. The pool replaces the client on the next checkout.
    pool.on('error', (error) => options.onPoolError?.(error));
    // A client checked out between two statements of a transaction (a background fold, a
    // scheduled job) emits 'error' on itself, where the pool is not listening: the same
    // crash. Its next statement fails instead, and the pool drops it when it comes back.
    pool.on('connect', (client) => {
      client.on('error', (error) => options.onPoolError?.(error));
    });
    return pool;
  };
  let pool = makePool();
  /** Registered statements (prepareText): SQL text → statement name. */
  const prepared = new Map<string, string>();
  const preparing = new WeakSet<pg.PoolClient>();
  /**
   * Make a connection run the registered texts as named statements. pg hands the same
   * client out again and again: it is wrapped once. Kysely calls query(text, values).
   */
  const withPrepared = (client: pg.PoolClient): pg.PoolClient => {
    if (preparing.has(client)) return client;
    preparing.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const [text, values] = args;
      const name = typeof text === 'string' && args.length === 2 ? prepared.get(text) : undefined;
      return name ? query({ name, text, values }) : query(...args);
    };
    return client;
  };
  // Kysely keeps the pool it is given for good; it gets this stand-in, which hands out
  // connections of whichever pool is current, so a reset needs no new Kysely.
  const current = {
    connect: async () => withPrepared(await pool.connect()),
    end: () => pool.end(),
    get Client() {
      return (pool as unknown as { Client: unknown }).Client;
    },
    get options() {
      return pool.options;
    },
  } as unknown as pg.Pool;
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: current }) });
  return {
    engine: 'postgres',
    kysely,
    get pool() {
      return pool;
    },
    pglite: undefined,
    executePrepared: async <R>(name: string, query: CompiledQuery<R>) => {
      const result = await pool.query({ name, text: query.sql, values: [...query.parameters] });
      return { rows: result.rows as R[] };
    },
    prepareText: (name, sqlText) => {
      prepared.set(sqlText, name);
    },
    ping: (timeoutMs) => timedPing(kysely, timeoutMs),
    resetPool: async () => {
      const old = pool;
      const before = { total: old.totalCount, idle: old.idleCount, waiting: old.waitingCount };
      pool = makePool();
      // Not awaited: end() settles when the last busy connection comes back.
      old.end().catch(() => {});
      return { before };
    },
    close: once(() => kysely.destroy()),
  };
}

/** Closing twice (a shutdown racing a test's own close) must not throw: the pool ends once. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}

/** Thrown when another live process holds the embedded database. */
export class DatabaseInUseError extends Error {
  constructor(readonly pid: number) {
    super(
      `the embedded database in this DATA_DIR is open in process ${pid} (a running server?); ` +
        'PGlite allows one process at a time: stop it, or use a command that goes through the server',
    );
    this.name = 'DatabaseInUseError';
  }
}

/** A pid file beside the PGlite directory: a second process opening it would corrupt it. */
async function lockPglite(dataDir: string): Promise<() => Promise<void>> {
  const lockFile = path.join(dataDir, 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      return () => rm(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DatabaseInUseError(holder);
      }
      await rm(lockFile, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`cannot lock ${lockFile}`);
}

async function openPglite(dataDir: string): Promise<Db> {
  const dir = path.join(dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const unlock = await lockPglite(dataDir);
  let pglite: PGlite;
  try {
    // Loaded only for the embedded engine: a server on PostgreSQL never holds it.
    const { PGlite, types: pgliteTypes } = await import('@electric-sql/pglite');
    pglite = await PGlite.create({
      dataDir: dir,
      parsers: { [pgliteTypes.INT8]: toNumber, [pgliteTypes.NUMERIC]: toNumber, [pgliteTypes.DATE]: keepText },
    });
  } catch (error) {
    await unlock();
    throw error;
  }
  const kysely = new Kysely<Database>({ dialect: pgliteDialect(pglite) });
  return {
    engine: 'pglite',
    kysely,
    pool: undefined,
    pglite,
    executePrepared: (_name, query) => kysely.executeQuery(query),
    prepareText: () => {},
    ping: (timeoutMs) => timedPing(kysely, timeoutMs),
    close: once(async () => {
      await kysely.destroy();
      if (!pglite.closed) await pglite.close();
      await unlock();
    }),
  };
}

async function timedPing(kysely: Kysely<Database>, timeoutMs = 2_000): Promise<number> {
  const started = performance.now();
  await withinMs(sql`SELECT 1`.execute(kysely), timeoutMs);
  return performance.now() - started;
}

/** `work`, or a rejection when it has not settled within `timeoutMs` (a server that does not answer). */
export async function withinMs<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// SQLSTATE classes and codes that mean "the database is not there", as opposed to
// "the query was wrong": connection exceptions, shutdown, starting up, too many clients.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'database did not answer',
  'Cannot use a pool after calling end',
  'PGlite is closed',
];

/** True when an error means the database is unreachable (answer 503), not that a query is bad. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  if (error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)) return true;
  return UNAVAILABLE_MESSAGES.some((fragment) => error.message.includes(fragment));
}
