/**
 * End to end, on real engines: Prometheus scrapes a running SmarTalk with the
 * exported rules, Alertmanager routes to SmarTalk's intake (another instance), and
 * the intake pages L1 at a webhook sink. A 5xx burst just below 5% pages nobody;
 * one above 5% ends in an L1 notification.
 *
 * The 5xx come from a real fault: the scraped instance loses its INSERT grant on
 * `users` (a broken deploy), so POST /api/v1/users fails with 500 while the database
 * stays up. Time windows are divided by 30 (5m → 10s, for 2m → 4s) to fit a test.
 * That needs real PostgreSQL in both runs: the run's own, or a private one (initdb)
 * when the run is on PGlite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFINITION_SETTINGS } from '../src/analytics/definitions.js';
import { openDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { ensureEventPartitions } from '../src/db/partitions.js';
import { seedContent } from '../src/learning/seed.js';
import { alertmanagerConfig, prometheusRules } from '../src/ops/alerts/prometheus.js';
import { findBinary, requireBinaries } from './helpers/binaries.js';
import { spawnServer } from './helpers/cli.js';
import { freePort, type PrivatePostgres, startPrivatePostgres, waitFor } from './helpers/private-services.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers/server.js';
import { type HttpSink, startHttpSink } from './helpers/sinks.js';

const TOKEN = 'e2e-ops-token-0123456789abcdef';
const children: ChildProcess[] = [];
const databases: TestDatabase[] = [];
let privatePostgres: PrivatePostgres | undefined;
let sink: HttpSink | undefined;

/** A PostgreSQL database for the scraped instance: a copy of the run's template, or a private server's. */
async function postgresDatabase(): Promise<TestDatabase> {
  if (onPostgres()) return createTestDatabase();
  privatePostgres = await startPrivatePostgres();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-e2e-app-'));
  // Migrated and seeded as the admin, as the run's template is: the app's role owns nothing.
  const db = await openDb({ databaseUrl: privatePostgres.url, dataDir });
  await migrate(db, { settings: DEFINITION_SETTINGS });
  await ensureEventPartitions(db, new Date());
  await seedContent(db);
  await db.close();
  return {
    dataDir,
    databaseUrl: privatePostgres.url,
    redisPrefix: 'smartalk-e2e:',
    drop: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

afterAll(async () => {
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  await sink?.close();
  for (const db of databases) await db.drop();
  privatePostgres?.destroy();
});

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.resume();
  child.stderr?.resume();
  children.push(child);
  return child;
}

async function ready(url: string, what: string) {
  await waitFor(async () => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok, 60_000, what);
}

describe('Prometheus → Alertmanager → SmarTalk intake → L1', () => {
  it('pages L1 for a 5xx burst above 5% and nobody for one just below', { timeout: 240_000 }, async (context) => {
    requireBinaries(
      context,
      'end-to-end alerting',
      'prometheus',
      'prometheus-alertmanager',
      ...(onPostgres() ? [] : ['initdb', 'pg_ctl']),
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-e2e-'));
    sink = await startHttpSink();

    // B: the instance that receives Alertmanager's webhook and pages.
    const intakeDb = await createTestDatabase();
    databases.push(intakeDb);
    writeFileSync(
      path.join(dir, 'alerts.yml'),
      `channels:\n  hook: { type: webhook, url: "${sink.url}/hook" }\ncontacts:\n  oncall: { name: oncall, channels: [hook] }\n` +
        'escalation:\n  critical: [{ level: 1, after: 0m, contacts: [oncall] }]\n  warning: [{ level: 1, after: 0m, contacts: [oncall] }]\n' +
        '  info: [{ level: 1, after: 0m, contacts: [oncall] }]\nremindAfter: 60m\n',
    );
    const intake = await serveAndTrack({
      DATA_DIR: intakeDb.dataDir,
      DATABASE_URL: intakeDb.databaseUrl as string,
      OPS_TOKEN: TOKEN,
      ALERTS_CONFIG: path.join(dir, 'alerts.yml'),
      ALERT_INTERVAL_SECONDS: '1',
    });
    const intakePort = Number(new URL(intake).port);

    // A: the instance Prometheus scrapes, connected as a role whose grant we break later.
    const appDb = await postgresDatabase();
    databases.push(appDb);
    const admin = new pg.Client({ connectionString: appDb.databaseUrl });
    await admin.connect();
    await admin.query(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smartalk_e2e') THEN CREATE ROLE smartalk_e2e LOGIN PASSWORD 'e2e'; END IF; END $$",
    );
    await admin.query('GRANT ALL ON SCHEMA public TO smartalk_e2e');
    await admin.query('GRANT ALL ON ALL TABLES IN SCHEMA public TO smartalk_e2e');
    await admin.query('GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO smartalk_e2e');
    const appUrl = new URL(appDb.databaseUrl as string);
    appUrl.username = 'smartalk_e2e';
    appUrl.password = 'e2e';
    const app = await serveAndTrack({
      DATA_DIR: appDb.dataDir,
      DATABASE_URL: appUrl.toString(),
      OPS_TOKEN: TOKEN,
      RATE_LIMIT_USERS_PER_MINUTE: '1000000',
      ALERT_INTERVAL_SECONDS: '3600',
    });
    const appPort = Number(new URL(app).port);
    await ready(`http://127.0.0.1:${intakePort}/api/v1/health/ready`, 'intake instance');
    await ready(`http://127.0.0.1:${appPort}/api/v1/health/ready`, 'scraped instance');

    // Alertmanager, routing to B's intake.
    writeFileSync(path.join(dir, 'token'), TOKEN);
    writeFileSync(
      path.join(dir, 'alertmanager.yml'),
      alertmanagerConfig({
        intakeUrl: `http://127.0.0.1:${intakePort}/api/v1/ops/alertmanager`,
        tokenFile: path.join(dir, 'token'),
        groupWait: '1s',
        groupInterval: '1s',
      }),
    );
    const amPort = await freePort();
    start(findBinary('prometheus-alertmanager') as string, [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);
    await ready(`http://127.0.0.1:${amPort}/-/ready`, 'alertmanager');

    // Prometheus, scraping A every second with the exported rules (time ÷ 30).
    writeFileSync(path.join(dir, 'rules.yml'), prometheusRules({ timeScale: 30 }));
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: ["${path.join(dir, 'rules.yml')}"]
alerting:
  alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:${amPort}"] }] }]
scrape_configs:
  - job_name: smartalk
    static_configs: [{ targets: ["127.0.0.1:${appPort}"] }]
`,
    );
    const promPort = await freePort();
    start(findBinary('prometheus') as string, [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    await ready(`http://127.0.0.1:${promPort}/-/ready`, 'prometheus');

    // The fault: A can no longer create users.
    await admin.query('REVOKE INSERT ON users FROM smartalk_e2e');
    await admin.end();

    let stop = false;
    let errorsPer = 1;
    let requestsPer = 25;
    let device = 0;
    const traffic = (async () => {
      while (!stop) {
        const batch: Promise<unknown>[] = [];
        for (let i = 0; i < requestsPer; i++) {
          batch.push(
            i < errorsPer
              ? fetch(`http://127.0.0.1:${appPort}/api/v1/users`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ deviceId: `e2e-device-${++device}` }),
                })
              : fetch(`http://127.0.0.1:${appPort}/api/v1/interests`),
          );
        }
        await Promise.all(batch);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const paged = () => sink?.on('/hook').filter((r) => r.body?.alert?.ruleId === 'HighErrorRate') ?? [];

    try {
      // Just below: 1 in 25 (4%), long enough for the 10 s window and the 4 s `for` several times over.
      await new Promise((resolve) => setTimeout(resolve, 30_000));
      const query = await (
        await fetch(
          `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('sum(rate(http_requests_total{status=~"5.."}[10s])) / sum(rate(http_requests_total[10s]))')}`,
        )
      ).json();
      const ratio = Number((query as { data: { result: Array<{ value: [number, string] }> } }).data.result[0]?.value[1]);
      expect(ratio).toBeGreaterThan(0.02);
      expect(ratio).toBeLessThan(0.05);
      expect(paged()).toEqual([]);

      // Above: 1 in 10.
      errorsPer = 1;
      requestsPer = 10;
      await waitFor(async () => paged().length > 0, 90_000, 'an L1 page for HighErrorRate');
      expect(paged()[0]?.body).toMatchObject({
        kind: 'firing',
        level: 1,
        alert: { ruleId: 'HighErrorRate', severity: 'critical', source: 'alertmanager' },
      });
      expect(paged()[0]?.body.text).toContain('5xx');
    } finally {
      stop = true;
      await traffic;
    }
  });
});

/** A server on a port the kernel picked (never one another test file took first); its URL. */
async function serveAndTrack(env: Record<string, string>): Promise<string> {
  const { child, url } = await spawnServer(env);
  child.stderr?.resume();
  children.push(child);
  return url;
}
