/**
 * Analytics on real PostgreSQL (BENCH_DATABASE_URL: an admin connection), in one run:
 *
 * 1. ingestion through the HTTP API (batches of 100, several concurrent clients) next
 *    to a raw COPY of the same rows into the same table — the practical ceiling;
 * 2. the metrics report over 1M users with 1M and then 10M events, next to a naive
 *    funnel query over the raw events table.
 *
 *   BENCH_DATABASE_URL=postgres://postgres:…@localhost/postgres npm run bench -- analytics
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DEFINITION_SETTINGS } from '../src/analytics/definitions.js';
import { Presence } from '../src/analytics/presence.js';
import { buildMetricsReport } from '../src/analytics/report.js';
import { uuidV7 } from '../src/analytics/simulation-plan.js';
import { type Db, openDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { ensureEventPartitions } from '../src/db/partitions.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { defaultWindow } from '../src/time.js';
import {
  cpuSeconds,
  freePort,
  freshDatabase,
  machine,
  quantile,
  serverNodeFlags,
  sortedTimings,
  startChild,
  table,
  withDatabase,
} from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TZ = 'Asia/Shanghai';
const OPS = 'bench-ops-token-0123456789';
const INGEST_EVENTS = Number(process.env.BENCH_INGEST_EVENTS ?? 200_000);
const BATCH = 100;
/** Concurrent clients, one measurement each: "several", and as many as a busy deployment's devices keep sending. */
const CLIENT_COUNTS = (process.env.BENCH_CLIENTS ?? '8,32').split(',').map(Number);
export const REPORT_USERS = Number(process.env.BENCH_REPORT_USERS ?? 1_000_000);

/** CPU seconds of every local `postgres` process (0 when PostgreSQL runs elsewhere). */
function databaseCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuSeconds(Number(entry)) ?? 0;
    } catch {
      // the process ended
    }
  }
  return total;
}

async function migrated(url: string) {
  const db = await openDb({ databaseUrl: url, dataDir: os.tmpdir() });
  await migrate(db, { tz: TZ, settings: DEFINITION_SETTINGS });
  await ensureEventPartitions(db, new Date());
  return db;
}

const EVENT_NAMES = [
  'app_launched',
  'onboarding_started',
  'interest_selected',
  'keyword_attempt',
  'keyword_attempt',
  'srs_card_reviewed',
];

async function countEvents(db: Db): Promise<number> {
  const row = await db.kysely
    .selectFrom('analytics_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The server's group-commit counters: batches written and the statements that wrote them. */
async function readGrouping(base: string): Promise<{ batches: number; statements: number }> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${OPS}` } })).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { batches: read('smartalk_ingest_batches_total'), statements: read('smartalk_ingest_statements_total') };
}

/**
 * Event ids as clients make them: random (UUIDv4, what most libraries hand out) or
 * time-ordered (UUIDv7, what docs/metrics.md recommends and the simulator sends).
 */
type IdKind = 'random' | 'time-ordered';

function makeBatches(users: string[], ids: IdKind = 'random'): Array<{ events: unknown[] }> {
  const now = Date.now();
  const batches: Array<{ events: unknown[] }> = [];
  for (let b = 0; b < INGEST_EVENTS / BATCH; b++) {
    const userId = users[b % users.length] as string;
    batches.push({
      events: Array.from({ length: BATCH }, (_, i) => ({
        id: ids === 'random' ? randomUUID() : uuidV7(now - INGEST_EVENTS + b * BATCH + i, Math.random),
        name: EVENT_NAMES[(b + i) % EVENT_NAMES.length],
        userId,
        timestamp: new Date(now - ((b * BATCH + i) % 86_400) * 1000).toISOString(),
        platform: 'ios',
        appVersion: '1.2.0',
        properties: { keywordId: 'travel-01-k01', dramaId: 'travel-01', correct: i % 3 === 0, mode: 'normal' },
      })),
    });
  }
  return batches;
}

interface IngestionRun {
  clients: number;
  ids: IdKind;
  eventsPerSecond: number;
  /** The same rows COPY'd into a fresh events table right after this run: its ceiling, under the same machine weather. */
  copyRowsPerSecond: number;
  copyDatabase: number;
  batchesPerStatement: number;
  /** CPU µs per event. */
  server: number;
  database: number;
  loadGenerator: number;
}

/** A fresh database with the bench's users: each measurement starts from the same state. */
async function ingestDatabase(adminUrl: string, users: string[]) {
  const url = await freshDatabase(adminUrl, 'smartalk_bench_ingest');
  const db = await migrated(url);
  await sql`INSERT INTO users (id, device_id) SELECT u, 'bench-' || u FROM unnest(${users}::uuid[]) AS u`.execute(db.kysely);
  return { url, db };
}

/** Drive `batches` through a real server with `clients` concurrent clients. */
async function measureIngestion(
  adminUrl: string,
  users: string[],
  batches: Array<{ events: unknown[] }>,
  clients: number,
): Promise<Omit<IngestionRun, 'ids' | 'copyRowsPerSecond' | 'copyDatabase'>> {
  const { url, db } = await ingestDatabase(adminUrl, users);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-'));
  const port = await freePort();
  const server = await startChild(
    process.execPath,
    // BENCH_PROFILE=dir writes the server's CPU profile there (open it in Chrome DevTools).
    [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []),
      ...serverNodeFlags(),
      path.join(ROOT, 'bin/smartalk.js'),
      'serve',
      '--no-media',
    ],
    { DATA_DIR: dataDir, DATABASE_URL: url, OPS_TOKEN: OPS, LOG_LEVEL: 'info', LOG_FILE: path.join(dataDir, 'bench.log') },
    port,
    '/api/v1/health/ready',
    path.join(dataDir, 'server.out'),
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    // Bodies are serialized before the clock starts: real clients run elsewhere.
    const bodies = batches.map((batch) => JSON.stringify(batch));
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${OPS}` };
    // Warm up with a few batches that are not counted.
    for (const batch of makeBatches(users).slice(0, 20)) {
      const res = await fetch(`${base}/api/v1/analytics/events`, { method: 'POST', headers, body: JSON.stringify(batch) });
      if (res.status !== 200) throw new Error(`warm-up batch not accepted: ${res.status} ${await res.text()}`);
    }
    const groupingBefore = await readGrouping(base);
    const storedBefore = await countEvents(db);
    let next = 0;
    let lastAnswer = 0;
    const cpuBefore = cpuSeconds(server.process.pid as number) ?? 0;
    const dbBefore = databaseCpuSeconds();
    const clientBefore = process.cpuUsage();
    const started = performance.now();
    // autocannon (raw sockets, requests written once) rather than an HTTP client
    // library: the load generator shares the two cores with the server and PostgreSQL.
    const result = await autocannon({
      url: base,
      connections: clients,
      amount: bodies.length,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/analytics/events',
          headers,
          setupRequest: (request) => ({ ...request, body: bodies[next++] }),
          onResponse: () => {
            lastAnswer = performance.now();
          },
        },
      ],
    });
    // Timed to the last answer: autocannon itself notices it is done on its next
    // once-a-second tick, which rounded earlier runs to whole seconds.
    const seconds = (lastAnswer - started) / 1000;
    const serverCpu = (cpuSeconds(server.process.pid as number) ?? 0) - cpuBefore;
    const databaseCpu = databaseCpuSeconds() - dbBefore;
    const client = process.cpuUsage(clientBefore);
    // Every batch answered 200, and every event is in the table: nothing was lost or refused.
    const stored = (await countEvents(db)) - storedBefore;
    if (result.non2xx + result.errors + result.timeouts > 0 || stored !== INGEST_EVENTS) {
      throw new Error(`ingestion incomplete: ${result.non2xx} non-2xx, ${result.errors} errors, ${stored} events stored`);
    }
    const groupingAfter = await readGrouping(base);
    const perEvent = (cpu: number) => (cpu * 1e6) / INGEST_EVENTS;
    return {
      clients,
      eventsPerSecond: INGEST_EVENTS / seconds,
      batchesPerStatement:
        (groupingAfter.batches - groupingBefore.batches) / (groupingAfter.statements - groupingBefore.statements),
      server: perEvent(serverCpu),
      database: perEvent(databaseCpu),
      loadGenerator: perEvent((client.user + client.system) / 1e6),
    };
  } finally {
    await server.stop();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The ceiling: the same rows COPY'd straight into the same, empty table. */
async function measureCopy(adminUrl: string, users: string[], batches: Array<{ events: unknown[] }>) {
  const { db } = await ingestDatabase(adminUrl, users);
  const rows = batches.flatMap((batch) =>
    (batch.events as Array<Record<string, unknown>>).map((e) =>
      [
        e.id,
        e.name,
        e.name,
        e.userId,
        '\\N',
        '\\N',
        e.timestamp,
        new Date().toISOString(),
        e.appVersion,
        e.platform,
        JSON.stringify(e.properties),
      ].join('\t'),
    ),
  );
  const client = await (db.pool as pg.Pool).connect();
  const dbBefore = databaseCpuSeconds();
  const started = performance.now();
  try {
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < rows.length; i += 1000) yield `${rows.slice(i, i + 1000).join('\n')}\n`;
        })(),
      ),
      client.query(
        copyFrom(
          'COPY analytics_events (id, name, raw_name, user_id, device_id, session_id, "timestamp", received_at, app_version, platform, properties) FROM STDIN',
        ),
      ),
    );
  } finally {
    client.release();
  }
  const seconds = (performance.now() - started) / 1000;
  const databaseCpu = databaseCpuSeconds() - dbBefore;
  await db.close();
  return { rowsPerSecond: rows.length / seconds, database: (databaseCpu * 1e6) / rows.length };
}

async function ingestBench(adminUrl: string): Promise<string> {
  const users = Array.from({ length: 1000 }, () => randomUUID());
  const runs: IngestionRun[] = [];
  const plan: Array<[number, IdKind]> = [
    ...CLIENT_COUNTS.map((clients): [number, IdKind] => [clients, 'random']),
    [Math.max(...CLIENT_COUNTS), 'time-ordered'],
  ];
  for (const [clients, ids] of plan) {
    const batches = makeBatches(users, ids);
    const run = await measureIngestion(adminUrl, users, batches, clients);
    const copy = await measureCopy(adminUrl, users, batches);
    runs.push({ ...run, ids, copyRowsPerSecond: copy.rowsPerSecond, copyDatabase: copy.database });
  }
  return [
    `### Ingestion into PostgreSQL (${INGEST_EVENTS.toLocaleString('en')} events, batches of ${BATCH})`,
    '',
    `Machine: ${machine()}. Ours: HTTP POST /api/v1/analytics/events (validation, dedupe by id, events + derived state in one`,
    'statement per group of concurrent batches, answered after commit), request logging on, a fresh database per row.',
    'Ceiling: COPY of the same rows into analytics_events alone, on a fresh database right after each row (the machine is',
    'shared and its speed drifts by a third within minutes, so each row is held to its own ceiling).',
    '',
    table(
      [
        'clients',
        'event ids',
        'events/s',
        'COPY rows/s',
        'vs COPY',
        'batches per statement',
        'server CPU µs/event',
        'PostgreSQL CPU µs/event',
        'PostgreSQL CPU µs/row in COPY',
        'load generator CPU µs/event',
      ],
      runs.map((run) => [
        run.clients,
        run.ids,
        run.eventsPerSecond,
        run.copyRowsPerSecond,
        `${((run.eventsPerSecond / run.copyRowsPerSecond) * 100).toFixed(0)}%`,
        run.batchesPerStatement.toFixed(1),
        run.server,
        run.database,
        run.copyDatabase,
        run.loadGenerator,
      ]),
    ),
  ].join('\n');
}

/** 1M subjects over 30 days with a realistic funnel, their activity, and `events` raw events. */
async function populateReportDb(url: string, users: number): Promise<void> {
  const db = await migrated(url);
  const n = (
    await db.kysely
      .selectFrom('analytics_subjects')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
  ).n;
  if (n !== users) {
    console.error(`  generating ${users.toLocaleString('en')} subjects …`);
    await sql`TRUNCATE analytics_subjects, analytics_daily_activity, analytics_drama_runs, analytics_daily_counts`.execute(
      db.kysely,
    );
    // Each step reached with the runbook's step-to-step rates; the time between steps
    // spread over a factor of 20 around its typical value, as real learners are.
    await sql`
      INSERT INTO analytics_subjects (subject, user_id, first_seen_at, last_seen_at, platform, app_version, interest_id,
        app_launched_at, onboarding_started_at, interest_selected_at, preview_video_completed_at, vtpr_learning_started_at,
        first_clue_completed_at, all_clues_completed_at, magic_moment_completed_at, activation_day)
      SELECT id::text, id, t1, t1 + interval '1 day', p, v, i, t1,
        CASE WHEN r < 0.90 THEN t2 END, CASE WHEN r < 0.85 THEN t3 END, CASE WHEN r < 0.80 THEN t4 END,
        CASE WHEN r < 0.75 THEN t5 END, CASE WHEN r < 0.70 THEN t6 END, CASE WHEN r < 0.60 THEN t7 END,
        CASE WHEN r < 0.40 THEN t8 END, CASE WHEN r < 0.40 THEN (t8 AT TIME ZONE ${TZ})::date END
      FROM (
        SELECT *, t7 + g8 AS t8 FROM (
        SELECT *, t6 + g7 AS t7 FROM (
        SELECT *, t5 + g6 AS t6 FROM (
        SELECT *, t4 + g5 AS t5 FROM (
        SELECT *, t3 + g4 AS t4 FROM (
        SELECT *, t2 + g3 AS t3 FROM (
        SELECT *, t1 + g2 AS t2 FROM (
          SELECT gen_random_uuid() AS id, now() - random() * interval '30 days' AS t1, random() AS r,
            (ARRAY['ios','android'])[1 + (g % 2)] AS p, (ARRAY['1.0.0','1.1.0','1.2.0'])[1 + (g % 3)] AS v,
            (ARRAY['travel','movies','workplace'])[1 + (g % 3)] AS i,
            interval '1 s' * 7 * exp(random() * 3) AS g2, interval '1 s' * 14 * exp(random() * 3) AS g3,
            interval '1 s' * 20 * exp(random() * 3) AS g4, interval '1 s' * 7 * exp(random() * 3) AS g5,
            interval '1 s' * 5 * exp(random() * 3) AS g6, interval '1 s' * 60 * exp(random() * 3) AS g7,
            interval '1 s' * 20 * exp(random() * 3) AS g8
          FROM generate_series(1, ${users}) g
        ) a) b) c) d) e) f) h
      ) s`.execute(db.kysely);
    await sql`
      INSERT INTO analytics_daily_activity (subject, day)
      SELECT subject, ((magic_moment_completed_at + d * interval '1 day') AT TIME ZONE ${TZ})::date
      FROM analytics_subjects, generate_series(0, 3) d
      WHERE magic_moment_completed_at IS NOT NULL AND random() < 0.5
      ON CONFLICT DO NOTHING`.execute(db.kysely);
    await sql`
      INSERT INTO analytics_drama_runs (subject, drama_id, started_at, completed_at)
      SELECT subject, interest_id || '-01', vtpr_learning_started_at, magic_moment_completed_at
      FROM analytics_subjects WHERE vtpr_learning_started_at IS NOT NULL`.execute(db.kysely);
    await sql`
      INSERT INTO analytics_daily_counts (day, counter, count)
      SELECT d::date, c, 1000 + (random() * 1000)::int
      FROM generate_series(now() - interval '40 days', now(), interval '1 day') d,
        unnest(ARRAY['event:keyword_attempt','keyword_attempt:correct','keyword_attempt:mode:focus']) c`.execute(db.kysely);
    await sql`ANALYZE`.execute(db.kysely);
  }
  await db.close();
}

/** Grow the raw events table to `target` rows: funnel events of the subjects, then filler events. */
export async function growEvents(url: string, target: number): Promise<void> {
  const db = await migrated(url);
  await ensureEventPartitions(db, new Date(), { monthsBack: 2, monthsAhead: 1 });
  const have = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM analytics_events`.execute(db.kysely)).rows[0]?.n ?? 0);
  const step = 1_000_000;
  for (let done = have; done < target; done += step) {
    console.error(`  raw events: ${(done / 1e6).toFixed(0)}M → ${(Math.min(target, done + step) / 1e6).toFixed(0)}M …`);
    await sql`
      INSERT INTO analytics_events (id, name, raw_name, user_id, "timestamp", properties)
      SELECT gen_random_uuid(), n, n, s.user_id, s.app_launched_at + (g % 600) * interval '1 s', '{}'::jsonb
      FROM (SELECT user_id, app_launched_at FROM analytics_subjects TABLESAMPLE SYSTEM (10)) s,
        LATERAL (SELECT g, (ARRAY['app_launched','onboarding_started','interest_selected','preview_video_completed',
          'vtpr_learning_started','first_clue_completed','all_clues_completed','magic_moment_completed','keyword_attempt','srs_card_reviewed'])[1 + g % 10] AS n
          FROM generate_series(1, 10) g) e
      LIMIT ${Math.min(step, target - done)}`.execute(db.kysely);
  }
  await sql`ANALYZE analytics_events`.execute(db.kysely);
  await db.close();
}

/**
 * The database of REPORT_USERS learners the report and checks benchmarks share
 * (kept between runs; BENCH_REBUILD=1 makes it again), migrated and populated.
 */
export async function reportDatabase(adminUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = 'smartalk_bench_report'")).rowCount;
  if (!exists || process.env.BENCH_REBUILD) {
    await admin.query('DROP DATABASE IF EXISTS smartalk_bench_report WITH (FORCE)');
    await admin.query('CREATE DATABASE smartalk_bench_report');
  }
  await admin.end();
  const url = withDatabase(adminUrl, 'smartalk_bench_report');
  await populateReportDb(url, REPORT_USERS);
  return url;
}

async function reportBench(adminUrl: string): Promise<string> {
  const url = await reportDatabase(adminUrl);
  const rows: Array<Array<string | number>> = [];
  for (const events of [1_000_000, 10_000_000]) {
    await growEvents(url, events);
    const db = await openDb({ databaseUrl: url, dataDir: os.tmpdir() });
    const deps = { db, presence: new Presence(new MemoryStore()), tz: TZ };
    const { since, until } = defaultWindow(new Date(), 'day', TZ);
    const ours = quantile(await sortedTimings(() => buildMetricsReport(deps, { since, until }), 5), 0.5);
    const naive = quantile(
      await sortedTimings(
        () =>
          sql`
        WITH firsts AS (
          SELECT user_id,
            min("timestamp") FILTER (WHERE name = 'app_launched') AS s1,
            min("timestamp") FILTER (WHERE name = 'onboarding_started') AS s2,
            min("timestamp") FILTER (WHERE name = 'interest_selected') AS s3,
            min("timestamp") FILTER (WHERE name = 'preview_video_completed') AS s4,
            min("timestamp") FILTER (WHERE name = 'vtpr_learning_started') AS s5,
            min("timestamp") FILTER (WHERE name = 'first_clue_completed') AS s6,
            min("timestamp") FILTER (WHERE name = 'all_clues_completed') AS s7,
            min("timestamp") FILTER (WHERE name = 'magic_moment_completed') AS s8
          FROM analytics_events GROUP BY user_id
        )
        SELECT count(*) AS s1, count(s2) AS s2, count(s3) AS s3, count(s4) AS s4, count(s5) AS s5,
          count(s6) AS s6, count(s7) AS s7, count(s8) AS s8
        FROM firsts WHERE s1 >= ${since.toISOString()}::timestamptz AND s1 < ${until.toISOString()}::timestamptz`.execute(
            db.kysely,
          ),
        3,
      ),
      0.5,
    );
    const cohort = (await buildMetricsReport(deps, { since, until })).newUsers;
    await db.close();
    rows.push([
      `${(REPORT_USERS / 1e6).toFixed(0)}M users, ${(events / 1e6).toFixed(0)}M events (${cohort.toLocaleString('en')} new in the window)`,
      ours,
      naive,
      `${(naive / ours).toFixed(1)}×`,
    ]);
  }
  return [
    '### Metrics report vs a naive query over raw events',
    '',
    `Machine: ${machine()}. Report: the whole default 7-day report (funnel with medians, cohorts, retention, learning,`,
    'baseline), median of 5 runs. Naive: the funnel alone from analytics_events (GROUP BY user over every event), median of 3.',
    '',
    table(['data', 'report ms (ours)', 'naive funnel ms', 'naive ÷ ours'], rows),
  ].join('\n');
}

export async function runAnalyticsBench(): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) return '### Analytics\n\nskipped: set BENCH_DATABASE_URL to an admin connection to a PostgreSQL server';
  const parts = [];
  if (!process.env.BENCH_SKIP_INGEST) parts.push(await ingestBench(adminUrl));
  if (!process.env.BENCH_SKIP_REPORT) parts.push(await reportBench(adminUrl));
  return parts.join('\n\n');
}
