/**
 * The backup directory: one dump per backup and its manifest beside it
 * (`smartalk-postgres-20261201T030000Z.dump` + `….dump.manifest.json`). A dump without
 * a manifest is an unfinished or broken backup: it never counts as one.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DbEngine } from '../../db/database.js';
import { PRIVATE_FILE_MODE } from '../../files.js';
import { isoDay, localDay } from '../../time.js';
import type { TableDigest } from './table-digest.js';

export const MANIFEST_FORMAT = 1;

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  /** The dump's file name, in the same directory. */
  file: string;
  engine: DbEngine;
  bytes: number;
  sha256: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The database server's version (`SHOW server_version`). */
  serverVersion: string;
  /** What wrote the dump: `pg_dump (PostgreSQL) 15.10`, or PGlite's data-directory dump. */
  tool: string;
  /** The migrations applied in the dumped database (schema_migrations at the snapshot). */
  migrations: Array<{ version: number; name: string; checksum: string }>;
  /** Tables holding rows, partitions counted one by one: what a restore steps through. */
  dataTables: number;
  tables: TableDigest[];
}

const BACKUP_NAME = /^smartalk-(postgres|pglite)-(\d{8}T\d{6}Z)\.(dump|tar\.gz)$/;

export const manifestPathOf = (file: string) => `${file}.manifest.json`;

/** `smartalk-postgres-20261201T030000Z.dump`: sortable by time, engine in the name. */
export function backupFileName(engine: DbEngine, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `smartalk-${engine}-${stamp}.${engine === 'postgres' ? 'dump' : 'tar.gz'}`;
}

export async function sha256OfFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export async function writeManifest(file: string, manifest: BackupManifest): Promise<void> {
  await writeFile(manifestPathOf(file), `${JSON.stringify(manifest, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
}

/** The manifest of a dump, or why there is none usable. */
export async function readManifest(file: string): Promise<{ manifest: BackupManifest } | { problem: string }> {
  let text: string;
  try {
    text = await readFile(manifestPathOf(file), 'utf8');
  } catch (error) {
    return { problem: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no manifest' : (error as Error).message };
  }
  try {
    const manifest = JSON.parse(text) as BackupManifest;
    if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.tables) || typeof manifest.sha256 !== 'string') {
      return { problem: `manifest is not a SmarTalk backup manifest (format ${String(manifest.format)})` };
    }
    return { manifest };
  } catch {
    return { problem: 'manifest is not valid JSON' };
  }
}

export interface BackupEntry {
  file: string;
  name: string;
  engine: DbEngine;
  /** When the backup started (from its name). */
  at: Date;
  bytes: number;
  manifest: BackupManifest | null;
  problem: string | null;
}

/** Every backup in `dir`, newest first. */
export async function listBackups(dir: string): Promise<BackupEntry[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    // Not there (yet), or not a directory: no backups, which the status shows, not an error.
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [] as string[];
    throw error;
  });
  const entries: BackupEntry[] = [];
  for (const name of names) {
    const match = BACKUP_NAME.exec(name);
    if (!match) continue;
    const file = path.join(dir, name);
    const stamp = match[2] as string;
    const at = new Date(
      `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
    );
    const info = await stat(file).catch(() => null);
    if (!info) continue;
    const read = await readManifest(file);
    entries.push({
      file,
      name,
      engine: match[1] as DbEngine,
      at,
      bytes: info.size,
      manifest: 'manifest' in read ? read.manifest : null,
      problem: 'problem' in read ? read.problem : null,
    });
  }
  return entries.sort((a, b) => b.at.getTime() - a.at.getTime() || b.name.localeCompare(a.name));
}

export interface Retention {
  keepDaily: number;
  keepWeekly: number;
}

/** Monday of the ISO week a local day falls in: weeks are kept by it. */
const weekOf = (day: number) => day - ((new Date(day * 86_400_000).getUTCDay() + 6) % 7);

/**
 * Which backups to keep: the newest of each of the last `keepDaily` days that have one,
 * and the newest of each of the last `keepWeekly` weeks (days in `tz`). A dump without
 * a manifest is kept for a day (a backup may be writing it), then removed.
 */
export function retentionPlan(
  entries: BackupEntry[],
  retention: Retention,
  tz: string,
  now: Date,
): { keep: BackupEntry[]; remove: Array<BackupEntry & { reason: string }> } {
  const keep = new Set<BackupEntry>();
  const reasons = new Map<BackupEntry, string>();
  const complete = entries.filter((entry) => entry.manifest).sort((a, b) => b.at.getTime() - a.at.getTime());
  const pick = (bucketOf: (day: number) => number, count: number) => {
    const seen = new Set<number>();
    for (const entry of complete) {
      const bucket = bucketOf(localDay(entry.at.getTime(), tz));
      if (seen.has(bucket)) continue;
      if (seen.size >= count) break;
      seen.add(bucket);
      keep.add(entry);
    }
  };
  pick((day) => day, retention.keepDaily);
  pick(weekOf, retention.keepWeekly);
  for (const entry of entries) {
    if (keep.has(entry)) continue;
    if (!entry.manifest) {
      if (now.getTime() - entry.at.getTime() < 86_400_000) keep.add(entry);
      else reasons.set(entry, `no manifest (${entry.problem ?? 'incomplete'}) for over a day`);
      continue;
    }
    reasons.set(
      entry,
      `beyond retention (${retention.keepDaily} daily, ${retention.keepWeekly} weekly; ${isoDay(localDay(entry.at.getTime(), tz))})`,
    );
  }
  return {
    keep: entries.filter((entry) => keep.has(entry)),
    remove: entries.filter((entry) => !keep.has(entry)).map((entry) => ({ ...entry, reason: reasons.get(entry) ?? '' })),
  };
}

/** Remove a backup and its manifest. */
export async function removeBackup(entry: BackupEntry): Promise<void> {
  await rm(entry.file, { force: true });
  await rm(manifestPathOf(entry.file), { force: true });
}
