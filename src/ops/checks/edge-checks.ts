/** 查看CDN缓存命中率 and 检查CDN缓存策略效果: the video edge's cache. */
import { percent } from '../../format.js';
import { thresholdOf } from '../alerts/catalog.js';
import { cacheLookups, cdnStats } from '../cdn.js';
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
