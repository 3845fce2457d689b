/**
 * Where a CLI report comes from: the running server when there is one (the only
 * safe way with embedded PGlite), else the database opened here. Both paths give
 * the same JSON, so commands and the runbook facades print the same thing.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { OpsCall } from '../ops/server-link.js';
import type { Store } from '../store/open-store.js';

export type { OpsCall };

/**
 * Run `remote` through the running server (`url`, else the one started from this
 * DATA_DIR), or `local` against the database configured here when none runs.
 */
export async function onServerOrHere<T>(
  config: Config,
  url: string | undefined,
  remote: (call: OpsCall) => Promise<T>,
  local: (deps: { db: Db; store: Store }) => Promise<T>,
): Promise<T> {
  const { readLiveServer, opsRequest } = await import('../ops/server-link.js');
  const server = url ?? readLiveServer(config.dataDir)?.url;
  if (!server) return withLocalDatabase(config, local);
  const { readOpsToken } = await import('../ops/ops-token.js');
  const token = await readOpsToken(config);
  return remote((route, init) => opsRequest(server, route, token, init));
}

/** A report (any GET of the ops API) from the server, or made here. */
export function readReport<T>(
  config: Config,
  route: string,
  query: URLSearchParams,
  local: (deps: { db: Db; store: Store }) => Promise<T>,
  url?: string,
): Promise<T> {
  return onServerOrHere(config, url, (call) => call<T>(`${route}?${query}`), local);
}

/** The database and store configured here, migrated, for the length of `use`. */
export async function withLocalDatabase<T>(config: Config, use: (deps: { db: Db; store: Store }) => Promise<T>): Promise<T> {
  const [{ openDb }, { pendingMigrations }, { openStore }] = await Promise.all([
    import('../db/database.js'),
    import('../db/migrator.js'),
    import('../store/open-store.js'),
  ]);
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const store = openStore({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix });
  try {
    const pending = await pendingMigrations(db);
    if (pending.length > 0) throw new Error(`the database lacks ${pending.length} migration(s); run \`smartalk migrate\` first`);
    return await use({ db, store });
  } finally {
    await store.close();
    await db.close();
  }
}
