/**
 * `smartalk ops diagnose` on real things: a real PostgreSQL stopped and started, a real
 * blocked query and the session that blocks it, a real server and its log, and the CLI's
 * exit codes.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { DbInsights } from '../src/ops/db-insights/insights.js';
import { activationDropScenario } from '../src/ops/diagnose/activation-drop.js';
import { appDownScenario } from '../src/ops/diagnose/app-down.js';
import { databaseScenario } from '../src/ops/diagnose/database.js';
import { type Diagnosis, runDiagnosis, type ScenarioDefinition } from '../src/ops/diagnose/diagnosis.js';
import { assembleDiagnoseDeps } from '../src/ops/diagnose/scenarios.js';
import { writeServerInfo } from '../src/ops/server-link.js';
import { requireBinaries } from './helpers/binaries.js';
import { smartalkAsync } from './helpers/cli.js';
import { freePort, type PrivatePostgres, startPrivatePostgres, waitFor } from './helpers/private-services.js';
import { api, onPostgres, startTestServer } from './helpers/server.js';
import { startHttpSink, webhookAlertsConfig } from './helpers/sinks.js';

const dirs: string[] = [];
let privatePostgres: PrivatePostgres | undefined;
afterAll(() => {
  privatePostgres?.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-diagnose-'));
  dirs.push(dir);
  return dir;
};

async function diagnose(
  scenario: ScenarioDefinition,
  env: Record<string, string>,
  options: { url?: string; fix?: boolean; terminateIdleSeconds?: number } = {},
): Promise<Diagnosis> {
  const config = loadConfig({ DATA_DIR: tempDir(), ...env });
  return runDiagnosis(scenario, await assembleDiagnoseDeps(config, options), { lang: 'en' });
}

const finding = (diagnosis: Diagnosis, id: string) => diagnosis.findings.find((f) => f.id === id);

describe('diagnose db on a real PostgreSQL', () => {
  it('says unreachable with the connection error while it is stopped, and all clear once it is started', async (context) => {
    requireBinaries(context, 'the database diagnosis runs a private PostgreSQL', 'initdb', 'pg_ctl');
    privatePostgres = await startPrivatePostgres();
    const env = { DATABASE_URL: privatePostgres.url };
    const url = `http://127.0.0.1:${await freePort()}`; // no server: the database alone is diagnosed

    privatePostgres.stop();
    const down = await diagnose(databaseScenario, env, { url });
    expect(down.worst).toBe('fail');
    expect(finding(down, 'db.reachable')).toMatchObject({
      status: 'fail',
      evidence: [expect.stringMatching(/^ECONNREFUSED: /), expect.any(String)],
    });
    expect(finding(down, 'db.login')?.status).toBe('skip');
    expect(finding(down, 'db.blocked')?.status).toBe('skip');
    expect(finding(down, 'db.reachable')?.action).toMatch(/Start PostgreSQL/);

    privatePostgres.start();
    const up = await diagnose(databaseScenario, env, { url });
    expect(finding(up, 'db.reachable')?.status).toBe('pass');
    expect(finding(up, 'db.login')).toMatchObject({
      status: 'pass',
      summary: expect.stringMatching(/^logged in as postgres to postgres \(PostgreSQL \d+/),
    });
    expect(finding(up, 'db.blocked')).toMatchObject({ status: 'pass', summary: '0 queries waiting on a lock' });
    expect(up.worst).not.toBe('fail');
  });

  it('names a blocked query and the idle transaction blocking it; --fix --terminate-idle-in-transaction ends the blocker', async (context) => {
    requireBinaries(context, 'the database diagnosis runs a private PostgreSQL', 'initdb', 'pg_ctl');
    const pgUrl = privatePostgres?.url;
    if (!pgUrl) return context.skip('the previous test did not start PostgreSQL');
    const blocker = new pg.Client({ connectionString: pgUrl, application_name: 'blocker' });
    const waiter = new pg.Client({ connectionString: pgUrl, application_name: 'waiter' });
    blocker.on('error', () => {}); // it is terminated on purpose below
    await blocker.connect();
    await waiter.connect();
    try {
      await blocker.query(
        'CREATE TABLE IF NOT EXISTS probe (id int PRIMARY KEY, v int); INSERT INTO probe VALUES (1, 0) ON CONFLICT DO NOTHING',
      );
      const blockerPid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await blocker.query('BEGIN');
      await blocker.query('UPDATE probe SET v = v + 1 WHERE id = 1');
      const waiting = waiter.query('UPDATE probe SET v = v + 10 WHERE id = 1 RETURNING v');
      const env = { DATABASE_URL: pgUrl };
      const url = `http://127.0.0.1:${await freePort()}`;
      let diagnosis: Diagnosis | undefined;
      await waitFor(
        async () => {
          diagnosis = await diagnose(databaseScenario, env, { url });
          return finding(diagnosis, 'db.blocked')?.status === 'warn';
        },
        10_000,
        'the waiting UPDATE to show as blocked',
      );
      const blocked = finding(diagnosis as Diagnosis, 'db.blocked');
      expect(blocked?.summary).toBe('1 queries waiting on a lock');
      expect(blocked?.evidence[0]).toMatch(
        new RegExp(
          `UPDATE probe SET v = v \\+ 10 WHERE id = 1 RETURNING v — blocked by pid ${blockerPid} \\(idle in transaction, \\d+ s\\): UPDATE probe SET v = v \\+ 1`,
        ),
      );
      expect(blocked?.action).toMatch(/blocking session is the cause/);

      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const fixed = await diagnose(databaseScenario, env, { url, fix: true, terminateIdleSeconds: 1 });
      expect(fixed.fixes).toEqual([
        { action: 'ended sessions idle in a transaction for over 1 s', ok: true, detail: `pids ${blockerPid}` },
      ]);
      // The waiter gets its row once the blocker is gone.
      expect((await waiting).rows[0]?.v).toBe(10);
    } finally {
      await blocker.end().catch(() => {});
      await waiter.end().catch(() => {});
    }
  });
});

describe('diagnose app-down and the server’s view', () => {
  it('fails on a closed port; on a live server passes the port and health, names our process, and shows the last fatal line', async () => {
    const closed = await diagnose(appDownScenario, {}, { url: `http://127.0.0.1:${await freePort()}` });
    expect(finding(closed, 'app.port')).toMatchObject({ status: 'fail', evidence: [expect.stringMatching(/^ECONNREFUSED/)] });
    expect(finding(closed, 'app.health')?.status).toBe('fail');
    expect(closed.worst).toBe('fail');

    const logFile = path.join(tempDir(), 'application.log');
    const server = await startTestServer({ env: { LOG_FILE: logFile } });
    try {
      appendFileSync(
        logFile,
        `${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), msg: 'uncaught exception', err: { message: 'boom at start' } })}\n`,
      );
      const env = {
        LOG_FILE: logFile,
        OPS_TOKEN: server.opsToken,
        ...(server.database.databaseUrl ? { DATABASE_URL: server.database.databaseUrl } : { DATA_DIR: server.database.dataDir }),
      };
      const live = await diagnose(appDownScenario, env, { url: server.url });
      expect(finding(live, 'app.port')).toMatchObject({ status: 'pass', data: { pid: process.pid } });
      // ok, or degraded by this shared machine's memory or disk: either way it answered.
      expect(finding(live, 'app.health')?.summary).toMatch(/^200 (ok|degraded) in \d+ ms/);
      expect(finding(live, 'app.log')).toMatchObject({ status: 'fail' });
      expect(finding(live, 'app.log')?.evidence.at(-1)).toMatch(/\[fatal\] uncaught exception: boom at start$/);

      // What `smartalk serve` leaves for commands: the pid and address of the live server.
      await writeServerInfo(server.database.dataDir, { pid: process.pid, url: server.url, startedAt: new Date().toISOString() });
      const db = await diagnose(databaseScenario, { ...env, DATA_DIR: server.database.dataDir }, { url: server.url, fix: true });
      expect(finding(db, 'db.server_view')).toMatchObject({ status: 'pass', summary: 'the server says the database is ok' });
      if (onPostgres()) {
        // 重置连接池 through the ops endpoint: the server keeps answering on fresh connections.
        expect(db.fixes).toEqual([
          {
            action: 'reset the server’s connection pool',
            ok: true,
            detail: expect.stringMatching(/^\d+ connections \(\d+ idle\) replaced$/),
          },
        ]);
        expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
      } else {
        expect(finding(db, 'db.reachable')?.summary).toMatch(/^embedded PGlite is open in process \d+/);
        expect(db.fixes).toEqual([]);
      }
    } finally {
      await server.close();
    }
  });
});

describe('smartalk ops diagnose', () => {
  it('exits with the monitoring-plugin codes: 2 on a failure, 3 for an unknown scenario', async () => {
    const down = await smartalkAsync(['ops', 'diagnose', 'app-down', '--url', `http://127.0.0.1:${await freePort()}`, '--json'], {
      DATA_DIR: tempDir(),
    });
    expect(down.status).toBe(2);
    const parsed = JSON.parse(down.stdout) as Diagnosis;
    expect(parsed).toMatchObject({ scenario: 'app-down', worst: 'fail' });
    expect(parsed.findings.map((f) => f.id)).toEqual([
      'app.config',
      'app.port',
      'app.health',
      'app.log',
      'app.systemd',
      'app.nginx',
    ]);
    const unknown = await smartalkAsync(['ops', 'diagnose', 'everything'], { DATA_DIR: tempDir() });
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toMatch(/unknown scenario: everything/);
  });
});

describe('smartalk db insights', () => {
  it('through the server: an invalid index left by a failed CREATE INDEX CONCURRENTLY is named; PGlite skips the server statistics', async () => {
    const server = await startTestServer();
    try {
      const { db } = server.runtime;
      if (onPostgres()) {
        // Duplicates make a concurrent unique build fail, which leaves the index behind, invalid.
        await sql`CREATE TABLE insight_probe (v int)`.execute(db.kysely);
        await sql`INSERT INTO insight_probe VALUES (1), (1)`.execute(db.kysely);
        await sql`CREATE UNIQUE INDEX CONCURRENTLY insight_probe_v ON insight_probe (v)`
          .execute(db.kysely)
          .catch(() => undefined);
      }
      const { status, body } = await api(server.url, '/api/v1/ops/db', { token: server.opsToken });
      expect(status).toBe(200);
      const insights = body as DbInsights;
      const byId = (id: string) => insights.insights.find((i) => i.id === id);
      expect(insights.insights.map((i) => i.id)).toEqual([
        'connections',
        'long_running',
        'blocked',
        'cache_hit',
        'slow_statements',
        'index_suggestions',
        'indexes',
        'table_sizes',
        'dead_rows',
        'wraparound',
        'sequences',
      ]);
      expect(byId('table_sizes')?.evidence.join('\n')).toMatch(/^vtpr_clips: \d+/m);
      expect(byId('sequences')?.status).toBe('pass');
      if (onPostgres()) {
        expect(byId('indexes')).toMatchObject({
          status: 'warn',
          evidence: expect.arrayContaining(['invalid: insight_probe_v on insight_probe']),
        });
        expect(byId('connections')?.evidence.at(-1)).toMatch(/^the server's pool: \d+ open of 20, \d+ idle, 0 waiting$/);
      } else {
        expect(byId('connections')).toMatchObject({
          status: 'skip',
          summary: expect.stringMatching(/PGlite is one in-process session/),
        });
        expect(byId('indexes')?.status).toBe('pass');
      }
    } finally {
      await server.close();
    }
  });
});

describe('diagnose activation-drop', () => {
  it('finds the step that fell and the new app version behind it, recommends a rollback, and sends it with the page', async () => {
    const sink = await startHttpSink();
    const alertsFile = path.join(tempDir(), 'alerts.yml');
    writeFileSync(alertsFile, webhookAlertsConfig(`${sink.url}/hook`));
    const server = await startTestServer({ env: { ALERTS_CONFIG: alertsFile, ALERT_INTERVAL_SECONDS: '1' } });
    try {
      const now = Date.now();
      const events: unknown[] = [];
      // The 7 days before: version 1.4.0 on both platforms, 12 of 20 a day reach the magic moment.
      const journey = (deviceId: string, launchedAt: number, appVersion: string, platform: string, activated: boolean) => {
        const event = (name: string, minutes: number) =>
          events.push({
            id: randomUUID(),
            name,
            timestamp: new Date(launchedAt + minutes * 60_000).toISOString(),
            deviceId,
            appVersion,
            platform,
          });
        event('app_launched', 0);
        event('onboarding_started', 1);
        event('interest_selected', 2);
        event('preview_video_completed', 4);
        event('vtpr_learning_started', 5);
        event('first_clue_completed', 7);
        event('all_clues_completed', 20);
        if (activated) event('magic_moment_completed', 25);
      };
      for (let day = 2; day <= 7; day++) {
        for (let n = 0; n < 20; n++)
          journey(`base-${day}-${n}`, now - day * 86_400_000, '1.4.0', n % 2 ? 'ios' : 'android', n < 12);
      }
      // The last 24 hours: 1.4.0 as before; 1.5.0, new today, almost never reaches it.
      for (let n = 0; n < 20; n++) journey(`old-${n}`, now - 6 * 3_600_000, '1.4.0', n % 2 ? 'ios' : 'android', n < 12);
      for (let n = 0; n < 30; n++) journey(`new-${n}`, now - 5 * 3_600_000, '1.5.0', n % 2 ? 'ios' : 'android', n < 1);
      for (let at = 0; at < events.length; at += 500) {
        const batch = events.slice(at, at + 500);
        const ingested = await api(server.url, '/api/v1/analytics/events', { body: { events: batch }, token: server.opsToken });
        expect(ingested.body).toMatchObject({ accepted: batch.length, rejected: [] });
      }

      const env = {
        OPS_TOKEN: server.opsToken,
        ...(server.database.databaseUrl ? { DATABASE_URL: server.database.databaseUrl } : {}),
      };
      const diagnosis = await diagnose(activationDropScenario, env, { url: server.url });
      const funnel = finding(diagnosis, 'activation.funnel');
      expect(funnel?.status).toBe('fail'); // 26% against 60%: under half, ActivationRateDrop's line
      expect(funnel?.summary).toMatch(
        /^activation 26\.0% in the last 24 h vs 60\.0% the 7 days before \(50 new learners\); the largest fall: step 8 magic_moment_completed/,
      );
      const segments = finding(diagnosis, 'activation.segments');
      expect(segments).toMatchObject({
        status: 'fail',
        summary: expect.stringMatching(
          /^app version 1\.5\.0, new in the last 24 h, activates far below the others: roll it back/,
        ),
      });
      expect(segments?.evidence).toContainEqual('appVersion 1.5.0: 3.3% (30 new) — new in this window ▼');
      expect(segments?.evidence).toContainEqual('appVersion 1.4.0: 60.0% (20 new) ← 60.0%');
      expect(finding(diagnosis, 'activation.endpoints')?.summary).toMatch(/^step 8: its routes answer without server errors/);
      expect(diagnosis.worst).toBe('fail');

      // With ActivationRateDrop asking for more new learners than the last 24 hours had,
      // the same fall is a lead (warn) that says why, not a finding.
      const strictFile = path.join(tempDir(), 'alerts-strict.yml');
      writeFileSync(
        strictFile,
        `${webhookAlertsConfig(`${sink.url}/hook`)}thresholds:\n  ActivationRateDrop: { minNewUsers: 60 }\n`,
      );
      const strict = finding(
        await diagnose(activationDropScenario, { ...env, ALERTS_CONFIG: strictFile }, { url: server.url }),
        'activation.funnel',
      );
      expect(strict?.status).toBe('warn');
      expect(strict?.evidence.at(-1)).toBe(
        'too few new learners to judge: 50 in the last 24 h, 120 the 7 days before (the alerts need 60 on each side)',
      );

      // The same diagnosis runs by itself when ActivationRateDrop fires (as the evaluator fires it),
      // and its findings reach L1 with the first notification, the alert and the ops log.
      const { alert } = await server.runtime.alerts.fire({
        ruleId: 'ActivationRateDrop',
        severity: 'critical',
        source: 'builtin',
        labels: {},
        summary: 'Activation rate dropped by more than 50%',
        value: '26%',
        threshold: '< 50% of the 7-day baseline',
      });
      await waitFor(async () => sink.on('/hook').length > 0, 30_000, 'the L1 notification');
      const page = JSON.stringify(sink.on('/hook')[0]?.body);
      expect(page).toContain('Diagnosis (activation-drop)');
      expect(page).toMatch(/FAIL activation\.segments: app version 1\.5\.0, new in the last 24 h/);
      const shown = await api(server.url, `/api/v1/ops/alerts/${alert.id}`, { token: server.opsToken });
      expect(shown.body.alert.diagnosis).toMatchObject({ scenario: 'activation-drop', worst: 'fail' });
      const log = await api(server.url, '/api/v1/ops/log?tag=diagnosis', { token: server.opsToken });
      expect(log.body.entries[0].summary).toMatch(/^ActivationRateDrop diagnosis \(activation-drop\): activation\.funnel fail/);
    } finally {
      await server.close();
      await sink.close();
    }
  });
});
