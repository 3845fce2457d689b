/**
 * The daily, weekly and product reports: one model rendered three ways, the HTML one
 * self-contained and accessible with every learner's word escaped, saved and served
 * under the ops token, and sent through the alert channels (email with the HTML, chat
 * with the top three findings).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChecks } from '../src/ops/checks/runner.js';
import type { OpsReport } from '../src/ops/reports/ops-report.js';
import { smartalkAsync } from './helpers/cli.js';
import { api, createLearner, startTestServer, type TestServer } from './helpers/server.js';
import { type HttpSink, type SmtpSink, startHttpSink, startSmtpSink } from './helpers/sinks.js';

let server: TestServer;
let sink: HttpSink;
let smtp: SmtpSink;

/** Text a learner might paste: markup, a table pipe, and every line-break form. */
const HOSTILE =
  '视频一直卡顿，加载很慢，太差了 <script>alert(1)</script> | <img src=x onerror=alert(2)>\r\n# heading\u2028[link](http://evil.example)\u2029end';

beforeAll(async () => {
  sink = await startHttpSink();
  smtp = await startSmtpSink();
  const alertsFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'smartalk-reports-')), 'alerts.yml');
  writeFileSync(
    alertsFile,
    `
channels:
  hook: { type: webhook, url: "${sink.url}/hook" }
  mail: { type: email, host: 127.0.0.1, port: ${smtp.port}, from: "smartalk@example.com", to: ["product@example.com"] }
contacts:
  team: { name: "运维与产品", channels: [hook, mail] }
escalation:
  critical: [{ level: 1, after: 0m, contacts: [team] }]
  warning: [{ level: 1, after: 0m, contacts: [team] }]
  info: [{ level: 1, after: 0m, contacts: [team] }]
remindAfter: 60m
`,
  );
  server = await startTestServer({ env: { ALERTS_CONFIG: alertsFile } });
  // A few learners who launch and never activate (activation 0% < 40%), and feedback to quote.
  const now = new Date().toISOString();
  for (let i = 0; i < 5; i++) {
    const learner = await createLearner(server.url);
    const events = ['app_launched', 'onboarding_started'].map((name) => ({
      id: randomUUID(),
      name,
      timestamp: now,
      userId: learner.userId,
    }));
    expect((await api(server.url, '/api/v1/analytics/events', { body: { events }, token: learner.token })).status).toBe(200);
    const feedback = await api(server.url, '/api/v1/feedback', {
      body: { type: 'overall_experience', rating: 1, text: i === 0 ? HOSTILE : `视频有点卡 ${i}` },
      token: learner.token,
    });
    expect(feedback.status).toBe(201);
  }
});
afterAll(async () => {
  await server?.close();
  await sink?.close();
  await smtp?.close();
});

const make = (body: Record<string, unknown>) =>
  api<{ report: OpsReport; files: Array<{ name: string }>; sent: Array<{ channel: string; ok: boolean }> }>(
    server.url,
    '/api/v1/ops/reports',
    { body, token: server.opsToken },
  );

describe('reports', () => {
  it('hold the numbers of the metrics and feedback reports, and say first what needs attention', async () => {
    const { status, body } = await make({ kind: 'daily' });
    expect(status).toBe(200);
    const { report } = body;
    expect(report.metrics.newUsers).toBe(5);
    expect(report.metrics.activation).toMatchObject({ rate: 0, activated: 0, newUsers: 5 });
    expect(report.feedback.totals.items).toBe(5);
    expect(report.trend.points.at(-1)).toMatchObject({ newUsers: 5, activated: 0, rate: 0 });
    // Five new learners are a reading, not a verdict: said, but not as a warning.
    expect(report.findings.find((f) => f.text.startsWith('Activation'))).toEqual({
      severity: 'info',
      text: 'Activation 0.0% (0 of 5) is below the 40.0% target — too few new learners to judge (50 needed)',
    });
    expect(report.findings[0]?.severity).toBe('warning');
    expect(report.findings.map((f) => f.text)).toContain('5 urgent feedback items to answer');
    expect(body.files.map((f) => f.name).sort()).toEqual([
      `daily-${report.date}.html`,
      `daily-${report.date}.json`,
      `daily-${report.date}.md`,
    ]);
    expect(body.sent).toEqual([]); // made by hand: not sent unless asked
  });

  it('render as self-contained, accessible HTML with every learner’s word escaped', async () => {
    const { body } = await make({ kind: 'weekly', lang: 'zh-CN' });
    const page = await api(server.url, `/api/v1/ops/reports/weekly-${body.report.date}.html`, { token: server.opsToken });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = page.text;
    expect(html).toMatch(/^<!doctype html>\n<html lang="zh-CN">/);
    // Markup only of our own: no script, no element that loads or links anything.
    expect(html).not.toMatch(/<(script|img|a|link|iframe|object|embed)\b|\s(src|href|on\w+)=["']|@import|url\(/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/[\u2028\u2029\r]/);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBeGreaterThanOrEqual(4);
    for (const svg of svgs)
      expect(svg).toMatch(
        /^<svg [^>]*role="img" aria-labelledby="(\S+) (\S+)"[^>]*><title id="\1">[^<]+<\/title><desc id="\2">[^<]+<\/desc>/,
      );
    // Each chart's numbers, as a table a screen reader reads: the funnel's first step among them.
    expect((html.match(/<figure>/g) ?? []).length).toBe(svgs.length);
    expect((html.match(/<table class="numbers sr-only">/g) ?? []).length).toBe(svgs.length);
    expect(html).toMatch(/<th scope="row">1\. app_launched<\/th><td>5<\/td>/);
  });

  it('render Markdown with quotes that cannot break out of their line', async () => {
    const { body } = await make({ kind: 'product' });
    const md = await api(server.url, `/api/v1/ops/reports/product-${body.report.date}.md`, { token: server.opsToken });
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    const quote = md.text.split('\n').find((line) => line.includes('evil.example'));
    expect(quote).toBe(
      '> 视频一直卡顿，加载很慢，太差了 &lt;script&gt;alert\\(1\\)&lt;/script&gt; \\| &lt;img src=x onerror=alert\\(2\\)&gt; \\# heading \\[link\\]\\(http://evil.example\\) end',
    );
  });

  it('are listed and served under the ops token only, by name only', async () => {
    expect((await api(server.url, '/api/v1/ops/reports')).status).toBe(401);
    const list = await api<{ reports: Array<{ name: string; kind: string; format: string }> }>(
      server.url,
      '/api/v1/ops/reports',
      { token: server.opsToken },
    );
    expect(list.body.reports.map((r) => r.kind)).toEqual(expect.arrayContaining(['daily', 'weekly', 'product']));
    for (const name of ['..%2Fops-token', 'daily-2026-01-01.html', 'ops-token']) {
      const res = await api(server.url, `/api/v1/ops/reports/${name}`, { token: server.opsToken });
      expect([400, 404], name).toContain(res.status);
      expect(res.body.error.code).toMatch(/^SMT_ERR_/);
    }
    expect((await make({ kind: 'daily', date: '2026-02-30' })).status).toBe(400);
    expect((await make({ kind: 'daily', date: '2999-01-01' })).status).toBe(400);
  });

  it('go out through the channels on schedule: email with the HTML, chat with the top three findings', async () => {
    const run = await runChecks(server.runtime.checks, ['report.daily'], { lang: 'en', scheduled: true });
    expect(run.results[0]).toMatchObject({ id: 'report.daily', status: 'pass' });
    const [posted] = sink.on('/hook');
    expect(posted?.body).toMatchObject({
      kind: 'report',
      title: expect.stringMatching(/^SmarTalk daily report \d{4}-\d{2}-\d{2}$/),
    });
    const lines = String(posted?.body.text).split('\n');
    const findings = ((run.results[0]?.data?.findings ?? []) as Array<{ text: string }>).slice(0, 3).map((f) => f.text);
    expect(findings.length).toBeGreaterThan(0);
    expect(lines.filter((line) => /^[🔴🟠🔵] /u.test(line)).map((line) => line.slice(3))).toEqual(findings);
    expect(lines.at(-2)).toMatch(
      /^Full report: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/ops\/reports\/daily-\d{4}-\d{2}-\d{2}\.html$/,
    );
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]?.raw).toMatch(/Content-Type: text\/html/i);
    expect(smtp.messages[0]?.raw).toMatch(/To: product@example\.com/);
  });

  it('are made from the command line, printed or written, with exit 2 on a wrong date', async () => {
    const env = { OPS_TOKEN: server.opsToken, DATA_DIR: server.config.dataDir };
    const json = await smartalkAsync(['report', 'weekly', '--format', 'json', '--url', server.url], env);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'weekly', metrics: { newUsers: 5 } });
    expect(json.stderr).toMatch(/^saved: weekly-\d{4}-\d{2}-\d{2}\.html/);
    // Piped, it is Markdown; for a terminal, tables without Markdown's escapes.
    const piped = await smartalkAsync(['report', 'product', '--url', server.url], env);
    expect(piped.stdout).toMatch(/^# /);
    expect(piped.stdout).toContain('\\[link\\]');
    const text = await smartalkAsync(['report', 'product', '--format', 'text', '--url', server.url], env);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('│ 1. App launched');
    expect(text.stdout).toContain('[link](http://evil.example)');
    expect(text.stdout).not.toMatch(/\\[[(|#]/);
    const wrong = await smartalkAsync(['report', 'daily', '--date', '2026-02-30', '--url', server.url], env);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/expected a date such as 2026-12-01/);
  });
});
