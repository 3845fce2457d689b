/**
 * The analytics commands as operators run them: `smartalk simulate`, `smartalk
 * metrics report`, and the runbook's own `node -e "…LaunchMetricsTracker…"` line,
 * against a running server and after it stops.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, smartalk, spawnServer } from './helpers/cli.js';
import { waitFor } from './helpers/private-services.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';

const FEEDBACK_LINE = `
const collector = require('./services/LaunchFeedbackCollector').LaunchFeedbackCollector.getInstance();
console.log(collector.generateFeedbackReport());
`;

const RUNBOOK_LINE = `
const tracker = require('./services/LaunchMetricsTracker').LaunchMetricsTracker.getInstance();
console.log(tracker.getMetricsReport());
`;

let database: TestDatabase;
let server: ChildProcess | undefined;
let env: Record<string, string>;
let base: string;

beforeAll(async () => {
  database = await createTestDatabase();
  env = {
    DATA_DIR: database.dataDir,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    OPS_TOKEN: 'analytics-cli-ops-token-1',
    SMARTALK_LANG: 'en',
    SMARTALK_TZ: 'Asia/Shanghai',
  };
  const started = await spawnServer(env);
  server = started.child;
  base = started.url;
  server.stderr?.resume();
  await waitFor(async () => (await fetch(`${base}/api/v1/health/ready`)).status === 200, 60_000, 'server');
});

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
  }
  await database?.drop();
});

/** A report without what changes from one second to the next (now, real-time users). */
const stable = (report: Record<string, any>) => {
  const { generatedAt: _g, realtime: _r, window, ...rest } = report;
  return { ...rest, window: { ...window, until: undefined } };
};

describe('analytics from the command line', () => {
  it('prints an empty feedback report on a fresh install (no data, no stack overflow)', () => {
    const empty = smartalk(['feedback', 'report'], env);
    expect(empty.status, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('| items | 0 |');
    expect(empty.stdout).toContain('No feedback with text in this window.');
  });

  it('simulates learners against the running server', () => {
    const result = smartalk(['simulate', '--users', '40', '--seed', '11', '--days', '9', '--json'], env);
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ seed: 11, learners: 40, failures: [] });
    expect(summary.eventsSent).toBeGreaterThan(40);
  });

  it('prints the same report as the API, as JSON and as readable tables in both languages', async () => {
    const api: any = await (
      await fetch(`${base}/api/v1/ops/metrics-report`, { headers: { authorization: `Bearer ${env.OPS_TOKEN}` } })
    ).json();
    const json = smartalk(['metrics', 'report', '--json'], env);
    expect(json.status, json.stderr).toBe(0);
    const cli = JSON.parse(json.stdout);
    expect(stable(cli)).toEqual(stable(api));
    expect(cli.newUsers).toBeGreaterThan(0);
    expect(cli.realtime.activeUsers).toBe(40);

    const text = smartalk(['metrics', 'report'], env);
    expect(text.stdout).toContain('SmarTalk metrics');
    expect(text.stdout).toContain(`New users ${cli.newUsers}`);
    expect(text.stdout).toMatch(/Funnel \(7-day conversion window/);
    expect(text.stdout).toContain('Magic moment completed (activation)');
    const zh = smartalk(['metrics', 'report', '--lang', 'zh-CN'], env);
    expect(zh.stdout).toContain('转化漏斗');
    expect(zh.stdout).toContain(`新用户 ${cli.newUsers}`);
    const hourly = smartalk(['metrics', 'report', '--lang', 'zh-CN', '--granularity', 'hour'], env);
    expect(hourly.stdout).toContain('按小时');
    const bad = smartalk(['metrics', 'report', '--since', 'last tuesday'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      '--since expects an ISO date-time (2026-12-01T08:00:00Z) or a day YYYY-MM-DD, got "last tuesday"',
    );
  });

  it("runs the runbook's LaunchMetricsTracker line as written, while the server runs and after it stops", async () => {
    const run = (extra: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['-e', RUNBOOK_LINE], {
        cwd: ROOT,
        env: { ...process.env, ...env, ...extra },
        encoding: 'utf8',
      });
    const live = run();
    expect(live.status, live.stderr).toBe(0);
    expect(live.stdout).not.toContain('Promise');
    expect(live.stdout).toContain('SmarTalk metrics');
    const newUsers = /New users (\d+)/.exec(live.stdout)?.[1];
    expect(Number(newUsers)).toBeGreaterThan(0);

    const feedback = spawnSync(process.execPath, ['-e', FEEDBACK_LINE], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(feedback.status, feedback.stderr).toBe(0);
    expect(feedback.stdout).toContain('# SmarTalk feedback report');
    const items = Number(/\| items \| (\d+) \|/.exec(feedback.stdout)?.[1]);
    expect(items).toBeGreaterThan(0);

    server?.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    const feedbackStopped = spawnSync(process.execPath, ['-e', FEEDBACK_LINE], {
      cwd: ROOT,
      env: { ...process.env, ...env, SMARTALK_LANG: 'zh-CN' },
      encoding: 'utf8',
    });
    expect(feedbackStopped.status, feedbackStopped.stderr).toBe(0);
    expect(feedbackStopped.stdout).toContain(`| 反馈总数 | ${items} |`);
    const stopped = run({ SMARTALK_LANG: 'zh-CN' });
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain(`新用户 ${newUsers}`);
    expect(stopped.stdout).toContain('转化漏斗');

    const data = spawnSync(
      process.execPath,
      [
        '-e',
        "const r = require('./services/LaunchMetricsTracker').LaunchMetricsTracker.getInstance().getMetricsReport(); console.log(JSON.stringify(r))",
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' },
    );
    const report = JSON.parse(data.stdout);
    expect(report.newUsers).toBe(Number(newUsers));
    expect(report.funnel.map((s: { event: string }) => s.event)).toEqual([
      'app_launched',
      'onboarding_started',
      'interest_selected',
      'preview_video_completed',
      'vtpr_learning_started',
      'first_clue_completed',
      'all_clues_completed',
      'magic_moment_completed',
    ]);
  });
});
