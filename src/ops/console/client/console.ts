/**
 * The ops console's page script: sign-in, the panels, refresh every 5 s while the tab is
 * visible, ack / resolve / silence, English and Chinese. Everything on the page is built
 * with textContent (learner quotes included), never HTML strings; the session is an
 * HttpOnly cookie the script never sees, and every action carries the session's CSRF token.
 */
import type uPlotType from 'uplot';

declare const uPlot: typeof uPlotType;

type Lang = 'en' | 'zh-CN';
// biome-ignore lint/suspicious/noExplicitAny: the ops API's JSON, whose shapes the server's TypeScript defines
type Json = Record<string, any>;

const TEXT = {
  en: {
    title: 'SmarTalk ops console',
    language: 'Language',
    signIn: 'Sign in',
    signOut: 'Sign out',
    signInTitle: 'Sign in',
    token: 'Ops token',
    badToken: 'The ops token was not accepted.',
    updated: 'Updated',
    paused: 'Paused (tab hidden)',
    health: 'Health',
    api: 'API latency and errors (last hours)',
    users: 'Real-time users',
    newUsers: 'new learners, last 7 days',
    activation: 'Activation by hour',
    target: 'target',
    funnel: 'Conversion funnel',
    step: 'step',
    event: 'event',
    learners: 'learners',
    stepConversion: 'step conversion',
    before: 'previous 7 days',
    retention: 'Retention',
    feedback: 'Feedback sentiment',
    negative: 'negative',
    items: 'items',
    themes: 'Top themes',
    learning: 'Learning effectiveness',
    attempts: 'attempts',
    correct: 'right clip chosen',
    perClue: 'attempts per clue',
    focus: 'focus mode',
    rescue: 'rescue mode',
    dramas: 'dramas completed',
    alerts: 'Alerts',
    noAlerts: 'No alerts.',
    ack: 'Ack',
    resolve: 'Resolve',
    silence: 'Silence 1 h',
    checks: 'Latest checklist runs',
    opslog: 'Ops log',
    reports: 'Saved reports',
    table: 'Show as a table',
    day: 'day',
    hour: 'hour',
    rate: 'rate',
    requests: 'requests',
    errorRate: 'error rate',
    time: 'time',
    none: 'none yet',
    silencedBy: 'ops console',
    status: 'status',
    when: 'when',
    what: 'what',
    unavailable: 'cannot be shown',
  },
  'zh-CN': {
    title: 'SmarTalk 运维控制台',
    language: '语言',
    signIn: '登录',
    signOut: '退出',
    signInTitle: '登录',
    token: '运维令牌',
    badToken: '运维令牌无效。',
    updated: '更新于',
    paused: '已暂停（页面不可见）',
    health: '健康状态',
    api: 'API 延迟与错误率（最近数小时）',
    users: '实时用户',
    newUsers: '最近 7 天新用户',
    activation: '按小时的激活率',
    target: '目标',
    funnel: '转化漏斗',
    step: '步骤',
    event: '事件',
    learners: '用户数',
    stepConversion: '步骤转化率',
    before: '前 7 天',
    retention: '留存',
    feedback: '反馈情绪',
    negative: '负面',
    items: '条',
    themes: '主要主题',
    learning: '学习效果',
    attempts: '尝试次数',
    correct: '选对片段',
    perClue: '每条线索尝试次数',
    focus: '专注模式',
    rescue: '救援模式',
    dramas: '完成剧集',
    alerts: '告警',
    noAlerts: '没有告警。',
    ack: '确认',
    resolve: '解决',
    silence: '静默 1 小时',
    checks: '最近的检查清单',
    opslog: '运维日志',
    reports: '已保存的报告',
    table: '以表格显示',
    day: '日期',
    hour: '小时',
    rate: '比率',
    requests: '请求数',
    errorRate: '错误率',
    time: '时间',
    none: '暂无',
    silencedBy: '运维控制台',
    status: '状态',
    when: '时间',
    what: '内容',
    unavailable: '无法显示',
  },
} as const;
type Key = keyof (typeof TEXT)['en'];

const LANG_KEY = 'smartalk-console-lang';
let lang: Lang =
  (localStorage.getItem(LANG_KEY) as Lang | null) ?? (navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en');
let csrf = '';
let tz = 'UTC';
let timer: number | undefined;
const charts = new Map<string, uPlotType>();
const t = (key: Key) => TEXT[lang][key];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** An element with text (never HTML) and attributes. */
function el(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string | null>): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children)
    if (child !== null) node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return node;
}

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(digits)}%`);
const num = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? '—' : v.toFixed(digits));
/** A time in the ops time zone; what is not a time is shown as it came (never a thrown RangeError). */
const when = (iso: string) => {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return new Intl.DateTimeFormat(lang, {
    timeZone: tz,
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).format(at);
};
const badge = (status: string) => el('span', { class: `status ${status}` }, status);

async function call<T = Json>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.method && init.method !== 'GET') headers['x-smartalk-csrf'] = csrf;
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (response.status === 401) {
    showSignIn();
    throw new Error('signed out');
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

function applyTexts(): void {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll<HTMLElement>('[data-t]')) node.textContent = t(node.dataset.t as Key);
  document.title = t('title');
  $<HTMLSelectElement>('lang').value = lang;
}

function showSignIn(): void {
  stopRefresh();
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $<HTMLInputElement>('token').focus();
}

function showDashboard(): void {
  $('sign-in').hidden = true;
  $('sign-out').hidden = false;
  $('dashboard').hidden = false;
  void refresh();
  startRefresh();
}

function startRefresh(): void {
  stopRefresh();
  timer = window.setInterval(() => {
    if (!document.hidden) void refresh();
  }, 5_000);
}

function stopRefresh(): void {
  if (timer !== undefined) window.clearInterval(timer);
  timer = undefined;
}

/** A panel: a card with a heading, replaced whole on every refresh (focus is kept by id). */
function panel(id: string, title: Key, wide = false): HTMLElement {
  let card = document.getElementById(`panel-${id}`);
  if (!card) {
    card = el('section', { id: `panel-${id}`, class: `card${wide ? ' wide' : ''}`, 'aria-labelledby': `h-${id}` });
    $('dashboard').append(card);
  }
  const body = el('div', { class: 'body' });
  card.replaceChildren(el('h2', { id: `h-${id}` }, t(title)), body);
  return body;
}

function table(head: string[], rows: Array<Array<string | Node>>, numeric: number[] = []): HTMLElement {
  return el(
    'table',
    {},
    el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', numeric.includes(i) ? { class: 'num' } : {}, h)))),
    el(
      'tbody',
      {},
      ...rows.map((row) => el('tr', {}, ...row.map((cell, i) => el('td', numeric.includes(i) ? { class: 'num' } : {}, cell)))),
    ),
  );
}

/** A uPlot time series, with its data as a table for screen readers and keyboards. */
function chart(
  into: HTMLElement,
  key: string,
  xs: number[],
  series: Array<{ label: string; values: Array<number | null>; color: string; dash?: boolean }>,
  format: (v: number) => string,
): void {
  const box = el('div', { class: 'chart', role: 'img', 'aria-label': series.map((s) => s.label).join(', ') });
  into.append(box);
  charts.get(key)?.destroy();
  // One point (a server just started) has no width: draw the hour before it, empty.
  const padded = xs.length === 1 ? [(xs[0] as number) - 3600, ...xs] : xs;
  const values = (s: { values: Array<number | null> }) => (xs.length === 1 ? [null, ...s.values] : s.values);
  if (typeof uPlot === 'function' && xs.length > 0) {
    const width = Math.max(260, into.clientWidth || 400);
    const plot = new uPlot(
      {
        width,
        height: 180,
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash ? [6, 4] : undefined,
            value: (_u: unknown, v: number | null) => (v === null ? '—' : format(v)),
          })),
        ],
        axes: [{}, { values: (_u: unknown, ticks: number[]) => ticks.map(format), size: 72 }],
        scales: { x: { time: true } },
        // Axis times in SMARTALK_TZ, as every other time on the page.
        tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), tz),
        legend: { show: true },
      },
      [padded, ...series.map(values)] as uPlotType.AlignedData,
      box,
    );
    charts.set(key, plot);
  }
  const details = el('details', {}, el('summary', {}, t('table')));
  details.append(
    table(
      [t('time'), ...series.map((s) => s.label)],
      xs.map((x, i) => [
        when(new Date(x * 1000).toISOString()),
        ...series.map((s) => (s.values[i] === null || s.values[i] === undefined ? '—' : format(s.values[i] as number))),
      ]),
      series.map((_, i) => i + 1),
    ),
  );
  into.append(details);
}

/** A bar of `share` (0–1); its width is set through the CSSOM, which the CSP allows (a style attribute it would not). */
function meter(share: number | null): HTMLElement {
  const fill = el('span');
  fill.style.width = `${Math.round((share ?? 0) * 100)}%`;
  return el('div', { class: 'meter', role: 'presentation' }, fill);
}

/** The health probes' names in Chinese (the API's keys are English). */
const PROBE_NAMES_ZH: Record<string, string> = {
  database: '数据库',
  cache: '缓存',
  disk: '磁盘',
  memory: '内存',
  cpu: 'CPU',
  eventLoop: '事件循环',
  replica: '只读副本',
};

function renderSummary(s: Json): void {
  tz = s.tz;
  const health = panel('health', 'health');
  health.append(
    el('p', {}, badge(s.health.status), ' ', el('span', { class: 'muted' }, `v${s.health.version}`)),
    el(
      'ul',
      { class: 'plain' },
      ...Object.entries(s.health.checks as Record<string, Json>).map(([name, check]) =>
        el(
          'li',
          {},
          badge(check.status),
          ` ${lang === 'zh-CN' ? (PROBE_NAMES_ZH[name] ?? name) : name}`,
          check.latencyMs !== undefined ? el('span', { class: 'muted' }, ` ${num(check.latencyMs, 1)} ms`) : null,
          check.detail
            ? el('span', { class: 'muted' }, ` — ${lang === 'zh-CN' ? (check.detailZh ?? check.detail) : check.detail}`)
            : null,
        ),
      ),
    ),
  );

  const users = panel('users', 'users');
  users.append(
    el('div', { class: 'big', id: 'realtime-users' }, String(s.realtimeUsers)),
    el('p', { class: 'muted' }, `${s.activation.newUsers} ${t('newUsers')}`),
  );

  const api = panel('api', 'api', true);
  const points = s.http.points as Json[];
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  chart(
    api,
    'latency',
    xs,
    [
      { label: 'p50', values: points.map((p) => p.p50), color: '#2f6feb' },
      { label: 'p95', values: points.map((p) => p.p95), color: '#b35900' },
      { label: `SlowApi ${s.http.latencyLine}s`, values: points.map(() => s.http.latencyLine), color: '#c4161c', dash: true },
    ],
    (v) => (v >= 1 ? `${v.toFixed(1)} s` : `${(v * 1000).toFixed(0)} ms`),
  );
  chart(
    api,
    'errors',
    xs,
    [
      { label: t('errorRate'), values: points.map((p) => p.errorRatio), color: '#c4161c' },
      {
        label: `HighErrorRate ${pct(s.http.errorLine, 0)}`,
        values: points.map(() => s.http.errorLine),
        color: '#c4161c',
        dash: true,
      },
    ],
    (v) => pct(v),
  );

  const activation = panel('activation', 'activation', true);
  activation.append(
    el(
      'p',
      {},
      el('span', { class: 'big', id: 'activation-rate' }, pct(s.activation.rate)),
      ' ',
      el(
        'span',
        { class: 'muted' },
        `${t('before')} ${pct(s.activation.baseline)} · ${t('target')} ${pct(s.activation.target, 0)}`,
      ),
    ),
  );
  const hours = s.activation.byHour as Json[];
  chart(
    activation,
    'activation',
    hours.map((h) => Date.parse(h.start) / 1000),
    [
      { label: t('rate'), values: hours.map((h) => h.rate), color: '#1a7f37' },
      {
        label: `${t('target')} ${pct(s.activation.target, 0)}`,
        values: hours.map(() => s.activation.target),
        color: '#c4161c',
        dash: true,
      },
    ],
    (v) => pct(v, 0),
  );

  const funnel = panel('funnel', 'funnel', true);
  funnel.append(
    table(
      [t('step'), t('event'), t('learners'), t('stepConversion'), '', t('before')],
      (s.funnel as Json[]).map((f) => [
        String(f.step),
        f.event,
        String(f.users),
        pct(f.stepConversion),
        meter(f.overallConversion),
        pct(f.baseline),
      ]),
      [0, 2, 3, 5],
    ),
  );

  const retention = panel('retention', 'retention');
  retention.append(
    table(
      ['', t('rate'), t('target')],
      [
        ['D1', pct(s.retention.d1.rate), pct(s.retention.d1.target, 0)],
        ['D7', pct(s.retention.d7.rate), pct(s.retention.d7.target, 0)],
      ],
      [1, 2],
    ),
  );

  const learning = panel('learning', 'learning');
  const l = s.learning as Json;
  learning.append(
    table(
      ['', ''],
      [
        [t('attempts'), String(l.attempts)],
        [t('correct'), pct(l.attempts ? l.correctAttempts / l.attempts : null)],
        [t('perClue'), num(l.averageAttemptsPerClue, 2)],
        [t('focus'), pct(l.focusModeShare)],
        [t('rescue'), pct(l.rescueModeShare)],
        [t('dramas'), String(l.dramasCompleted)],
      ],
      [1],
    ),
  );

  const feedback = panel('feedback', 'feedback', true);
  feedback.append(
    el(
      'p',
      {},
      el('span', { class: 'big', id: 'negative-share' }, pct(s.feedback.negativeShare)),
      ' ',
      el(
        'span',
        { class: 'muted' },
        `${t('negative')} · ${t('before')} ${pct(s.feedback.baselineNegativeShare)} · ${s.feedback.items} ${t('items')}`,
      ),
    ),
    table(
      [t('day'), t('items'), t('negative')],
      (s.feedback.trend as Json[]).map((d) => [d.day, String(d.items), pct(d.negativeShare)]),
      [1, 2],
    ),
    el('h3', {}, t('themes')),
    ...(s.feedback.themes as Json[]).map((theme) =>
      el(
        'div',
        { class: 'theme' },
        el(
          'p',
          {},
          el('strong', {}, lang === 'zh-CN' ? theme.name.zh : theme.name.en),
          ` ${theme.count} · ${t('negative')} ${pct(theme.negativeShare)}`,
        ),
        ...(theme.quotes as string[]).map((quote) => el('blockquote', {}, quote)),
      ),
    ),
  );
}

function renderAlerts(alerts: Json[]): void {
  const body = panel('alerts', 'alerts', true);
  if (alerts.length === 0) {
    body.append(el('p', { class: 'muted' }, t('noAlerts')));
    return;
  }
  body.append(
    table(
      [t('status'), '', t('what'), t('when'), ''],
      alerts.map((a) => {
        const actions = el('div', { class: 'actions' });
        if (a.status !== 'resolved') {
          if (a.status === 'firing')
            actions.append(
              button(t('ack'), `ack-${a.id}`, () =>
                call(`/api/v1/ops/alerts/${a.id}/ack`, { method: 'POST', body: { by: t('silencedBy') } }),
              ),
            );
          actions.append(
            button(t('resolve'), `resolve-${a.id}`, () =>
              call(`/api/v1/ops/alerts/${a.id}/resolve`, { method: 'POST', body: { by: t('silencedBy') } }),
            ),
          );
          actions.append(
            button(t('silence'), `silence-${a.id}`, () =>
              call('/api/v1/ops/silences', {
                method: 'POST',
                body: {
                  ruleId: a.ruleId,
                  matchers: a.labels,
                  reason: `silenced from the ops console: ${a.ruleId}`,
                  by: t('silencedBy'),
                  minutes: 60,
                },
              }),
            ),
          );
        }
        return [
          badge(a.status),
          badge(a.severity),
          `${a.ruleId} — ${lang === 'zh-CN' ? (a.summaryZh ?? a.summary) : a.summary}`,
          when(a.firedAt),
          actions,
        ];
      }),
    ),
  );
}

function button(label: string, id: string, action: () => Promise<unknown>): HTMLElement {
  const node = el('button', { type: 'button', id }, label);
  node.addEventListener('click', async () => {
    (node as HTMLButtonElement).disabled = true;
    try {
      await action();
    } finally {
      await refresh(true);
    }
  });
  return node;
}

function renderChecks(runs: Json[]): void {
  const body = panel('checks', 'checks');
  if (runs.length === 0) return void body.append(el('p', { class: 'muted' }, t('none')));
  body.append(
    table(
      [t('step'), t('when'), t('status')],
      runs.map((r) => [r.job.replace(/^checks\./, ''), when(r.scheduledFor), r.run ? badge(r.run.worst) : '—']),
    ),
  );
}

function renderLog(entries: Json[]): void {
  const body = panel('opslog', 'opslog');
  body.append(
    el(
      'ul',
      { class: 'plain' },
      ...entries.map((e) => el('li', {}, el('span', { class: 'muted' }, `${when(e.at)} ${e.kind} · ${e.actor} — `), e.summary)),
    ),
  );
}

function renderReports(reports: Json[]): void {
  const body = panel('reports', 'reports');
  if (reports.length === 0) return void body.append(el('p', { class: 'muted' }, t('none')));
  body.append(
    el(
      'ul',
      { class: 'plain' },
      ...reports
        .slice(0, 10)
        .map((r) =>
          el(
            'li',
            {},
            el('a', { href: `/api/v1/ops/reports/${encodeURIComponent(r.name)}`, target: '_blank', rel: 'noopener' }, r.name),
          ),
        ),
    ),
  );
}

/** One call for every panel (shared by all open consoles for a few seconds); fresh after our own action. */
async function refresh(fresh = false): Promise<void> {
  try {
    const summary = await call(`/api/v1/ops/console${fresh ? '?fresh=true' : ''}`);
    // One panel that cannot be drawn says so in its place; the others are still drawn.
    for (const [id, title, render] of [
      ['health', 'health', () => renderSummary(summary)],
      ['alerts', 'alerts', () => renderAlerts(summary.alerts)],
      ['checks', 'checks', () => renderChecks(summary.checks)],
      ['opslog', 'opslog', () => renderLog(summary.opslog)],
      ['reports', 'reports', () => renderReports(summary.reports)],
    ] as const) {
      try {
        render();
      } catch (error) {
        panel(id, title).append(el('p', { class: 'muted' }, `${t('unavailable')}: ${(error as Error).message}`));
      }
    }
    $('updated').textContent = `${t('updated')} ${when(summary.generatedAt)}`;
    $('dashboard').dataset.ready = 'true';
  } catch (error) {
    if ((error as Error).message !== 'signed out') $('updated').textContent = (error as Error).message;
  }
}

async function start(): Promise<void> {
  applyTexts();
  $<HTMLSelectElement>('lang').addEventListener('change', (event) => {
    lang = (event.target as HTMLSelectElement).value as Lang;
    localStorage.setItem(LANG_KEY, lang);
    applyTexts();
    if (!$('dashboard').hidden) void refresh();
  });
  $('sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>('token');
    const response = await fetch('/ops/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: input.value }),
      credentials: 'same-origin',
    });
    input.value = '';
    if (!response.ok) {
      $('sign-in-error').textContent = t('badToken');
      return;
    }
    csrf = ((await response.json()) as { csrf: string }).csrf;
    $('sign-in-error').textContent = '';
    showDashboard();
  });
  $('sign-out').addEventListener('click', async () => {
    await fetch('/ops/session', { method: 'DELETE', headers: { 'x-smartalk-csrf': csrf }, credentials: 'same-origin' });
    csrf = '';
    $('dashboard').replaceChildren();
    showSignIn();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer !== undefined) void refresh();
    else if (document.hidden) $('updated').textContent = t('paused');
  });
  const session = (await (await fetch('/ops/session', { credentials: 'same-origin' })).json()) as {
    signedIn: boolean;
    csrf?: string;
  };
  if (session.signedIn && session.csrf) {
    csrf = session.csrf;
    showDashboard();
  } else showSignIn();
}

void start();
