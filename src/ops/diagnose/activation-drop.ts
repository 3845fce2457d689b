/**
 * 问题4 用户激活率突然下降: the runbook's steps — which funnel step fell (the last 24 hours
 * against the 7 days before), in which app version, platform and interest, whether the
 * endpoints behind that step fail or slow down, what learners complain about in the same
 * hours — and its remedy, 必要时回滚到稳定版本, when a version new in the window explains
 * the drop.
 */
import { enoughNewUsersToCompare } from '../../analytics/definitions.js';
import type { MetricsReport } from '../../analytics/report.js';
import { percent } from '../../format.js';
import { thresholdOf } from '../alerts/catalog.js';
import { promQuery } from '../prometheus-query.js';
import { type DiagnoseDeps, type ScenarioDefinition, step } from './diagnosis.js';

const WINDOW_MS = 24 * 3_600_000;
const BASELINE_MS = 7 * 86_400_000;
/** A segment or a version needs this many new learners before its rate is read. */
const MIN_SEGMENT_USERS = 10;

/** The API routes a learner goes through to reach each funnel step. */
export const STEP_ROUTES: Record<number, string[]> = {
  1: ['/api/v1/users', '/api/v1/analytics/events'],
  2: ['/api/v1/interests'],
  3: ['/api/v1/users/:userId/interests', '/api/v1/interests/:interestId/dramas'],
  4: ['/api/v1/dramas/:dramaId', '/videos/*'],
  5: ['/api/v1/dramas/:dramaId', '/api/v1/keywords/:keywordId/attempts'],
  6: ['/api/v1/keywords/:keywordId/attempts'],
  7: ['/api/v1/keywords/:keywordId/attempts'],
  8: ['/api/v1/dramas/:dramaId/magic-moment'],
};

const windowOf = (now: Date) => ({ since: new Date(now.getTime() - WINDOW_MS), until: now });
const baselineOf = (now: Date) => ({
  since: new Date(now.getTime() - WINDOW_MS - BASELINE_MS),
  until: new Date(now.getTime() - WINDOW_MS),
});

async function mainReport(deps: DiagnoseDeps, now: Date): Promise<MetricsReport> {
  const cached = deps.found.get('activation.report') as MetricsReport | undefined;
  if (cached) return cached;
  const report = await deps.reports.metrics(windowOf(now));
  deps.found.set('activation.report', report);
  return report;
}

/** Activation per group now and before, for groups with enough new learners in both or new now. */
function compareGroups(current: MetricsReport, before: MetricsReport) {
  const previous = new Map((before.breakdown?.groups ?? []).map((g) => [g.key, g]));
  return (current.breakdown?.groups ?? [])
    .filter((g) => g.newUsers >= MIN_SEGMENT_USERS)
    .map((g) => {
      const then = previous.get(g.key);
      return {
        key: g.key ?? '(none)',
        newUsers: g.newUsers,
        rate: g.activationRate,
        before: then && then.newUsers >= MIN_SEGMENT_USERS ? then.activationRate : null,
        isNew: !then || then.newUsers === 0,
      };
    });
}

export const activationDropScenario: ScenarioDefinition = {
  id: 'activation-drop',
  title: { en: 'Problem 4: the activation rate drops suddenly', zh: '问题4：用户激活率突然下降' },
  steps: [
    step(
      'activation.funnel',
      { en: 'Which funnel step dropped', zh: '转化漏斗哪个环节下降' },
      {
        en: 'Look at the step with the largest drop first: its screens, its API calls (next finding) and the feedback about it.',
        zh: '先看下降最多的环节：它的页面、它调用的接口（下一项）以及相关反馈。',
      },
      async (deps, context) => {
        const report = await mainReport(deps, context.now);
        const factor = thresholdOf('FunnelStepDrop', 'factor', deps.thresholds);
        const dropFactor = thresholdOf('ActivationRateDrop', 'factor', deps.thresholds);
        const steps = report.funnel.map((s) => {
          const before = report.baseline.funnel.find((b) => b.step === s.step)?.stepConversion ?? null;
          return {
            step: s.step,
            event: s.event,
            now: s.stepConversion,
            before,
            ratio: s.stepConversion !== null && before ? s.stepConversion / before : null,
          };
        });
        const worst = steps.filter((s) => s.ratio !== null).sort((a, b) => (a.ratio as number) - (b.ratio as number))[0];
        if (worst) deps.found.set('activation.worst_step', worst.step);
        const rate = report.activation.rate;
        const baseline = report.baseline.activationRate;
        const dropped = rate !== null && baseline !== null && rate < dropFactor * baseline;
        const stepDropped = worst?.ratio !== null && worst !== undefined && (worst.ratio as number) < factor;
        // ActivationRateDrop's own gate: with fewer new learners a fall is a lead, not a finding.
        const minNewUsers = thresholdOf('ActivationRateDrop', 'minNewUsers', deps.thresholds);
        const enough = enoughNewUsersToCompare(report, minNewUsers);
        const evidence = steps.map(
          (s) =>
            `${s.step}. ${s.event}: ${percent(s.now)} ← ${percent(s.before)}${s.ratio !== null && s.ratio < factor ? ' ▼' : ''}`,
        );
        if (!enough)
          evidence.push(
            context.t({
              en: `too few new learners to judge: ${report.newUsers} in the last 24 h, ${report.baseline.newUsers} the 7 days before (the alerts need ${minNewUsers} on each side)`,
              zh: `新用户太少，不足以判断：最近 24 小时 ${report.newUsers} 人，前 7 天 ${report.baseline.newUsers} 人（告警要求两边各至少 ${minNewUsers} 人）`,
            }),
          );
        return {
          status: dropped && enough ? 'fail' : dropped || stepDropped ? 'warn' : 'pass',
          summary: context.t({
            en: `activation ${percent(rate)} in the last 24 h vs ${percent(baseline)} the 7 days before (${report.newUsers} new learners)${worst ? `; the largest fall: step ${worst.step} ${worst.event} at ${percent(worst.ratio)} of its usual conversion` : ''}`,
            zh: `最近 24 小时激活率 ${percent(rate)}，前 7 天 ${percent(baseline)}（新用户 ${report.newUsers}）${worst ? `；降幅最大：第 ${worst.step} 步 ${worst.event}，为平时转化率的 ${percent(worst.ratio)}` : ''}`,
          }),
          evidence,
          data: { rate, baseline, steps },
        };
      },
    ),
    step(
      'activation.segments',
      { en: 'By app version, platform and interest', zh: '按应用版本、平台与兴趣拆分' },
      {
        en: 'A drop confined to one version: a bug in that release (回滚到稳定版本); to one platform: that store build or OS; to one interest: its content or videos.',
        zh: '仅某个版本下降：该版本有 bug（回滚到稳定版本）；仅某平台：该平台的安装包或系统；仅某兴趣：其内容或视频。',
      },
      async (deps, context) => {
        const { reports } = deps;
        const evidence: string[] = [];
        const factor = thresholdOf('ActivationRateDrop', 'factor', deps.thresholds);
        let worstStatus: 'pass' | 'warn' | 'fail' = 'pass';
        const suspects: string[] = [];
        for (const by of ['appVersion', 'platform', 'interest'] as const) {
          const [current, before] = await Promise.all([
            reports.metrics({ ...windowOf(context.now), breakdown: by }),
            reports.metrics({ ...baselineOf(context.now), breakdown: by }),
          ]);
          const groups = compareGroups(current, before);
          const others = (key: string) => {
            const rest = groups.filter((g) => g.key !== key && g.rate !== null);
            const users = rest.reduce((sum, g) => sum + g.newUsers, 0);
            return users > 0 ? rest.reduce((sum, g) => sum + (g.rate as number) * g.newUsers, 0) / users : null;
          };
          for (const g of groups) {
            const reference = g.before ?? others(g.key);
            const low = g.rate !== null && reference !== null && g.rate < factor * reference;
            if (low) {
              suspects.push(`${by}=${g.key}`);
              if (by === 'appVersion' && g.isNew) {
                worstStatus = 'fail';
                deps.found.set('activation.bad_version', g.key);
              } else if (worstStatus === 'pass') worstStatus = 'warn';
            }
            evidence.push(
              `${by} ${g.key}: ${percent(g.rate)} (${g.newUsers} ${context.t({ en: 'new', zh: '新用户' })})${g.isNew ? context.t({ en: ' — new in this window', zh: ' —— 本窗口新出现' }) : ` ← ${percent(g.before)}`}${low ? ' ▼' : ''}`,
            );
          }
        }
        const badVersion = deps.found.get('activation.bad_version') as string | undefined;
        return {
          status: worstStatus,
          summary: badVersion
            ? context.t({
                en: `app version ${badVersion}, new in the last 24 h, activates far below the others: roll it back (必要时回滚到稳定版本)`,
                zh: `应用版本 ${badVersion} 为最近 24 小时新出现，激活率远低于其他版本：建议回滚到稳定版本`,
              })
            : suspects.length
              ? context.t({ en: `lower than before in: ${suspects.join(', ')}`, zh: `以下分组低于以往：${suspects.join('、')}` })
              : context.t({ en: 'no segment stands out', zh: '没有明显异常的分组' }),
          evidence,
        };
      },
    ),
    step(
      'activation.endpoints',
      { en: 'Errors and latency of the endpoints behind that step', zh: '该环节相关接口的错误率与延迟' },
      {
        en: 'Errors on those routes: a bug (检查是否有新的bug引入) — read their error lines in LOG_FILE; slow routes: `smartalk ops diagnose db`.',
        zh: '这些接口出错：可能引入了新 bug（检查是否有新的bug引入）——在 LOG_FILE 中查看其错误日志；接口变慢：`smartalk ops diagnose db`。',
      },
      async (deps, context) => {
        const worst = (deps.found.get('activation.worst_step') as number | undefined) ?? 8;
        const routes = STEP_ROUTES[worst] ?? [];
        const rows = deps.config.prometheusUrl
          ? await routeStatsFromPrometheus(deps.config.prometheusUrl, routes, context.now)
          : await routeStatsFromServer(deps.url, routes);
        if (!rows)
          return {
            status: 'skip',
            summary: context.t({
              en: `no metrics: neither Prometheus nor ${deps.url}/metrics answered`,
              zh: `无指标：Prometheus 与 ${deps.url}/metrics 均无应答`,
            }),
          };
        const source = deps.config.prometheusUrl
          ? context.t({ en: 'last 24 h (Prometheus)', zh: '最近 24 小时（Prometheus）' })
          : context.t({ en: 'since the server started (its /metrics)', zh: '自服务器启动以来（/metrics）' });
        const failing = rows.filter(
          (r) => r.requests > 0 && r.errors / r.requests > thresholdOf('HighErrorRate', 'ratio', deps.thresholds),
        );
        return {
          status: failing.length > 0 ? 'fail' : 'pass',
          summary: context.t({
            en: `step ${worst}: ${failing.length ? `errors on ${failing.map((r) => r.route).join(', ')}` : 'its routes answer without server errors'} — ${source}`,
            zh: `第 ${worst} 步：${failing.length ? `${failing.map((r) => r.route).join('、')} 出错` : '相关接口无服务端错误'} —— ${source}`,
          }),
          evidence: rows.map(
            (r) =>
              `${r.route}: ${r.requests} ${context.t({ en: 'requests', zh: '次请求' })}, 5xx ${percent(r.requests ? r.errors / r.requests : null)}, ${context.t({ en: 'mean', zh: '平均' })} ${r.meanSeconds === null ? '—' : `${(r.meanSeconds * 1000).toFixed(0)} ms`}`,
          ),
          data: { step: worst, routes: rows },
        };
      },
    ),
    step(
      'activation.feedback',
      { en: 'Negative feedback in the same hours', zh: '同时段的负面反馈' },
      {
        en: 'Read the quotes of the top negative theme: they often name the broken screen.',
        zh: '阅读负面最多主题的原话：往往直接指出出问题的页面。',
      },
      async (deps, context) => {
        const report = await deps.reports.feedback(windowOf(context.now));
        const themes = report.themes
          .filter((t) => t.theme !== 'other' && t.count > 0 && (t.negativeShare ?? 0) > 0)
          .sort((a, b) => b.count * (b.negativeShare ?? 0) - a.count * (a.negativeShare ?? 0));
        const rising = report.negativeRising.rising;
        return {
          status: rising ? 'warn' : 'pass',
          summary: context.t({
            en: `${report.totals.items} items, ${percent(report.sentiment.negativeShare)} negative (${percent(report.baseline.negativeShare)} before)${themes[0] ? `; most complained about: ${themes[0].theme}` : ''}`,
            zh: `${report.totals.items} 条反馈，负面 ${percent(report.sentiment.negativeShare)}（此前 ${percent(report.baseline.negativeShare)}）${themes[0] ? `；抱怨最多：${themes[0].theme}` : ''}`,
          }),
          evidence: themes.slice(0, 3).flatMap((t) => [
            `${t.theme}: ${t.count} (${percent(t.negativeShare)} ${context.t({ en: 'negative', zh: '负面' })})`,
            ...t.examples
              .filter((e) => e.sentiment < 0)
              .slice(0, 2)
              .map((e) => `  “${e.text.slice(0, 120)}”`),
          ]),
        };
      },
    ),
  ],
};

interface RouteStats {
  route: string;
  requests: number;
  errors: number;
  meanSeconds: number | null;
}

/** The routes' counters from the server's own /metrics (cumulative since it started). */
async function routeStatsFromServer(url: string, routes: string[]): Promise<RouteStats[] | null> {
  let text: string;
  try {
    text = await (await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(4_000) })).text();
  } catch {
    return null;
  }
  const stats = new Map(routes.map((route) => [route, { route, requests: 0, errors: 0, sum: 0, count: 0 }]));
  for (const line of text.split('\n')) {
    const match =
      /^(http_requests_total|http_request_duration_seconds_sum|http_request_duration_seconds_count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const entry = stats.get(labels.route ?? '');
    if (!entry) continue;
    const value = Number(match[3]);
    if (match[1] === 'http_requests_total') {
      entry.requests += value;
      if ((labels.status ?? '').startsWith('5')) entry.errors += value;
    } else if (match[1] === 'http_request_duration_seconds_sum') entry.sum += value;
    else entry.count += value;
  }
  return [...stats.values()].map((s) => ({
    route: s.route,
    requests: s.requests,
    errors: s.errors,
    meanSeconds: s.count ? s.sum / s.count : null,
  }));
}

/** The routes' requests, 5xx and mean latency over the last 24 h, from Prometheus. */
async function routeStatsFromPrometheus(base: string, routes: string[], now: Date): Promise<RouteStats[] | null> {
  const selector = `route=~"${routes.map((r) => r.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|')}"`;
  try {
    const [requests, errors, sums, counts] = await Promise.all([
      promQuery(base, `sum by (route) (increase(http_requests_total{${selector}}[24h]))`, now),
      promQuery(base, `sum by (route) (increase(http_requests_total{${selector},status=~"5.."}[24h]))`, now),
      promQuery(base, `sum by (route) (increase(http_request_duration_seconds_sum{${selector}}[24h]))`, now),
      promQuery(base, `sum by (route) (increase(http_request_duration_seconds_count{${selector}}[24h]))`, now),
    ]);
    const of = (samples: typeof requests, route: string) => samples.find((s) => s.metric.route === route)?.value ?? 0;
    return routes.map((route) => {
      const count = of(counts, route);
      return {
        route,
        requests: of(requests, route),
        errors: of(errors, route),
        meanSeconds: count ? of(sums, route) / count : null,
      };
    });
  } catch {
    return null;
  }
}
