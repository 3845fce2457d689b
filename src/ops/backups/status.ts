/**
 * Where the backups stand, from the job log (job_runs rows of the `backup` and
 * `backup.drill` jobs, scheduled or run by hand): the inputs of BackupStale and
 * BackupFailed, of the drill's gauges, and of the backup checks.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

export const BACKUP_JOB = 'backup';
export const DRILL_JOB = 'backup.drill';

export interface JobOutcome {
  status: string;
  finishedAt: Date;
  details: Record<string, unknown>;
}

export interface BackupStatus {
  /** When the last successful backup finished. */
  lastSuccess: Date | null;
  /** The latest finished backup run's status ('success' | 'failed'). */
  lastStatus: string | null;
  lastRun: JobOutcome | null;
  lastDrillSuccess: Date | null;
  lastDrill: JobOutcome | null;
}

export async function backupStatus(db: Db): Promise<BackupStatus> {
  const { rows } = await sql<{
    job: string;
    last_success: Date | null;
    status: string | null;
    finished_at: Date | null;
    details: Record<string, unknown> | null;
  }>`
    SELECT j.job,
      (SELECT max(finished_at) FROM job_runs WHERE job = j.job AND status = 'success') AS last_success,
      latest.status, latest.finished_at, latest.details
    FROM (VALUES (${BACKUP_JOB}), (${DRILL_JOB})) AS j(job)
    LEFT JOIN LATERAL (
      SELECT status, finished_at, details FROM job_runs
      WHERE job = j.job AND status <> 'running' ORDER BY finished_at DESC NULLS LAST LIMIT 1
    ) latest ON true`.execute(db.kysely);
  const of = (job: string) => rows.find((row) => row.job === job);
  const outcome = (job: string): JobOutcome | null => {
    const row = of(job);
    return row?.status && row.finished_at
      ? { status: row.status, finishedAt: new Date(row.finished_at), details: row.details ?? {} }
      : null;
  };
  const date = (value: Date | null | undefined) => (value ? new Date(value) : null);
  const lastRun = outcome(BACKUP_JOB);
  return {
    lastSuccess: date(of(BACKUP_JOB)?.last_success),
    lastStatus: lastRun?.status ?? null,
    lastRun,
    lastDrillSuccess: date(of(DRILL_JOB)?.last_success),
    lastDrill: outcome(DRILL_JOB),
  };
}
