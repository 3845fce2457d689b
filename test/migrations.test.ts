/** Migrations: the same files on both engines, applied once even when instances race, frozen once applied. */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { DEFINITION_SETTINGS } from '../src/analytics/definitions.js';
import { assertDefinitionWindows } from '../src/analytics/report-queries.js';
import { openDb } from '../src/db/database.js';
import { loadMigrations, migrate, pendingMigrations } from '../src/db/migrator.js';
import { ensureEventPartitions, monthlyPartitions } from '../src/db/partitions.js';
import { createTestDatabase } from './helpers/server.js';

describe('migrations', () => {
  it('are numbered, and already applied to the template', async () => {
    const migrations = await loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
    const database = await createTestDatabase();
    const db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    try {
      expect(await pendingMigrations(db)).toEqual([]);
      const again = await migrate(db);
      expect(again.applied).toEqual([]);
      expect(again.alreadyApplied).toBe(migrations.length);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it('refuse to run when an applied migration was edited', async () => {
    const database = await createTestDatabase();
    const db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    try {
      const migrations = await loadMigrations();
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
      await expect(migrate(db, { migrations: edited })).rejects.toThrow(/001_initial was changed after it was applied/);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it('apply a new migration exactly once when two instances migrate at the same time', async () => {
    const database = await createTestDatabase();
    const a = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    // PGlite is one process; on PostgreSQL the second pool is a real second client.
    const b = database.databaseUrl ? await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir }) : a;
    try {
      const migrations = await loadMigrations();
      const extra = {
        version: 999,
        name: 'race_probe',
        sql: 'CREATE TABLE race_probe (id int PRIMARY KEY); INSERT INTO race_probe VALUES (1);',
        checksum: 'race',
      };
      const [ra, rb] = await Promise.all([
        migrate(a, { migrations: [...migrations, extra] }),
        migrate(b, { migrations: [...migrations, extra] }),
      ]);
      expect(ra.applied.length + rb.applied.length).toBe(1);
      const rows = await a.kysely.selectFrom('schema_migrations').select('version').where('version', '=', 999).execute();
      expect(rows).toHaveLength(1);
    } finally {
      if (b !== a) await b.close();
      await a.close();
      await database.drop();
    }
  });
});

describe('definition windows (migration 009)', () => {
  it('are made from analytics/definitions.ts, and start-up refuses a database built with other ones', async () => {
    const database = await createTestDatabase();
    const db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    try {
      await assertDefinitionWindows(db); // the template, migrated with DEFINITION_SETTINGS
      const migrations = await loadMigrations();
      const reapply = async (settings?: Record<string, string>) => {
        await sql`DELETE FROM schema_migrations WHERE version = 9`.execute(db.kysely);
        await sql`DROP FUNCTION IF EXISTS analytics_windows()`.execute(db.kysely);
        return migrate(db, { migrations, ...(settings ? { settings } : {}) });
      };
      await expect(reapply()).rejects.toThrow(/takes the funnel and activation windows from analytics\/definitions\.ts/);
      // A 14-day funnel: a second step on day 8 now counts, and the code's 7 days no longer match.
      await reapply({ ...DEFINITION_SETTINGS, funnel_window_days: '14' });
      const { rows } = await sql<{ level: number }>`
        SELECT analytics_funnel_level(t, t + interval '8 days', NULL, NULL, NULL, NULL, NULL, NULL) AS level
        FROM (SELECT now() AS t) x`.execute(db.kysely);
      expect(rows[0]?.level).toBe(2);
      await expect(assertDefinitionWindows(db)).rejects.toThrow(/funnel 14 days.*differ from analytics\/definitions\.ts \(7/);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});

describe('event partitions', () => {
  it('names monthly UTC ranges', () => {
    const ranges = monthlyPartitions(new Date('2026-01-15T00:00:00Z'), 1, 1);
    expect(ranges.map((r) => [r.name, r.from.toISOString(), r.to.toISOString()])).toEqual([
      ['analytics_events_y2025m12', '2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
      ['analytics_events_y2026m01', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
      ['analytics_events_y2026m02', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ]);
  });

  it('creates missing partitions ahead and routes rows into them', async () => {
    const database = await createTestDatabase();
    const db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    try {
      const far = new Date(Date.UTC(new Date().getUTCFullYear() + 2, 5, 10));
      const result = await ensureEventPartitions(db, far, { monthsBack: 0, monthsAhead: 0 });
      expect(result.created).toEqual([monthlyPartitions(far, 0, 0)[0]?.name]);
      expect((await ensureEventPartitions(db, far, { monthsBack: 0, monthsAhead: 0 })).created).toEqual([]);
      await db.kysely
        .insertInto('analytics_events')
        .values({ id: crypto.randomUUID(), name: 'app_launched', raw_name: 'app_launched', timestamp: far })
        .execute();
      const { rows } = await import('kysely').then(({ sql }) =>
        sql<{ relname: string }>`SELECT tableoid::regclass::text AS relname FROM analytics_events`.execute(db.kysely),
      );
      expect(rows.map((r) => r.relname)).toEqual(result.created);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
