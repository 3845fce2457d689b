/**
 * The runbook's checklists: each check on a crafted state gives the expected result with
 * its evidence, a source that is absent gives `skip` with the reason, and the ops log
 * records runs and people's entries.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordManualRun } from '../src/ops/backups/jobs.js';
import { BACKUP_JOB } from '../src/ops/backups/status.js';
import { capacityPlan } from '../src/ops/capacity-model.js';
import type { CheckRun } from '../src/ops/checks/check.js';
import { alertOnFailures, CHECK_FAILED_RULE } from '../src/ops/checks/jobs.js';
import { nodeSupport } from '../src/ops/checks/maintenance-checks.js';
import { runChecks } from '../src/ops/checks/runner.js';
import { smartalkAsync } from './helpers/cli.js';
import { api, onPostgres, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let logFile: string;

beforeAll(async () => {
  logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'smartalk-checks-')), 'application.log');
  server = await startTestServer({ env: { LOG_FILE: logFile } });
});
afterAll(async () => server?.close());

const run = (selectors: string[], now = new Date(), deps = server.runtime.checks): Promise<CheckRun> =>
  runChecks(deps, selectors, { lang: 'en', now: () => now });
const only = async (id: string, now?: Date) => (await run([id], now)).results[0] as CheckRun['results'][number];

const line = (level: string, at: Date, msg: string, err?: string) =>
  `${JSON.stringify({ level, time: at.toISOString(), service: 'smartalk', msg, ...(err ? { err: { message: err } } : {}) })}\n`;

describe('logs.overnight', () => {
  it('groups the night’s errors by what they say, warns, and fails on a fatal line', async () => {
    // 03:00 the next morning in SMARTALK_TZ (Asia/Shanghai): the night began at 18:00.
    const now = new Date('2026-11-20T19:00:00Z');
    const night = (minutes: number) => new Date(Date.parse('2026-11-20T10:00:00Z') + minutes * 60_000);
    writeFileSync(logFile, line('error', new Date('2026-11-20T09:00:00Z'), 'before the night', 'not counted'));
    for (let i = 0; i < 5; i++) {
      appendFileSync(
        logFile,
        line('error', night(10 + i), 'request failed', `timeout after ${1500 + i * 37} ms for ${randomUUID()}`),
      );
    }
    appendFileSync(logFile, line('error', night(60), 'redis unavailable', 'connect ECONNREFUSED 127.0.0.1:6379'));
    appendFileSync(logFile, line('error', night(61), 'redis unavailable', 'connect ECONNREFUSED 127.0.0.1:6380'));
    appendFileSync(logFile, line('info', night(62), 'request completed'));
    appendFileSync(logFile, 'not json at all\n');

    const quiet = await only('logs.overnight', now);
    expect(quiet.status).toBe('warn');
    expect(quiet.summary).toMatch(/^7 errors in 2 groups/);
    expect(quiet.evidence).toContainEqual(expect.stringMatching(/^×5 \[error\] request failed: timeout after 1500 ms/));
    expect(quiet.evidence).toContainEqual(expect.stringMatching(/^×2 \[error\] redis unavailable/));
    expect(quiet.action).toMatch(/largest group/);

    appendFileSync(logFile, line('fatal', night(300), 'uncaught exception', 'boom'));
    expect((await only('logs.overnight', now)).status).toBe('fail');
  });

  it('passes a quiet night and skips without a log file', async () => {
    writeFileSync(logFile, line('info', new Date(), 'SmarTalk is listening'));
    const quiet = await only('logs.overnight');
    expect(quiet.status).toBe('pass');
    const missing = await run(['logs.overnight'], new Date(), {
      ...server.runtime.checks,
      config: { ...server.runtime.checks.config, logFile: path.join(os.tmpdir(), `no-such-${randomUUID()}.log`) },
    });
    expect(missing.results[0]).toMatchObject({ status: 'skip', summary: expect.stringMatching(/^no log file at /) });
  });
});

describe('backup.status', () => {
  it('warns before any backup, fails when stale or failed, passes when fresh', async () => {
    const { db } = server.runtime;
    expect(await only('backup.status')).toMatchObject({
      status: 'warn',
      summary: expect.stringMatching(/^no backup has run yet/),
    });
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    const backup = (slot: string, status: 'success' | 'failed', at: Date) =>
      db.kysely
        .insertInto('job_runs')
        .values({ job: 'backup', slot, instance: 'test', status, started_at: at, finished_at: at })
        .execute();
    await backup('old', 'success', hoursAgo(30));
    const stale = await only('backup.status');
    expect(stale).toMatchObject({ status: 'fail', summary: 'no successful backup in 26 h' });
    expect(stale.evidence[0]).toMatch(/30\.0 h ago/);
    await backup('fresh', 'success', hoursAgo(2));
    expect((await only('backup.status')).status).toBe('pass');
    await backup('broken', 'failed', hoursAgo(1));
    expect(await only('backup.status')).toMatchObject({ status: 'fail', summary: 'the latest backup failed' });
  });

  it('raises a warning-tier alert from a scheduled failure and resolves it when the check passes again', async () => {
    const { alerts } = server.runtime;
    const failing = await run(['backup.status']);
    expect(failing.worst).toBe('fail');
    await alertOnFailures(alerts, failing);
    const open = (await alerts.list({ open: true })).filter((alert) => alert.ruleId === CHECK_FAILED_RULE);
    expect(open).toEqual([
      expect.objectContaining({
        severity: 'warning',
        labels: { check: 'backup.status' },
        summary: 'Check backup.status failed: the latest backup failed',
      }),
    ]);
    const fresh = new Date(Date.now() + 1000);
    await server.runtime.db.kysely
      .insertInto('job_runs')
      .values({ job: 'backup', slot: 'recovered', instance: 'test', status: 'success', started_at: fresh, finished_at: fresh })
      .execute();
    const passing = await run(['backup.status'], new Date(fresh.getTime() + 1000));
    expect(passing.worst).toBe('pass');
    await alertOnFailures(alerts, passing);
    expect((await alerts.list({ open: true })).filter((alert) => alert.ruleId === CHECK_FAILED_RULE)).toEqual([]);
  });
});

describe('users.anomalies', () => {
  it('flags a flood of anonymous devices and a device sending far more events than anyone', async () => {
    const at = new Date().toISOString();
    const flood = Array.from({ length: 150 }, (_, i) => ({
      id: randomUUID(),
      name: 'app_launched',
      timestamp: at,
      deviceId: `flood-${i}`,
    }));
    const busy = Array.from({ length: 600 }, () => ({
      id: randomUUID(),
      name: 'preview_video_completed',
      timestamp: at,
      deviceId: 'busy-device',
    }));
    for (const events of [flood, busy.slice(0, 300), busy.slice(300)]) {
      const res = await api(server.url, '/api/v1/analytics/events', { body: { events }, token: server.opsToken });
      expect(res.status).toBe(200);
    }
    const result = await only('users.anomalies');
    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(
      /^1 learners with outlying event rates, 0 with impossible orders, a flood of anonymous devices/,
    );
    expect(result.data).toMatchObject({ outliers: [{ subject: 'device:busy-device', events: 600 }], median: 1 });
    expect((result.data as { anonymousDevices: { recent: number } }).anonymousDevices.recent).toBeGreaterThanOrEqual(151);
  });
});

describe('db.performance', () => {
  it('reads the server’s statistics on PostgreSQL and says why it cannot on PGlite', async () => {
    const result = await only('db.performance');
    if (onPostgres()) {
      expect(['pass', 'warn']).toContain(result.status);
      expect(result.evidence[0]).toMatch(/^connections \d+ of \d+/);
      expect(result.evidence.at(-1)).toMatch(/^largest tables: \w+ /);
    } else {
      expect(result).toMatchObject({ status: 'skip', summary: expect.stringMatching(/PGlite keeps no server statistics/) });
    }
  });
});

describe('users.behavior_trends', () => {
  it('warns when activation fell two weeks running, with each week’s numbers', async () => {
    // Three earlier weeks of 5 new learners each: 4, then 3, then 1 reach the magic moment.
    const now = new Date();
    const events: unknown[] = [];
    [4, 3, 1].forEach((activated, i) => {
      // The middle of the week 3, 2 and 1 weeks back.
      const launch = new Date(now.getTime() - (3 - i) * 7 * 86_400_000 - 3.5 * 86_400_000);
      for (let n = 0; n < 5; n++) {
        const deviceId = `trend-${i}-${n}`;
        events.push({ id: randomUUID(), name: 'app_launched', timestamp: launch.toISOString(), deviceId });
        if (n < activated) {
          events.push({
            id: randomUUID(),
            name: 'magic_moment_completed',
            timestamp: new Date(launch.getTime() + 3_600_000).toISOString(),
            deviceId,
          });
        }
      }
    });
    const ingested = await api(server.url, '/api/v1/analytics/events', { body: { events }, token: server.opsToken });
    expect(ingested.body).toMatchObject({ accepted: events.length, rejected: [] });
    const result = await only('users.behavior_trends', now);
    expect(result).toMatchObject({ status: 'warn', summary: 'falling two weeks running: activation' });
    const weeks = (result.data as { weeks: Array<{ newUsers: number; activation: number | null }> }).weeks;
    expect(weeks.slice(1, 4).map((w) => [w.newUsers, w.activation])).toEqual([
      [5, 0.8],
      [5, 0.6],
      [5, 0.2],
    ]);
  });
});

describe('cdn.cache_strategy', () => {
  it('reads what the origin tells caches and the edge’s hit ratio by kind of file', async () => {
    const edgeLog = path.join(mkdtempSync(path.join(os.tmpdir(), 'smartalk-edge-')), 'access.log');
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    const line = (minutesAgo: number, file: string, cache: string) =>
      `10.0.0.1 [${at(minutesAgo)}] "GET /videos/${file} HTTP/1.1" 200 1234 rt=0.001 cache=${cache}`;
    writeFileSync(
      edgeLog,
      `${[
        ...Array.from({ length: 19 }, (_, i) => line(60 + i, 'dramas/travel-01/subtitled.mp4', 'HIT')),
        line(59, 'dramas/travel-01/subtitled.mp4', 'MISS'),
        line(58, 'audio/k01.mp3', 'HIT'),
        line(57, 'audio/k02.mp3', 'MISS'),
        line(2000, 'audio/k03.mp3', 'MISS'), // more than a day ago
      ].join('\n')}\n`,
    );
    const deps = {
      ...server.runtime.checks,
      config: { ...server.runtime.checks.config, publicUrl: server.url, cdnAccessLog: edgeLog },
    };
    const [result] = (await run(['cdn.cache_strategy'], new Date(), deps)).results;
    expect(result?.status).toBe('warn');
    expect(result?.evidence).toContainEqual(
      expect.stringMatching(/^origin: HEAD \/videos\/m\/[\w-]{22}\.mp4 → \d{3}, Cache-Control "/),
    );
    expect(result?.evidence).toContain('.mp4: 95.0% hits (19/20)');
    expect(result?.evidence).toContain('.mp3: 50.0% hits (1/2)');
  });
});

describe('mobile.performance', () => {
  it('reads start time, video load time and crash rate from the client events', async () => {
    const now = new Date();
    const at = now.toISOString();
    const event = (name: string, properties: Record<string, unknown> = {}) => ({
      id: randomUUID(),
      name,
      timestamp: at,
      deviceId: 'mobile-perf',
      properties,
    });
    const events = [
      ...Array.from({ length: 20 }, (_, i) => event('app_started', { durationMs: 800 + i * 10 })),
      ...Array.from({ length: 20 }, (_, i) => event('video_loaded', { durationMs: i < 18 ? 900 : 4_000, videoId: 'travel-01' })),
      event('app_crashed', { reason: 'OOM' }),
      event('video_loaded', { durationMs: 'slow' }), // not a number: not read
    ];
    const ingested = await api(server.url, '/api/v1/analytics/events', { body: { events }, token: server.opsToken });
    expect(ingested.body).toMatchObject({ accepted: events.length });
    const result = await only('mobile.performance', new Date(now.getTime() + 1000));
    expect(result.status).toBe('warn'); // 2 of 20 video loads at 4 s put p95 over 2 s; 1 crash in 20 starts is 5%
    expect(result.evidence).toEqual([
      'app starts: 20, p50 895 ms, p95 981 ms (limit 3000 ms)',
      'video loads: 20, p50 900 ms, p95 4000 ms (limit 2000 ms)',
      'crashes: 1 per 20 starts (5.0%, limit 1.0%)',
    ]);
  });
});

describe('capacity.next_day and api.optimization', () => {
  it('forecasts tomorrow’s busiest hour from the same weekday and says how many instances keep 30% free', async () => {
    // Three weeks ago, on tomorrow's weekday, a busy hour of 400 events.
    const busy = new Date(Date.now() + 86_400_000 - 21 * 86_400_000);
    busy.setUTCMinutes(5);
    const events = Array.from({ length: 400 }, (_, i) => ({
      id: randomUUID(),
      name: 'keyword_attempt',
      timestamp: new Date(busy.getTime() + i * 1000).toISOString(),
      deviceId: 'capacity-probe',
    }));
    expect((await api(server.url, '/api/v1/analytics/events', { body: { events }, token: server.opsToken })).body).toMatchObject({
      accepted: 400,
    });
    const withCapacity = (eventsPerSecond: number, postgresCores?: number) => ({
      ...server.runtime.checks,
      capacity: { eventsPerSecond, ...(postgresCores ? { postgresCores } : {}) },
    });
    const [small] = (await run(['capacity.next_day'], new Date(), withCapacity(0.05))).results;
    expect(small?.status).toBe('fail');
    expect(small?.evidence[0]).toMatch(/^busiest hour on the same weekday over 4 weeks: (\d+) events/);
    expect(Number(/: (\d+) events/.exec(small?.evidence[0] ?? '')?.[1])).toBeGreaterThanOrEqual(400);
    const [large] = (await run(['capacity.next_day'], new Date(), withCapacity(1_000_000))).results;
    expect(large).toMatchObject({ status: 'pass', data: { instances: 1 } });
    expect(large?.summary).toMatch(
      /^tomorrow's peak ≈ \d+\.\d events\/s against 1000000\/s per instance: headroom 100\.0%, 1 instance\(s\)/,
    );
    expect(large?.evidence.at(-1)).toBe('next step: nothing to change');
    // Instances to spare, but a PostgreSQL too small for the peak: more instances would not help.
    const [database] = (await run(['capacity.next_day'], new Date(), withCapacity(1_000_000, 0.000_001))).results;
    expect(database).toMatchObject({ status: 'fail', data: { instances: 1, step: 'replica-and-bigger-postgres' } });
    expect(database?.evidence.at(-1)).toMatch(/^next step: PostgreSQL is the bottleneck: reports to a replica/);
  });

  it('jobs.schedule: each job’s last run at its local time, a run by hand marked so', async (context) => {
    if (!server.runtime.checks.schedule) context.skip('this test server runs no scheduler');
    const startedAt = new Date('2026-11-30T01:50:56.648Z');
    // The backup runs other tests recorded (their slots are not times) go first.
    await server.runtime.db.kysely.deleteFrom('job_runs').where('job', '=', BACKUP_JOB).execute();
    await recordManualRun(server.runtime.db, BACKUP_JOB, startedAt, { status: 'success' });
    try {
      const result = await only('jobs.schedule');
      expect(result?.evidence).toContain('backup: 2026-11-30 09:50:56 GMT+8 (by hand) success');
      expect(result?.evidence).toContainEqual(
        expect.stringMatching(/^checks\.morning: (never ran|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\+8 \w+)/),
      );
    } finally {
      await server.runtime.db.kysely.deleteFrom('job_runs').where('job', '=', BACKUP_JOB).execute();
    }
  });

  it('services.availability: a video still being rendered is a warning, an origin that does not answer a failure', async () => {
    const at = (publicUrl: string) => ({ ...server.runtime.checks, config: { ...server.runtime.checks.config, publicUrl } });
    // The test server renders no videos: the origin answers 404 with Retry-After.
    const [preparing] = (await run(['services.availability'], new Date(), at(server.url))).results;
    expect(preparing).toMatchObject({
      status: 'warn',
      summary: '4 services answered; the sample video is still being prepared',
    });
    expect(preparing?.evidence).toContainEqual(
      expect.stringMatching(/^video origin: not ready yet — HEAD \S+ → HTTP 404, still being prepared \(Retry-After 30 s\)/),
    );
    // Nothing listens on port 9 (discard): the app and the origin are down.
    const [down] = (await run(['services.availability'], new Date(), at('http://127.0.0.1:9'))).results;
    expect(down).toMatchObject({ status: 'fail', summary: '2 of 4 services unavailable' });
    expect(down?.evidence).toContainEqual(expect.stringMatching(/^video origin: NOT AVAILABLE — HEAD /));
  });

  it('measures the public answers on the wire: size and compression', async () => {
    const deps = { ...server.runtime.checks, config: { ...server.runtime.checks.config, publicUrl: server.url } };
    const [result] = (await run(['api.optimization'], new Date(), deps)).results;
    expect(result?.status).toBe('pass');
    expect(result?.evidence).toContainEqual(expect.stringMatching(/^\/api\/v1\/dramas\/[a-z0-9-]+: \d{4,} B, sent br$/));
    expect(result?.evidence).toContainEqual(expect.stringMatching(/^\/api\/v1\/interests: \d+ B/));
  });
});

describe('the capacity model', () => {
  it('adds instances first, then relieves PostgreSQL, then moves events off it', () => {
    const capacity = { eventsPerSecond: 5_000, postgresCores: 2 };
    expect(capacityPlan(1_000, capacity)).toMatchObject({ instances: 1, step: 'none' });
    expect(capacityPlan(10_000, capacity)).toMatchObject({ instances: 3, step: 'add-instances' });
    // 2 cores fold 34,000 events/s: past 70% of that, instances are not the answer.
    expect(capacityPlan(25_000, capacity)).toMatchObject({ step: 'replica-and-bigger-postgres' });
    expect(capacityPlan(25_000, { ...capacity, postgresCores: 4 })).toMatchObject({ instances: 8, step: 'add-instances' });
    expect(capacityPlan(300_000, { ...capacity, postgresCores: 32 })).toMatchObject({ step: 'column-store' });
  });
});

describe('db.query_analysis', () => {
  it('names a slow statement and a redundant index (PostgreSQL with pg_stat_statements), and skips on PGlite', async (context) => {
    const { db } = server.runtime;
    if (!onPostgres()) {
      expect(await only('db.query_analysis')).toMatchObject({
        status: 'skip',
        summary: expect.stringMatching(/PGlite keeps no statement/),
      });
      return;
    }
    const { rows } = await sql<{ loaded: boolean }>`
      SELECT current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%' AS loaded`.execute(db.kysely);
    if (!rows[0]?.loaded) context.skip("pg_stat_statements is not in this server's shared_preload_libraries (.ci/run sets it)");
    await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.execute(db.kysely);
    await sql`SELECT pg_sleep(0.15) AS smartalk_slow_probe`.execute(db.kysely);
    await sql`CREATE INDEX ops_log_kind_probe ON ops_log (kind)`.execute(db.kysely);
    try {
      const result = await only('db.query_analysis');
      expect(result.status).toBe('warn');
      expect(result.evidence).toContainEqual(
        expect.stringMatching(/^1\d\d\.\d ms × 1 \(0\.\d s\): SELECT pg_sleep\(\$1\) AS smartalk_slow_probe$/),
      );
      expect(result.evidence).toContain('ops_log_kind_probe is covered by ops_log_kind_at on ops_log');
    } finally {
      await sql`DROP INDEX ops_log_kind_probe`.execute(db.kysely);
    }
  });
});

describe('monday maintenance', () => {
  it('knows each Node.js line’s end of life', () => {
    const on = (day: string) => new Date(`${day}T00:00:00Z`);
    expect(nodeSupport('v20.20.2', on('2026-12-01'))).toMatchObject({ status: 'fail', line: 20, endOfLife: '2026-04-30' });
    expect(nodeSupport('v24.11.0', on('2026-12-01'))).toMatchObject({ status: 'pass', line: 24, daysLeft: 516 });
    expect(nodeSupport('v24.11.0', on('2028-03-01'))).toMatchObject({ status: 'warn', daysLeft: 60 });
    expect(nodeSupport('v23.1.0', on('2026-12-01'))).toMatchObject({ status: 'warn', endOfLife: null });
  });

  it('reports the runtime, the packages and the system patches', async () => {
    const result = await only('system.updates');
    expect(result.evidence[0]).toMatch(new RegExp(`^Node\\.js ${process.version.replace(/\./g, '\\.')}: line \\d+ `));
    expect(result.evidence[1]).toMatch(/^npm audit: (\d+ critical, \d+ high, \d+ moderate, \d+ low|could not run)/);
    expect(result.evidence[2]).toMatch(/^Debian security updates/);
    if (nodeSupport(process.version, new Date()).status === 'fail') expect(result.status).toBe('fail');
  }, 60_000);

  it('finds what retention would free, and removes it only when asked', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const rotated = `${logFile}.3`;
    const temporary = path.join(server.config.dataDir, 'upload.tmp');
    writeFileSync(rotated, 'x'.repeat(2048));
    writeFileSync(temporary, 'y'.repeat(1024));
    utimesSync(rotated, old, old);
    utimesSync(temporary, old, old);
    writeFileSync(`${logFile}.1`, 'recent rotation stays');
    const result = await only('logs.cleanup');
    expect(result.status).toBe('warn');
    expect(result.summary).toBe('2 files past retention (0.0 MiB to free)');
    expect(result.evidence).toContainEqual(`${rotated} (0.0 MiB): rotated log older than 30 days`);
    expect(existsSync(rotated)).toBe(true); // the check only looks
    const applied = await smartalkAsync(['ops', 'cleanup', '--apply', '--json'], {
      DATA_DIR: server.config.dataDir,
      LOG_FILE: logFile,
    });
    expect(applied.status).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ applied: true, bytes: 3072 });
    expect(existsSync(rotated) || existsSync(temporary)).toBe(false);
    expect(existsSync(`${logFile}.1`)).toBe(true);
  });
});

describe('the ops log and smartalk ops check', () => {
  it('takes entries from people with the ops token only, and lists them by tag', async () => {
    const entry = { text: 'Rolled back 0.1.1: the vTPR clips 404 on the edge', tags: ['deploy', '回滚'], author: 'Li Wei' };
    expect((await api(server.url, '/api/v1/ops/log', { body: entry })).status).toBe(401);
    expect(
      (await api(server.url, '/api/v1/ops/log', { body: { ...entry, tags: ['two words'] }, token: server.opsToken })).status,
    ).toBe(400);
    const created = await api(server.url, '/api/v1/ops/log', { body: entry, token: server.opsToken });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'note', actor: 'Li Wei', summary: entry.text, tags: entry.tags });
    const listed = await api(server.url, `/api/v1/ops/log?tag=${encodeURIComponent('回滚')}`, { token: server.opsToken });
    expect(listed.body.entries.map((e: { id: number }) => e.id)).toEqual([created.body.id]);
    expect(listed.body.nextCursor).toBeNull();
    // The CLI's table, piped: the entry, and no colour codes.
    const printed = await smartalkAsync(['opslog', 'list', '--tag', '回滚', '--url', server.url], {
      OPS_TOKEN: server.opsToken,
      DATA_DIR: server.config.dataDir,
      SMARTALK_LANG: 'en',
    });
    expect(printed.status, printed.stderr).toBe(0);
    expect(printed.stdout).toContain('Rolled back 0.1.1');
    expect(printed.stdout).not.toContain('\u001b[');
  });

  it('pages the ops log with limit and cursor, every entry once, newest first', async () => {
    // Several in the same millisecond (now() has microseconds, a cursor milliseconds): none skipped.
    const written = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        api(server.url, '/api/v1/ops/log', { body: { text: `page ${i}`, tags: ['paging'] }, token: server.opsToken }),
      ),
    );
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `tag=paging&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await api(server.url, `/api/v1/ops/log?${query}`, { token: server.opsToken });
      expect(page.status, page.text).toBe(200);
      expect(page.body.entries.length).toBeLessThanOrEqual(3);
      ids.push(...page.body.entries.map((e: { id: number }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(ids.sort((a, b) => a - b)).toEqual(written.map((w) => w.body.id).sort((a: number, b: number) => a - b));
    const bad = await api(server.url, '/api/v1/ops/log?cursor=bm9wZQ', { token: server.opsToken });
    expect(bad.body.error).toMatchObject({ code: 'SMT_ERR_VALIDATION', message: expect.stringMatching(/cursor/) });
    const unknown = await api(server.url, '/api/v1/ops/log?page=2', { token: server.opsToken });
    expect(unknown.status).toBe(400);
  });

  it('records an alert firing, acknowledged and resolved, in the transaction that did it', async () => {
    const { alerts } = server.runtime;
    const { alert } = await alerts.fire({
      ruleId: 'HighCpu',
      severity: 'warning',
      source: 'builtin',
      labels: { instance: 'opslog-test' },
      summary: 'CPU above 80%',
      value: '0.93',
    });
    await alerts.acknowledge(alert.id, 'wang.fang');
    await alerts.resolve({ id: alert.id }, 'wang.fang');
    const log = await api(server.url, '/api/v1/ops/log?kind=alert&tag=HighCpu', { token: server.opsToken });
    expect(log.body.entries.map((e: { summary: string; actor: string }) => `${e.actor}: ${e.summary}`)).toEqual([
      expect.stringMatching(/^wang\.fang: HighCpu resolved after \d+ min$/),
      'wang.fang: HighCpu acknowledged',
      'builtin: HighCpu firing (warning): CPU above 80%',
    ]);
  });

  it('exits with the monitoring-plugin codes and records the run in the ops log', async () => {
    const env = { OPS_TOKEN: server.opsToken, DATA_DIR: server.config.dataDir, SMARTALK_LANG: 'en' };
    const { db } = server.runtime;
    await db.kysely.deleteFrom('job_runs').where('job', '=', 'backup').execute();
    const fresh = new Date();
    await db.kysely
      .insertInto('job_runs')
      .values({ job: 'backup', slot: 'cli', instance: 'test', status: 'success', started_at: fresh, finished_at: fresh })
      .execute();
    const ok = await smartalkAsync(['ops', 'check', 'backup.status', '--url', server.url, '--json'], env);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      slot: null,
      selection: ['backup.status'],
      worst: 'pass',
      results: [{ id: 'backup.status', status: 'pass' }],
    });

    await db.kysely
      .insertInto('job_runs')
      .values({
        job: 'backup',
        slot: 'cli-failed',
        instance: 'test',
        status: 'failed',
        started_at: fresh,
        finished_at: new Date(fresh.getTime() + 1000),
      })
      .execute();
    const failed = await smartalkAsync(['ops', 'check', 'backup.status', '--url', server.url], {
      ...env,
      SMARTALK_LANG: 'zh-CN',
    });
    expect(failed.status).toBe(2);
    expect(failed.stdout).toMatch(/FAIL\s+backup\.status\s+确认备份任务执行状态: 最近一次备份失败/);
    expect(failed.stdout).toMatch(/→ 查看失败记录（`smartalk backup status`/);

    const unknown = await smartalkAsync(['ops', 'check', 'morning', 'nope', '--url', server.url], env);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toMatch(/unknown slot or check: nope/);

    const refused = await smartalkAsync(['ops', 'check', 'backup.status', '--url', server.url], {
      ...env,
      OPS_TOKEN: 'wrong-token-0123456789',
    });
    expect(refused.status).toBe(3);

    const log = await api(server.url, '/api/v1/ops/log?kind=check&limit=2', { token: server.opsToken });
    expect(log.body.entries.map((e: { summary: string }) => e.summary)).toEqual([
      'backup.status: 1 fail — worst fail',
      'backup.status: 1 pass — worst pass',
    ]);
  });
});
