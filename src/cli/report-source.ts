/**
 * Where a CLI report comes from: the running server when there is one (the only
 * safe way with embedded PGlite), else the database opened here. Both paths give
 * the same JSON, so commands and the runbook facades print the same thing.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Store } from '../store/open-store.js';

export async function readReport<T>(
  config: Config,
  route: string,
  query: URLSearchParams,
  local: (deps: { db: Db; store: Store }) => Promise<T>,
  url?: string,
): Promise<T> {
  const { readLiveServer, opsGet } = await import('../ops/server-link.js');
  const server = url ?? readLiveServer(config.dataDir)?.url;
  if (server) {
    const { readOpsToken } = await import('../ops/ops-token.js');
    return opsGet<T>(server, `${route}?${query}`, await readOpsToken(config));
  }
  return withLocalDatabase(config, local);
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
