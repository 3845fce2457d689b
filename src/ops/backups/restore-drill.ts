/**
 * `smartalk backup verify`: the restore drill. A backup is only as good as its last
 * restore, so this one restores it — into a scratch database on the same PostgreSQL
 * server (created and dropped here), or a fresh in-memory PGlite — and checks what came
 * back against the manifest: every table's row count and checksum, and the migrations
 * against the ones this code ships. The restore's duration is the recovery time the team
 * can promise. Every problem is a failed step with its evidence; the drill goes on past
 * one where it can, so a report shows everything wrong at once.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Migration } from '../../db/migrator.js';
import type { Bilingual } from '../../i18n.js';
import type { OnProgress } from './backup.js';
import { type BackupManifest, readManifest, sha256OfFile } from './backup-files.js';
import { findPgTool, libpqEnv, runPgTool } from './pg-tools.js';
import {
  appliedMigrations,
  compareDigests,
  type DigestMismatch,
  digestTables,
  type RunSql,
  type TableDigest,
} from './table-digest.js';

const gunzip = promisify(zlib.gunzip);

export type DrillStepId = 'manifest' | 'sha256' | 'restore' | 'tables' | 'migrations';

export interface DrillStep {
  id: DrillStepId;
  status: 'pass' | 'fail' | 'skip';
  summary: string;
  /** The summary in Chinese (the evidence lines stay as the tools wrote them). */
  summaryZh: string;
  evidence: string[];
}

export interface DrillResult {
  file: string;
  ok: boolean;
  steps: DrillStep[];
  /** How long the restore itself took: the recovery time to promise. */
  restoreMs: number | null;
  totalMs: number;
  tables: { checked: number; rows: number; mismatches: DigestMismatch[] };
}

export interface DrillOptions {
  /** A connection string to the PostgreSQL server that holds the scratch database (a PostgreSQL backup needs one). */
  databaseUrl: string | undefined;
  /** The migrations this code ships: the restored ones must match them. */
  migrations: Migration[];
  onProgress?: OnProgress;
  signal?: AbortSignal;
}

const describe = (mismatch: DigestMismatch) =>
  !mismatch.actual
    ? `${mismatch.table}: missing after restore (manifest: ${mismatch.expected?.rows} rows)`
    : !mismatch.expected
      ? `${mismatch.table}: restored but not in the manifest (${mismatch.actual.rows} rows)`
      : mismatch.actual.rows !== mismatch.expected.rows
        ? `${mismatch.table}: ${mismatch.actual.rows} rows restored, manifest says ${mismatch.expected.rows}`
        : `${mismatch.table}: ${mismatch.actual.rows} rows, but their checksum differs from the manifest's`;

export async function restoreDrill(file: string, options: DrillOptions): Promise<DrillResult> {
  const started = performance.now();
  const steps: DrillStep[] = [];
  const step = (id: DrillStepId, status: DrillStep['status'], summary: Bilingual, evidence: string[] = []) =>
    steps.push({ id, status, summary: summary.en, summaryZh: summary.zh, evidence });
  const result: DrillResult = {
    file,
    ok: false,
    steps,
    restoreMs: null,
    totalMs: 0,
    tables: { checked: 0, rows: 0, mismatches: [] },
  };

  const size = await stat(file).catch(() => null);
  if (!size) {
    step('manifest', 'fail', { en: `no backup file at ${file}`, zh: `${file} 处没有备份文件` });
    return finish(result, started);
  }
  const read = await readManifest(file);
  const manifest = 'manifest' in read ? read.manifest : null;
  if (manifest)
    step('manifest', 'pass', {
      en: `manifest of ${manifest.startedAt}: ${manifest.tables.length} tables, migration ${manifest.migrations.at(-1)?.version ?? 0}`,
      zh: `${manifest.startedAt} 的清单：${manifest.tables.length} 张表，迁移版本 ${manifest.migrations.at(-1)?.version ?? 0}`,
    });
  else
    step('manifest', 'fail', {
      en: `${path.basename(file)}: ${'problem' in read ? read.problem : ''} — its contents cannot be checked`,
      zh: `${path.basename(file)}：${'problem' in read ? read.problem : ''}——无法核对其内容`,
    });

  const { sha256, bytes } = await sha256OfFile(file);
  if (!manifest)
    step('sha256', 'skip', {
      en: `sha256 ${sha256} (${bytes} bytes): nothing to compare with`,
      zh: `sha256 ${sha256}（${bytes} 字节）：无可比对的清单`,
    });
  else if (manifest.sha256 === sha256 && manifest.bytes === bytes)
    step('sha256', 'pass', { en: `sha256 matches (${bytes} bytes)`, zh: `sha256 一致（${bytes} 字节）` });
  else {
    step(
      'sha256',
      'fail',
      {
        en: 'the file is not the one the backup wrote (corrupted or truncated)',
        zh: '该文件不是备份写出的那个（已损坏或被截断）',
      },
      [`manifest: ${manifest.bytes} bytes, sha256 ${manifest.sha256}`, `file:     ${bytes} bytes, sha256 ${sha256}`],
    );
  }

  const engine = manifest?.engine ?? (file.endsWith('.dump') ? 'postgres' : 'pglite');
  const restoreStarted = performance.now();
  try {
    const restored =
      engine === 'postgres'
        ? await restoreIntoScratchPostgres(file, manifest, options)
        : await restoreIntoFreshPglite(file, options);
    result.restoreMs = restored.restoreMs;
    step('restore', 'pass', {
      en: `restored in ${(restored.restoreMs / 1000).toFixed(1)} s into ${restored.where.en}`,
      zh: `${(restored.restoreMs / 1000).toFixed(1)} 秒内恢复到${restored.where.zh}`,
    });
    checkContents(result, manifest, restored, options.migrations);
  } catch (error) {
    result.restoreMs = null;
    const after = ((performance.now() - restoreStarted) / 1000).toFixed(1);
    step('restore', 'fail', { en: `the restore failed after ${after} s`, zh: `恢复在 ${after} 秒后失败` }, [
      (error as Error).message,
    ]);
  }
  return finish(result, started);
}

function finish(result: DrillResult, started: number): DrillResult {
  result.totalMs = performance.now() - started;
  result.ok =
    result.steps.length > 0 && result.steps.every((s) => s.status !== 'fail') && result.steps.some((s) => s.id === 'restore');
  return result;
}

interface Restored {
  restoreMs: number;
  where: Bilingual;
  tables: TableDigest[];
  migrations: BackupManifest['migrations'];
}

function checkContents(result: DrillResult, manifest: BackupManifest | null, restored: Restored, shipped: Migration[]): void {
  const step = (id: DrillStepId, status: DrillStep['status'], summary: Bilingual, evidence: string[] = []) =>
    result.steps.push({ id, status, summary: summary.en, summaryZh: summary.zh, evidence });
  result.tables.checked = restored.tables.length;
  result.tables.rows = restored.tables.reduce((sum, t) => sum + t.rows, 0);
  if (!manifest) {
    step('tables', 'skip', {
      en: `${restored.tables.length} tables, ${result.tables.rows} rows restored; no manifest to compare with`,
      zh: `已恢复 ${restored.tables.length} 张表、${result.tables.rows} 行；无清单可比对`,
    });
  } else {
    const mismatches = compareDigests(manifest.tables, restored.tables);
    result.tables.mismatches = mismatches;
    if (mismatches.length === 0) {
      step('tables', 'pass', {
        en: `${restored.tables.length} tables, ${result.tables.rows} rows: counts and checksums match the manifest`,
        zh: `${restored.tables.length} 张表、${result.tables.rows} 行：行数与校验和均与清单一致`,
      });
    } else {
      step(
        'tables',
        'fail',
        {
          en: `${mismatches.length} of ${manifest.tables.length} tables differ from the manifest`,
          zh: `${manifest.tables.length} 张表中有 ${mismatches.length} 张与清单不符`,
        },
        mismatches.map(describe),
      );
    }
  }
  const byVersion = new Map(shipped.map((m) => [m.version, m]));
  const problems: string[] = [];
  for (const applied of restored.migrations) {
    const code = byVersion.get(applied.version);
    if (!code) problems.push(`migration ${applied.version} (${applied.name}) is newer than this code`);
    else if (code.checksum !== applied.checksum)
      problems.push(`migration ${applied.version} (${applied.name}): checksum differs from the shipped file`);
  }
  if (manifest && JSON.stringify(manifest.migrations) !== JSON.stringify(restored.migrations)) {
    problems.push('the restored schema_migrations differ from the manifest');
  }
  const level = restored.migrations.at(-1)?.version ?? 0;
  const pending = shipped.filter((m) => m.version > level).length;
  if (problems.length > 0)
    step('migrations', 'fail', { en: `${problems.length} migration problems`, zh: `迁移问题 ${problems.length} 个` }, problems);
  else {
    step('migrations', 'pass', {
      en: `migration level ${level}, checksums match the shipped files${pending > 0 ? `; ${pending} newer migrations would run after a restore` : ''}`,
      zh: `迁移版本 ${level}，校验和与发布的文件一致${pending > 0 ? `；恢复后将运行 ${pending} 个更新的迁移` : ''}`,
    });
  }
}

/** What a restored database holds: every table's digest and its migrations. */
async function readRestored(run: RunSql, options: DrillOptions): Promise<Pick<Restored, 'tables' | 'migrations'>> {
  const tables = await digestTables(run, 'session', (done, all, name) => options.onProgress?.(done, all, `checksum ${name}`));
  return { tables, migrations: await appliedMigrations(run) };
}

/** Restore a custom-format dump into a new database on the same server, digest it, drop it. */
async function restoreIntoScratchPostgres(
  file: string,
  manifest: BackupManifest | null,
  options: DrillOptions,
): Promise<Restored> {
  if (!options.databaseUrl) throw new Error('a PostgreSQL backup is restored into a scratch database: set DATABASE_URL');
  const scratch = `smartalk_drill_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: options.databaseUrl, application_name: 'smartalk-drill' });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`);
    const pgRestore = await findPgTool('pg_restore', Math.floor(Number(rows[0]?.num) / 10_000));
    await admin.query(`CREATE DATABASE ${scratch} TEMPLATE template0`);
    try {
      const restoreStarted = performance.now();
      let restoredTables = 0;
      const total = manifest?.dataTables ?? 0;
      await runPgTool(
        pgRestore,
        ['--no-owner', '--no-privileges', '--exit-on-error', '--verbose', '--jobs=2', `--dbname=${scratch}`, file],
        libpqEnv(options.databaseUrl, scratch),
        (line) => {
          const table = /processing data for table "?([^"\s]+)"?/.exec(line)?.[1];
          if (table) options.onProgress?.(++restoredTables, Math.max(total, restoredTables), table);
        },
        options.signal,
      );
      const restoreMs = performance.now() - restoreStarted;
      const url = new URL(options.databaseUrl);
      url.pathname = `/${scratch}`;
      const client = new pg.Client({ connectionString: url.toString(), application_name: 'smartalk-drill' });
      await client.connect();
      try {
        const run: RunSql = async <R>(text: string) => (await client.query(text)).rows as R[];
        return {
          restoreMs,
          where: { en: `scratch database ${scratch}`, zh: `临时数据库 ${scratch}` },
          ...(await readRestored(run, options)),
        };
      } finally {
        await client.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

/** Load PGlite's data-directory dump into a new in-memory PGlite, digest it, close it. */
async function restoreIntoFreshPglite(file: string, options: DrillOptions): Promise<Restored> {
  const restoreStarted = performance.now();
  // Unzipped here, where a damaged stream is an error we catch (inside PGlite it escapes
  // as an unhandled rejection); the gzip trailer's CRC vouches for the tar it held.
  const tar = await gunzip(await readFile(file)).catch((error: Error) => {
    throw new Error(`the dump does not decompress: ${error.message}`);
  });
  const pglite = await PGlite.create({ loadDataDir: new Blob([tar]) });
  try {
    const restoreMs = performance.now() - restoreStarted;
    const run: RunSql = async <R>(text: string) => (await pglite.query<R>(text)).rows;
    return {
      restoreMs,
      where: { en: 'a fresh in-memory PGlite', zh: '全新的内存 PGlite' },
      ...(await readRestored(run, options)),
    };
  } finally {
    await pglite.close();
  }
}
