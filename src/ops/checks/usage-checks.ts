/**
 * The afternoon's look at the product (监控实时用户活跃度, 查看转化漏斗实时数据,
 * 分析用户反馈新增情况): today so far, against the previous seven days, from the same
 * reports and definitions the API, CLI and alerts use.
 */
import { sql } from 'kysely';
import { enoughNewUsersToCompare, FUNNEL, METRICS } from '../../analytics/definitions.js';
import { THEME_NAMES } from '../../feedback/definitions.js';
import { percent } from '../../format.js';
import { HTTP_BUCKETS } from '../../http/metrics.js';
import { isoDay, localDay, startOf } from '../../time.js';
import { thresholdOf } from '../alerts/catalog.js';
import { promQuery } from '../prometheus-query.js';
import type { CheckDefinition } from './check.js';
import type { ChecksDeps } from './deps.js';

const today = (now: Date, tz: string) => ({ since: startOf(now, 'day', tz), until: now, now });

export const usersRealtime: CheckDefinition<ChecksDeps> = {
  id: 'users.realtime',
  slot: 'afternoon',
  severity: 'info',
  title: { en: 'Real-time user activity', zh: '监控实时用户活跃度' },
  action: {
    en: 'Far fewer learners than usual at this hour: check the app can reach the API (health, error rate) and whether a release or a store listing changed.',
    zh: '此时段活跃用户远低于平常：确认应用能访问 API（健康、错误率），并检查是否有新版本或应用商店页面变化。',
  },
  run: async (deps, context) => {
    const report = await deps.reports.metrics({ ...today(context.now, deps.config.tz), granularity: 'hour' });
    const active = report.realtime?.activeUsers ?? 0;
    const lastWeek = await activeLearnersOn(deps, new Date(context.now.getTime() - 7 * 86_400_000));
    const todayActive = await activeLearnersOn(deps, context.now);
    return {
      status: 'pass',
      summary: context.t({
        en: `${active} learners active in the last ${METRICS.realtimeWindowSeconds / 60} min; ${todayActive} so far today`,
        zh: `最近 ${METRICS.realtimeWindowSeconds / 60} 分钟活跃 ${active} 人；今日累计 ${todayActive} 人`,
      }),
      evidence: [
        context.t({ en: `new learners today: ${report.newUsers}`, zh: `今日新用户：${report.newUsers}` }),
        context.t({ en: `active on the same weekday last week: ${lastWeek}`, zh: `上周同日活跃：${lastWeek}` }),
      ],
      data: { activeNow: active, activeToday: todayActive, activeSameDayLastWeek: lastWeek, newUsersToday: report.newUsers },
    };
  },
};

/** Learners (and devices) active on the local day holding `at` (analytics_daily_activity). */
async function activeLearnersOn(deps: ChecksDeps, at: Date): Promise<number> {
  const row = await deps.db.kysely
    .selectFrom('analytics_daily_activity')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('day', '=', isoDay(localDay(at.getTime(), deps.config.tz)))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export const funnelRealtime: CheckDefinition<ChecksDeps> = {
  id: 'funnel.realtime',
  slot: 'afternoon',
  severity: 'critical',
  title: { en: 'Conversion funnel today', zh: '查看转化漏斗实时数据' },
  action: {
    en: 'A step converting far below the previous 7 days: run `smartalk ops diagnose activation-drop` and look at that step in the app (runbook 问题4).',
    zh: '某步转化远低于前 7 天：运行 `smartalk ops diagnose activation-drop`，并在应用中检查该步骤（运维指南 问题4）。',
  },
  run: async (deps, context) => {
    const report = await deps.reports.metrics(today(context.now, deps.config.tz));
    if (report.newUsers === 0) {
      return { status: 'skip', summary: context.t({ en: 'no new learners today yet', zh: '今日暂无新用户' }) };
    }
    const evidence = report.funnel.map((step) => {
      const before = report.baseline.funnel.find((b) => b.step === step.step)?.stepConversion ?? null;
      return `${step.step}. ${step.event}: ${step.users} (${percent(step.stepConversion)}${step.step > 1 ? context.t({ en: `, previous 7 days ${percent(before)}`, zh: `，前 7 天 ${percent(before)}` }) : ''})`;
    });
    evidence.push(
      context.t({
        en: `activation ${percent(report.activation.rate)} (target ${percent(METRICS.activationTarget)}), previous 7 days ${percent(report.baseline.activationRate)}`,
        zh: `激活率 ${percent(report.activation.rate)}（目标 ${percent(METRICS.activationTarget)}），前 7 天 ${percent(report.baseline.activationRate)}`,
      }),
      ...report.flags.map((flag) => `⚑ ${flag.message}`),
    );
    if (!enoughNewUsersToCompare(report))
      evidence.push(
        context.t({
          en: `too few new learners to judge a drop: ${report.newUsers} today, ${report.baseline.newUsers} the 7 days before (${METRICS.minNewUsersToJudge} needed on each side)`,
          zh: `新用户太少，无法判断是否下降：今日 ${report.newUsers} 人，前 7 天 ${report.baseline.newUsers} 人（两边各需至少 ${METRICS.minNewUsersToJudge} 人）`,
        }),
      );
    const dropped = report.flags.some((flag) => flag.code === 'activation_drop');
    return {
      status: dropped ? 'fail' : report.flags.length > 0 ? 'warn' : 'pass',
      summary: context.t({
        en: `${report.newUsers} new learners, ${report.funnel[FUNNEL.length - 1]?.users ?? 0} reached the magic moment; ${report.flags.length} flags`,
        zh: `新用户 ${report.newUsers} 人，${report.funnel[FUNNEL.length - 1]?.users ?? 0} 人完成魔法时刻；${report.flags.length} 项异常`,
      }),
      evidence,
      data: { newUsers: report.newUsers, funnel: report.funnel, activation: report.activation.rate, flags: report.flags },
    };
  },
};

export const feedbackNew: CheckDefinition<ChecksDeps> = {
  id: 'feedback.new',
  slot: 'afternoon',
  severity: 'warning',
  title: { en: 'New user feedback', zh: '分析用户反馈新增情况' },
  action: {
    en: 'Read the urgent items first (`smartalk feedback report`), answer them, and file the top problem theme with the product team.',
    zh: '先处理紧急反馈（`smartalk feedback report`）并回复用户，将最主要的问题主题提交产品团队。',
  },
  run: async (deps, context) => {
    const report = await deps.reports.feedback(today(context.now, deps.config.tz));
    if (report.totals.items === 0) {
      return { status: 'pass', summary: context.t({ en: 'no new feedback today', zh: '今日无新增反馈' }), evidence: [] };
    }
    const problems = report.themes.filter((theme) => (theme.negativeShare ?? 0) > 0.5).slice(0, 3);
    const evidence = [
      context.t({
        en: `${report.totals.items} items today (${report.totals.withText} with text), negative ${percent(report.sentiment.negativeShare)} vs ${percent(report.baseline.negativeShare)} in the previous 7 days`,
        zh: `今日 ${report.totals.items} 条（${report.totals.withText} 条含文字），负面占比 ${percent(report.sentiment.negativeShare)}，前 7 天 ${percent(report.baseline.negativeShare)}`,
      }),
      context.t({ en: `urgent: ${report.urgent.count}`, zh: `紧急：${report.urgent.count}` }),
      ...problems.map(
        (theme) =>
          `${context.t(THEME_NAMES[theme.theme])}: ${theme.count} (${percent(theme.negativeShare)} ${context.t({ en: 'negative', zh: '负面' })})`,
      ),
    ];
    const status = report.negativeRising.rising ? 'fail' : report.urgent.count > 0 ? 'warn' : 'pass';
    return {
      status,
      summary: context.t({
        en: `${report.totals.items} new items, ${report.urgent.count} urgent${report.negativeRising.rising ? ', negative feedback rising' : ''}`,
        zh: `新增 ${report.totals.items} 条，紧急 ${report.urgent.count} 条${report.negativeRising.rising ? '，负面情绪上升' : ''}`,
      }),
      evidence,
      data: {
        items: report.totals.items,
        urgent: report.urgent.count,
        negativeShare: report.sentiment.negativeShare,
        rising: report.negativeRising.rising,
      },
    };
  },
};

/** Days of history api.latency_trend compares today with (the same hours of each). */
const TREND_DAYS = 7;
/** Today counts as slower than usual above this many times the usual p95 (and 50 ms more). */
const SLOWER_FACTOR = 1.5;

interface RouteTrend {
  route: string;
  p50: number | null;
  p95: number | null;
  usualP95: number | null;
}

/**
 * p50 and p95 per route over today so far (at least the last hour), and the median p95
 * over the same hours of each of the previous days, from Prometheus.
 */
export async function latencyTrend(prometheusUrl: string, now: Date, since: Date): Promise<RouteTrend[]> {
  const seconds = Math.max(60, Math.round((now.getTime() - since.getTime()) / 1000));
  const expr = (q: number, offsetDays: number) =>
    `histogram_quantile(${q}, sum by (le, method, route) (increase(http_request_duration_seconds_bucket{job="smartalk",route!="/metrics"}[${seconds}s]${offsetDays ? ` offset ${offsetDays}d` : ''})))`;
  const key = (metric: Record<string, string>) => `${metric.method ?? ''} ${metric.route ?? ''}`;
  const [p50, p95, ...before] = await Promise.all([
    promQuery(prometheusUrl, expr(0.5, 0), now),
    promQuery(prometheusUrl, expr(0.95, 0), now),
    ...Array.from({ length: TREND_DAYS }, (_, i) => promQuery(prometheusUrl, expr(0.95, i + 1), now)),
  ]);
  const routes = new Map<string, RouteTrend>();
  const entry = (name: string) => {
    const known = routes.get(name);
    if (known) return known;
    const trend: RouteTrend = { route: name, p50: null, p95: null, usualP95: null };
    routes.set(name, trend);
    return trend;
  };
  for (const sample of p50) entry(key(sample.metric)).p50 = sample.value;
  for (const sample of p95) entry(key(sample.metric)).p95 = sample.value;
  const history = new Map<string, number[]>();
  for (const day of before)
    for (const sample of day) history.set(key(sample.metric), [...(history.get(key(sample.metric)) ?? []), sample.value]);
  for (const [name, values] of history) {
    const sorted = values.sort((a, b) => a - b);
    entry(name).usualP95 = sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
  }
  return [...routes.values()].filter((trend) => trend.p95 !== null || trend.usualP95 !== null);
}

export const apiLatency: CheckDefinition<ChecksDeps> = {
  id: 'api.latency_trend',
  slot: 'afternoon',
  severity: 'warning',
  title: { en: 'API response time trend', zh: '检查API响应时间趋势' },
  action: {
    en: 'A route slower than usual or than the SlowApi threshold: profile it (`smartalk ops diagnose db` for queries), look at its payload size, the database pool and what was deployed today.',
    zh: '路由比平常慢或超过 SlowApi 阈值：分析该路由（查询问题用 `smartalk ops diagnose db`），检查响应大小、连接池与今日的发布。',
  },
  run: async (deps, context) => {
    const threshold = thresholdOf('SlowApi', 'seconds', deps.thresholds);
    const { prometheusUrl, tz } = deps.config;
    const ms = (seconds: number | null) =>
      seconds === null
        ? '—'
        : Number.isFinite(seconds)
          ? `${Math.round(seconds * 1000)} ms`
          : `> ${(HTTP_LAST_BUCKET * 1000).toFixed(0)} ms`;
    let fallback = '';
    if (prometheusUrl) {
      const since = new Date(Math.min(startOf(context.now, 'day', tz).getTime(), context.now.getTime() - 3_600_000));
      try {
        const trends = await latencyTrend(prometheusUrl, context.now, since);
        if (trends.length > 0) {
          const slower = trends.filter(
            (t) =>
              t.p95 !== null &&
              ((t.usualP95 !== null && t.p95 > SLOWER_FACTOR * t.usualP95 && t.p95 - t.usualP95 > 0.05) || t.p95 > threshold),
          );
          const sorted = [...trends].sort((a, b) => (b.p95 ?? 0) - (a.p95 ?? 0));
          return {
            status: slower.length > 0 ? 'warn' : 'pass',
            summary: context.t({
              en: `${trends.length} routes today vs the same hours of the previous ${TREND_DAYS} days: ${slower.length} slower than usual or over ${threshold} s`,
              zh: `${trends.length} 个路由与前 ${TREND_DAYS} 天同时段对比：${slower.length} 个比平常慢或超过 ${threshold} 秒`,
            }),
            evidence: sorted.slice(0, 10).map((t) =>
              context.t({
                en: `${t.route}: p50 ${ms(t.p50)}, p95 ${ms(t.p95)} today; usual p95 ${ms(t.usualP95)}${slower.includes(t) ? ' — SLOWER' : ''}`,
                zh: `${t.route}：今日 p50 ${ms(t.p50)}，p95 ${ms(t.p95)}；平常 p95 ${ms(t.usualP95)}${slower.includes(t) ? ' — 变慢' : ''}`,
              }),
            ),
            data: { source: 'prometheus', since: since.toISOString(), thresholdSeconds: threshold, routes: trends },
          };
        }
        fallback = context.t({
          en: `Prometheus at ${prometheusUrl} has no request history yet`,
          zh: `Prometheus（${prometheusUrl}）尚无请求历史`,
        });
      } catch (error) {
        fallback = context.t({
          en: `Prometheus at ${prometheusUrl} did not answer (${(error as Error).message}); this instance's own figures instead`,
          zh: `Prometheus（${prometheusUrl}）无响应（${(error as Error).message}）；改用本实例的数据`,
        });
      }
    }
    const routes = deps.http
      .routeLatencies([0.5, 0.95])
      .filter((route) => route.count > 0 && route.route !== '/metrics')
      .sort((a, b) => (b.quantiles[1] as number) - (a.quantiles[1] as number) || b.count - a.count);
    if (routes.length === 0) {
      return {
        status: 'skip',
        summary: context.t({
          en: 'no requests answered by this instance yet, and no Prometheus history',
          zh: '本实例尚未处理请求，且无 Prometheus 历史',
        }),
        evidence: fallback ? [fallback] : [],
      };
    }
    const edge = (seconds: number) => (Number.isFinite(seconds) ? `≤ ${seconds * 1000} ms` : ms(seconds));
    const slow = routes.filter((route) => (route.quantiles[1] as number) > threshold);
    return {
      status: slow.length > 0 ? 'warn' : 'pass',
      summary: context.t({
        en: `${routes.length} routes since this instance started; ${slow.length} with p95 over ${threshold} s`,
        zh: `本实例启动以来 ${routes.length} 个路由；${slow.length} 个 p95 超过 ${threshold} 秒`,
      }),
      evidence: [
        ...routes
          .slice(0, 10)
          .map(
            (route) =>
              `${route.method} ${route.route}: p50 ${edge(route.quantiles[0] as number)}, p95 ${edge(route.quantiles[1] as number)} (${route.count})`,
          ),
        fallback ||
          context.t({
            en: 'the comparison with the previous 7 days needs Prometheus (PROMETHEUS_URL): this instance keeps no history',
            zh: '与前 7 天对比需要 Prometheus（PROMETHEUS_URL）：本实例不保存历史',
          }),
      ],
      data: { source: 'instance', thresholdSeconds: threshold, routes: routes.slice(0, 20) },
    };
  },
};

const HTTP_LAST_BUCKET = HTTP_BUCKETS[HTTP_BUCKETS.length - 1] as number;

export const featuresUsage: CheckDefinition<ChecksDeps> = {
  id: 'features.usage',
  slot: 'friday',
  severity: 'info',
  title: { en: 'Feature usage', zh: '评估功能使用情况' },
  action: {
    en: 'A feature few learners reach, or rescue mode used by many: bring it to the product team with these numbers.',
    zh: '很少用户使用的功能，或大量用户进入救援模式：带着这些数据与产品团队讨论。',
  },
  run: async (deps, context) => {
    const { since, until } = { since: new Date(context.now.getTime() - 7 * 86_400_000), until: context.now };
    const report = await deps.reports.metrics({ since, until, now: context.now });
    const l = report.learning;
    if (l.attempts === 0)
      return { status: 'skip', summary: context.t({ en: 'no learning in the last 7 days', zh: '过去 7 天无学习记录' }) };
    return {
      status: 'pass',
      summary: context.t({
        en: `last 7 days: ${l.attempts} answers, focus mode ${percent(l.focusModeShare)}, rescue mode ${percent(l.rescueModeShare)}, ${l.dramasCompleted} dramas completed`,
        zh: `过去 7 天：${l.attempts} 次作答，专注模式 ${percent(l.focusModeShare)}，救援模式 ${percent(l.rescueModeShare)}，完成剧集 ${l.dramasCompleted} 部`,
      }),
      evidence: [
        context.t({ en: `correct answers ${l.correctAttempts} of ${l.attempts}`, zh: `正确 ${l.correctAttempts}/${l.attempts}` }),
        context.t({
          en: `answers per clue ${l.averageAttemptsPerClue?.toFixed(2) ?? '—'}`,
          zh: `每个线索平均作答 ${l.averageAttemptsPerClue?.toFixed(2) ?? '—'} 次`,
        }),
        context.t({
          en: `focus mode entered ${l.focusModeTriggers}×, rescue mode ${l.rescueModeTriggers}×`,
          zh: `进入专注模式 ${l.focusModeTriggers} 次，救援模式 ${l.rescueModeTriggers} 次`,
        }),
        context.t({
          en: `average time to complete a drama ${l.averageSecondsToCompleteDrama === null ? '—' : `${Math.round(l.averageSecondsToCompleteDrama)} s`}`,
          zh: `完成一部剧平均用时 ${l.averageSecondsToCompleteDrama === null ? '—' : `${Math.round(l.averageSecondsToCompleteDrama)} 秒`}`,
        }),
      ],
      data: { learning: l },
    };
  },
};

/** Weeks compared by users.behavior_trends: this one and the four before it. */
const TREND_WEEKS = 5;

export const usersBehaviorTrends: CheckDefinition<ChecksDeps> = {
  id: 'users.behavior_trends',
  slot: 'friday',
  severity: 'info',
  title: { en: 'User behaviour trends', zh: '分析用户行为趋势' },
  action: {
    en: 'A measure falling for two weeks or more: find the release or content change that began it (the funnel step that moved, the feedback themes of those weeks) and bring it to the product team.',
    zh: '某项指标连续两周以上下降：找出引起变化的版本或内容（变化的漏斗步骤、这几周的反馈主题），并提交产品团队。',
  },
  run: async (deps, context) => {
    const end = startOf(context.now, 'day', deps.config.tz).getTime() + 86_400_000;
    const weeks = await Promise.all(
      Array.from({ length: TREND_WEEKS }, (_, i) => {
        const until = new Date(Math.min(end - i * 7 * 86_400_000, context.now.getTime()));
        const since = new Date(end - (i + 1) * 7 * 86_400_000);
        return deps.reports.metrics({ since, until, now: context.now }).then((report) => ({ since, report }));
      }),
    );
    weeks.reverse(); // oldest first
    const rows = weeks.map(({ since, report }) => ({
      week: isoDay(localDay(since.getTime(), deps.config.tz)),
      newUsers: report.newUsers,
      activation: report.activation.rate,
      d1: report.retention.d1.rate,
      d7: report.retention.d7.rate,
      secondsToMagic: report.funnel.at(-1)?.medianSecondsToConvert ?? null,
    }));
    if (rows.every((row) => row.newUsers === 0)) {
      return {
        status: 'skip',
        summary: context.t({ en: `no new learners in ${TREND_WEEKS} weeks`, zh: `${TREND_WEEKS} 周内无新用户` }),
      };
    }
    // Falling two weeks running: of the last three weeks that have the measure (a week
    // without new learners says nothing about activation), each below the one before.
    const falling = (key: 'activation' | 'd1' | 'd7') => {
      const [a, b, c] = rows
        .map((row) => row[key])
        .filter((value): value is number => value !== null)
        .slice(-3);
      return a !== undefined && b !== undefined && c !== undefined && c < b && b < a;
    };
    const down = (['activation', 'd1', 'd7'] as const).filter(falling);
    return {
      status: down.length > 0 ? 'warn' : 'pass',
      summary:
        down.length > 0
          ? context.t({ en: `falling two weeks running: ${down.join(', ')}`, zh: `连续两周下降：${down.join('、')}` })
          : context.t({
              en: `no measure fell two weeks running over ${TREND_WEEKS} weeks`,
              zh: `${TREND_WEEKS} 周内无指标连续两周下降`,
            }),
      evidence: rows.map((row) =>
        context.t({
          en: `week of ${row.week}: ${row.newUsers} new, activation ${percent(row.activation)}, D1 ${percent(row.d1)}, D7 ${percent(row.d7)}`,
          zh: `${row.week} 当周：新用户 ${row.newUsers}，激活 ${percent(row.activation)}，次日留存 ${percent(row.d1)}，7 日留存 ${percent(row.d7)}`,
        }),
      ),
      data: { weeks: rows, falling: down },
    };
  },
};

/**
 * The client events mobile performance is read from (docs/metrics.md): `app_started`
 * (properties.durationMs: launch to first screen), `video_loaded` (properties.durationMs:
 * request to first frame) and `app_crashed`. Limits: the runbook's "视频加载缓慢" and
 * ordinary app-store expectations.
 */
export const MOBILE_LIMITS = { startP95Ms: 3_000, videoLoadP95Ms: 2_000, crashRate: 0.01 } as const;

export const mobilePerformance: CheckDefinition<ChecksDeps> = {
  id: 'mobile.performance',
  slot: 'wednesday',
  severity: 'info',
  title: { en: 'Mobile app performance', zh: '分析移动应用性能数据' },
  action: {
    en: 'Slow starts or video loads: split them by app version and platform (the events carry both) and bring the worst to the app team; video loads: see runbook 问题3 (the CDN). Crashes: read the crash reports of the version that rose.',
    zh: '启动或视频加载慢：按版本与平台拆分（事件带有这两项）并交给客户端团队；视频加载慢参见运维指南 问题3（CDN）。崩溃：查看崩溃率上升版本的崩溃报告。',
  },
  run: async ({ db }, context) => {
    const since = new Date(context.now.getTime() - 7 * 86_400_000);
    const { rows } = await sql<{ name: string; n: number; p50: number | null; p95: number | null }>`
      SELECT name, count(*)::int AS n,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY (properties->>'durationMs')::float8) AS p50,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY (properties->>'durationMs')::float8) AS p95
      FROM analytics_events
      WHERE "timestamp" >= ${since} AND "timestamp" < ${context.now}
        AND name IN ('app_started', 'video_loaded', 'app_crashed')
        AND (name = 'app_crashed' OR jsonb_typeof(properties->'durationMs') = 'number')
      GROUP BY name`.execute(db.kysely);
    const by = new Map(rows.map((row) => [row.name, row]));
    const starts = by.get('app_started');
    const videos = by.get('video_loaded');
    const crashes = by.get('app_crashed')?.n ?? 0;
    if (!starts && !videos && crashes === 0) {
      return {
        status: 'skip',
        summary: context.t({
          en: 'no app_started, video_loaded or app_crashed events in 7 days: the app does not send them yet (docs/metrics.md)',
          zh: '7 天内无 app_started、video_loaded 或 app_crashed 事件：客户端尚未上报（见 docs/metrics.md）',
        }),
      };
    }
    const crashRate = starts && starts.n > 0 ? crashes / starts.n : null;
    const slowStart = (starts?.p95 ?? 0) > MOBILE_LIMITS.startP95Ms;
    const slowVideo = (videos?.p95 ?? 0) > MOBILE_LIMITS.videoLoadP95Ms;
    const crashing = crashRate !== null && crashRate > MOBILE_LIMITS.crashRate;
    const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${Math.round(v)} ms`);
    return {
      status: slowStart || slowVideo || crashing ? 'warn' : 'pass',
      summary: context.t({
        en: `start p95 ${ms(starts?.p95)}, video load p95 ${ms(videos?.p95)}, crash rate ${percent(crashRate)}`,
        zh: `启动 p95 ${ms(starts?.p95)}，视频加载 p95 ${ms(videos?.p95)}，崩溃率 ${percent(crashRate)}`,
      }),
      evidence: [
        context.t({
          en: `app starts: ${starts?.n ?? 0}, p50 ${ms(starts?.p50)}, p95 ${ms(starts?.p95)} (limit ${MOBILE_LIMITS.startP95Ms} ms)`,
          zh: `启动：${starts?.n ?? 0} 次，p50 ${ms(starts?.p50)}，p95 ${ms(starts?.p95)}（上限 ${MOBILE_LIMITS.startP95Ms} 毫秒）`,
        }),
        context.t({
          en: `video loads: ${videos?.n ?? 0}, p50 ${ms(videos?.p50)}, p95 ${ms(videos?.p95)} (limit ${MOBILE_LIMITS.videoLoadP95Ms} ms)`,
          zh: `视频加载：${videos?.n ?? 0} 次，p50 ${ms(videos?.p50)}，p95 ${ms(videos?.p95)}（上限 ${MOBILE_LIMITS.videoLoadP95Ms} 毫秒）`,
        }),
        context.t({
          en: `crashes: ${crashes} per ${starts?.n ?? 0} starts (${percent(crashRate)}, limit ${percent(MOBILE_LIMITS.crashRate)})`,
          zh: `崩溃：${crashes} 次 / ${starts?.n ?? 0} 次启动（${percent(crashRate)}，上限 ${percent(MOBILE_LIMITS.crashRate)}）`,
        }),
      ],
      data: { starts: starts ?? null, videoLoads: videos ?? null, crashes, crashRate },
    };
  },
};
