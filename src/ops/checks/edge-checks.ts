import { percent } from '../../format.js';
/** 查看CDN缓存命中率 and 确认备份任务执行状态: the video edge's cache, and the backups. */
import { thresholdOf } from '../alerts/catalog.js';
import { cacheLookups, cdnStats } from '../cdn.js';
import { backupStatus } from '../health/backups.js';
import type { CheckDefinition } from './check.js';
import type { ChecksDeps } from './deps.js';
import { sampleVideo } from './system-checks.js';

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

/** What a video response must say for an edge to keep it (video-routes.ts sends exactly this). */
const VIDEO_CACHE_CONTROL = /\bmax-age=(\d+)/;
const VIDEO_MIN_MAX_AGE_SECONDS = 86_400;

export const cdnCacheStrategy: CheckDefinition<ChecksDeps> = {
  id: 'cdn.cache_strategy',
  slot: 'wednesday',
  severity: 'info',
  title: { en: 'CDN cache strategy', zh: '检查CDN缓存策略效果' },
  action: {
    en: 'A kind of file the edge keeps missing: check its Cache-Control at the origin and the edge cache size (proxy_cache_path max_size) and inactive time; videos must say a long max-age.',
    zh: '某类文件在边缘频繁未命中：检查源站返回的 Cache-Control、边缘缓存容量（proxy_cache_path max_size）与 inactive 时间；视频必须带较长的 max-age。',
  },
  run: async (deps, context) => {
    const { config } = deps;
    const evidence: string[] = [];
    const statuses: Array<'pass' | 'warn'> = [];
    // What the origin tells caches about a video: the strategy's first half.
    const video = await sampleVideo(deps);
    if (video) {
      for (const [name, base] of [
        ['origin', config.publicUrl],
        ['edge', config.cdnBaseUrl],
      ] as const) {
        if (!base) continue;
        const answer = await fetch(`${base}/videos/${video}`, {
          method: 'HEAD',
          signal: AbortSignal.timeout(3_000),
        }).catch((error: Error) => error);
        if (answer instanceof Error) {
          evidence.push(`${name}: HEAD /videos/${video} → ${answer.message}`);
          continue;
        }
        const cacheControl = answer.headers.get('cache-control') ?? '';
        const maxAge = Number(VIDEO_CACHE_CONTROL.exec(cacheControl)?.[1] ?? 0);
        const ok = answer.ok && maxAge >= VIDEO_MIN_MAX_AGE_SECONDS;
        statuses.push(ok ? 'pass' : 'warn');
        evidence.push(
          `${name}: HEAD /videos/${video} → ${answer.status}, Cache-Control "${cacheControl}"${answer.headers.get('x-cache-status') ? `, X-Cache-Status ${answer.headers.get('x-cache-status')}` : ''}`,
        );
      }
    }
    // What the edge did with them over the last day: the second half.
    if (!config.cdnAccessLog) {
      evidence.push(
        context.t({
          en: 'hit ratio by kind: no edge access log configured (CDN_ACCESS_LOG)',
          zh: '按类型的命中率：未配置边缘访问日志（CDN_ACCESS_LOG）',
        }),
      );
    } else {
      const lookups = await cacheLookups(config.cdnAccessLog, context.now.getTime(), 86_400_000).catch(() => []);
      const byKind = new Map<string, { requests: number; hits: number }>();
      for (const lookup of lookups) {
        const kind = /\.([a-z0-9]+)$/i.exec(lookup.path)?.[1]?.toLowerCase() ?? 'other';
        const entry = byKind.get(kind) ?? { requests: 0, hits: 0 };
        entry.requests++;
        if (lookup.status === 'HIT') entry.hits++;
        byKind.set(kind, entry);
      }
      const threshold = thresholdOf('CdnHitRateLow', 'ratio', deps.thresholds);
      for (const [kind, entry] of [...byKind].sort((a, b) => b[1].requests - a[1].requests)) {
        const ratio = entry.hits / entry.requests;
        statuses.push(ratio < threshold ? 'warn' : 'pass');
        evidence.push(`.${kind}: ${percent(ratio)} ${context.t({ en: 'hits', zh: '命中' })} (${entry.hits}/${entry.requests})`);
      }
      if (lookups.length === 0)
        evidence.push(context.t({ en: 'no video lookups in the last 24 h', zh: '过去 24 小时无视频缓存查找' }));
    }
    if (statuses.length === 0) {
      return {
        status: 'skip',
        summary: context.t({ en: 'nothing to look at: no video and no edge log', zh: '无可检查内容：无视频且无边缘日志' }),
        evidence,
      };
    }
    const warned = statuses.filter((s) => s === 'warn').length;
    return {
      status: warned > 0 ? 'warn' : 'pass',
      summary:
        warned > 0
          ? context.t({
              en: `${warned} of ${statuses.length} cache findings need attention`,
              zh: `${statuses.length} 项缓存检查中 ${warned} 项需关注`,
            })
          : context.t({ en: 'videos say a long max-age and the edge keeps them', zh: '视频带较长 max-age，边缘缓存有效' }),
      evidence,
    };
  },
};
