/**
 * Migrate and seed one database per test run, then let every test file copy it
 * (a PGlite data directory copied with cp, or CREATE DATABASE … TEMPLATE on
 * PostgreSQL) instead of paying PGlite's ~10 s initdb or the migrations again.
 *
 * TEST_DATABASE_URL (an admin connection to a PostgreSQL server) and TEST_REDIS_URL
 * switch the suite to real PostgreSQL and Redis; .ci/run runs it both ways.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { DEFINITION_SETTINGS } from '../../src/analytics/definitions.js';
import { openDb } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import { ensureEventPartitions } from '../../src/db/partitions.js';
import { seedContent } from '../../src/learning/seed.js';

export interface TestTemplate {
  engine: 'pglite' | 'postgres';
  /** PGlite: a DATA_DIR whose pglite/ holds the migrated, seeded database. */
  pgliteDataDir?: string;
  /** PostgreSQL: admin URL and the name of the template database. */
  adminUrl?: string;
  templateDb?: string;
  redisUrl?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    template: TestTemplate;
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** The CLI tests run the compiled command; build it when a file is run on its own. */
function ensureBuilt(): void {
  if (existsSync(new URL('../../dist/cli/main.js', import.meta.url))) return;
  execFileSync('npm', ['run', 'build'], { cwd: new URL('../../', import.meta.url), stdio: 'inherit' });
}

export default async function setup(project: TestProject) {
  ensureBuilt();
  const adminUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (adminUrl) {
    const templateDb = `smartalk_tpl_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
    await admin.query(`CREATE DATABASE ${templateDb}`);
    const db = await openDb({ databaseUrl: withDatabase(adminUrl, templateDb), dataDir: os.tmpdir() });
    await migrate(db, { settings: DEFINITION_SETTINGS });
    await ensureEventPartitions(db, new Date());
    await seedContent(db);
    await db.close();
    project.provide('template', { engine: 'postgres', adminUrl, templateDb, ...(redisUrl ? { redisUrl } : {}) });
    console.log(`[test] real PostgreSQL (${templateDb})${redisUrl ? ' and Redis' : ''}`);
    return async () => {
      // Test databases are dropped by their files; drop any left behind by a crash, then the template.
      const left = await admin.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'smartalk_t\\_%' ESCAPE '\\'",
      );
      for (const row of left.rows) await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
      await admin.query(`DROP DATABASE IF EXISTS ${templateDb} WITH (FORCE)`);
      await admin.end();
    };
  }
  const pgliteDataDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-tpl-'));
  const db = await openDb({ dataDir: pgliteDataDir });
  await migrate(db, { settings: DEFINITION_SETTINGS });
  await ensureEventPartitions(db, new Date());
  await seedContent(db);
  await db.close();
  project.provide('template', { engine: 'pglite', pgliteDataDir, ...(redisUrl ? { redisUrl } : {}) });
  console.log(`[test] embedded PGlite${redisUrl ? ' and real Redis' : ''}`);
  return async () => {
    await rm(pgliteDataDir, { recursive: true, force: true });
  };
}
