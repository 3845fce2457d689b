/**
 * A backup run and a drill run as the job log records them, whether the scheduler
 * started them or a person did (`smartalk backup create|verify`): one row of job_runs
 * each, so the metrics, alerts and checks see both the same way.
 */
import os from 'node:os';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { loadMigrations } from '../../db/migrator.js';
import { bytes } from '../../format.js';
import type { Bilingual } from '../../i18n.js';
import { type JobStatus, manualSlot, type ScheduledJob } from '../schedule/scheduler.js';
import { type CreatedBackup, createBackup, type OnProgress } from './backup.js';
import { type BackupEntry, listBackups, removeBackup, retentionPlan } from './backup-files.js';
import { type DrillResult, restoreDrill } from './restore-drill.js';
import { BACKUP_JOB, DRILL_JOB } from './status.js';

export interface BackupJobDeps {
  db: Db;
  config: Pick<Config, 'databaseUrl' | 'tz' | 'backups'>;
}

export interface BackupRun {
  status: JobStatus;
  /** One line for the ops log and the terminal, in English and in Chinese. */
  summary: string;
  summaryZh: string;
  backup?: Pick<CreatedBackup, 'file' | 'copy'> & {
    bytes: number;
    durationMs: number;
    tables: number;
    rows: number;
    sha256: string;
  };
  pruned: Array<{ file: string; reason: string }>;
  error?: string;
}

export interface DrillRun {
  status: JobStatus;
  summary: string;
  summaryZh: string;
  drill?: DrillResult;
  error?: string;
}

/** A run's line in both languages (the job log keeps both; each reader picks one). */
const said = (summary: string, summaryZh: string) => ({ summary, summaryZh });

/**
 * A recorded run's or drill step's line, both languages, for a reader to pick from: what the
 * job log holds is JSON, and a run recorded before there was a Chinese line has English only.
 */
export function summaryOf(run: { summary?: unknown; summaryZh?: unknown } | undefined): Bilingual | undefined {
  if (typeof run?.summary !== 'string') return undefined;
  return { en: run.summary, zh: typeof run.summaryZh === 'string' ? run.summaryZh : run.summary };
}

/** Back up now, copy it off the machine when configured, then apply retention. Never throws: a failure is a result. */
export async function runBackup(
  deps: BackupJobDeps,
  options: { onProgress?: OnProgress; signal?: AbortSignal } = {},
): Promise<BackupRun> {
  const { backups } = deps.config;
  let created: CreatedBackup;
  try {
    created = await createBackup(
      { db: deps.db, databaseUrl: deps.config.databaseUrl, backupDir: backups.dir, copyCommand: backups.copyCommand },
      options,
    );
  } catch (error) {
    const message = (error as Error).message;
    return { status: 'failed', ...said(`backup failed: ${message}`, `备份失败：${message}`), pruned: [], error: message };
  }
  const { manifest } = created;
  const backup = {
    file: created.file,
    bytes: manifest.bytes,
    durationMs: manifest.durationMs,
    tables: manifest.tables.length,
    rows: manifest.tables.reduce((sum, table) => sum + table.rows, 0),
    sha256: manifest.sha256,
    ...(created.copy ? { copy: created.copy } : {}),
  };
  // Retention runs after a good backup only: a failing backup never deletes older ones.
  const pruned = created.copy?.ok === false ? [] : await prune(deps.config, new Date());
  const seconds = (manifest.durationMs / 1000).toFixed(1);
  const line = `${manifest.file}: ${bytes(manifest.bytes)}, ${backup.tables} tables, ${backup.rows} rows in ${seconds} s`;
  const lineZh = `${manifest.file}：${bytes(manifest.bytes)}，${backup.tables} 张表、${backup.rows} 行，用时 ${seconds} 秒`;
  if (created.copy && !created.copy.ok) {
    return {
      status: 'failed',
      ...said(`${line}; the off-machine copy failed: ${created.copy.output}`, `${lineZh}；异地复制失败：${created.copy.output}`),
      backup,
      pruned,
      error: created.copy.output,
    };
  }
  return {
    status: 'success',
    ...said(
      `${line}${pruned.length ? `; ${pruned.length} old backups removed` : ''}`,
      `${lineZh}${pruned.length ? `；已删除 ${pruned.length} 个旧备份` : ''}`,
    ),
    backup,
    pruned,
  };
}

/** Remove what retention does not keep (it reads only the directory, never the database). */
export async function prune(
  config: BackupJobDeps['config'],
  now: Date,
  apply = true,
): Promise<Array<{ file: string; reason: string }>> {
  const { backups, tz } = config;
  const plan = retentionPlan(
    await listBackups(backups.dir),
    { keepDaily: backups.keepDaily, keepWeekly: backups.keepWeekly },
    tz,
    now,
  );
  if (apply) for (const entry of plan.remove) await removeBackup(entry);
  return plan.remove.map((entry) => ({ file: entry.file, reason: entry.reason }));
}

/** The newest backup in the directory (complete or not: a broken newest backup must fail its drill). */
export async function latestBackup(dir: string): Promise<BackupEntry | undefined> {
  return (await listBackups(dir))[0];
}

/** Restore-drill `file`, or the newest backup. Never throws. */
export async function runDrill(
  deps: BackupJobDeps,
  file?: string,
  options: { onProgress?: OnProgress; signal?: AbortSignal } = {},
): Promise<DrillRun> {
  const target = file ?? (await latestBackup(deps.config.backups.dir))?.file;
  if (!target) {
    return {
      status: 'failed',
      ...said(`no backup to drill in ${deps.config.backups.dir}`, `${deps.config.backups.dir} 中没有可演练的备份`),
      error: 'no backup',
    };
  }
  try {
    const drill = await restoreDrill(target, {
      databaseUrl: deps.config.databaseUrl,
      migrations: await loadMigrations(),
      ...options,
    });
    const failed = drill.steps.filter((step) => step.status === 'fail');
    const name = target.split('/').pop();
    const restoreSeconds = ((drill.restoreMs ?? 0) / 1000).toFixed(1);
    return drill.ok
      ? {
          status: 'success',
          ...said(
            `${name}: restored in ${restoreSeconds} s, ${drill.tables.checked} tables and ${drill.tables.rows} rows match the manifest`,
            `${name}：${restoreSeconds} 秒内恢复，${drill.tables.checked} 张表、${drill.tables.rows} 行与清单一致`,
          ),
          drill,
        }
      : {
          status: 'failed',
          ...said(
            `${name}: ${failed.map((step) => `${step.id}: ${step.summary}`).join('; ')}`,
            `${name}：${failed.map((step) => `${step.id}：${step.summaryZh}`).join('；')}`,
          ),
          drill,
        };
  } catch (error) {
    const message = (error as Error).message;
    return { status: 'failed', ...said(`drill failed: ${message}`, `演练失败：${message}`), error: message };
  }
}

/** The daily backup and the weekly drill, for the scheduler (each off when its schedule is). */
export function backupJobs(deps: BackupJobDeps): ScheduledJob[] {
  const { schedule, drillSchedule } = deps.config.backups;
  const jobs: ScheduledJob[] = [];
  const job = (id: string, cron: string, description: Bilingual, run: () => Promise<{ status: JobStatus } & object>) =>
    jobs.push({
      id,
      cron,
      description,
      run: async () => {
        const result = await run();
        return { status: result.status, details: result as unknown as Record<string, unknown> };
      },
    });
  if (schedule) job(BACKUP_JOB, schedule, { en: 'Database backup', zh: '数据库备份' }, () => runBackup(deps));
  if (drillSchedule) {
    job(DRILL_JOB, drillSchedule, { en: 'Backup restore drill', zh: '备份恢复演练' }, () => runDrill(deps));
  }
  return jobs;
}

/**
 * Record a run made by hand in the job log, so BackupStale/BackupFailed and the checks
 * count it. Its slot is its start time (sorting among the scheduled ones) marked manual.
 */
export async function recordManualRun(
  db: Db,
  job: typeof BACKUP_JOB | typeof DRILL_JOB,
  startedAt: Date,
  run: { status: JobStatus } & object,
  instance = `${os.hostname()}:${process.pid}`,
): Promise<void> {
  await db.kysely
    .insertInto('job_runs')
    .values({
      job,
      slot: manualSlot(startedAt),
      instance,
      status: run.status,
      started_at: startedAt,
      finished_at: new Date(),
      details: JSON.stringify({ manual: true, ...run }),
    })
    .execute();
}
