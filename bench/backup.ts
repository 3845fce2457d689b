/**
 * Backups and restore drills on a big database (BENCH_DATABASE_URL: an admin connection
 * to real PostgreSQL; the analytics benchmark's 1M learners and 10M events), in one run:
 *
 * 1. `backup create` (pg_dump -Fc in our exported snapshot, per-table counts and
 *    checksums beside it) next to plain `pg_dump -Fc` of the same database;
 * 2. `backup verify` (restore into a scratch database, checksums, migrations) next to
 *    plain `createdb` + `pg_restore -j2` of the same file;
 * 3. each diagnosis scenario's wall time on that database (aim: under 10 s).
 *
 *   BENCH_DATABASE_URL=postgres://postgres:…@localhost/postgres npm run bench -- backup
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/database.js';
import { loadMigrations } from '../src/db/migrator.js';
import { bytes } from '../src/format.js';
import { createBackup } from '../src/ops/backups/backup.js';
import { findPgTool, libpqEnv, runPgTool } from '../src/ops/backups/pg-tools.js';
import { restoreDrill } from '../src/ops/backups/restore-drill.js';
import { runDiagnosis } from '../src/ops/diagnose/diagnosis.js';
import { assembleDiagnoseDeps, SCENARIO_DEFINITIONS } from '../src/ops/diagnose/scenarios.js';
import { growEvents, reportDatabase } from './analytics.js';
import { freePort, machine, table } from './lib.js';

const EVENTS = Number(process.env.BENCH_CHECK_EVENTS ?? 10_000_000);

const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
};

export async function runBackupBench(): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) return '### Backups\n\nSet BENCH_DATABASE_URL (an admin connection to PostgreSQL) to run this benchmark.';
  const shared = await reportDatabase(adminUrl);
  await growEvents(shared, EVENTS);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-backup-'));
  const db = await openDb({ databaseUrl: shared, dataDir: dir });
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`);
    const major = Math.floor(Number(rows[0]?.num) / 10_000);
    const [pgDump, pgRestore] = await Promise.all([findPgTool('pg_dump', major), findPgTool('pg_restore', major)]);

    console.error('  pg_dump alone …');
    const plainFile = path.join(dir, 'plain.dump');
    const [, plainDumpMs] = await timed(() => runPgTool(pgDump, ['--format=custom', `--file=${plainFile}`], libpqEnv(shared)));
    console.error('  smartalk backup create …');
    const [created, oursDumpMs] = await timed(() => createBackup({ db, databaseUrl: shared, backupDir: path.join(dir, 'ours') }));

    console.error('  pg_restore alone …');
    await admin.query('DROP DATABASE IF EXISTS smartalk_bench_restore WITH (FORCE)');
    const [, plainRestoreMs] = await timed(async () => {
      await admin.query('CREATE DATABASE smartalk_bench_restore TEMPLATE template0');
      await runPgTool(
        pgRestore,
        ['--no-owner', '--no-privileges', '--jobs=2', '--dbname=smartalk_bench_restore', plainFile],
        libpqEnv(adminUrl, 'smartalk_bench_restore'),
      );
    });
    await admin.query('DROP DATABASE IF EXISTS smartalk_bench_restore WITH (FORCE)');
    console.error('  smartalk backup verify …');
    const [drill, oursVerifyMs] = await timed(async () =>
      restoreDrill(created.file, { databaseUrl: shared, migrations: await loadMigrations() }),
    );
    if (!drill.ok) throw new Error(`the drill failed: ${JSON.stringify(drill.steps)}`);

    const rowsTotal = created.manifest.tables.reduce((sum, t) => sum + t.rows, 0);
    const backupRows = [
      [
        'backup',
        `pg_dump -Fc`,
        (plainDumpMs / 1000).toFixed(1),
        bytes(statSync(plainFile).size),
        (oursDumpMs / 1000).toFixed(1),
        bytes(created.manifest.bytes),
        `${(oursDumpMs / plainDumpMs).toFixed(2)}×`,
      ],
      [
        'verify (restore drill)',
        'createdb + pg_restore -j2',
        (plainRestoreMs / 1000).toFixed(1),
        '',
        (oursVerifyMs / 1000).toFixed(1),
        `restore ${((drill.restoreMs ?? 0) / 1000).toFixed(1)} s`,
        `${(oursVerifyMs / plainRestoreMs).toFixed(2)}×`,
      ],
    ];

    console.error('  diagnoses …');
    const config = loadConfig({
      DATABASE_URL: shared,
      DATA_DIR: dir,
      LOG_FILE: path.join(dir, 'application.log'),
      SMARTALK_TZ: 'Asia/Shanghai',
    });
    // No server runs: app-down and video look at a closed port, as they would at 3 a.m.
    const url = `http://127.0.0.1:${await freePort()}`;
    const diagnosisRows: Array<Array<string | number>> = [];
    for (const [scenario, definition] of Object.entries(SCENARIO_DEFINITIONS)) {
      if (!definition) continue;
      const deps = await assembleDiagnoseDeps(config, { url });
      const [diagnosis, ms] = await timed(() => runDiagnosis(definition, deps, { lang: 'en' }));
      const slowest = [...diagnosis.findings].sort((a, b) => b.durationMs - a.durationMs)[0];
      diagnosisRows.push([scenario, (ms / 1000).toFixed(2), `${slowest?.id} ${slowest?.durationMs} ms`, diagnosis.worst]);
    }
    return [
      `### Backups and restore drills (${created.manifest.tables.length} tables, ${(rowsTotal / 1e6).toFixed(1)}M rows)`,
      '',
      `Machine: ${machine()}. PostgreSQL ${created.manifest.serverVersion}, ${pgDump.version}. One run each; the baselines are the PostgreSQL tools alone on the same database and file.`,
      '',
      table(['step', 'baseline', 'baseline s', 'baseline size', 'smartalk s', 'smartalk', 'vs baseline'], backupRows),
      '',
      'Diagnoses on the same database (no server running; aim: each under 10 s):',
      '',
      table(['scenario', 'wall s', 'slowest step', 'worst'], diagnosisRows),
    ].join('\n');
  } finally {
    await db.close();
    await admin.query('DROP DATABASE IF EXISTS smartalk_bench_restore WITH (FORCE)').catch(() => {});
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
