/**
 * 检查系统整体健康状态, 验证关键服务可用性, 检查服务器资源使用率: the health probes,
 * every service the platform depends on, and the machine's resources.
 */

import { loadContentKey } from '../../learning/content-key.js';
import type { CheckResult as ProbeResult } from '../health/health.js';
import { type CheckContext, type CheckDefinition, type CheckOutcome, type CheckStatus, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

const FROM_PROBE: Record<ProbeResult['status'], CheckStatus> = { ok: 'pass', degraded: 'warn', down: 'fail' };

const PROBE_NAMES = {
  database: { en: 'database', zh: '数据库' },
  cache: { en: 'cache', zh: '缓存' },
  disk: { en: 'disk', zh: '磁盘' },
  memory: { en: 'memory', zh: '内存' },
  cpu: { en: 'CPU', zh: 'CPU' },
  eventLoop: { en: 'event loop', zh: '事件循环' },
} as const;

type ProbeName = keyof typeof PROBE_NAMES;

function probeLines(context: CheckContext, checks: Partial<Record<ProbeName, ProbeResult>>): string[] {
  return Object.entries(checks).map(([name, probe]) => {
    const detail = context.t({ en: probe.detail ?? '', zh: probe.detailZh ?? probe.detail ?? '' });
    const figures = [probe.latencyMs !== undefined ? `${probe.latencyMs} ms` : '', detail].filter(Boolean);
    return `${context.t(PROBE_NAMES[name as ProbeName])}: ${probe.status}${figures.length ? ` — ${figures.join('; ')}` : ''}`;
  });
}

async function fromProbes(deps: ChecksDeps, context: CheckContext, names: ProbeName[]): Promise<CheckOutcome> {
  const report = await deps.health.check();
  const checks = Object.fromEntries(names.map((name) => [name, report.checks[name]])) as Record<ProbeName, ProbeResult>;
  const status = worstOf(Object.values(checks).map((probe) => FROM_PROBE[probe.status]));
  const bad = names.filter((name) => checks[name].status !== 'ok').map((name) => context.t(PROBE_NAMES[name]));
  return {
    status,
    summary:
      bad.length === 0
        ? context.t({ en: `all ${names.length} probes ok`, zh: `${names.length} 项探测全部正常` })
        : context.t({ en: `not ok: ${bad.join(', ')}`, zh: `异常：${bad.join('、')}` }),
    evidence: probeLines(context, checks),
    data: { checks },
  };
}

export const systemHealth: CheckDefinition<ChecksDeps> = {
  id: 'system.health',
  slot: 'morning',
  severity: 'critical',
  title: { en: 'Overall system health', zh: '检查系统整体健康状态' },
  action: {
    en: 'Open /api/v1/health and follow the failing probe: `smartalk ops diagnose app-down` or `db`.',
    zh: '打开 /api/v1/health，按失败的探测项处理：`smartalk ops diagnose app-down` 或 `db`。',
  },
  run: async (deps, context) => {
    const outcome = await fromProbes(deps, context, ['database', 'cache', 'disk', 'memory', 'cpu', 'eventLoop']);
    const report = await deps.health.check();
    return { ...outcome, evidence: [`version ${report.version}, up ${report.uptimeSeconds} s`, ...(outcome.evidence ?? [])] };
  },
};

export const systemResources: CheckDefinition<ChecksDeps> = {
  id: 'system.resources',
  slot: 'afternoon',
  severity: 'warning',
  title: { en: 'Server resource use', zh: '检查服务器资源使用率' },
  action: {
    en: 'Find what uses the resource (top, free -h, du -sh DATA_DIR); add capacity or shed load before it alerts.',
    zh: '找出占用资源的进程（top、free -h、du -sh DATA_DIR）；在告警前扩容或减负。',
  },
  run: (deps, context) => fromProbes(deps, context, ['cpu', 'memory', 'disk', 'eventLoop']),
};

/** How long a dependency may take to answer before it counts as unavailable. */
const SERVICE_TIMEOUT_MS = 3_000;

interface ServiceProbe {
  name: string;
  url: string;
  method?: 'GET' | 'HEAD';
}

interface ProbeAnswer {
  ok: boolean;
  detail: string;
  ms: number;
  /** The answer said when to ask again (Retry-After): the service is there, the file is not ready yet. */
  retryAfter?: string;
}

async function probe(service: ServiceProbe): Promise<ProbeAnswer> {
  const started = performance.now();
  try {
    // undici loads on the first probe, not in every serving process at start.
    const { request } = await import('undici');
    const response = await request(service.url, {
      method: service.method ?? 'GET',
      headersTimeout: SERVICE_TIMEOUT_MS,
      bodyTimeout: SERVICE_TIMEOUT_MS,
    });
    await response.body.dump();
    const ms = Math.round(performance.now() - started);
    const retryAfter = response.headers['retry-after'];
    return {
      ok: response.statusCode < 400,
      detail: `HTTP ${response.statusCode}`,
      ms,
      ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
    };
  } catch (error) {
    return { ok: false, detail: (error as Error).message.split('\n')[0] ?? 'error', ms: Math.round(performance.now() - started) };
  }
}

/** A seeded video the origin and the edge should both serve, under its public name. */
export async function sampleVideo(deps: ChecksDeps): Promise<string | undefined> {
  const row = await deps.db.kysely.selectFrom('dramas').select('video_subtitled').orderBy('id').limit(1).executeTakeFirst();
  return row && (await loadContentKey(deps.db.kysely)).mediaPath(row.video_subtitled);
}

export const servicesAvailability: CheckDefinition<ChecksDeps> = {
  id: 'services.availability',
  slot: 'morning',
  severity: 'critical',
  title: { en: 'Key services available', zh: '验证关键服务可用性' },
  action: {
    en: 'Restart or fail over the service that did not answer; see the runbook scenario for it (`smartalk ops diagnose`).',
    zh: '重启或切换未响应的服务；按对应的故障场景处理（`smartalk ops diagnose`）。',
  },
  run: async (deps, context) => {
    const { config } = deps;
    const lines: string[] = [];
    const statuses: CheckStatus[] = [];
    // `notYet`: it answered, but what it serves is still being prepared — a warning.
    const record = (name: string, ok: boolean, detail: string, whenDown: CheckStatus = 'fail', notYet = false) => {
      statuses.push(ok ? 'pass' : notYet ? 'warn' : whenDown);
      const state = ok
        ? 'ok'
        : notYet
          ? context.t({ en: 'not ready yet', zh: '尚未就绪' })
          : context.t({ en: 'NOT AVAILABLE', zh: '不可用' });
      lines.push(`${name}: ${state} — ${detail}`);
    };
    const services: Array<ServiceProbe & { whenDown?: CheckStatus }> = [
      { name: 'app', url: `${config.publicUrl}/api/v1/health/live` },
    ];
    const video = await sampleVideo(deps).catch(() => undefined);
    if (video) {
      services.push({
        name: context.t({ en: 'video origin', zh: '视频源站' }),
        url: `${config.publicUrl}/videos/${video}`,
        method: 'HEAD',
      });
      if (config.cdnBaseUrl) {
        services.push({
          name: context.t({ en: 'video edge', zh: '视频边缘' }),
          url: `${config.cdnBaseUrl}/videos/${video}`,
          method: 'HEAD',
        });
      }
    }
    if (config.prometheusUrl) services.push({ name: 'Prometheus', url: `${config.prometheusUrl}/-/ready`, whenDown: 'warn' });
    if (config.alertmanagerUrl)
      services.push({ name: 'Alertmanager', url: `${config.alertmanagerUrl}/-/ready`, whenDown: 'warn' });

    const [database, cache, answers] = await Promise.all([
      deps.db.ping(SERVICE_TIMEOUT_MS).then(
        (ms) => ({ ok: true, detail: `${deps.db.engine}, ${ms.toFixed(1)} ms` }),
        (error: Error) => ({ ok: false, detail: `${deps.db.engine}: ${error.message.split('\n')[0]}` }),
      ),
      deps.store.kind === 'memory'
        ? Promise.resolve({
            ok: true,
            detail: context.t({ en: 'in-process store (no Redis configured)', zh: '进程内存储（未配置 Redis）' }),
          })
        : deps.store.ping().then(
            (ms) => ({ ok: true, detail: `Redis, ${ms.toFixed(1)} ms` }),
            (error: Error) => ({ ok: false, detail: `Redis: ${error.message.split('\n')[0]}` }),
          ),
      Promise.all(services.map(probe)),
    ]);
    record(context.t({ en: 'database', zh: '数据库' }), database.ok, database.detail);
    // Without Redis the API keeps working on per-instance memory: a warning, not a failure.
    record(context.t({ en: 'cache', zh: '缓存' }), cache.ok, cache.detail, 'warn');
    let preparing = 0;
    services.forEach((service, i) => {
      const answer = answers[i] as ProbeAnswer;
      // A video still being rendered (a first start) is answered with Retry-After: the
      // origin works; the learner waits for that file. A warning until it is there.
      const notYet = !answer.ok && answer.retryAfter !== undefined;
      if (notYet) preparing++;
      record(
        service.name,
        answer.ok,
        `${service.method ?? 'GET'} ${service.url} → ${answer.detail}${
          notYet
            ? context.t({
                en: `, still being prepared (Retry-After ${answer.retryAfter} s)`,
                zh: `，仍在生成中（Retry-After ${answer.retryAfter} 秒）`,
              })
            : ''
        }, ${answer.ms} ms`,
        service.whenDown,
        notYet,
      );
    });
    if (!config.prometheusUrl)
      lines.push(context.t({ en: 'Prometheus: not configured (PROMETHEUS_URL)', zh: 'Prometheus：未配置（PROMETHEUS_URL）' }));
    if (!config.cdnBaseUrl)
      lines.push(
        context.t({
          en: 'video edge: not configured (CDN_BASE_URL); videos are served by the app',
          zh: '视频边缘：未配置（CDN_BASE_URL），视频由应用直接提供',
        }),
      );
    const down = statuses.filter((s) => s !== 'pass').length - preparing;
    const summary =
      down === 0
        ? context.t({ en: `${statuses.length} services answered`, zh: `${statuses.length} 个服务均可用` })
        : context.t({
            en: `${down} of ${statuses.length} services unavailable`,
            zh: `${statuses.length} 个服务中 ${down} 个不可用`,
          });
    return {
      status: worstOf(statuses),
      summary:
        preparing === 0
          ? summary
          : `${summary}${context.t({ en: '; the sample video is still being prepared', zh: '；样例视频仍在生成中' })}`,
      evidence: lines,
    };
  },
};
