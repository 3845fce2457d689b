/**
 * The checklists' scheduler: on one database, any number of instances run each
 * occurrence of each slot once, at its time in SMARTALK_TZ; an occurrence every instance
 * missed runs once at the next start-up and says so; a first start-up runs nothing old.
 * The clock is the test's: a day passes in a few dozen ticks.
 */
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/database.js';
import { SLOT_SCHEDULE } from '../src/ops/checks/catalog.js';
import { type ScheduledJob, Scheduler } from '../src/ops/schedule/scheduler.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';

const TZ = 'Asia/Shanghai';
let database: TestDatabase;
let dbA: Db;
let dbB: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  dbA = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  // On PostgreSQL the second instance is a second pool (a real second client); PGlite is one process.
  dbB = database.databaseUrl ? await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir }) : dbA;
});
afterAll(async () => {
  if (dbB !== dbA) await dbB.close();
  await dbA?.close();
  await database?.drop();
});

/** The runbook's slots as jobs that only count their runs. */
function countingJobs(runs: Array<{ job: string; at: string; by: string; catchUp: boolean }>, by: string): ScheduledJob[] {
  return Object.entries(SLOT_SCHEDULE).map(([slot, { cron, description }]) => ({
    id: `test.${slot}`,
    cron,
    description,
    run: async ({ scheduledFor, catchUp }) => {
      runs.push({ job: `test.${slot}`, at: scheduledFor.toISOString(), by, catchUp });
      return { status: 'success' };
    },
  }));
}

const silent = pino({ level: 'silent' });

describe('the scheduler', () => {
  it('runs each slot once across two instances through a day, at its local time', async () => {
    const runs: Array<{ job: string; at: string; by: string; catchUp: boolean }> = [];
    let now = new Date('2026-12-06T16:00:00Z'); // Monday 2026-12-07 00:00 in Shanghai
    const clock = () => now;
    const a = new Scheduler({ db: dbA, jobs: countingJobs(runs, 'a'), tz: TZ, instance: 'a', logger: silent, now: clock });
    const b = new Scheduler({ db: dbB, jobs: countingJobs(runs, 'b'), tz: TZ, instance: 'b', logger: silent, now: clock });
    expect(await a.start({ timers: false })).toEqual([]); // a first start runs nothing from before it
    expect(await b.start({ timers: false })).toEqual([]);
    for (let step = 0; step < 48; step++) {
      now = new Date(now.getTime() + 30 * 60_000);
      await Promise.all([a.tick(now), b.tick(now)]);
    }
    const byJob = runs.map((run) => `${run.job}@${run.at}`).sort();
    expect(byJob).toEqual([
      'test.afternoon@2026-12-07T06:00:00.000Z', // 14:00 Shanghai
      'test.evening@2026-12-07T10:00:00.000Z', // 18:00
      'test.monday@2026-12-07T01:30:00.000Z', // Monday 09:30
      'test.morning@2026-12-07T01:00:00.000Z', // 09:00
    ]);
    expect(runs.every((run) => !run.catchUp)).toBe(true);
    const listed = await a.list(now);
    expect(listed.find((job) => job.id === 'test.morning')).toMatchObject({
      lastRun: { slot: '2026-12-07T01:00:00.000Z', status: 'success' },
      nextRun: '2026-12-08T01:00:00.000Z',
      late: false,
    });
    expect(listed.find((job) => job.id === 'test.wednesday')?.nextRun).toBe('2026-12-09T01:30:00.000Z');
    await Promise.all([a.stop(), b.stop()]);

    // Every instance is down all Tuesday; two start at 20:00. Each job's latest missed
    // occurrence runs once (not every one missed: a checklist is about now).
    runs.length = 0;
    now = new Date('2026-12-08T12:00:00Z');
    const [c, d] = ['c', 'd'].map(
      (name) =>
        new Scheduler({
          db: name === 'c' ? dbA : dbB,
          jobs: countingJobs(runs, name),
          tz: TZ,
          instance: name,
          logger: silent,
          now: clock,
        }),
    ) as [Scheduler, Scheduler];
    expect((await c.list(now)).filter((job) => job.late).map((job) => job.id)).toEqual([
      'test.morning',
      'test.afternoon',
      'test.evening',
    ]);
    const caughtUp = [...(await c.start({ timers: false })), ...(await d.start({ timers: false }))];
    expect(runs.map((run) => `${run.job}@${run.at} catchUp=${run.catchUp}`).sort()).toEqual([
      'test.afternoon@2026-12-08T06:00:00.000Z catchUp=true',
      'test.evening@2026-12-08T10:00:00.000Z catchUp=true',
      'test.morning@2026-12-08T01:00:00.000Z catchUp=true',
    ]);
    expect(caughtUp.map((record) => record.details.catchUp)).toEqual([true, true, true]);
    expect((await c.list(now)).some((job) => job.late)).toBe(false);
    await Promise.all([c.stop(), d.stop()]);
  });

  it('claims an occurrence again after the database refused it, and runs it once', async () => {
    await dbA.kysely.deleteFrom('job_runs').execute();
    let now = new Date('2026-12-21T00:30:00Z'); // Monday 08:30 in Shanghai
    let runs = 0;
    const job: ScheduledJob = {
      id: 'test.outage',
      cron: '0 9 * * *',
      description: { en: 'outage', zh: '故障' },
      run: async () => {
        runs++;
        return { status: 'success' };
      },
    };
    const scheduler = new Scheduler({ db: dbA, jobs: [job], tz: TZ, instance: 'f', logger: silent, now: () => now });
    await scheduler.start({ timers: false });
    now = new Date('2026-12-21T01:00:30Z');
    // The database is unavailable for the claim (its table is away), then back.
    await sql`ALTER TABLE job_runs RENAME TO job_runs_away`.execute(dbA.kysely);
    await expect(scheduler.tick(now)).rejects.toThrow(/job_runs/);
    await sql`ALTER TABLE job_runs_away RENAME TO job_runs`.execute(dbA.kysely);
    now = new Date('2026-12-21T01:01:30Z');
    expect((await scheduler.tick(now)).map((r) => r.slot)).toEqual(['2026-12-21T01:00:00.000Z']);
    expect(await scheduler.tick(now)).toEqual([]);
    expect(runs).toBe(1);
    await scheduler.stop();
  });

  it('records a job that throws as failed, and the next occurrence still runs', async () => {
    await dbA.kysely.deleteFrom('job_runs').execute(); // a database the scheduler never ran on
    let now = new Date('2026-12-14T00:30:00Z'); // Monday 08:30 in Shanghai
    let calls = 0;
    const job: ScheduledJob = {
      id: 'test.flaky',
      cron: '0 9 * * *',
      description: { en: 'flaky', zh: '不稳定' },
      run: async () => {
        calls++;
        if (calls === 1) throw new Error('disk full');
        return { status: 'success' };
      },
    };
    const scheduler = new Scheduler({ db: dbA, jobs: [job], tz: TZ, instance: 'e', logger: silent, now: () => now });
    await scheduler.start({ timers: false });
    now = new Date('2026-12-14T01:00:00Z');
    const [failed] = await scheduler.tick(now);
    expect(failed).toMatchObject({ status: 'failed', details: { error: 'disk full' } });
    expect((await scheduler.list(now))[0]?.lastRun?.status).toBe('failed');
    now = new Date('2026-12-15T01:00:00Z');
    const [ok] = await scheduler.tick(now);
    expect(ok?.status).toBe('success');
    await scheduler.stop();
  });
});
