/**
 * 准备次日容量规划 and 优化API响应时间: tomorrow's peak against what one instance can
 * take, and what the busiest API answers cost on the wire.
 */
import { sql } from 'kysely';
import { percent } from '../../format.js';
import { dayStart, isoDay, localDay } from '../../time.js';
import { capacityPlan, DEFAULT_CAPACITY, HEADROOM_TARGET, REFERENCE_POSTGRES_CORES } from '../capacity-model.js';

import { type CheckDefinition, type CheckStatus, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

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
    const capacity = deps.capacity?.eventsPerSecond ?? DEFAULT_CAPACITY.eventsPerSecond;
    const postgresCores = deps.capacity?.postgresCores ?? REFERENCE_POSTGRES_CORES;
    const today = localDay(context.now.getTime(), tz);
    // Tomorrow's weekday in the weeks before: only those days' events are counted by hour.
    const sameWeekdays = Array.from({ length: WEEKS_OF_HISTORY }, (_, i) => today + 1 - 7 * (i + 1));
    const [hourly, daily] = await Promise.all([
      sql<{ events: number }>`
        SELECT count(*)::int AS events FROM analytics_events
        WHERE ${sql.join(
          sameWeekdays.map(
            (day) => sql`("timestamp" >= ${new Date(dayStart(day, tz))} AND "timestamp" < ${new Date(dayStart(day + 1, tz))})`,
          ),
          sql` OR `,
        )}
        GROUP BY date_trunc('hour', "timestamp", ${tz}) ORDER BY 1 DESC LIMIT 1`.execute(deps.db.kysely),
      // Week totals from the per-day counters ingestion keeps (no scan of the events).
      sql<{ last_week: number; week_before: number }>`
        SELECT coalesce(sum(count) FILTER (WHERE day > ${isoDay(today - 7)}::date), 0)::float8 AS last_week,
          coalesce(sum(count) FILTER (WHERE day <= ${isoDay(today - 7)}::date), 0)::float8 AS week_before
        FROM analytics_daily_counts
        WHERE counter LIKE 'event:%' AND day > ${isoDay(today - 14)}::date AND day <= ${isoDay(today)}::date`.execute(
        deps.db.kysely,
      ),
    ]);
    const basePeak = hourly.rows[0]?.events ?? 0;
    const lastWeek = daily.rows[0]?.last_week ?? 0;
    const weekBefore = daily.rows[0]?.week_before ?? 0;
    if (basePeak === 0 && lastWeek === 0) {
      return {
        status: 'skip',
        summary: context.t({ en: 'no traffic in four weeks to forecast from', zh: '四周内无流量可供预测' }),
      };
    }
    // The week-on-week trend, bounded so one odd week cannot double the plan.
    const trend = weekBefore > 0 ? Math.min(2, Math.max(0.5, lastWeek / weekBefore)) : 1;
    const forecastPerSecond = (basePeak * trend) / 3600;
    const plan = capacityPlan(forecastPerSecond, { eventsPerSecond: capacity, postgresCores });
    const { instances } = plan;
    const headroom = 1 - plan.instanceShare;
    const instanceStatus: CheckStatus = headroom < 0 ? 'fail' : headroom < HEADROOM_TARGET ? 'warn' : 'pass';
    // PostgreSQL is shared by every instance: adding instances does not relieve it.
    const postgresStatus: CheckStatus =
      plan.postgresShare > 1 ? 'fail' : plan.postgresShare > 1 - HEADROOM_TARGET ? 'warn' : 'pass';
    const status = worstOf([instanceStatus, postgresStatus]);
    const nextStep = {
      none: { en: 'nothing to change', zh: '无需调整' },
      'add-instances': { en: `run ${instances} instances (docs/deploy.md)`, zh: `运行 ${instances} 个实例（docs/deploy.md）` },
      'replica-and-bigger-postgres': {
        en: 'PostgreSQL is the bottleneck: reports to a replica (DATABASE_REPLICA_URL), more cores for the primary (docs/scaling.md)',
        zh: 'PostgreSQL 成为瓶颈：报告改读副本（DATABASE_REPLICA_URL），为主库增加 CPU（docs/scaling.md）',
      },
      'column-store': {
        en: 'beyond one PostgreSQL: events to a column store behind the same ingest API (docs/scaling.md)',
        zh: '超出单个 PostgreSQL：事件改写入列式存储，接入 API 不变（docs/scaling.md）',
      },
    }[plan.step];
    return {
      status,
      summary: context.t({
        en: `tomorrow's peak ≈ ${forecastPerSecond.toFixed(1)} events/s against ${capacity}/s per instance: headroom ${percent(headroom)}, ${instances} instance(s) keep ${percent(HEADROOM_TARGET)} free; PostgreSQL at ${percent(plan.postgresShare)} of its share`,
        zh: `明日峰值约 ${forecastPerSecond.toFixed(1)} 事件/秒，单实例容量 ${capacity}/秒：余量 ${percent(headroom)}，保持 ${percent(HEADROOM_TARGET)} 余量需 ${instances} 个实例；PostgreSQL 负载 ${percent(plan.postgresShare)}`,
      }),
      evidence: [
        context.t({
          en: `busiest hour on the same weekday over ${WEEKS_OF_HISTORY} weeks: ${basePeak} events`,
          zh: `过去 ${WEEKS_OF_HISTORY} 周同一星期几的最忙小时：${basePeak} 个事件`,
        }),
        context.t({
          en: `trend: ${lastWeek} events in the last 7 days vs ${weekBefore} the 7 before (×${trend.toFixed(2)})`,
          zh: `趋势：最近 7 天 ${lastWeek} 个事件，之前 7 天 ${weekBefore} 个（×${trend.toFixed(2)}）`,
        }),
        context.t({
          en: `capacity: ${capacity} events/s per instance (${deps.capacity ? 'ALERTS_CONFIG' : 'default from the benchmarks'}); PostgreSQL ${plan.postgresEventsPerSecond} events/s on ${postgresCores} core(s)`,
          zh: `容量：每实例 ${capacity} 事件/秒（${deps.capacity ? 'ALERTS_CONFIG' : '基准测试默认值'}）；PostgreSQL ${postgresCores} 核 ${plan.postgresEventsPerSecond} 事件/秒`,
        }),
        context.t({ en: `next step: ${nextStep.en}`, zh: `下一步：${nextStep.zh}` }),
      ],
      data: {
        forecastPerSecond,
        capacity,
        headroom,
        instances,
        basePeak,
        trend,
        postgresShare: plan.postgresShare,
        step: plan.step,
      },
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
