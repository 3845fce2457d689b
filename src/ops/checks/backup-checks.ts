/**
 * 确认备份任务执行状态 (every morning) and 验证备份恢复流程 (Monday): read from the job log,
 * which records scheduled and manual backups and restore drills alike.
 */
import { localTime } from '../../format.js';
import { thresholdOf } from '../alerts/catalog.js';
import { summaryOf } from '../backups/jobs.js';
import { backupStatus } from '../backups/status.js';
import type { CheckContext, CheckDefinition } from './check.js';
import type { ChecksDeps } from './deps.js';

/** A drill older than this misses a Monday: the weekly drill did not run. */
const DRILL_MAX_AGE_DAYS = 8;

/** A recorded run's (or drill step's) line in the check's language. */
const lineOf = (recorded: Parameters<typeof summaryOf>[0], context: CheckContext): string | undefined => {
  const said = summaryOf(recorded);
  return said && context.t(said);
};

export const backupState: CheckDefinition<ChecksDeps> = {
  id: 'backup.status',
  slot: 'morning',
  severity: 'warning',
  title: { en: 'Backup jobs ran', zh: '确认备份任务执行状态' },
  action: {
    en: 'Read the failed run (`smartalk backup status`, the log), fix the cause (disk space in BACKUP_DIR, pg_dump version, the copy command) and run `smartalk backup create` today.',
    zh: '查看失败记录（`smartalk backup status`、日志），排除原因（BACKUP_DIR 磁盘空间、pg_dump 版本、异地复制命令）后当天执行 `smartalk backup create`。',
  },
  run: async (deps, context) => {
    const status = await backupStatus(deps.db);
    if (status.lastSuccess === null && status.lastStatus === null) {
      return {
        status: 'warn',
        summary: context.t({
          en: 'no backup has run yet: run `smartalk backup create`, or wait for BACKUP_SCHEDULE',
          zh: '尚未有任何备份：执行 `smartalk backup create`，或等待 BACKUP_SCHEDULE 定时备份',
        }),
      };
    }
    // Stale at the age BackupStale fires (ALERTS_CONFIG overrides included).
    const maxAgeHours = thresholdOf('BackupStale', 'hours', deps.thresholds);
    const ageHours = status.lastSuccess ? (context.now.getTime() - status.lastSuccess.getTime()) / 3_600_000 : null;
    const latest = lineOf(status.lastRun?.details, context);
    const evidence = [
      context.t({
        en: `last successful backup: ${status.lastSuccess ? localTime(status.lastSuccess, deps.config.tz) : 'never'}${ageHours !== null ? ` (${ageHours.toFixed(1)} h ago)` : ''}`,
        zh: `最近一次成功备份：${status.lastSuccess ? localTime(status.lastSuccess, deps.config.tz) : '从未'}${ageHours !== null ? `（${ageHours.toFixed(1)} 小时前）` : ''}`,
      }),
      context.t({ en: `latest run: ${status.lastStatus ?? '—'}`, zh: `最近一次运行：${status.lastStatus ?? '—'}` }) +
        (latest ? ` — ${latest}` : ''),
    ];
    const failed = status.lastStatus === 'failed';
    const stale = ageHours === null || ageHours > maxAgeHours;
    return {
      status: failed || stale ? 'fail' : 'pass',
      summary: failed
        ? context.t({ en: 'the latest backup failed', zh: '最近一次备份失败' })
        : stale
          ? context.t({ en: `no successful backup in ${maxAgeHours} h`, zh: `${maxAgeHours} 小时内无成功备份` })
          : context.t({ en: `last backup ${ageHours?.toFixed(1)} h ago`, zh: `最近备份于 ${ageHours?.toFixed(1)} 小时前` }),
      evidence,
      data: { lastSuccess: status.lastSuccess?.toISOString() ?? null, lastStatus: status.lastStatus, ageHours },
    };
  },
};

export const backupRestoreDrill: CheckDefinition<ChecksDeps> = {
  id: 'backup.restore_drill',
  slot: 'monday',
  severity: 'warning',
  title: { en: 'Backup restore drill', zh: '验证备份恢复流程' },
  action: {
    en: "Run `smartalk backup verify` and read the failed step: sha256 (the file was damaged: take a new backup), restore (pg_restore's error), tables (counts or checksums differ: the backup is not trustworthy), migrations.",
    zh: '执行 `smartalk backup verify` 并查看失败的步骤：sha256（文件损坏：重新备份）、restore（pg_restore 报错）、tables（行数或校验和不符：该备份不可信）、migrations。',
  },
  run: async (deps, context) => {
    const { lastDrill, lastDrillSuccess } = await backupStatus(deps.db);
    if (!lastDrill) {
      return {
        status: 'warn',
        summary: context.t({
          en: 'no restore drill has run yet: run `smartalk backup verify` (BACKUP_DRILL_SCHEDULE runs it weekly)',
          zh: '尚未进行恢复演练：执行 `smartalk backup verify`（BACKUP_DRILL_SCHEDULE 每周自动执行）',
        }),
      };
    }
    const drill = lastDrill.details.drill as
      | {
          restoreMs: number | null;
          steps: Array<{ id: string; status: string; summary: string; summaryZh?: string; evidence: string[] }>;
        }
      | undefined;
    const evidence = [
      `${localTime(lastDrill.finishedAt, deps.config.tz)} ${lastDrill.status}: ${lineOf(lastDrill.details, context) ?? ''}`,
      ...(drill?.steps ?? [])
        .filter((step) => step.status === 'fail')
        .flatMap((step) => [`${step.id}: ${lineOf(step, context) ?? ''}`, ...step.evidence.map((line) => `  ${line}`)]),
    ];
    if (lastDrill.status === 'failed') {
      return {
        status: 'fail',
        summary: context.t({ en: 'the latest restore drill failed', zh: '最近一次恢复演练失败' }),
        evidence,
      };
    }
    const ageDays = lastDrillSuccess
      ? (context.now.getTime() - lastDrillSuccess.getTime()) / 86_400_000
      : Number.POSITIVE_INFINITY;
    const restoreSeconds = drill?.restoreMs != null ? drill.restoreMs / 1000 : null;
    if (ageDays > DRILL_MAX_AGE_DAYS) {
      return {
        status: 'warn',
        summary: context.t({
          en: `the last good restore drill is ${ageDays.toFixed(0)} days old`,
          zh: `最近一次成功的恢复演练已是 ${ageDays.toFixed(0)} 天前`,
        }),
        evidence,
      };
    }
    return {
      status: 'pass',
      summary: context.t({
        en: `restored and matched ${ageDays.toFixed(1)} days ago; restore took ${restoreSeconds?.toFixed(1) ?? '—'} s`,
        zh: `${ageDays.toFixed(1)} 天前恢复并核对一致；恢复耗时 ${restoreSeconds?.toFixed(1) ?? '—'} 秒`,
      }),
      evidence,
      data: { restoreSeconds, ageDays },
    };
  },
};
