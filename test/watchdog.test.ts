/**
 * The watchdog pages from outside: ServiceDown when nothing answers, DatabaseDown
 * when health says so, escalating by the stored first-failure time, resolved when
 * the server is back — through the same channels, from a state file.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { parseAlertsConfig } from '../src/ops/alerts/config.js';
import { watchOnce } from '../src/ops/watchdog.js';
import { smartalkAsync } from './helpers/cli.js';
import { freePort } from './helpers/private-services.js';
import { type HttpSink, startHttpSink } from './helpers/sinks.js';

let sink: HttpSink;
const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-watch-'));
const logger = createLogger({ logFile: path.join(dir, 'log'), logLevel: 'warn' }, { stdout: false });
const configYaml = () => `
channels:
  hook: { type: webhook, url: "${sink.url}/hook" }
  slack: { type: slack, url: "${sink.url}/slack" }
contacts:
  oncall: { name: oncall, channels: [hook] }
  senior: { name: senior, channels: [slack] }
escalation:
  critical: [{ level: 1, after: 0m, contacts: [oncall] }, { level: 2, after: 15m, contacts: [senior] }]
  warning: [{ level: 1, after: 0m, contacts: [oncall] }]
  info: [{ level: 1, after: 0m, contacts: [oncall] }]
remindAfter: 60m
`;

beforeAll(async () => {
  sink = await startHttpSink();
});
afterAll(async () => {
  await sink?.close();
});

async function fakeServer(port: number, status: number, body: unknown): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

describe('ops watch', () => {
  it('pages ServiceDown after a minute, escalates at 15, resolves when the server answers', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let clock = new Date('2026-11-27T03:00:00Z');
    const deps = () => ({
      url,
      config: parseAlertsConfig(configYaml(), 'test'),
      stateFile: path.join(dir, 'state-1.json'),
      logger,
      messages: { lang: 'en' as const, publicUrl: url, tz: 'UTC' },
      now: () => clock,
    });
    let round = await watchOnce(deps());
    expect(round.probe).toMatchObject({ ok: false, ruleId: 'ServiceDown' });
    expect(round.sent).toEqual([]);
    clock = new Date(clock.getTime() + 61_000);
    round = await watchOnce(deps());
    expect(round.sent).toEqual([{ ruleId: 'ServiceDown', kind: 'firing', level: 1, channel: 'hook', ok: true }]);
    expect(sink.on('/hook')[0]?.body).toMatchObject({ kind: 'firing', alert: { ruleId: 'ServiceDown', source: 'watchdog' } });
    clock = new Date(clock.getTime() + 5 * 60_000);
    expect((await watchOnce(deps())).sent).toEqual([]);
    clock = new Date(clock.getTime() + 10 * 60_000);
    expect((await watchOnce(deps())).sent).toEqual([
      { ruleId: 'ServiceDown', kind: 'escalation', level: 2, channel: 'slack', ok: true },
    ]);
    const server = await fakeServer(port, 200, { status: 'ok' });
    try {
      round = await watchOnce(deps());
      expect(round.probe.ok).toBe(true);
      expect(round.sent.map((s) => `${s.kind}:${s.channel}`)).toEqual(['resolved:hook', 'resolved:slack']);
      expect((await watchOnce(deps())).sent).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('tells DatabaseDown from ServiceDown by what health says', async () => {
    const port = await freePort();
    const server = await fakeServer(port, 503, {
      status: 'down',
      checks: { database: { status: 'down', detail: 'connect ECONNREFUSED' } },
    });
    try {
      const stateFile = path.join(dir, 'state-2.json');
      writeFileSync(
        stateFile,
        JSON.stringify({ DatabaseDown: { since: new Date(Date.now() - 120_000).toISOString(), notifiedLevel: 0 } }),
      );
      const sent = sink.requests.length;
      // The real command, once, as a timer would run it.
      const alertsFile = path.join(dir, 'alerts.yml');
      writeFileSync(alertsFile, configYaml());
      const result = await smartalkAsync(
        ['ops', 'watch', '--url', `http://127.0.0.1:${port}`, '--once', '--json', '--state-file', stateFile],
        {
          ALERTS_CONFIG: alertsFile,
          DATA_DIR: dir,
        },
      );
      expect(result.status).toBe(1);
      const outcome = JSON.parse(result.stdout);
      expect(outcome.probe).toMatchObject({ ok: false, ruleId: 'DatabaseDown' });
      expect(outcome.sent).toEqual([{ ruleId: 'DatabaseDown', kind: 'firing', level: 1, channel: 'hook', ok: true }]);
      expect(sink.requests.length).toBe(sent + 1);
    } finally {
      server.close();
    }
  });
});
