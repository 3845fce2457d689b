/** `smartalk backup status|list` and GET /ops/backups: what is on disk and what the job log says. */

import { listBackups } from './backup-files.js';
import type { BackupJobDeps } from './jobs.js';
import { backupStatus, type JobOutcome } from './status.js';

export interface BackupListing {
  name: string;
  engine: string;
  at: string;
  bytes: number;
  /** Has a readable manifest: a finished backup. */
  complete: boolean;
  problem: string | null;
  tables: number | null;
  rows: number | null;
  migration: number | null;
}

export interface BackupOverview {
  dir: string;
  retention: { keepDaily: number; keepWeekly: number };
  schedule: { backup: string | null; drill: string | null; tz: string };
  lastSuccess: string | null;
  lastRun: (Omit<JobOutcome, 'finishedAt'> & { finishedAt: string }) | null;
  lastDrillSuccess: string | null;
  lastDrill: (Omit<JobOutcome, 'finishedAt'> & { finishedAt: string }) | null;
  backups: BackupListing[];
  totalBytes: number;
}

const outcome = (value: JobOutcome | null) => (value ? { ...value, finishedAt: value.finishedAt.toISOString() } : null);

export async function backupOverview(deps: BackupJobDeps): Promise<BackupOverview> {
  const { backups, tz } = deps.config;
  const [status, entries] = await Promise.all([backupStatus(deps.db), listBackups(backups.dir)]);
  return {
    dir: backups.dir,
    retention: { keepDaily: backups.keepDaily, keepWeekly: backups.keepWeekly },
    schedule: { backup: backups.schedule, drill: backups.drillSchedule, tz },
    lastSuccess: status.lastSuccess?.toISOString() ?? null,
    lastRun: outcome(status.lastRun),
    lastDrillSuccess: status.lastDrillSuccess?.toISOString() ?? null,
    lastDrill: outcome(status.lastDrill),
    backups: entries.map(listingOf),
    totalBytes: entries.reduce((sum, entry) => sum + entry.bytes, 0),
  };
}

export function listingOf(entry: Awaited<ReturnType<typeof listBackups>>[number]): BackupListing {
  const { manifest } = entry;
  return {
    name: entry.name,
    engine: entry.engine,
    at: entry.at.toISOString(),
    bytes: entry.bytes,
    complete: manifest !== null,
    problem: entry.problem,
    tables: manifest?.tables.length ?? null,
    rows: manifest ? manifest.tables.reduce((sum, table) => sum + table.rows, 0) : null,
    migration: manifest?.migrations.at(-1)?.version ?? null,
  };
}
