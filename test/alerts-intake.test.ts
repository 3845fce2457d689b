/**
 * A running `smartalk serve` with an alerts config: Alertmanager's webhook opens,
 * deduplicates and resolves alerts, L1 is paged at once, and operators work them
 * from the CLI (list, ack, silence, test-channel). A bad config stops start-up
 * with the file, line and key.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smartalk, smartalkAsync, spawnServer } from './helpers/cli.js';
import { waitFor } from './helpers/private-services.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';
import { type HttpSink, startHttpSink } from './helpers/sinks.js';

const TOKEN = 'intake-test-ops-token-123456';
let database: TestDatabase;
let sink: HttpSink;
let server: ChildProcess | undefined;
let base: string;
let env: Record<string, string>;

const payload = (status: 'firing' | 'resolved', fingerprint = 'a1b2c3d4e5f60718') => ({
  version: '4',
  groupKey: '{}:{alertname="HighErrorRate"}',
  status,
  receiver: 'smartalk-critical',
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: { alertname: 'HighErrorRate', severity: 'critical', job: 'smartalk' },
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts: [
    {
      status,
      labels: { alertname: 'HighErrorRate', severity: 'critical', job: 'smartalk' },
      annotations: {
        summary: 'API error rate above 5%',
        summary_zh: 'API 错误率 > 5%',
        value: '12%',
        threshold: '5%',
        runbook: 'docs/runbook.md#x',
      },
      startsAt: '2026-11-27T01:00:00Z',
      endsAt: status === 'resolved' ? '2026-11-27T01:10:00Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint,
    },
  ],
});

const post = (body: unknown, token: string | undefined = TOKEN) =>
  fetch(`${base}/api/v1/ops/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  database = await createTestDatabase();
  sink = await startHttpSink();
  const configFile = path.join(database.dataDir, 'alerts.yml');
  writeFileSync(
    configFile,
    `channels:
  hook: { type: webhook, url: "${sink.url}/hook" }
contacts:
  oncall: { name: oncall, channels: [hook] }
escalation:
  critical: [{ level: 1, after: 0m, contacts: [oncall] }]
  warning: [{ level: 1, after: 0m, contacts: [oncall] }]
  info: [{ level: 1, after: 0m, contacts: [oncall] }]
remindAfter: 60m
`,
  );
  env = {
    DATA_DIR: database.dataDir,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    OPS_TOKEN: TOKEN,
    ALERTS_CONFIG: configFile,
    ALERT_INTERVAL_SECONDS: '1',
    SMARTALK_LANG: 'en',
  };
  const started = await spawnServer(env);
  server = started.child;
  base = started.url;
  server.stderr?.resume();
  await waitFor(async () => (await fetch(`${base}/api/v1/health/ready`)).status === 200, 60_000, 'server');
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
  }
  await sink?.close();
  await database?.drop();
});

describe('Alertmanager intake', () => {
  it('opens an alert, pages L1 at once, and deduplicates by fingerprint', async () => {
    const first = await post(payload('firing'));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 1, opened: 1, resolved: 0 });
    await waitFor(async () => sink.on('/hook').length === 1, 5_000, 'L1 page');
    expect(sink.on('/hook')[0]?.body).toMatchObject({
      kind: 'firing',
      level: 1,
      alert: { ruleId: 'HighErrorRate', value: '12%', threshold: '5%' },
    });
    const again = await post(payload('firing'));
    expect(await again.json()).toEqual({ received: 1, opened: 0, resolved: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sink.on('/hook')).toHaveLength(1);
  });

  it('is worked from the CLI: list, ack, silence, test-channel', async () => {
    const list = smartalk(['alerts', 'list', '--json'], env);
    expect(list.status, list.stderr).toBe(0);
    const open = JSON.parse(list.stdout);
    expect(open.map((a: { ruleId: string }) => a.ruleId)).toEqual(['HighErrorRate']);
    const table = smartalk(['alerts', 'list'], env);
    expect(table.stdout).toContain('HighErrorRate');
    const ack = smartalk(['alerts', 'ack', open[0].id, '--by', 'li.lei'], env);
    expect(ack.stdout).toContain('HighErrorRate acknowledged (li.lei)');
    const show = smartalk(['alerts', 'show', open[0].id, '--json'], env);
    expect(JSON.parse(show.stdout).alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'li.lei' });
    const silence = smartalk(['alerts', 'silence', '--rule', 'SlowApi', '--minutes', '30', '--reason', 'load test tonight'], env);
    expect(silence.stdout).toMatch(/^silence [0-9a-f]{8} for 30 min/);
    // Async: the sink lives in this process and must answer while the command waits.
    const test = await smartalkAsync(['alerts', 'test-channel', 'hook'], env);
    expect(test.stdout).toContain('sent through hook');
    expect(sink.on('/hook').at(-1)?.body.kind).toBe('test');
    expect(smartalk(['alerts', 'test-channel', 'nope'], env).stderr).toContain('No channel named nope');
  });

  it('takes the short id it prints, names the OS user, and shows the three times with their zone', async () => {
    expect((await post(payload('firing', 'ffff000011112222'))).status).toBe(200);
    let alert = { id: '' };
    await waitFor(
      async () => {
        const open = JSON.parse(smartalk(['alerts', 'list', '--json'], env).stdout);
        alert = open.find((a: { status: string; pagedAt: string | null }) => a.status === 'firing' && a.pagedAt) ?? alert;
        return alert.id !== '';
      },
      10_000,
      'L1 page',
    );
    const table = smartalk(['alerts', 'list'], env).stdout;
    expect(table).toContain(alert.id.slice(0, 8));
    expect(table).toMatch(/2026-11-27 09:00:00 GMT\+8/); // Alertmanager's startsAt, in SMARTALK_TZ
    const show = smartalk(['alerts', 'show', alert.id.slice(0, 6)], env);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/problem since 2026-11-27 09:00:00 GMT\+8 · fired .+ GMT\+8 · L1 paged .+ GMT\+8/);
    const ack = smartalk(['alerts', 'ack', alert.id.slice(0, 8)], env);
    expect(ack.status, ack.stderr).toBe(0);
    const shown = JSON.parse(smartalk(['alerts', 'show', alert.id, '--json'], env).stdout);
    expect(shown.alert.acknowledgedBy).toBe(process.env.SUDO_USER ?? userInfo().username);
    const paged = () => sink.on('/hook').find((r) => r.body.alert?.id === alert.id && r.body.kind === 'firing');
    await waitFor(async () => paged() !== undefined, 10_000, 'the page at the sink');
    const page = paged();
    expect(page?.body.text).toMatch(/Problem since: .+\nL1 paged: /);
    // The API behind it: a prefix finds its alert; a malformed one is a 400.
    const byPrefix = await fetch(`${base}/api/v1/ops/alerts?idPrefix=${alert.id.slice(0, 5)}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const found = (await byPrefix.json()) as { alerts: Array<{ id: string }> };
    expect(found.alerts.map((a) => a.id)).toContain(alert.id);
    const bad = await fetch(`${base}/api/v1/ops/alerts?idPrefix=zz`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bad.status).toBe(400);
    const unknown = smartalk(['alerts', 'show', '0000000'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no alert id starts with 0000000');
    expect(smartalk(['alerts', 'resolve', alert.id.slice(0, 8), '--by', 'li.lei'], env).stdout).toContain('resolved (li.lei)');
  });

  it('lists silences and maintenance windows, and ends one by its short id', () => {
    const later = smartalk(
      ['alerts', 'silence', '--maintenance', '--minutes', '60', '--reason', 'db upgrade', '--starts', '2099-01-01', '--json'],
      env,
    );
    expect(later.status, later.stderr).toBe(0);
    const { id } = JSON.parse(later.stdout);
    const listed = smartalk(['alerts', 'silences'], env);
    expect(listed.stdout).toContain('load test tonight');
    expect(listed.stdout).toMatch(new RegExp(`${id.slice(0, 8)} .+maintenance .+scheduled`));
    const ended = smartalk(['alerts', 'unsilence', id.slice(0, 8)], env);
    expect(ended.status, ended.stderr).toBe(0);
    expect(JSON.parse(smartalk(['alerts', 'silences', '--json'], env).stdout).map((s: { id: string }) => s.id)).not.toContain(id);
    const again = smartalk(['alerts', 'unsilence', id], env);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('No silence in force or scheduled with that id');
  });

  it('says in words what went wrong, with exit 2', () => {
    const refused = smartalk(['alerts', 'list', '--url', 'http://127.0.0.1:9'], env);
    expect(refused.status).toBe(2);
    const closed = smartalk(['alerts', 'list', '--url', base.replace(/:\d+$/, ':2')], env);
    expect(closed.status).toBe(2);
    expect(closed.stderr).toMatch(
      /cannot reach SmarTalk at http:\/\/127\.0\.0\.1:2 \(connection refused\) — is it running\? Start it with npm start, or pass --url/,
    );
    const date = smartalk(['metrics', 'report', '--since', '2026-13-01'], env);
    expect(date.status).toBe(2);
    expect(date.stderr).toContain('--since expects an ISO date-time');
    const tooLong = smartalk(['alerts', 'silence', '--minutes', '20000', '--reason', 'a long one'], env);
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr).toMatch(/^smartalk: .*minutes/);
    expect(tooLong.stderr).not.toContain('/api/v1');
  });

  it('resolves from Alertmanager and tells L1', async () => {
    const res = await post(payload('resolved'));
    expect(await res.json()).toEqual({ received: 1, opened: 0, resolved: 1 });
    await waitFor(async () => sink.on('/hook').some((r) => r.body.kind === 'resolved'), 5_000, 'resolved message');
    expect(JSON.parse(smartalk(['alerts', 'list', '--json'], env).stdout)).toEqual([]);
  });

  it('refuses malformed payloads and callers without the ops token', async () => {
    expect((await post({ version: '3', alerts: [] })).status).toBe(400);
    expect((await post({ ...payload('firing'), alerts: [{ status: 'firing' }] })).status).toBe(400);
    expect((await post(payload('firing'), '')).status).toBe(401);
    expect((await post(payload('firing'), 'wrong-token-wrong-token')).status).toBe(401);
  });
});

describe('alerts config', () => {
  it('stops start-up with the file, line and key of a mistake', () => {
    const bad = path.join(database.dataDir, 'bad-alerts.yml');
    writeFileSync(bad, 'channels:\n  hook: { type: pager }\ncontacts: {}\nescalation: {}\nremindAfter: 1h\n');
    const result = smartalk(['serve', '--port', '0', '--no-media'], {
      ...env,
      ALERTS_CONFIG: bad,
      DATA_DIR: `${database.dataDir}/other`,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(
      new RegExp(`^smartalk: configuration error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: channels\\.hook`),
    );
  });
});
