/**
 * Plain numbered SQL migrations (db/migrations/NNN_name.sql), the same files on
 * both engines. Each runs in its own transaction; a session advisory lock keeps
 * two instances starting together from applying the same file twice. Applied
 * files are frozen: a changed checksum stops start-up instead of drifting.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from './database.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

// Arbitrary constant shared by every SmarTalk instance: "smartalk" in ASCII, folded to int4.
const MIGRATION_LOCK_ID = 0x736d6172;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  alreadyApplied: number;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`migration file name must look like 001_name.sql: ${file}`);
    const text = await readFile(path.join(dir, file), 'utf8');
    const version = Number(match[1]);
    if (migrations.at(-1)?.version === version) throw new Error(`two migrations numbered ${match[1]}`);
    migrations.push({
      version,
      name: match[2] ?? file,
      sql: text,
      checksum: createHash('sha256').update(text).digest('hex'),
    });
  }
  return migrations;
}

// Advisory locks are per session and PGlite is one session, so callers in one process
// also queue here.
const inProcess = new WeakMap<Db, Promise<unknown>>();

export interface MigrateOptions {
  migrations?: Migration[];
  /** SMARTALK_TZ, for migrations that derive calendar days from stored times (`smartalk.tz`). */
  tz?: string;
  /**
   * Values migrations read as `smartalk.<name>`: definitions that live in code and that
   * SQL functions are made from (analytics/definitions.ts: DEFINITION_SETTINGS).
   */
  settings?: Readonly<Record<string, string>>;
}

/** Apply every pending migration, in order. Safe to call from several instances at once. */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrationResult> {
  const all = options.migrations ?? (await loadMigrations());
  const previous = inProcess.get(db) ?? Promise.resolve();
  const settings = { ...options.settings, ...(options.tz ? { tz: options.tz } : {}) };
  const run = previous.catch(() => {}).then(() => migrateLocked(db, all, settings));
  inProcess.set(db, run);
  return run;
}

async function migrateLocked(db: Db, all: Migration[], settings: Record<string, string>): Promise<MigrationResult> {
  return db.kysely.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
    try {
      await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`.execute(conn);
      const rows = await conn.selectFrom('schema_migrations').select(['version', 'name', 'checksum']).execute();
      const done = new Map(rows.map((row) => [row.version, row]));
      const applied: Migration[] = [];
      for (const migration of all) {
        const existing = done.get(migration.version);
        if (existing) {
          if (existing.checksum !== migration.checksum) {
            throw new Error(
              `migration ${String(migration.version).padStart(3, '0')}_${migration.name} was changed after it was applied; add a new migration instead`,
            );
          }
          continue;
        }
        await conn.transaction().execute(async (trx) => {
          for (const [name, value] of Object.entries(settings)) {
            await sql`SELECT set_config(${`smartalk.${name}`}, ${value}, true)`.execute(trx);
          }
          await sql.raw(migration.sql).execute(trx);
          await trx
            .insertInto('schema_migrations')
            .values({ version: migration.version, name: migration.name, checksum: migration.checksum })
            .execute();
        });
        applied.push(migration);
      }
      return { applied, alreadyApplied: done.size };
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
    }
  });
}

/** Migrations in the repository that the database has not applied yet. */
export async function pendingMigrations(db: Db, migrations?: Migration[]): Promise<Migration[]> {
  const all = migrations ?? (await loadMigrations());
  const exists = await sql<{ exists: boolean }>`SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`.execute(db.kysely);
  if (!exists.rows[0]?.exists) return all;
  const rows = await db.kysely.selectFrom('schema_migrations').select('version').execute();
  const done = new Set(rows.map((row) => row.version));
  return all.filter((migration) => !done.has(migration.version));
}
