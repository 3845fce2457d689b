/**
 * `smartalk backup create`: a consistent dump and its manifest. On PostgreSQL, pg_dump
 * (custom format) reads a snapshot exported by our own repeatable-read transaction, which
 * meanwhile counts and checksums every table in that same snapshot — so the manifest
 * describes exactly the rows in the file, however busy the database is. On embedded
 * PGlite, its own data-directory dump, taken inside a transaction that holds every other
 * writer back for the moment it takes.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql, type Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { keepPrivate, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../files.js';
import { type BackupManifest, backupFileName, MANIFEST_FORMAT, sha256OfFile, writeManifest } from './backup-files.js';
import { findPgTool, libpqEnv, runPgTool } from './pg-tools.js';
import { appliedMigrations, dataTableCount, digestTables, type RunSql } from './table-digest.js';

const execFileAsync = promisify(execFile);

/** Progress of a long step: `done` of `total` (tables), the current one named. */
export type OnProgress = (done: number, total: number, label: string) => void;

export interface BackupTarget {
  db: Db;
  /** The connection string pg_dump uses (the same database as `db`); unset on PGlite. */
  databaseUrl: string | undefined;
  backupDir: string;
  /** A shell command that copies the backup off this machine ($BACKUP_FILE, $BACKUP_MANIFEST). */
  copyCommand?: string | undefined;
}

export interface CreatedBackup {
  file: string;
  manifest: BackupManifest;
  /** The off-machine copy, when a command is configured. */
  copy?: { command: string; ok: boolean; output: string };
}

const runIn =
  (trx: Transaction<Database>): RunSql =>
  async <R>(text: string) =>
    (await sql.raw(text).execute(trx)).rows as R[];

async function serverVersion(run: RunSql): Promise<{ version: string; major: number }> {
  const [row] = await run<{ version: string; num: string }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num`,
  );
  return { version: row?.version ?? 'unknown', major: Math.floor(Number(row?.num ?? 0) / 10_000) };
}

export async function createBackup(
  target: BackupTarget,
  options: { now?: () => Date; onProgress?: OnProgress; signal?: AbortSignal } = {},
): Promise<CreatedBackup> {
  const now = options.now ?? (() => new Date());
  const started = now();
  await mkdir(target.backupDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await keepPrivate(target.backupDir, 'dir');
  const file = path.join(target.backupDir, backupFileName(target.db.engine, started));
  const partial = `${file}.partial`;
  try {
    const taken =
      target.db.engine === 'postgres' ? await dumpPostgres(target, partial, options) : await dumpPglite(target.db, partial);
    await chmod(partial, PRIVATE_FILE_MODE); // pg_dump writes with the process umask
    await rename(partial, file);
    const { sha256, bytes } = await sha256OfFile(file);
    const finished = now();
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      file: path.basename(file),
      engine: target.db.engine,
      bytes,
      sha256,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      ...taken,
    };
    await writeManifest(file, manifest);
    const created: CreatedBackup = { file, manifest };
    if (target.copyCommand) created.copy = await copyOffMachine(target.copyCommand, file);
    return created;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

type Taken = Pick<BackupManifest, 'serverVersion' | 'tool' | 'migrations' | 'tables' | 'dataTables'>;

async function dumpPostgres(
  target: BackupTarget,
  out: string,
  options: { onProgress?: OnProgress; signal?: AbortSignal },
): Promise<Taken> {
  if (!target.databaseUrl) throw new Error('a PostgreSQL backup needs DATABASE_URL');
  const databaseUrl = target.databaseUrl;
  return target.db.kysely
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const run = runIn(trx);
      await run('SET TRANSACTION READ ONLY');
      const { version, major } = await serverVersion(run);
      const pgDump = await findPgTool('pg_dump', major);
      const [snapshot] = await run<{ id: string }>('SELECT pg_export_snapshot() AS id');
      const dataTables = await dataTableCount(run);
      const tableTotal =
        (
          await run<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
          )
        )[0]?.n ?? 0;
      // One bar over both halves: pg_dump's tables and our digests, which run side by side.
      let dumped = 0;
      let digested = 0;
      const total = dataTables + Number(tableTotal);
      const report = (label: string) => options.onProgress?.(dumped + digested, total, label);
      const dump = runPgTool(
        pgDump,
        ['--format=custom', '--verbose', `--snapshot=${snapshot?.id}`, `--file=${out}`],
        libpqEnv(databaseUrl),
        (line) => {
          const table = /dumping contents of table "?([^"\s]+)"?/.exec(line)?.[1];
          if (table) {
            dumped++;
            report(table);
          }
        },
        options.signal,
      );
      const digest = digestTables(run, 'transaction', (done, _total, name) => {
        digested = done;
        report(name);
      });
      const [dumpResult, digestResult, migrationsResult] = await Promise.allSettled([
        dump,
        digest,
        digest.then(() => appliedMigrations(run)),
      ]);
      for (const result of [dumpResult, digestResult, migrationsResult]) if (result.status === 'rejected') throw result.reason;
      return {
        serverVersion: version,
        tool: pgDump.version,
        dataTables,
        tables: (digestResult as PromiseFulfilledResult<BackupManifest['tables']>).value,
        migrations: (migrationsResult as PromiseFulfilledResult<BackupManifest['migrations']>).value,
      };
    });
}

async function dumpPglite(db: Db, out: string): Promise<Taken> {
  const pglite = db.pglite;
  if (!pglite) throw new Error('no embedded database to dump');
  // Our PGlite transactions hold its transaction mutex: no other caller writes between
  // the digests and the dump, which itself waits only for the query in flight.
  return db.kysely.transaction().execute(async (trx) => {
    const run = runIn(trx);
    const { version } = await serverVersion(run);
    const dataTables = await dataTableCount(run);
    const tables = await digestTables(run, 'transaction');
    const migrations = await appliedMigrations(run);
    const dump = await pglite.dumpDataDir('gzip');
    await writeFile(out, Buffer.from(await dump.arrayBuffer()), { mode: PRIVATE_FILE_MODE });
    return { serverVersion: version, tool: 'PGlite dumpDataDir (tar.gz)', dataTables, tables, migrations };
  });
}

async function copyOffMachine(command: string, file: string): Promise<NonNullable<CreatedBackup['copy']>> {
  try {
    const { stdout, stderr } = await execFileAsync('sh', ['-c', command], {
      env: { ...process.env, BACKUP_FILE: file, BACKUP_MANIFEST: `${file}.manifest.json` },
      timeout: 3_600_000,
      maxBuffer: 1 << 20,
    });
    return { command, ok: true, output: `${stdout}${stderr}`.trim().slice(-500) };
  } catch (error) {
    const failed = error as Error & { stderr?: string };
    return { command, ok: false, output: (failed.stderr || failed.message).trim().slice(-500) };
  }
}
