/**
 * 准备次日容量规划 and 优化API响应时间: tomorrow's peak against what one instance can
 * take, and what the busiest API answers cost on the wire.
 */
import { sql } from 'kysely';
import { localDay } from '../../time.js';
import { type CheckDefinition, type CheckStatus, percent, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

/**
 * Events per second one instance with its PostgreSQL ingests, measured by
 * `npm run bench -- analytics` / `-- checks` on 2 cores (12.7k/s, docs/benchmarks.md) and
 * kept well below that; ALERTS_CONFIG `thresholds: {capacity: {eventsPerSecond: N}}`
 * sets your own measurement.
 */
export const DEFAULT_EVENTS_PER_SECOND = 5_000;
/** Plan to keep this share of capacity free at the forecast peak. */
const HEADROOM_TARGET = 0.3;
const WEEKS_OF_HISTORY = 4;

export const capacityNextDay: CheckDefinition<ChecksDeps> = {
  id: 'capacity.next_day',
  slot: 'evening',
  severity: 'warning',
  title: { en: "Tomorrow's capacity plan", zh: '准备次日容量规划' },
  action: {
    en: 'Add instances before the peak (docs/runbook.md, Deploying), or move the campaign that drives it; check PostgreSQL connections and disk for the same load.',
    zh: '在高峰前增加实例（见 docs/runbook.md 部署一节），或调整带来高峰的活动；同时确认 PostgreSQL 连接数与磁盘能承受该负载。',
  },
  run: async (deps, context) => {
    const { tz } = deps.config;
    const capacity = deps.thresholds.capacity?.eventsPerSecond ?? DEFAULT_EVENTS_PER_SECOND;
    const since = new Date(context.now.getTime() - WEEKS_OF_HISTORY * 7 * 86_400_000);
    // Events per local hour over the history: the busiest hour of each day.
    const { rows } = await sql<{ hour: Date; events: number }>`
      SELECT date_trunc('hour', "timestamp", ${tz}) AS hour, count(*)::int AS events
      FROM analytics_events WHERE "timestamp" >= ${since} AND "timestamp" < ${context.now}
      GROUP BY 1`.execute(deps.db.kysely);
    if (rows.length === 0)
      return {
        status: 'skip',
        summary: context.t({ en: 'no traffic in four weeks to forecast from', zh: '四周内无流量可供预测' }),
      };
    const today = localDay(context.now.getTime(), tz);
    const tomorrowWeekday = new Date((today + 1) * 86_400_000).getUTCDay();
    const peakByDay = new Map<number, number>();
    let lastWeek = 0;
    let weekBefore = 0;
    for (const row of rows) {
      const day = localDay(new Date(row.hour).getTime(), tz);
      peakByDay.set(day, Math.max(peakByDay.get(day) ?? 0, row.events));
      if (day > today - 7) lastWeek += row.events;
      else if (day > today - 14) weekBefore += row.events;
    }
    const sameWeekday = [...peakByDay]
      .filter(([day]) => new Date(day * 86_400_000).getUTCDay() === tomorrowWeekday)
      .map(([, peak]) => peak);
    const basePeak = Math.max(...(sameWeekday.length ? sameWeekday : [...peakByDay.values()]));
    // The week-on-week trend, bounded so one odd week cannot double the plan.
    const trend = weekBefore > 0 ? Math.min(2, Math.max(0.5, lastWeek / weekBefore)) : 1;
    const forecastPerSecond = (basePeak * trend) / 3600;
    const headroom = 1 - forecastPerSecond / capacity;
    const instances = Math.max(1, Math.ceil(forecastPerSecond / (capacity * (1 - HEADROOM_TARGET))));
    const status: CheckStatus = headroom < 0 ? 'fail' : headroom < HEADROOM_TARGET ? 'warn' : 'pass';
    return {
      status,
      summary: context.t({
        en: `tomorrow's peak ≈ ${forecastPerSecond.toFixed(1)} events/s against ${capacity}/s per instance: headroom ${percent(headroom)}, ${instances} instance(s) keep ${percent(HEADROOM_TARGET)} free`,
        zh: `明日峰值约 ${forecastPerSecond.toFixed(1)} 事件/秒，单实例容量 ${capacity}/秒：余量 ${percent(headroom)}，保持 ${percent(HEADROOM_TARGET)} 余量需 ${instances} 个实例`,
      }),
      evidence: [
        context.t({
          en: `busiest hour on the same weekday over ${WEEKS_OF_HISTORY} weeks: ${basePeak} events (${sameWeekday.length} days)`,
          zh: `过去 ${WEEKS_OF_HISTORY} 周同一星期几的最忙小时：${basePeak} 个事件（${sameWeekday.length} 天）`,
        }),
        context.t({
          en: `trend: ${lastWeek} events in the last 7 days vs ${weekBefore} the 7 before (×${trend.toFixed(2)})`,
          zh: `趋势：最近 7 天 ${lastWeek} 个事件，之前 7 天 ${weekBefore} 个（×${trend.toFixed(2)}）`,
        }),
        context.t({
          en: `capacity: ${capacity} events/s per instance (${deps.thresholds.capacity?.eventsPerSecond ? 'ALERTS_CONFIG' : 'default from the benchmarks'})`,
          zh: `容量：每实例 ${capacity} 事件/秒（${deps.thresholds.capacity?.eventsPerSecond ? 'ALERTS_CONFIG' : '基准测试默认值'}）`,
        }),
      ],
      data: { forecastPerSecond, capacity, headroom, instances, basePeak, trend },
    };
  },
};

/** Public routes probed for size and compression. */
const PROBED = ['/api/v1/interests', '/api/v1/health'];
const LARGE_PAYLOAD_BYTES = 100 * 1024;

export const apiOptimization: CheckDefinition<ChecksDeps> = {
  id: 'api.optimization',
  slot: 'wednesday',
  severity: 'info',
  title: { en: 'API response times', zh: '优化API响应时间' },
  action: {
    en: 'The slowest route first: profile it (clinic, --cpu-prof) and look at its queries; a large answer: page it or trim fields; an answer sent uncompressed: check the compression threshold and Accept-Encoding at the proxy.',
    zh: '先处理最慢的路由：分析其性能（clinic、--cpu-prof）与查询；响应过大：分页或精简字段；未压缩的响应：检查压缩阈值与代理的 Accept-Encoding。',
  },
  run: async (deps, context) => {
    const { publicUrl } = deps.config;
    const first = await deps.db.kysely
      .selectFrom('dramas')
      .select(['id', 'interest_id'])
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    const paths = [...PROBED, ...(first ? [`/api/v1/interests/${first.interest_id}/dramas`, `/api/v1/dramas/${first.id}`] : [])];
    const statuses: CheckStatus[] = [];
    const evidence: string[] = [];
    for (const route of paths) {
      const [plain, compressed] = await Promise.all(
        ['identity', 'br, gzip'].map((encoding) =>
          fetch(`${publicUrl}${route}`, { headers: { 'accept-encoding': encoding }, signal: AbortSignal.timeout(3_000) })
            .then(async (response) => ({
              bytes: (await response.arrayBuffer()).byteLength,
              encoding: response.headers.get('content-encoding'),
              ok: response.ok,
            }))
            .catch((error: Error) => error),
        ),
      );
      if (plain instanceof Error || compressed instanceof Error || !plain || !compressed) {
        statuses.push('warn');
        evidence.push(
          `${route}: ${context.t({ en: 'no answer', zh: '无响应' })} (${plain instanceof Error ? plain.message : compressed instanceof Error ? compressed.message : ''})`,
        );
        continue;
      }
      // fetch decodes what it receives: the compressed size is read from the Content-Length-less body only when not decoded, so compare encodings.
      const uncompressedLarge = plain.bytes >= 1024 && !compressed.encoding;
      statuses.push(plain.bytes > LARGE_PAYLOAD_BYTES || uncompressedLarge ? 'warn' : 'pass');
      evidence.push(
        `${route}: ${plain.bytes} B${compressed.encoding ? context.t({ en: `, sent ${compressed.encoding}`, zh: `，以 ${compressed.encoding} 发送` }) : plain.bytes >= 1024 ? context.t({ en: ', sent UNCOMPRESSED', zh: '，未压缩发送' }) : ''}`,
      );
    }
    const slow = deps.http
      .routeLatencies([0.95])
      .filter((route) => route.count > 0 && route.route !== '/metrics')
      .sort((a, b) => (b.quantiles[0] as number) - (a.quantiles[0] as number))
      .slice(0, 5);
    for (const route of slow) {
      const p95 = route.quantiles[0] as number;
      evidence.push(
        `p95 ${Number.isFinite(p95) ? `≤ ${p95 * 1000} ms` : '> 10 s'}: ${route.method} ${route.route} (${route.count})`,
      );
    }
    if (slow.length === 0)
      evidence.push(context.t({ en: 'route latencies: none recorded by this instance yet', zh: '路由延迟：本实例尚无记录' }));
    const status = worstOf(statuses);
    return {
      status,
      summary:
        status === 'pass'
          ? context.t({
              en: `${paths.length} public answers small and compressed; slowest route shown`,
              zh: `${paths.length} 个公开接口响应小且已压缩；列出最慢路由`,
            })
          : context.t({
              en: 'an answer is large, uncompressed or missing (see evidence)',
              zh: '有响应过大、未压缩或无响应（见证据）',
            }),
      evidence,
    };
  },
};
