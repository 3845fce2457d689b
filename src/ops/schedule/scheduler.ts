/**
 * The runbook's schedule (09:00, 14:00, 18:00 daily; Monday, Wednesday, Friday) run by
 * the platform itself. Times come from croner (cron patterns in SMARTALK_TZ, daylight
 * saving included); who runs an occurrence is decided by PostgreSQL: each occurrence is
 * one row of job_runs (job, slot) claimed with an insert, so among any number of
 * instances exactly one runs it. An occurrence missed while every instance was down is
 * run once by the first instance to start (and its record says so).
 *
 * croner only computes times here: the clock is ours (`now`), so tests move through a
 * day in a few calls of `tick` instead of waiting for it.
 */
import { Cron } from 'croner';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Bilingual } from '../../i18n.js';

export type JobStatus = 'success' | 'failed' | 'skipped';

export interface JobOccurrence {
  scheduledFor: Date;
  /** Run late, at start-up, because every instance was down when it was due. */
  catchUp: boolean;
}

export interface ScheduledJob {
  id: string;
  /** Cron pattern in the scheduler's time zone. */
  cron: string;
  description: Bilingual;
  run(occurrence: JobOccurrence): Promise<{ status: JobStatus; details?: Record<string, unknown> }>;
}

export interface JobRunRecord {
  job: string;
  /** The ISO time the run was due; a run made by hand: its start, then " manual" (backups/jobs.ts). */
  slot: string;
  instance: string;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | JobStatus;
  details: Record<string, unknown>;
}

/** A run made by hand: its start time, marked (it sorts among the scheduled slots). */
export const manualSlot = (startedAt: Date): string => `${startedAt.toISOString()} manual`;
export const isManualSlot = (slot: string): boolean => slot.endsWith(' manual');
/** The time of a slot, for people and for parsing: a manual run's marker left off. */
export const slotTime = (slot: string): string => slot.split(' ', 1)[0] as string;

export interface JobView {
  id: string;
  cron: string;
  description: Bilingual;
  tz: string;
  lastRun: JobRunRecord | null;
  nextRun: string | null;
  /** The latest occurrence that is due has no run recorded (more than a grace period ago). */
  late: boolean;
}

export interface SchedulerDeps {
  db: Db;
  jobs: ScheduledJob[];
  tz: string;
  /** This instance's name in job_runs (host:pid). */
  instance: string;
  logger: Logger;
  now?: () => Date;
  /** Called after every run this instance made (the ops log). */
  onRun?: (job: ScheduledJob, record: JobRunRecord) => Promise<void>;
}

/** The scheduler's own start-ups, recorded so a later start knows which occurrences were missed. */
const STARTED_JOB = 'scheduler.started';

/** A due occurrence with no record after this long counts as late (jobs.schedule). */
const LATE_AFTER_MS = 10 * 60_000;

/** Timers wake at least this often, so a changed clock or a long sleep is noticed. */
const MAX_SLEEP_MS = 60_000;

export class Scheduler {
  readonly #deps: Required<Omit<SchedulerDeps, 'onRun'>> & Pick<SchedulerDeps, 'onRun'>;
  readonly #crons = new Map<string, Cron>();
  /** Per job, the latest occurrence this instance has settled (ran, or saw claimed). */
  readonly #settled = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  #startedAt: Date | undefined;

  constructor(deps: SchedulerDeps) {
    this.#deps = { now: () => new Date(), ...deps };
    for (const job of deps.jobs) this.#crons.set(job.id, new Cron(job.cron, { timezone: deps.tz, paused: true }));
  }

  get jobs(): ScheduledJob[] {
    return this.#deps.jobs;
  }

  /** Whether this instance takes part (started, and not stopped). */
  get started(): boolean {
    return this.#startedAt !== undefined && !this.#stopped;
  }

  /** The latest occurrence of a job at or before `at`. */
  latest(jobId: string, at: Date): Date | null {
    const [previous] = (this.#crons.get(jobId) as Cron).previousRuns(1, new Date(at.getTime() + 1));
    return previous ?? null;
  }

  next(jobId: string, at: Date): Date | null {
    return (this.#crons.get(jobId) as Cron).nextRun(at);
  }

  /**
   * Record this start, settle every occurrence that is not this start's to run, and
   * run (once, across instances) the latest occurrence of each job that was missed
   * since the scheduler first ran here. Then keep time unless `timers` is false.
   */
  async start(options: { timers?: boolean } = {}): Promise<JobRunRecord[]> {
    const now = this.#deps.now();
    this.#startedAt = now;
    const { db, instance } = this.#deps;
    const first = await this.#firstStart();
    await db.kysely
      .insertInto('job_runs')
      .values({
        job: STARTED_JOB,
        slot: `${now.toISOString()} ${instance}`,
        instance,
        status: 'success',
        finished_at: now,
        started_at: now,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const firstStart = first ?? now.getTime();
    for (const job of this.#deps.jobs) {
      const latest = this.latest(job.id, now);
      // Never ran here before this start: nothing was missed, only the next occurrence counts.
      if (latest && latest.getTime() < firstStart) this.#settled.set(job.id, latest.getTime());
    }
    const ran = await this.tick(now, true);
    if (options.timers !== false) this.#arm();
    return ran;
  }

  stop(): Promise<unknown> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    return this.#running;
  }

  /** Run every job whose latest occurrence is due and unclaimed. Runs jobs one after another. */
  async tick(now = this.#deps.now(), catchUp = false): Promise<JobRunRecord[]> {
    const run = this.#running.then(() => this.#tick(now, catchUp));
    this.#running = run.catch(() => {});
    return run;
  }

  async #tick(now: Date, catchUp: boolean): Promise<JobRunRecord[]> {
    const records: JobRunRecord[] = [];
    for (const job of this.#deps.jobs) {
      const occurrence = this.latest(job.id, now);
      if (!occurrence) continue;
      const settled = this.#settled.get(job.id);
      if (settled !== undefined && occurrence.getTime() <= settled) continue;
      this.#settled.set(job.id, occurrence.getTime());
      try {
        const record = await this.#claimAndRun(job, {
          scheduledFor: occurrence,
          catchUp: catchUp && now.getTime() - occurrence.getTime() > LATE_AFTER_MS,
        });
        if (record) records.push(record);
      } catch (error) {
        // The database did not take the claim (or the record): the occurrence is not
        // settled, so the next round — at most a minute away — claims it again. A job that
        // ran is not run twice: its claim row makes the next attempt a conflict.
        if (settled === undefined) this.#settled.delete(job.id);
        else this.#settled.set(job.id, settled);
        throw error;
      }
    }
    return records;
  }

  async #claimAndRun(job: ScheduledJob, occurrence: JobOccurrence): Promise<JobRunRecord | undefined> {
    const { db, instance, logger } = this.#deps;
    const slot = occurrence.scheduledFor.toISOString();
    const startedAt = this.#deps.now();
    const claimed = await db.kysely
      .insertInto('job_runs')
      .values({
        job: job.id,
        slot,
        instance,
        status: 'running',
        started_at: startedAt,
        details: JSON.stringify({ catchUp: occurrence.catchUp }),
      })
      .onConflict((oc) => oc.doNothing())
      .returning('job')
      .executeTakeFirst();
    if (!claimed) return undefined; // another instance has this occurrence
    let status: JobStatus = 'failed';
    let details: Record<string, unknown> = {};
    try {
      const result = await job.run(occurrence);
      status = result.status;
      details = result.details ?? {};
    } catch (error) {
      details = { error: (error as Error).message };
      logger.error({ job: job.id, slot, err: { message: (error as Error).message } }, 'scheduled job failed');
    }
    const finishedAt = this.#deps.now();
    const full = { catchUp: occurrence.catchUp, ...details };
    await db.kysely
      .updateTable('job_runs')
      .set({ status, finished_at: finishedAt, details: JSON.stringify(full) })
      .where('job', '=', job.id)
      .where('slot', '=', slot)
      .execute();
    const record: JobRunRecord = {
      job: job.id,
      slot,
      instance,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      status,
      details: full,
    };
    logger.info({ job: job.id, slot, status, catchUp: occurrence.catchUp }, 'scheduled job ran');
    await this.#deps
      .onRun?.(job, record)
      .catch((error: Error) => logger.warn({ job: job.id, err: { message: error.message } }, 'recording a scheduled run failed'));
    return record;
  }

  #arm(): void {
    if (this.#stopped) return;
    const now = this.#deps.now();
    const nexts = this.#deps.jobs.map((job) => this.next(job.id, now)?.getTime() ?? Number.POSITIVE_INFINITY);
    const wait = Math.max(50, Math.min(MAX_SLEEP_MS, Math.min(...nexts) - now.getTime()));
    this.#timer = setTimeout(() => {
      this.tick()
        .catch((error: Error) => this.#deps.logger.warn({ err: { message: error.message } }, 'schedule round failed'))
        .finally(() => this.#arm());
    }, wait);
    this.#timer.unref();
  }

  /** When a scheduler first ran on this database (ms), if one ever did: nothing before it was missed. */
  async #firstStart(): Promise<number | undefined> {
    const first = await this.#deps.db.kysely
      .selectFrom('job_runs')
      .select((eb) => eb.fn.min('started_at').as('at'))
      .where('job', '=', STARTED_JOB)
      .executeTakeFirst();
    return first?.at ? new Date(first.at).getTime() : undefined;
  }

  /** Every job with its last recorded run (by any instance) and its next occurrence. */
  async list(now = this.#deps.now()): Promise<JobView[]> {
    const firstStart = (await this.#firstStart()) ?? Number.POSITIVE_INFINITY;
    const ids = this.#deps.jobs.map((job) => job.id);
    const { rows } = await sql<{
      job: string;
      slot: string;
      instance: string;
      started_at: Date;
      finished_at: Date | null;
      status: JobRunRecord['status'];
      details: Record<string, unknown>;
    }>`
      SELECT DISTINCT ON (job) job, slot, instance, started_at, finished_at, status, details
      FROM job_runs WHERE job = ANY(${ids}) ORDER BY job, slot DESC`.execute(this.#deps.db.kysely);
    const last = new Map(rows.map((row) => [row.job, row]));
    return this.#deps.jobs.map((job) => {
      const row = last.get(job.id);
      const due = this.latest(job.id, new Date(now.getTime() - LATE_AFTER_MS));
      return {
        id: job.id,
        cron: job.cron,
        description: job.description,
        tz: this.#deps.tz,
        lastRun: row
          ? {
              job: row.job,
              slot: row.slot,
              instance: row.instance,
              startedAt: new Date(row.started_at).toISOString(),
              finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
              status: row.status,
              details: row.details,
            }
          : null,
        nextRun: this.next(job.id, now)?.toISOString() ?? null,
        late: due !== null && due.getTime() >= firstStart && (!row || row.slot < due.toISOString()),
      };
    });
  }
}
