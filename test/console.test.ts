/**
 * The ops console in a real browser (playwright-core driving Debian's chromium): sign-in
 * with the ops token into an HttpOnly session, every panel showing the API's own numbers
 * for a simulated population, ack from the page, the language switch, sign-out killing
 * the session, CSRF on actions, and learner text that tries to run script shown as text.
 */
import { gzipSync } from 'node:zlib';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordManualRun } from '../src/ops/backups/jobs.js';
import { BACKUP_JOB } from '../src/ops/backups/status.js';
import { findBinary, skipReason } from './helpers/binaries.js';
import { smartalkAsync } from './helpers/cli.js';
import { api, createLearner, startTestServer, type TestServer } from './helpers/server.js';

const noBrowser = skipReason('the console is tested in a real browser', 'chromium');
let server: TestServer;
let browser: Browser | undefined;
const XSS = [
  '视频加载太慢了，卡住 <script>window.__xss = 1</script>',
  '视频一直卡顿加载很慢 <img src=x onerror="window.__xss = 2">',
  '视频加载太慢 [点这里](javascript:window.__xss=3) \u2028 第二行',
];

beforeAll(async () => {
  if (noBrowser) return;
  server = await startTestServer({ env: { ALERT_INTERVAL_SECONDS: '3600' } });
  const simulated = await smartalkAsync(['simulate', '--users', '30', '--days', '3', '--seed', '9', '--url', server.url], {
    OPS_TOKEN: server.opsToken,
    DATA_DIR: server.database.dataDir,
  });
  if (simulated.status !== 0) throw new Error(simulated.stderr);
  // Learner text that would run if it were ever rendered as HTML: enough of it to lead its theme.
  for (let i = 0; i < 12; i++) {
    const learner = await createLearner(server.url, `console-xss-${i}`);
    await api(server.url, '/api/v1/feedback', {
      token: learner.token,
      body: { type: 'bug_report', rating: 1, text: XSS[i % XSS.length] },
    });
  }
  server.runtime.reports.feedback.invalidate();
  await server.runtime.reports.feedback.get();
  await server.runtime.alerts.fire({
    ruleId: 'HighCpu',
    severity: 'warning',
    source: 'builtin',
    labels: { instance: 'console-test' },
    summary: 'CPU usage above 80%',
    summaryZh: 'CPU 使用率 > 80%',
  });
  // A backup made by hand (`smartalk backup create`): its slot is marked manual.
  await recordManualRun(server.runtime.db, BACKUP_JOB, new Date(), { status: 'success' });
  browser = await chromium.launch({ executablePath: findBinary('chromium') as string, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the ops console', () => {
  it('signs in, shows the API’s numbers in every panel, acks from the page, switches language, signs out', async (context) => {
    if (noBrowser) context.skip(noBrowser);
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    await page.goto(`${server.url}/ops`);
    await page.waitForSelector('#sign-in:not([hidden])');

    await page.fill('#token', 'not-the-token-at-all');
    await page.click('#sign-in-form button[type=submit]');
    await expect.poll(() => page.textContent('#sign-in-error')).toBe('The ops token was not accepted.');
    problems.length = 0; // the refused sign-in's 401 is logged by the browser

    await page.fill('#token', server.opsToken);
    await page.click('#sign-in-form button[type=submit]');
    await page.waitForSelector('#dashboard[data-ready=true]', { timeout: 15_000 });

    // The session is an HttpOnly, SameSite=Strict cookie; the token is nowhere in the page's storage.
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'smartalk_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(
      await page.evaluate(() => JSON.stringify((globalThis as unknown as { localStorage: unknown }).localStorage)),
    ).not.toContain(server.opsToken);
    expect(page.url()).not.toContain(server.opsToken);

    // The numbers on the page are the API's.
    const summary = (await api(server.url, '/api/v1/ops/console', { token: server.opsToken })).body;
    const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
    expect(await page.textContent('#realtime-users')).toBe(String(summary.realtimeUsers));
    expect(await page.textContent('#activation-rate')).toBe(pct(summary.activation.rate));
    expect(await page.textContent('#negative-share')).toBe(pct(summary.feedback.negativeShare));
    const funnelRows = await page.$$eval('#panel-funnel tbody tr', (rows) =>
      rows.map((row) => [...row.children].map((cell) => cell.textContent)),
    );
    expect(funnelRows.map((row) => [row[0], row[1], row[2], row[3]])).toEqual(
      summary.funnel.map((f: { step: number; event: string; users: number; stepConversion: number | null }) => [
        String(f.step),
        f.event,
        String(f.users),
        pct(f.stepConversion),
      ]),
    );
    expect(summary.activation.newUsers).toBeGreaterThan(0);
    for (const id of [
      'health',
      'users',
      'api',
      'activation',
      'funnel',
      'retention',
      'learning',
      'feedback',
      'alerts',
      'checks',
      'opslog',
      'reports',
    ]) {
      expect(await page.isVisible(`#panel-${id} h2`), id).toBe(true);
    }
    expect(await page.$$eval('#panel-api .uplot', (plots) => plots.length)).toBe(2);
    // The manual backup is listed at its time (its slot's marker once broke every panel below).
    const backupRow = summary.checks.find((c: { job: string }) => c.job === BACKUP_JOB);
    expect(Number.isNaN(Date.parse(backupRow?.scheduledFor))).toBe(false);
    expect(await page.textContent('#panel-checks tbody')).toContain(BACKUP_JOB);
    expect(await page.textContent('#updated')).toMatch(/^Updated /);

    // Learner text is text: the attempts show literally, and nothing ran.
    const feedbackText = (await page.textContent('#panel-feedback')) ?? '';
    expect(feedbackText).toMatch(
      /<script>window\.__xss = 1<\/script>|<img src=x onerror="window\.__xss = 2">|\[点这里\]\(javascript:window\.__xss=3\)/,
    );
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.$$('#panel-feedback img, #panel-feedback script, #panel-feedback a')).toHaveLength(0);

    // Ack from the page: the API sees it.
    const [alert] = (await api(server.url, '/api/v1/ops/alerts?status=open', { token: server.opsToken })).body.alerts;
    await page.click(`#ack-${alert.id}`);
    await expect
      .poll(async () => (await api(server.url, `/api/v1/ops/alerts/${alert.id}`, { token: server.opsToken })).body.alert.status)
      .toBe('acknowledged');
    await page.waitForSelector(`#resolve-${alert.id}`);

    // 中文, remembered across a reload.
    await page.selectOption('#lang', 'zh-CN');
    await expect.poll(() => page.textContent('#h-funnel')).toBe('转化漏斗');
    await page.reload();
    await page.waitForSelector('#dashboard[data-ready=true]');
    expect(await page.textContent('#h-funnel')).toBe('转化漏斗');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    // The health probes' names and details too.
    expect(await page.textContent('#panel-health')).toMatch(/数据库[\s\S]*磁盘 — 数据目录所在文件系统剩余 \d+\.\d%/);
    if (process.env.SMARTALK_SCREENSHOTS) {
      await page.screenshot({ path: 'docs/images/console-zh.png', fullPage: true });
      await page.selectOption('#lang', 'en');
      await expect.poll(() => page.textContent('#h-funnel')).toBe('Conversion funnel');
      await page.screenshot({ path: 'docs/images/console-en.png', fullPage: true });
    }
    expect(problems, 'console errors (CSP violations included)').toEqual([]);

    // On a phone: nothing wider than the screen (wide tables scroll inside their card).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.waitForSelector('#dashboard[data-ready=true]');
    const { scrollWidth, innerWidth } = await page.evaluate(() => {
      const view = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
      return { scrollWidth: view.document.documentElement.scrollWidth, innerWidth: view.innerWidth };
    });
    expect(scrollWidth).toBe(innerWidth);

    // Sign out: the old cookie opens nothing.
    const old = `smartalk_console=${cookie?.value}`;
    expect((await fetch(`${server.url}/api/v1/ops/console`, { headers: { cookie: old } })).status).toBe(200);
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in:not([hidden])');
    expect((await fetch(`${server.url}/api/v1/ops/console`, { headers: { cookie: old } })).status).toBe(401);
  });

  it('refuses an action whose request lacks the session’s CSRF token, and a forged one', async (context) => {
    if (noBrowser) context.skip(noBrowser);
    const signIn = await fetch(`${server.url}/ops/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: server.opsToken }),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict; Max-Age=28800/);
    const { csrf } = (await signIn.json()) as { csrf: string };
    const [alert] = (await api(server.url, '/api/v1/ops/alerts?status=all', { token: server.opsToken })).body.alerts;
    const resolve = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/v1/ops/alerts/${alert.id}/resolve`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ by: 'csrf-test' }),
      });
    expect((await resolve({})).status).toBe(403);
    expect((await resolve({ 'x-smartalk-csrf': `${csrf}x` })).status).toBe(403);
    expect((await resolve({ 'x-smartalk-csrf': csrf })).status).toBe(200);
    // Small: the page, its script and styles and uPlot, compressed, well under 300 KB.
    const assets = [
      '/ops',
      '/ops/assets/console.js',
      '/ops/assets/console.css',
      '/ops/assets/uplot.iife.min.js',
      '/ops/assets/uplot.min.css',
    ];
    let compressed = 0;
    for (const asset of assets) {
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status, asset).toBe(200);
      compressed += gzipSync(Buffer.from(await response.arrayBuffer())).length;
    }
    expect(compressed).toBeLessThan(300 * 1024);
    // The page itself is strict: our script only.
    const page = await fetch(`${server.url}/ops`);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'; style-src 'self'/);
    expect(await page.text()).not.toMatch(/<script>(?!<\/script>)|style="/);
  });
});
