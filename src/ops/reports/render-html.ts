/**
 * A report as one self-contained HTML file: inline CSS and SVG charts, no script, no
 * font or image from elsewhere, so it opens from a mail attachment, prints on A4 and
 * reads on a phone. Every chart carries its numbers for screen readers (svg-charts.ts);
 * every text from data — learners' quotes included — is escaped.
 */
import { FUNNEL } from '../../analytics/definitions.js';
import { THEME_NAMES } from '../../feedback/definitions.js';
import { percent } from '../../format.js';
import { say } from '../../i18n.js';
import type { OpsReport } from './ops-report.js';
import { barChart, html, lineChart } from './svg-charts.js';

const STYLE = `
:root{--ink:#1d2433;--muted:#5b6475;--line:#d8dde6;--good:#1f8a4c;--bad:#c0392b;--warn:#b7791f;--accent:#2f6fde;--bg:#fff}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 -apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",system-ui,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:860px;margin:0 auto;padding:16px}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.meta{color:var(--muted);font-size:.9em}.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}
.kpi{border:1px solid var(--line);border-radius:8px;padding:8px 10px}.kpi b{display:block;font-size:1.35em}.kpi span{color:var(--muted);font-size:.85em}
.findings{list-style:none;padding:0}.findings li{padding:6px 10px;margin:4px 0;border-left:4px solid var(--line);background:#f6f8fb}
.findings .critical{border-color:var(--bad)}.findings .warning{border-color:var(--warn)}.findings .info{border-color:var(--accent)}
.sev{font-size:.75em;font-weight:600;text-transform:uppercase;margin-right:6px}
figure{margin:8px 0 16px}figcaption{color:var(--muted);font-size:.85em}
svg text{font-size:12px;fill:var(--ink)}svg .axis{fill:var(--muted);font-size:11px}svg .grid{stroke:var(--line)}svg .line{fill:none;stroke:var(--accent);stroke-width:2}
svg .dot{fill:var(--accent)}svg .target{stroke:var(--bad);stroke-dasharray:4 3;stroke-width:1.5}svg .target-label{fill:var(--bad);font-size:11px}
svg .bar.neutral{fill:var(--accent)}svg .bar.good{fill:var(--good)}svg .bar.bad{fill:var(--bad)}
table.data{border-collapse:collapse;width:100%;font-size:.9em}table.data th,table.data td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
blockquote{margin:4px 0;padding:2px 10px;border-left:3px solid var(--line);color:var(--muted)}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
@media print{body{font-size:11pt}main{max-width:none;padding:0}h2{break-after:avoid}figure,table,.kpis{break-inside:avoid}}
`;

/** Latency and error rate over the window, when Prometheus gave them (every instance, with history). */
function timelineCharts(report: OpsReport): string {
  const t = (en: string, zh: string) => say(report.lang, { en, zh });
  const timeline = report.operations.timeline;
  if (timeline === null) return '';
  if ('error' in timeline)
    return `<p class="meta">${html(t(`Prometheus history unavailable: ${timeline.error}`, `Prometheus 历史不可用：${timeline.error}`))}</p>`;
  if (timeline.points.length === 0) return '';
  const label = (iso: string) =>
    new Date(iso).toLocaleString(report.lang === 'zh-CN' ? 'zh-CN' : 'en-CA', {
      timeZone: report.window.tz,
      hourCycle: 'h23',
      ...(timeline.stepSeconds < 86_400 && report.kind === 'daily'
        ? { hour: '2-digit', minute: '2-digit' }
        : { month: '2-digit', day: '2-digit', hour: '2-digit' }),
    });
  const latencies = timeline.points.map((p) => p.p95Seconds).filter((v): v is number => v !== null);
  const errors = timeline.points.map((p) => p.errorRate).filter((v): v is number => v !== null);
  const slowApi = timeline.limits.p95Seconds;
  const errorLimit = timeline.limits.errorRate;
  return `${lineChart({
    title: t('p95 latency of every instance (seconds)', '所有实例的 p95 延迟（秒）'),
    description: t(
      `highest ${Math.max(0, ...latencies).toFixed(3)} s; SlowApi threshold ${slowApi} s.`,
      `最高 ${Math.max(0, ...latencies).toFixed(3)} 秒；SlowApi 阈值 ${slowApi} 秒。`,
    ),
    points: timeline.points.map((p) => ({ label: label(p.at), value: p.p95Seconds })),
    max: Math.max(slowApi * 1.2, ...latencies),
    target: { value: slowApi, label: 'SlowApi' },
    format: (v) => `${v.toFixed(2)} s`,
    table: {
      head: [t('time', '时间'), 'p95 s'],
      rows: timeline.points.map((p) => [label(p.at), p.p95Seconds === null ? '—' : p.p95Seconds.toFixed(3)]),
    },
  })}${lineChart({
    title: t('Share of requests answered 5xx, every instance', '所有实例 5xx 响应占比'),
    description: t(
      `highest ${percent(Math.max(0, ...errors), 2)}; HighErrorRate fires above 5%.`,
      `最高 ${percent(Math.max(0, ...errors), 2)}；超过 5% 触发 HighErrorRate。`,
    ),
    points: timeline.points.map((p) => ({ label: label(p.at), value: p.errorRate })),
    max: Math.max(errorLimit * 1.2, ...errors),
    target: { value: errorLimit, label: 'HighErrorRate' },
    format: (v) => `${(v * 100).toFixed(1)}%`,
    table: {
      head: [t('time', '时间'), t('5xx share', '5xx 占比')],
      rows: timeline.points.map((p) => [label(p.at), percent(p.errorRate, 2)]),
    },
  })}`;
}

export function renderReportHtml(report: OpsReport): string {
  const lang = report.lang;
  const t = (en: string, zh: string) => say(lang, { en, zh });
  const local = (iso: string) =>
    new Date(iso).toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-CA', { timeZone: report.window.tz, hourCycle: 'h23' });
  const { metrics, feedback, operations } = report;
  const sections: string[] = [];

  sections.push(
    `<header><h1>${html(report.title)}</h1><p class="meta">${html(`${local(report.window.since)} → ${local(report.window.until)} (${report.window.tz})`)} · ${html(t('generated', '生成于'))} ${html(local(report.generatedAt))}</p></header>`,
  );
  sections.push(
    `<section><h2>${html(t('Findings', '要点'))}</h2><ul class="findings">${report.findings
      .map((f) => `<li class="${f.severity}"><span class="sev">${html(f.severity)}</span>${html(f.text)}</li>`)
      .join('')}</ul></section>`,
  );
  const kpis: Array<[string, string]> = [
    [t('new learners', '新用户'), String(metrics.newUsers)],
    [
      t(
        `activation (target ${percent(metrics.activation.target, 0)})`,
        `激活率（目标 ${percent(metrics.activation.target, 0)}）`,
      ),
      percent(metrics.activation.rate),
    ],
    [t('D1 retention (active on day 1 after activation)', '次日留存（激活后第 1 天活跃）'), percent(metrics.retention.d1.rate)],
    [t('D7 retention (active on day 7 after activation)', '7 日留存（激活后第 7 天活跃）'), percent(metrics.retention.d7.rate)],
    [t('feedback items', '反馈数'), String(feedback.totals.items)],
    [t('negative feedback (of all items)', '负面反馈（占全部）'), percent(feedback.sentiment.negativeShare)],
  ];
  if (report.kind !== 'product') {
    kpis.push(
      [t('alerts fired', '告警数'), String(operations.alerts.fired)],
      [t('API error rate', 'API 错误率'), percent(operations.errorRate, 2)],
    );
  } else {
    kpis.push(
      [t('dramas completed', '完成剧集'), String(metrics.learning.dramasCompleted)],
      [t('rescue mode (of answers)', '救援模式（占作答）'), percent(metrics.learning.rescueModeShare)],
    );
  }
  sections.push(
    `<section class="kpis">${kpis.map(([label, value]) => `<div class="kpi"><b>${html(value)}</b><span>${html(label)}</span></div>`).join('')}</section>`,
  );

  const rated = report.trend.points.filter((p) => p.rate !== null);
  sections.push(
    `<section><h2>${html(t('Activation trend', '激活率趋势'))}</h2>${lineChart({
      title: t('Activation rate by day of first launch, against the 40% target', '按首次启动日的激活率（目标 40%）'),
      description: t(
        `${rated.length} days with new learners; latest ${percent(rated.at(-1)?.rate ?? null)}, target ${percent(report.trend.target, 0)}.`,
        `${rated.length} 天有新用户；最近 ${percent(rated.at(-1)?.rate ?? null)}，目标 ${percent(report.trend.target, 0)}。`,
      ),
      points: report.trend.points.map((p) => ({ label: p.day.slice(5), value: p.rate })),
      max: 1,
      target: { value: report.trend.target, label: t('target', '目标') },
      format: (v) => `${Math.round(v * 100)}%`,
      table: {
        head: [t('day', '日期'), t('new learners', '新用户'), t('activated', '已激活'), t('rate', '激活率')],
        rows: report.trend.points.map((p) => [
          p.day,
          p.newUsers,
          p.activated,
          `${percent(p.rate)}${p.complete ? '' : t(' (open)', '（进行中）')}`,
        ]),
      },
    })}</section>`,
  );

  sections.push(
    `<section><h2>${html(t('Conversion funnel', '转化漏斗'))}</h2>${barChart({
      title: t(
        'Learners reaching each step and their share of launches; the mark is the step’s target',
        '到达各步骤的用户数及占启动用户比例；竖线为该步目标',
      ),
      description: t(
        `${metrics.funnel[0]?.users ?? 0} launched; ${metrics.funnel.at(-1)?.users ?? 0} reached the magic moment.`,
        `${metrics.funnel[0]?.users ?? 0} 人启动；${metrics.funnel.at(-1)?.users ?? 0} 人完成魔法时刻。`,
      ),
      max: Math.max(1, metrics.funnel[0]?.users ?? 0),
      rows: metrics.funnel.map((step) => ({
        label: `${step.step}. ${say(lang, FUNNEL[step.step - 1]?.label ?? { en: step.event, zh: step.event })}`,
        value: step.users,
        display: `${step.users} (${percent(step.overallConversion)})`,
        marker: step.target * (metrics.funnel[0]?.users ?? 0),
        tone: step.met === false ? 'bad' : step.met ? 'good' : 'neutral',
      })),
      table: {
        head: [
          t('step', '步骤'),
          t('learners', '用户'),
          t('step conversion', '步骤转化'),
          t('target', '目标'),
          t('overall', '总体转化'),
        ],
        rows: metrics.funnel.map((s) => [
          `${s.step}. ${s.event}`,
          s.users,
          percent(s.stepConversion),
          percent(s.target, 0),
          percent(s.overallConversion),
        ]),
      },
    })}</section>`,
  );

  const retention = [
    { name: t('D1 retention', '次日留存'), r: metrics.retention.d1 },
    { name: t('D7 retention', '7 日留存'), r: metrics.retention.d7 },
  ];
  sections.push(
    `<section><h2>${html(t('Retention', '留存'))}</h2>${barChart({
      title: t('Retention of activated learners, with targets', '已激活用户留存（标记为目标）'),
      description: retention.map(({ name, r }) => `${name} ${percent(r.rate)} / ${percent(r.target, 0)}`).join('; '),
      max: 1,
      rows: retention.map(({ name, r }) => ({
        label: name,
        value: r.rate ?? 0,
        display: `${percent(r.rate)} (${r.retained}/${r.eligible})`,
        marker: r.target,
        tone: r.met === false ? 'bad' : r.met ? 'good' : 'neutral',
      })),
      table: {
        head: [t('measure', '指标'), t('rate', '比例'), t('retained', '留存'), t('eligible', '可计算'), t('target', '目标')],
        rows: retention.map(({ name, r }) => [name, percent(r.rate), r.retained, r.eligible, percent(r.target, 0)]),
      },
    })}</section>`,
  );

  if (report.kind === 'product') {
    const l = metrics.learning;
    sections.push(
      `<section><h2>${html(t('Learning and features', '学习与功能使用'))}</h2><table class="data"><tbody>${[
        [t('answers (correct)', '作答（正确）'), `${l.attempts} (${l.correctAttempts})`],
        [t('answers per clue', '每个线索作答次数'), l.averageAttemptsPerClue?.toFixed(2) ?? '—'],
        [t('focus mode (of answers)', '专注模式（占作答）'), percent(l.focusModeShare)],
        [t('rescue mode (of answers)', '救援模式（占作答）'), percent(l.rescueModeShare)],
        [t('dramas completed', '完成剧集'), String(l.dramasCompleted)],
      ]
        .map(([k, v]) => `<tr><th scope="row">${html(k as string)}</th><td>${html(v as string)}</td></tr>`)
        .join('')}</tbody></table></section>`,
    );
  } else {
    sections.push(
      `<section><h2>${html(t('API latency and errors', 'API 延迟与错误'))}</h2><p class="meta">${html(
        t(
          `${operations.requests} requests since this instance started, ${operations.errors} answered 5xx (${percent(operations.errorRate, 2)}).`,
          `本实例启动以来 ${operations.requests} 个请求，${operations.errors} 个 5xx（${percent(operations.errorRate, 2)}）。`,
        ),
      )}</p>${timelineCharts(report)}${
        operations.routes.length === 0
          ? ''
          : barChart({
              title: t('p95 latency by route (ms, bucket edge), busiest routes', '各路由 p95 延迟（毫秒，桶上界），按请求量'),
              description: t(`${operations.routes.length} routes.`, `${operations.routes.length} 个路由。`),
              max: Math.max(1, ...operations.routes.map((r) => r.p95Ms ?? 10_000)),
              rows: operations.routes.map((r) => ({
                label: `${r.method} ${r.route}`,
                value: r.p95Ms ?? 10_000,
                display: r.p95Ms === null ? '> 10 s' : `≤ ${r.p95Ms} ms (${r.count})`,
                tone: (r.p95Ms ?? 10_000) > 1000 ? 'bad' : 'neutral',
              })),
              table: {
                head: [t('route', '路由'), t('requests', '请求'), 'p50 ms', 'p95 ms'],
                rows: operations.routes.map((r) => [
                  `${r.method} ${r.route}`,
                  r.count,
                  r.p50Ms ?? '> 10000',
                  r.p95Ms ?? '> 10000',
                ]),
              },
            })
      }</section>`,
    );
  }

  const trend = feedback.sentiment.trend;
  sections.push(
    feedback.totals.items === 0
      ? `<section><h2>${html(t('Feedback sentiment', '用户反馈情绪'))}</h2><p>${html(t('No feedback in this window.', '此期间无反馈。'))}</p></section>`
      : `<section><h2>${html(t('Feedback sentiment', '用户反馈情绪'))}</h2>${barChart({
          title: t('Negative share of feedback by day', '每日负面反馈占比'),
          description: t(
            `${feedback.totals.items} items; negative ${percent(feedback.sentiment.negativeShare)}.`,
            `共 ${feedback.totals.items} 条；负面 ${percent(feedback.sentiment.negativeShare)}。`,
          ),
          max: 1,
          rows: trend.map((d) => ({
            label: d.day,
            value: d.negativeShare ?? 0,
            display: `${percent(d.negativeShare)} (${d.items})`,
            tone: 'bad',
          })),
          table: {
            head: [t('day', '日期'), t('items', '条数'), t('average sentiment', '平均情绪'), t('negative share', '负面占比')],
            rows: trend.map((d) => [d.day, d.items, d.average?.toFixed(2) ?? '—', percent(d.negativeShare)]),
          },
        })}${barChart({
          title: t('Feedback themes', '反馈主题'),
          description:
            feedback.themes.map((th) => `${say(lang, THEME_NAMES[th.theme])} ${th.count}`).join('; ') || t('no themes', '无主题'),
          max: Math.max(1, ...feedback.themes.map((th) => th.count)),
          rows: feedback.themes.map((th) => ({
            label: say(lang, THEME_NAMES[th.theme]),
            value: th.count,
            display: `${th.count} (${percent(th.negativeShare)} ${t('negative', '负面')})`,
            tone: (th.negativeShare ?? 0) > 0.5 ? 'bad' : 'neutral',
          })),
          table: {
            head: [t('theme', '主题'), t('items', '条数'), t('negative share', '负面占比')],
            rows: feedback.themes.map((th) => [say(lang, THEME_NAMES[th.theme]), th.count, percent(th.negativeShare)]),
          },
        })}${feedback.themes
          .filter((th) => th.examples.length > 0)
          .slice(0, report.kind === 'product' ? 6 : 3)
          .map(
            (th) =>
              `<h3>${html(say(lang, THEME_NAMES[th.theme]))}</h3>${th.examples.map((e) => `<blockquote>${html(e.text)}</blockquote>`).join('')}`,
          )
          .join('')}</section>`,
  );

  if (report.kind !== 'product') {
    sections.push(
      `<section><h2>${html(t('Alerts and checklists', '告警与检查清单'))}</h2>${
        operations.alerts.items.length === 0
          ? `<p>${html(t('No alert fired.', '无告警。'))}</p>`
          : `<table class="data"><thead><tr><th scope="col">${html(t('fired', '触发时间'))}</th><th scope="col">${html(t('rule', '规则'))}</th><th scope="col">${html(t('severity', '级别'))}</th><th scope="col">${html(t('status', '状态'))}</th><th scope="col">${html(t('summary', '摘要'))}</th></tr></thead><tbody>${operations.alerts.items
              .map(
                (a) =>
                  `<tr><td>${html(local(a.firedAt))}</td><td>${html(a.ruleId)}</td><td>${html(a.severity)}</td><td>${html(a.status)}</td><td>${html(a.summary)}</td></tr>`,
              )
              .join('')}</tbody></table>`
      }${
        operations.checks.length === 0
          ? `<p>${html(t('No scheduled checklist ran in this window.', '此期间无定时检查运行。'))}</p>`
          : `<table class="data"><thead><tr><th scope="col">${html(t('slot', '时段'))}</th><th scope="col">${html(t('worst', '最差'))}</th><th scope="col">${html(t('problems', '问题'))}</th></tr></thead><tbody>${operations.checks
              .map(
                (c) =>
                  `<tr><td>${html(`${c.job} ${local(c.scheduledFor)}`)}</td><td>${html(c.worst)}</td><td>${html(c.problems.map((p) => `${p.id} ${p.status}: ${p.summary}`).join('; ') || '—')}</td></tr>`,
              )
              .join('')}</tbody></table>`
      }</section>`,
    );
  }

  return `<!doctype html>
<html lang="${lang === 'zh-CN' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${html(report.title)}</title><style>${STYLE}</style></head>
<body><main>${sections.join('\n')}</main></body></html>
`;
}
