/** 查看CDN缓存命中率 and 确认备份任务执行状态: the video edge's cache, and the backups. */
import { thresholdOf } from '../alerts/catalog.js';
import { cdnStats } from '../cdn.js';
import { backupStatus } from '../health/backups.js';
import { type CheckDefinition, percent } from './check.js';
import type { ChecksDeps } from './deps.js';

export const cdnHitRate: CheckDefinition<ChecksDeps> = {
  id: 'cdn.hit_rate',
  slot: 'morning',
  severity: 'info',
  title: { en: 'CDN cache hit ratio', zh: '查看CDN缓存命中率' },
  action: {
    en: 'Check the edge: `curl -I …/videos/<file>` should show X-Cache-Status HIT on a second request; look at Cache-Control of /videos and the edge cache size (runbook 问题3).',
    zh: '检查边缘节点：第二次 `curl -I …/videos/<文件>` 应返回 X-Cache-Status: HIT；检查 /videos 的 Cache-Control 与边缘缓存容量（运维指南 问题3）。',
  },
  run: async (deps, context) => {
    const file = deps.config.cdnAccessLog;
    if (!file) {
      return {
        status: 'skip',
        summary: context.t({ en: 'no edge access log configured (CDN_ACCESS_LOG)', zh: '未配置边缘访问日志（CDN_ACCESS_LOG）' }),
      };
    }
    const stats = await cdnStats(file, context.now.getTime()).catch((error: Error) => error);
    if (stats instanceof Error) {
      return {
        status: 'skip',
        summary: context.t({ en: `cannot read ${file}: ${stats.message}`, zh: `无法读取 ${file}：${stats.message}` }),
      };
    }
    const threshold = thresholdOf('CdnHitRateLow', 'ratio', deps.thresholds);
    const evidence = [
      context.t({
        en: `last hour: ${stats.hits} hits of ${stats.requests} cache lookups (threshold ${percent(threshold)})`,
        zh: `过去一小时：${stats.requests} 次缓存查找中命中 ${stats.hits} 次（阈值 ${percent(threshold)}）`,
      }),
    ];
    if (stats.ratio === null) {
      return {
        status: 'skip',
        summary: context.t({ en: 'no video requests in the last hour', zh: '过去一小时无视频请求' }),
        evidence,
      };
    }
    return {
      status: stats.ratio < threshold ? 'warn' : 'pass',
      summary: context.t({ en: `hit ratio ${percent(stats.ratio)}`, zh: `命中率 ${percent(stats.ratio)}` }),
      evidence,
      data: { ...stats, threshold },
    };
  },
};

export const backupState: CheckDefinition<ChecksDeps> = {
  id: 'backup.status',
  slot: 'morning',
  severity: 'warning',
  title: { en: 'Backup jobs ran', zh: '确认备份任务执行状态' },
  action: {
    en: 'Read the failed backup run (`smartalk ops schedule`, job_runs) and the log, fix the cause and run the backup again today.',
    zh: '查看失败的备份记录（`smartalk ops schedule`、job_runs）与日志，排除原因后当天重新备份。',
  },
  run: async (deps, context) => {
    const status = await backupStatus(deps.db);
    if (status.lastSuccess === null && status.lastStatus === null) {
      return {
        status: 'skip',
        summary: context.t({
          en: 'no backup has ever run here: scheduled backups come with the backups issue (smartalk backup)',
          zh: '尚无任何备份记录：定时备份随备份功能提供（smartalk backup）',
        }),
      };
    }
    // Stale at the age BackupStale fires (ALERTS_CONFIG overrides included).
    const maxAgeHours = thresholdOf('BackupStale', 'hours', deps.thresholds);
    const ageHours = status.lastSuccess ? (context.now.getTime() - status.lastSuccess.getTime()) / 3_600_000 : null;
    const evidence = [
      context.t({
        en: `last successful backup: ${status.lastSuccess?.toISOString() ?? 'never'}${ageHours !== null ? ` (${ageHours.toFixed(1)} h ago)` : ''}`,
        zh: `最近一次成功备份：${status.lastSuccess?.toISOString() ?? '从未'}${ageHours !== null ? `（${ageHours.toFixed(1)} 小时前）` : ''}`,
      }),
      context.t({ en: `latest run: ${status.lastStatus ?? '—'}`, zh: `最近一次运行：${status.lastStatus ?? '—'}` }),
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
