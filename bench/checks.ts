/**
 * The checklists on a big database (BENCH_DATABASE_URL: an admin connection to real
 * PostgreSQL), in one run:
 *
 * 1. each slot's wall time over 1M learners and 10M events (the analytics benchmark's
 *    database), next to the baseline a person would type for the same morning look:
 *    one count of yesterday's events;
 * 2. event ingestion (the server's own EventWriter, 8 concurrent writers, batches of
 *    100) for the same number of seconds without and then with the morning slot
 *    running back to back, sampling PostgreSQL for sessions waiting on a lock: the slot
 *    must hold none that ingestion waits for (what remains is two cores shared).
 *
 *   BENCH_DATABASE_URL=postgres://postgres:…@localhost/postgres npm run bench -- checks
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { EventWriter } from '../src/analytics/event-writer.js';
import { checkEvent, isRejected } from '../src/analytics/events.js';
import { Presence } from '../src/analytics/presence.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/database.js';
import { HttpRequestMetrics } from '../src/http/metrics.js';
import type { CheckRun } from '../src/ops/checks/check.js';
import { assembleChecksDeps, type ChecksDeps } from '../src/ops/checks/deps.js';
import { runChecks } from '../src/ops/checks/runner.js';
import { HealthService, healthThresholds } from '../src/ops/health/health.js';
import { openStore } from '../src/store/open-store.js';
import { growEvents, REPORT_USERS, reportDatabase } from './analytics.js';
import { machine, median, table } from './lib.js';

const TZ = 'Asia/Shanghai';
const EVENTS = Number(process.env.BENCH_CHECK_EVENTS ?? 10_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WRITERS = 8;
const BATCH = 100;

async function slotTimes(deps: ChecksDeps, slot: string, runs: number): Promise<{ ms: number; run: CheckRun }> {
  const times: number[] = [];
  let last: CheckRun | undefined;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    last = await runChecks(deps, [slot], { lang: 'en' });
    times.push(performance.now() - started);
  }
  return { ms: median(times), run: last as CheckRun };
}

/** Events written by WRITERS concurrent writers for SECONDS; `during` runs alongside until they stop. */
async function ingest(
  writer: EventWriter,
  during?: (stop: () => boolean) => Promise<number>,
): Promise<{ perSecond: number; slotRuns: number }> {
  let stopped = false;
  let written = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const one = async () => {
    while (Date.now() < deadline) {
      const now = new Date();
      const events = Array.from({ length: BATCH }, (_, i) => {
        const checked = checkEvent(
          {
            id: randomUUID(),
            name: i % 10 === 0 ? 'app_launched' : 'keyword_attempt',
            timestamp: now.toISOString(),
            deviceId: `bench-${randomUUID()}`,
          },
          i,
          { kind: 'ops' },
          now,
        );
        if (isRejected(checked)) throw new Error(checked.reason);
        return checked;
      });
      await writer.write(events);
      written += BATCH;
    }
  };
  const started = performance.now();
  const [slotRuns] = await Promise.all([
    during ? during(() => stopped) : Promise.resolve(0),
    Promise.all(Array.from({ length: WRITERS }, one)).finally(() => {
      stopped = true;
    }),
  ]);
  return { perSecond: written / ((performance.now() - started) / 1000), slotRuns };
}

export async function runChecksBench(): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (!adminUrl) return '### Checklists\n\nSet BENCH_DATABASE_URL (an admin connection to PostgreSQL) to run this benchmark.';
  const shared = await reportDatabase(adminUrl);
  await growEvents(shared, EVENTS);
  // The slots and the ingestion run on a copy: the events written here must not change
  // the shared database the analytics benchmark reads.
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS smartalk_bench_checks WITH (FORCE)');
  await admin.query('CREATE DATABASE smartalk_bench_checks TEMPLATE smartalk_bench_report');
  const url = new URL(shared);
  url.pathname = '/smartalk_bench_checks';
  const db = await openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-checks-'));
  const logFile = path.join(dataDir, 'application.log');
  // A night's log with an error burst, so logs.overnight has something to group.
  const lines = Array.from({ length: 50_000 }, (_, i) =>
    JSON.stringify({
      level: i % 50 === 0 ? 'error' : 'info',
      time: new Date(Date.now() - (50_000 - i) * 500).toISOString(),
      msg: i % 50 === 0 ? `timeout after ${i} ms` : 'request completed',
    }),
  );
  writeFileSync(logFile, `${lines.join('\n')}\n`);
  const store = openStore({ redisUrl: undefined });
  const presence = new Presence(store);
  const health = new HealthService({
    db,
    store,
    dataDir,
    version: 'bench',
    thresholds: healthThresholds(),
  });
  const config = { ...loadConfig({ DATA_DIR: dataDir, LOG_FILE: logFile, SMARTALK_TZ: TZ }), publicUrl: 'http://127.0.0.1:9' };
  const deps = assembleChecksDeps({ db, store, health, http: new HttpRequestMetrics(), presence, config });
  try {
    const events = Number(
      (await sql<{ n: string }>`SELECT count(*) AS n FROM analytics_events`.execute(db.kysely)).rows[0]?.n ?? 0,
    );
    const rows: Array<Array<string | number>> = [];
    const baseline = median(
      await Promise.all(
        [0, 1, 2].map(async () => {
          const started = performance.now();
          await sql`SELECT count(*) FROM analytics_events WHERE "timestamp" >= now() - interval '1 day'`.execute(db.kysely);
          return performance.now() - started;
        }),
      ),
    );
    for (const slot of ['morning', 'afternoon', 'evening', 'wednesday']) {
      const { ms, run } = await slotTimes(deps, slot, 3);
      const slowest = [...run.results].sort((a, b) => b.durationMs - a.durationMs)[0];
      rows.push([
        slot,
        Math.round(ms),
        `${slowest?.id} ${slowest?.durationMs} ms`,
        Math.round(baseline),
        `${(ms / baseline).toFixed(1)}×`,
      ]);
    }

    const writer = new EventWriter({ db, tz: TZ });
    const sampler = await openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
    // Sessions waiting on a lock, by what they wait for, sampled every 20 ms: writers also
    // wait on each other (a learner's row), so the slot's share is the difference.
    type Waits = { samples: number; byEvent: Map<string, number> };
    const sampleLocks = async (stop: () => boolean): Promise<Waits> => {
      const waits: Waits = { samples: 0, byEvent: new Map() };
      while (!stop()) {
        const { rows } = await sql<{ event: string; n: number }>`
          SELECT wait_event AS event, count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND datname = current_database() GROUP BY 1`.execute(sampler.kysely);
        waits.samples++;
        for (const row of rows) waits.byEvent.set(row.event, (waits.byEvent.get(row.event) ?? 0) + row.n);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return waits;
    };
    const describeWaits = (waits: Waits) =>
      `${[...waits.byEvent].map(([event, n]) => `${n} ${event}`).join(', ') || 'none'} in ${waits.samples} samples`;
    let aloneWaits: Waits = { samples: 0, byEvent: new Map() };
    const alone = await ingest(writer, async (stop) => {
      aloneWaits = await sampleLocks(stop);
      return 0;
    });
    let slotWaits: Waits = { samples: 0, byEvent: new Map() };
    const withSlots = await ingest(writer, async (stop) => {
      let runs = 0;
      const sample = sampleLocks(stop);
      while (!stop()) {
        await runChecks(deps, ['morning'], { lang: 'en' });
        runs++;
      }
      slotWaits = await sample;
      return runs;
    });
    await sampler.close();
    return [
      `### Checklists (${(REPORT_USERS / 1e6).toFixed(0)}M learners, ${(events / 1e6).toFixed(1)}M events)`,
      '',
      `Machine: ${machine()}. Median of 3 runs of each slot on real PostgreSQL; the baseline is one count of the last day's events (what a person types for a first look).`,
      '',
      table(['slot', 'wall ms', 'slowest check', 'baseline ms', 'vs baseline'], rows),
      '',
      `Ingestion (${WRITERS} writers × ${BATCH} events, ${SECONDS} s each): ${Math.round(alone.perSecond).toLocaleString('en')} events/s alone, ${Math.round(withSlots.perSecond).toLocaleString('en')} events/s while the morning slot ran ${withSlots.slotRuns} times back to back (ratio ${(withSlots.perSecond / alone.perSecond).toFixed(2)}). Sessions waiting on a lock (pg_stat_activity): alone ${describeWaits(aloneWaits)}; with the slot ${describeWaits(slotWaits)}.`,
    ].join('\n');
  } finally {
    health.close();
    await db.close();
    await admin.query('DROP DATABASE IF EXISTS smartalk_bench_checks WITH (FORCE)');
    await admin.end();
  }
}
