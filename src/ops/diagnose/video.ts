/**
 * 问题3 视频加载缓慢: what the edge and the origin say about a video (the runbook's
 * `curl -I …/videos/sample.mp4`), how fast its first byte and the whole file arrive from
 * each, and what the files are (the runbook's `ls -lh` and `ffprobe`): codec, bitrate,
 * faststart, size. With --fix, an edge copy that no longer matches the origin is purged.
 */

import { bytes } from '../../format.js';
import { SAMPLE_VIDEO_FILE } from '../../learning/media.js';
import { probeVideo, type VideoFacts, videoFiles } from '../../learning/media-probe.js';
import { purgerOf } from '../video/cdn-purge.js';
import { type DiagnoseDeps, type ScenarioDefinition, step } from './diagnosis.js';

/** The runbook checks this file; seeding renders it. */
export const SAMPLE_VIDEO = `/videos/${SAMPLE_VIDEO_FILE}`;
/** Slower than this to the first byte, a learner sees a spinner. */
const SLOW_FIRST_BYTE_MS = 1_000;
/** Videos must be cached at the edge for at least a day (video-routes.ts sends 30 days). */
const MIN_EDGE_MAX_AGE = 86_400;
/** The file step probes files for at most this long, then says how many it saw. */
const PROBE_BUDGET_MS = 5_000;

interface Fetched {
  status: number;
  headers: Headers;
  firstByteMs: number;
  totalMs: number;
  bytes: number;
}

async function timedGet(url: string, method: 'GET' | 'HEAD'): Promise<Fetched> {
  const started = performance.now();
  const response = await fetch(url, { method, signal: AbortSignal.timeout(6_000) });
  const firstByteMs = performance.now() - started;
  const body = method === 'GET' ? Buffer.from(await response.arrayBuffer()) : Buffer.alloc(0);
  return {
    status: response.status,
    headers: response.headers,
    firstByteMs,
    totalMs: performance.now() - started,
    bytes: body.length,
  };
}

const cacheStatus = (headers: Headers) =>
  headers.get('x-cache-status') ?? headers.get('cf-cache-status') ?? headers.get('x-cache') ?? '—';

const describeHeaders = (name: string, fetched: Fetched) =>
  `${name}: ${fetched.status} · Cache-Control ${fetched.headers.get('cache-control') ?? '—'} · ETag ${fetched.headers.get('etag') ?? '—'} · Age ${fetched.headers.get('age') ?? '—'} · cache ${cacheStatus(fetched.headers)} · Accept-Ranges ${fetched.headers.get('accept-ranges') ?? '—'}`;

const edgeOf = (deps: DiagnoseDeps) => deps.config.cdnBaseUrl ?? deps.url;

export const videoScenario: ScenarioDefinition = {
  id: 'video',
  title: { en: 'Problem 3: videos load slowly', zh: '问题3：视频加载缓慢' },
  vendor: 'cdn',
  steps: [
    step(
      'video.edge',
      { en: 'Edge and origin headers', zh: '边缘与源站响应头' },
      {
        en: 'A stale edge copy (ETag differs from the origin): `smartalk cdn purge /videos/…`; a short max-age: fix Cache-Control at the origin; no Accept-Ranges: phones cannot seek — fix the edge config.',
        zh: '边缘副本过期（ETag 与源站不同）：`smartalk cdn purge /videos/…`；max-age 过短：修正源站 Cache-Control；缺少 Accept-Ranges：手机无法拖动进度——修正边缘配置。',
      },
      async (deps, context) => {
        const edgeUrl = `${edgeOf(deps)}${SAMPLE_VIDEO}`;
        const originUrl = `${deps.url}${SAMPLE_VIDEO}`;
        const [edge, origin] = await Promise.allSettled([timedGet(edgeUrl, 'HEAD'), timedGet(originUrl, 'HEAD')]);
        if (edge.status === 'rejected') {
          return {
            status: 'fail',
            summary: context.t({ en: `the edge does not answer: ${edgeUrl}`, zh: `边缘无应答：${edgeUrl}` }),
            evidence: [(edge.reason as Error).message],
          };
        }
        const evidence = [describeHeaders(context.t({ en: 'edge', zh: '边缘' }), edge.value)];
        if (origin.status === 'fulfilled' && deps.config.cdnBaseUrl)
          evidence.push(describeHeaders(context.t({ en: 'origin', zh: '源站' }), origin.value));
        if (edge.value.status >= 400) {
          return {
            status: 'fail',
            summary: context.t({
              en: `the edge answers ${edge.value.status} for ${SAMPLE_VIDEO}`,
              zh: `边缘对 ${SAMPLE_VIDEO} 返回 ${edge.value.status}`,
            }),
            evidence,
          };
        }
        const maxAge = Number(/max-age=(\d+)/.exec(edge.value.headers.get('cache-control') ?? '')?.[1] ?? 0);
        const problems: string[] = [];
        if (maxAge < MIN_EDGE_MAX_AGE)
          problems.push(context.t({ en: `max-age ${maxAge} s is under a day`, zh: `max-age ${maxAge} 秒不足一天` }));
        if (edge.value.headers.get('accept-ranges') !== 'bytes')
          problems.push(context.t({ en: 'no Accept-Ranges: bytes', zh: '缺少 Accept-Ranges: bytes' }));
        const edgeTag = edge.value.headers.get('etag');
        const originTag = origin.status === 'fulfilled' ? origin.value.headers.get('etag') : null;
        if (deps.config.cdnBaseUrl && edgeTag && originTag && edgeTag !== originTag) {
          deps.found.set('edge.stale', SAMPLE_VIDEO);
          problems.push(
            context.t({
              en: `the edge serves ETag ${edgeTag}, the origin ${originTag}: a stale copy`,
              zh: `边缘 ETag 为 ${edgeTag}，源站为 ${originTag}：副本已过期`,
            }),
          );
        }
        return {
          status: problems.length > 0 ? 'warn' : 'pass',
          summary:
            problems.join('; ') ||
            context.t({
              en: `served ${cacheStatus(edge.value.headers)} from ${edgeOf(deps)}, cacheable for ${Math.round(maxAge / 86_400)} days`,
              zh: `由 ${edgeOf(deps)} 提供（缓存状态 ${cacheStatus(edge.value.headers)}），可缓存 ${Math.round(maxAge / 86_400)} 天`,
            }),
          evidence,
          data: { cacheStatus: cacheStatus(edge.value.headers), maxAge, edgeEtag: edgeTag, originEtag: originTag },
        };
      },
    ),
    step(
      'video.transfer',
      { en: 'Time to first byte and throughput', zh: '首字节时间与吞吐量' },
      {
        en: "Slow at the edge but fast at the origin: the CDN (its status page, the vendor); slow at both: the server's bandwidth (`iftop -i eth0`) or disk.",
        zh: '边缘慢而源站快：CDN 问题（查看其状态页、联系服务商）；两者都慢：服务器带宽（`iftop -i eth0`）或磁盘。',
      },
      async (deps, context) => {
        const targets = deps.config.cdnBaseUrl
          ? [
              [context.t({ en: 'edge', zh: '边缘' }), `${deps.config.cdnBaseUrl}${SAMPLE_VIDEO}`],
              [context.t({ en: 'origin', zh: '源站' }), `${deps.url}${SAMPLE_VIDEO}`],
            ]
          : [[context.t({ en: 'origin', zh: '源站' }), `${deps.url}${SAMPLE_VIDEO}`]];
        const evidence: string[] = [];
        let slow = false;
        const measured: Record<string, { firstByteMs: number; bytesPerSecond: number }> = {};
        for (const [name, url] of targets as Array<[string, string]>) {
          try {
            const got = await timedGet(url, 'GET');
            const rate = got.bytes / Math.max(got.totalMs / 1000, 0.001);
            measured[name] = { firstByteMs: got.firstByteMs, bytesPerSecond: rate };
            slow ||= got.firstByteMs > SLOW_FIRST_BYTE_MS;
            evidence.push(
              `${name}: ${got.status}, ${context.t({ en: 'first byte', zh: '首字节' })} ${got.firstByteMs.toFixed(0)} ms, ${bytes(got.bytes)} ${context.t({ en: 'in', zh: '用时' })} ${got.totalMs.toFixed(0)} ms (${bytes(rate)}/s)`,
            );
          } catch (error) {
            slow = true;
            evidence.push(`${name}: ${(error as Error).message}`);
          }
        }
        return {
          status: slow ? 'warn' : 'pass',
          summary: slow
            ? context.t({ en: `first byte slower than ${SLOW_FIRST_BYTE_MS} ms`, zh: `首字节慢于 ${SLOW_FIRST_BYTE_MS} 毫秒` })
            : context.t({ en: 'the first byte arrives quickly', zh: '首字节到达迅速' }),
          evidence,
          data: measured,
        };
      },
    ),
    step(
      'video.files',
      { en: 'The video files (ffprobe)', zh: '视频文件（ffprobe）' },
      {
        en: 'Re-encode the flagged files as the runbook says (libx264, CRF 23, preset medium, +faststart): `smartalk video optimize FILE…`, then `smartalk cdn purge` their paths.',
        zh: '按运维指南重新编码被标记的文件（libx264、CRF 23、preset medium、+faststart）：`smartalk video optimize 文件…`，然后 `smartalk cdn purge` 清除其路径。',
      },
      async (deps, context) => {
        const files = await videoFiles(deps.config.contentDir);
        if (files.length === 0)
          return {
            status: 'skip',
            summary: context.t({
              en: `no .mp4 files under ${deps.config.contentDir}`,
              zh: `${deps.config.contentDir} 下没有 .mp4 文件`,
            }),
          };
        const deadline = performance.now() + PROBE_BUDGET_MS;
        const probed: VideoFacts[] = [];
        let missingTool: string | undefined;
        // Four ffprobes at a time, largest files first, within the budget.
        const queue = [...files];
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            for (let file = queue.shift(); file && performance.now() < deadline && !missingTool; file = queue.shift()) {
              try {
                probed.push(await probeVideo(file));
              } catch (error) {
                if ((error as NodeJS.ErrnoException).code === 'ENOENT') missingTool = 'ffprobe is not installed';
                else
                  probed.push({
                    file,
                    bytes: 0,
                    durationSeconds: null,
                    bitrate: null,
                    videoCodec: null,
                    audioCodec: null,
                    width: null,
                    height: null,
                    faststart: null,
                    problems: [`unreadable: ${(error as Error).message.split('\n')[0]}`],
                  });
              }
            }
          }),
        );
        if (missingTool) return { status: 'skip', summary: missingTool };
        const flagged = probed.filter((f) => f.problems.length > 0);
        const total = probed.reduce((sum, f) => sum + f.bytes, 0);
        return {
          status: flagged.length > 0 ? 'warn' : 'pass',
          summary: context.t({
            en: `${flagged.length} of ${probed.length} files need work (${probed.length < files.length ? `probed the largest ${probed.length} of ${files.length}` : `all ${files.length}`}, ${bytes(total)})`,
            zh: `${probed.length} 个文件中 ${flagged.length} 个需要处理（${probed.length < files.length ? `检查了最大的 ${probed.length}/${files.length} 个` : `全部 ${files.length} 个`}，共 ${bytes(total)}）`,
          }),
          evidence: flagged
            .slice(0, 20)
            .map((f) => `${f.file}: ${f.problems.join('; ')} (${f.videoCodec ?? '?'}, ${bytes(f.bytes)})`),
          data: {
            flagged: flagged.map((f) => ({ file: f.file, problems: f.problems })),
            probed: probed.length,
            files: files.length,
          },
        };
      },
    ),
    step(
      'video.fix',
      { en: 'Safe fixes (--fix)', zh: '安全修复（--fix）' },
      { en: 'Run the diagnosis again to see the edge answer MISS, then HIT.', zh: '再次运行诊断，确认边缘先 MISS 后 HIT。' },
      async (deps, context) => {
        if (!deps.fix)
          return {
            status: 'skip',
            summary: context.t({ en: 'not asked (--fix purges a stale edge copy)', zh: '未要求（--fix 清除过期的边缘副本）' }),
          };
        const stale = deps.found.get('edge.stale') as string | undefined;
        if (!stale)
          return {
            status: 'pass',
            summary: context.t({ en: 'nothing to fix: the edge copy matches the origin', zh: '无需修复：边缘副本与源站一致' }),
          };
        const purger = purgerOf(deps.config.cdnPurge);
        if (!purger)
          return {
            status: 'warn',
            summary: context.t({ en: 'a stale edge copy, but CDN_PURGE is not set', zh: '边缘副本过期，但未设置 CDN_PURGE' }),
          };
        const [outcome] = await purger.purge([stale]);
        deps.fixes.push({
          action: `${context.t({ en: 'purged', zh: '已清除' })} ${stale} (${purger.describe()})`,
          ok: outcome?.ok ?? false,
          detail: outcome?.detail ?? '',
        });
        return { status: outcome?.ok ? 'pass' : 'warn', summary: `${stale}: ${outcome?.detail}` };
      },
    ),
  ],
};
