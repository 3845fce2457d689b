/**
 * Start the real server for a test file: a private copy of the migrated, seeded
 * template database (PGlite or PostgreSQL), Redis when the run has one, a real
 * listening socket on a free port.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config.js';
import { type Db, openDb } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { type Runtime, startRuntime } from '../../src/server/runtime.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { withDatabase } from '../setup/global-setup.js';
import { waitFor } from './private-services.js';

export const template = () => inject('template');
export const onPostgres = () => template().engine === 'postgres';
export const hasRedis = () => template().redisUrl !== undefined;

export interface TestDatabase {
  dataDir: string;
  databaseUrl: string | undefined;
  /** Redis key prefix: instances on one database share it, as one deployment would. */
  redisPrefix: string;
  drop(): Promise<void>;
}

/** A fresh copy of the template database and a private DATA_DIR. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const tpl = template();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-test-'));
  const redisPrefix = `smartalk-test-${randomBytes(4).toString('hex')}:`;
  if (tpl.engine === 'pglite') {
    await cp(path.join(tpl.pgliteDataDir as string, 'pglite'), path.join(dataDir, 'pglite'), { recursive: true });
    return { dataDir, databaseUrl: undefined, redisPrefix, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `smartalk_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: tpl.adminUrl });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${tpl.templateDb}`);
        break;
      } catch (error) {
        // Two files copying the template at the same moment: wait and retry.
        if (attempt > 20 || !/being accessed by other users/.test((error as Error).message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
      }
    }
  } finally {
    await admin.end();
  }
  return {
    dataDir,
    redisPrefix,
    databaseUrl: withDatabase(tpl.adminUrl as string, name),
    drop: async () => {
      const client = new pg.Client({ connectionString: tpl.adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh test database, opened: close() closes it, then drops it. */
export async function openTestDb(): Promise<{ db: Db; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  return {
    db,
    close: async () => {
      await db.close();
      await database.drop();
    },
  };
}

/**
 * The stores a store-level test runs on: memory always, real Redis when the run has one
 * (under its own key prefix).
 */
export function storesUnderTest(prefix: string): Array<[kind: string, open: () => KeyValueStore]> {
  const redisUrl = template().redisUrl;
  const stores: Array<[kind: string, open: () => KeyValueStore]> = [['memory', () => new MemoryStore()]];
  if (redisUrl) {
    stores.push(['redis', () => new RedisStore(redisUrl, { keyPrefix: `${prefix}-${randomBytes(4).toString('hex')}:` })]);
  }
  return stores;
}

/** Resolves once the store answers a ping (a Redis client connects in the background, without an offline queue). */
export async function storeReachable(store: KeyValueStore): Promise<void> {
  await waitFor(async () => (await store.ping()) >= 0, 5_000, 'the store to answer a ping');
}

export interface TestServer {
  url: string;
  runtime: Runtime;
  config: Config;
  opsToken: string;
  database: TestDatabase;
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  /** Reuse a database (several instances on one database); otherwise a fresh copy. */
  database?: TestDatabase;
  /** Add test-only routes before the app starts listening. */
  extend?: (runtime: Runtime) => void;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const tpl = template();
  const env: Record<string, string> = {
    DATA_DIR: database.dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    OPS_TOKEN: 'test-ops-token-0123456789',
    // Simulated populations come from one address; rate limits have their own test.
    RATE_LIMIT_USERS_PER_MINUTE: '100000',
    RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000',
    REDIS_PREFIX: database.redisPrefix,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...(tpl.redisUrl ? { REDIS_URL: tpl.redisUrl } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const logger = createLogger(config, { stdout: false });
  const runtime = await startRuntime(config, logger);
  options.extend?.(runtime);
  const address = await runtime.app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: address,
    runtime,
    config,
    opsToken: runtime.opsToken,
    database,
    close: async () => {
      await runtime.close();
      logger.flush();
      if (!options.database) await database.drop();
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * A test server's log file, line by line, once the logger has written it: 300 ms after a
 * flush, and, when `until` is given, flushed and read again until it holds (up to 5 s) —
 * under a full suite's load the asynchronous destination can take longer than one fixed wait.
 */
export async function logLines(
  of: TestServer,
  until?: (lines: Array<Record<string, unknown>>) => boolean,
): Promise<Array<Record<string, unknown>>> {
  for (const deadline = Date.now() + 5_000; ; ) {
    of.runtime.logger.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lines = (await readFile(of.config.logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    if (!until || until(lines) || Date.now() > deadline) return lines;
  }
}

/** A JSON request; `body` may be a raw string to send malformed JSON. */
export async function api<T = any>(
  base: string,
  route: string,
  init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${route}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export interface Learner {
  userId: string;
  token: string;
}

export async function createLearner(base: string, deviceId = `device-${randomBytes(6).toString('hex')}`): Promise<Learner> {
  const res = await api<{ userId: string; token: string }>(base, '/api/v1/users', { body: { deviceId } });
  if (res.status !== 201 && res.status !== 200) throw new Error(`POST /users → ${res.status} ${res.text}`);
  return { userId: res.body.userId, token: res.body.token };
}
