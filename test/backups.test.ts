/**
 * Backups and restore drills on the real engines: pg_dump/pg_restore against PostgreSQL
 * (a scratch database per drill), PGlite's own dump into a fresh PGlite. A good backup
 * passes its drill; a flipped byte, a truncated file, a lost manifest and a manifest that
 * disagrees with the dump each fail it, with the step that caught it.
 */
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/database.js';
import { loadMigrations, type Migration } from '../src/db/migrator.js';
import { createLogger } from '../src/logger.js';
import { type CreatedBackup, createBackup } from '../src/ops/backups/backup.js';
import { type BackupEntry, listBackups, manifestPathOf, retentionPlan } from '../src/ops/backups/backup-files.js';
import { backupJobs, runBackup } from '../src/ops/backups/jobs.js';
import { restoreDrill } from '../src/ops/backups/restore-drill.js';
import { backupStatus } from '../src/ops/backups/status.js';
import { runChecks } from '../src/ops/checks/runner.js';
import { Scheduler } from '../src/ops/schedule/scheduler.js';
import { requireBinaries } from './helpers/binaries.js';
import { waitFor } from './helpers/private-services.js';
import { api, createTestDatabase, onPostgres, startTestServer, type TestDatabase } from './helpers/server.js';
import { startHttpSink, webhookAlertsConfig } from './helpers/sinks.js';

let database: TestDatabase;
let db: Db;
let backupDir: string;
let migrations: Migration[];
let backup: CreatedBackup;

const needsTools = (context: Parameters<typeof requireBinaries>[0]) => {
  if (onPostgres()) requireBinaries(context, 'PostgreSQL backups use pg_dump and pg_restore', 'pg_dump', 'pg_restore');
};

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  backupDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-backups-'));
  migrations = await loadMigrations();
  // Rows in a partitioned table and in plain ones, text that needs care (quotes, Chinese, line breaks).
  const awkward = 'device-\'"\r\n中文\u2028';
  await sql`INSERT INTO users (id, device_id, platform, created_at)
    SELECT gen_random_uuid(), ${awkward} || g, 'ios', now() - make_interval(days => g % 20)
    FROM generate_series(1, 300) g`.execute(db.kysely);
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
  await rm(backupDir, { recursive: true, force: true });
});

const drill = (file: string) => restoreDrill(file, { databaseUrl: database.databaseUrl, migrations });
const stepOf = (result: Awaited<ReturnType<typeof drill>>, id: string) => result.steps.find((s) => s.id === id);

describe('backup create and verify', () => {
  it('writes a dump and a manifest that counts every table in the dump’s own snapshot', async (context) => {
    needsTools(context);
    const progress: number[] = [];
    backup = await createBackup(
      { db, databaseUrl: database.databaseUrl, backupDir },
      { onProgress: (done) => progress.push(done) },
    );
    const { manifest } = backup;
    expect(path.dirname(backup.file)).toBe(backupDir);
    expect(manifest.engine).toBe(db.engine);
    expect(manifest.bytes).toBe((await stat(backup.file)).size);
    expect(manifest.migrations.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
    const counted = await sql<{ n: number }>`SELECT count(*)::int AS n FROM users`.execute(db.kysely);
    expect(manifest.tables.find((t) => t.name === 'users')?.rows).toBe(counted.rows[0]?.n);
    expect(manifest.tables.find((t) => t.name === 'analytics_events')).toBeDefined();
    expect((await stat(backup.file)).mode & 0o077).toBe(0);
    if (onPostgres()) {
      expect(manifest.tool).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
      expect(progress.length).toBeGreaterThan(0);
    }
    const listed = await listBackups(backupDir);
    expect(listed.map((entry) => entry.file)).toEqual([backup.file]);
    expect(listed[0]?.manifest?.sha256).toBe(manifest.sha256);
  });

  it('a good backup passes its restore drill: counts, checksums and migrations match', async (context) => {
    needsTools(context);
    const result = await drill(backup.file);
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([
      ['manifest', 'pass'],
      ['sha256', 'pass'],
      ['restore', 'pass'],
      ['tables', 'pass'],
      ['migrations', 'pass'],
    ]);
    expect(result.ok).toBe(true);
    expect(result.restoreMs).toBeGreaterThan(0);
    expect(result.tables.checked).toBe(backup.manifest.tables.length);
    // Each step says it in both languages, with the same figures.
    const tables = stepOf(result, 'tables');
    expect(tables?.summary).toBe(
      `${result.tables.checked} tables, ${result.tables.rows} rows: counts and checksums match the manifest`,
    );
    expect(tables?.summaryZh).toBe(`${result.tables.checked} 张表、${result.tables.rows} 行：行数与校验和均与清单一致`);
  });

  it('one flipped byte fails the drill at the checksum of the file', async (context) => {
    needsTools(context);
    const copy = await copyBackup('corrupt');
    const handle = await open(copy, 'r+');
    const { size } = await handle.stat();
    const at = Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    await handle.write(byte, 0, 1, at);
    await handle.close();
    const result = await drill(copy);
    expect(result.ok).toBe(false);
    expect(stepOf(result, 'sha256')?.status).toBe('fail');
    expect(stepOf(result, 'sha256')?.evidence.join('\n')).toMatch(/sha256/);
  });

  it('a truncated file fails at the checksum and at the restore', async (context) => {
    needsTools(context);
    const copy = await copyBackup('truncated');
    await truncate(copy, Math.floor((await stat(copy)).size / 3));
    const result = await drill(copy);
    expect(result.ok).toBe(false);
    expect(stepOf(result, 'sha256')?.status).toBe('fail');
    expect(stepOf(result, 'restore')?.status).toBe('fail');
    expect(stepOf(result, 'restore')?.evidence[0]).toBeTruthy();
  });

  it('a backup without its manifest fails: nothing says what it should hold', async (context) => {
    needsTools(context);
    const copy = await copyBackup('orphan');
    await rm(manifestPathOf(copy));
    const result = await drill(copy);
    expect(result.ok).toBe(false);
    expect(stepOf(result, 'manifest')).toMatchObject({ status: 'fail' });
    expect(stepOf(result, 'manifest')?.summary).toMatch(/no manifest/);
  });

  it('a manifest whose counts disagree with the dump fails at the tables, naming the table', async (context) => {
    needsTools(context);
    const copy = await copyBackup('miscounted');
    const manifest = JSON.parse(await readFile(manifestPathOf(copy), 'utf8'));
    const users = manifest.tables.find((t: { name: string }) => t.name === 'users');
    users.rows += 1;
    await writeFile(manifestPathOf(copy), JSON.stringify(manifest));
    const result = await drill(copy);
    expect(result.ok).toBe(false);
    expect(stepOf(result, 'sha256')?.status).toBe('pass');
    expect(stepOf(result, 'tables')).toMatchObject({
      status: 'fail',
      summary: `1 of ${manifest.tables.length} tables differ from the manifest`,
      summaryZh: `${manifest.tables.length} 张表中有 1 张与清单不符`,
    });
    expect(stepOf(result, 'tables')?.evidence).toEqual([expect.stringMatching(/^users: \d+ rows restored, manifest says \d+/)]);
  });
});

describe('scheduled', () => {
  it('the daily backup and the Monday drill run from the schedule and land in the job log', async (context) => {
    needsTools(context);
    const scheduledDir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-backups-scheduled-'));
    const config = {
      databaseUrl: database.databaseUrl,
      tz: 'Asia/Shanghai',
      backups: {
        dir: scheduledDir,
        keepDaily: 7,
        keepWeekly: 4,
        copyCommand: undefined,
        schedule: '0 3 * * *',
        drillSchedule: '15 9 * * 1',
      },
    };
    // Sunday 2026-12-06 20:00 Shanghai, then through Monday morning.
    let now = new Date('2026-12-06T12:00:00Z');
    const silent = createLogger({ logFile: path.join(scheduledDir, 'log'), logLevel: 'silent' }, { stdout: false });
    const scheduler = new Scheduler({
      db,
      jobs: backupJobs({ db, config }),
      tz: config.tz,
      instance: 'test',
      logger: silent,
      now: () => now,
    });
    await scheduler.start({ timers: false });
    const ran: string[] = [];
    for (let step = 0; step < 30; step++) {
      now = new Date(now.getTime() + 30 * 60_000);
      for (const record of await scheduler.tick(now)) ran.push(`${record.job}@${record.slot}:${record.status}`);
    }
    expect(ran).toEqual([
      'backup@2026-12-06T19:00:00.000Z:success', // 03:00 Monday in Shanghai
      'backup.drill@2026-12-07T01:15:00.000Z:success', // 09:15
    ]);
    const status = await backupStatus(db);
    expect(status.lastRun?.status).toBe('success');
    expect(status.lastDrill?.details).toMatchObject({ status: 'success', drill: { ok: true } });
    await rm(scheduledDir, { recursive: true, force: true });
  });
});

describe('off-machine copy and retention after a backup', () => {
  it('copies each new backup with BACKUP_COPY_COMMAND; a failing copy fails the backup and prunes nothing', async (context) => {
    needsTools(context);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-backups-copy-'));
    const offsite = path.join(dir, 'offsite');
    const config = (copyCommand: string) => ({
      databaseUrl: database.databaseUrl,
      tz: 'UTC',
      backups: { dir: path.join(dir, 'local'), keepDaily: 1, keepWeekly: 1, copyCommand, schedule: null, drillSchedule: null },
    });
    const copied = await runBackup({
      db,
      config: config(`mkdir -p ${offsite} && cp "$BACKUP_FILE" "$BACKUP_MANIFEST" ${offsite}/`),
    });
    expect(copied).toMatchObject({ status: 'success', backup: { copy: { ok: true } } });
    const name = path.basename(copied.backup?.file as string);
    expect((await readFile(path.join(offsite, name))).length).toBe(copied.backup?.bytes);
    expect(JSON.parse(await readFile(path.join(offsite, `${name}.manifest.json`), 'utf8')).sha256).toBe(copied.backup?.sha256);

    // One second later (names are per second), a copy that fails: the backup is failed and the first one stays.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const failed = await runBackup({ db, config: config('echo "offsite is full" >&2; exit 3') });
    expect(failed).toMatchObject({
      status: 'failed',
      pruned: [],
      summary: expect.stringMatching(/the off-machine copy failed: offsite is full$/),
      summaryZh: expect.stringMatching(/异地复制失败：offsite is full$/),
    });
    expect((await listBackups(path.join(dir, 'local'))).map((entry) => entry.name)).toContain(name);
    await rm(dir, { recursive: true, force: true });
  });
});

/** A copy of the good backup (and its manifest) under a later name, to damage. */
async function copyBackup(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `smartalk-backup-${label}-`));
  const copy = path.join(dir, path.basename(backup.file));
  await copyFile(backup.file, copy);
  await copyFile(manifestPathOf(backup.file), manifestPathOf(copy));
  return copy;
}

describe('retention', () => {
  const entry = (iso: string, manifest = true): BackupEntry =>
    ({
      file: iso,
      name: iso,
      engine: 'postgres',
      at: new Date(iso),
      bytes: 1,
      manifest: manifest ? ({} as BackupEntry['manifest']) : null,
      problem: manifest ? null : 'no manifest',
    }) as BackupEntry;

  it('keeps the newest of each recent day and of each recent week, and drops the rest', () => {
    // Daily backups at 03:00 Shanghai for 40 days, plus a second one on the last day.
    const entries = Array.from({ length: 40 }, (_, i) => entry(new Date(Date.UTC(2026, 10, 30 - i, 19)).toISOString()));
    entries.unshift(entry('2026-11-30T23:00:00.000Z'));
    const plan = retentionPlan(entries, { keepDaily: 7, keepWeekly: 4 }, 'Asia/Shanghai', new Date('2026-12-01T00:00:00Z'));
    const kept = plan.keep.map((e) => e.file);
    // 7 newest days (the day with two keeps only its newest) …
    expect(kept.slice(0, 7)).toEqual(
      entries
        .slice(0, 8)
        .filter((_, i) => i !== 1)
        .map((e) => e.file)
        .slice(0, 7),
    );
    expect(kept).not.toContain(entries[1]?.file);
    // … and one per week for 4 weeks: only weeks older than the daily ones add files.
    expect(plan.keep.length).toBeGreaterThan(7);
    expect(plan.keep.length).toBeLessThanOrEqual(11);
    expect(plan.keep.length + plan.remove.length).toBe(entries.length);
    expect(plan.remove.every((e) => /beyond retention/.test(e.reason))).toBe(true);
  });

  it('keeps a dump without a manifest for a day (it may be being written), then removes it', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const fresh = entry('2026-12-01T03:00:00.000Z', false);
    const stale = entry('2026-11-29T03:00:00.000Z', false);
    const plan = retentionPlan([fresh, stale], { keepDaily: 7, keepWeekly: 4 }, 'UTC', now);
    expect(plan.keep).toEqual([fresh]);
    expect(plan.remove.map((e) => e.file)).toEqual([stale.file]);
  });
});

describe('a failing backup pages L1', () => {
  it('POST /ops/backups fails → job log → BackupFailed fires → the L1 webhook hears it; the morning check fails too', async () => {
    const sink = await startHttpSink();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-backup-alert-'));
    const alertsFile = path.join(dir, 'alerts.yml');
    await writeFile(alertsFile, webhookAlertsConfig(`${sink.url}/hook`));
    // A backup directory that cannot be made: a path under a regular file.
    const server = await startTestServer({
      env: { ALERTS_CONFIG: alertsFile, ALERT_INTERVAL_SECONDS: '1', BACKUP_DIR: path.join(alertsFile, 'backups') },
    });
    try {
      const { status, body } = await api(server.url, '/api/v1/ops/backups', { method: 'POST', body: {}, token: server.opsToken });
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'failed', summary: expect.stringMatching(/^backup failed: .*ENOTDIR/) });
      await waitFor(
        async () => sink.on('/hook').some((request) => JSON.stringify(request.body).includes('BackupFailed')),
        30_000,
        'BackupFailed at the L1 webhook',
      );
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^smartalk_backup_last_run_failed 1$/m);
      const check = await runChecks(server.runtime.checks, ['backup.status'], { lang: 'en' });
      expect(check.results[0]).toMatchObject({ status: 'fail', summary: 'the latest backup failed' });
      expect(check.results[0]?.evidence.join('\n')).toMatch(/ENOTDIR/);
      // The same run read in Chinese: the line the job log kept in Chinese.
      const zh = await runChecks(server.runtime.checks, ['backup.status'], { lang: 'zh-CN' });
      expect(zh.results[0]?.evidence).toContainEqual(expect.stringMatching(/^最近一次运行：failed — 备份失败：.*ENOTDIR/));
    } finally {
      await server.close();
      await sink.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
