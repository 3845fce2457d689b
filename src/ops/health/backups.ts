/**
 * Backup status from the job log (rows of job 'backup', written by backup runs): when
 * the last verified backup finished, and whether the latest run failed.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

export interface BackupStatus {
  lastSuccess: Date | null;
  lastStatus: string | null;
}

export async function backupStatus(db: Db): Promise<BackupStatus> {
  const { rows } = await sql<{ last_success: Date | null; last_status: string | null }>`
    SELECT (SELECT max(finished_at) FROM job_runs WHERE job = 'backup' AND status = 'success') AS last_success,
      (SELECT status FROM job_runs WHERE job = 'backup' AND status <> 'running'
        ORDER BY finished_at DESC NULLS LAST LIMIT 1) AS last_status`.execute(db.kysely);
  const row = rows[0];
  return { lastSuccess: row?.last_success ? new Date(row.last_success) : null, lastStatus: row?.last_status ?? null };
}
