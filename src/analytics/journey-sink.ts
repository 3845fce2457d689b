/**
 * Where the learning actions' own events go (learning/journey-events.ts): an outbox row
 * each, written in the action's transaction (migration 017), then folded into the event
 * store by the same statement as ingestion — so they dedupe, fold into the funnel and the
 * rollups, and activate, exactly like a client's events.
 *
 * Why not fold inside the action: the ingestion statement (the subject upsert, the daily
 * counters, the rollup triggers) costs ~1.5 ms of PostgreSQL CPU and takes row locks that
 * concurrent learners queue on; in the answer's transaction it multiplied an answer's p99
 * (docs/benchmarks.md). An insert into the outbox costs a fraction of that, and one fold
 * carries many learners' events.
 *
 * When: 250 ms after an action writes (it has committed by then, and the events of the
 * actions meanwhile go in the same fold: a fold costs about the same for 20 events as for
 * 200, so folding every few milliseconds cost the answers more), every second for what
 * that missed, and at start-up for what a crash left. A fold deletes the rows it
 * folds in the same transaction; the event ids make folding twice harmless anyway.
 * Reports fold first (`drain`), so a report never misses an acknowledged action.
 */
import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { type JourneyEvent, type JourneyEventSink, journeyEventId } from '../learning/journey-events.js';
import { type SubjectEvent, storeEventsIn } from './event-store.js';

/** user_activated_total: one counter for the activations of ingested events and of the learning actions. */
export function activationCounter(registry: Registry): Counter {
  return new Counter({
    name: 'user_activated_total',
    help: 'Learners whose first magic moment (activation) was recorded by this instance (ingested or done through the API).',
    registers: [registry],
  });
}

export interface JourneyOutboxOptions {
  /** After an action writes, fold this much later (it commits meanwhile). */
  delayMs: number;
  /** And every this often, for what a delayed fold did not see yet. */
  intervalMs: number;
  /** Events per fold statement. */
  batch: number;
}

const DEFAULTS: JourneyOutboxOptions = { delayMs: 250, intervalMs: 1_000, batch: 2_000 };

interface OutboxRow {
  id: string;
  user_id: string;
  name: string;
  occurred_at: Date;
  properties: Record<string, unknown>;
}

export class JourneyOutbox implements JourneyEventSink {
  readonly #options: JourneyOutboxOptions;
  #soon: NodeJS.Timeout | undefined;
  #interval: NodeJS.Timeout | undefined;
  /** The fold running now: folds never overlap within a process. */
  #folding: Promise<number> | undefined;

  constructor(
    private readonly deps: { db: Db; tz: string; activations: Counter; logger?: Logger },
    options: Partial<JourneyOutboxOptions> = {},
  ) {
    this.#options = { ...DEFAULTS, ...options };
  }

  async record(q: Kysely<Database>, userId: string, events: JourneyEvent[]): Promise<void> {
    if (events.length === 0) return;
    await q
      .insertInto('analytics_outbox')
      .values(
        events.map((event) => ({
          id: journeyEventId(userId, event.name, event.scope),
          user_id: userId,
          name: event.name,
          occurred_at: event.at,
          properties: JSON.stringify(event.properties),
        })),
      )
      .onConflict((conflict) => conflict.column('id').doNothing())
      .execute();
    this.#soon ??= setTimeout(() => {
      this.#soon = undefined;
      void this.#foldQuietly();
    }, this.#options.delayMs);
  }

  /** Folds at start (what a crash left) and every intervalMs until stop(). */
  start(): void {
    void this.#foldQuietly();
    this.#interval ??= setInterval(() => void this.#foldQuietly(), this.#options.intervalMs);
    this.#interval.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#interval);
    clearTimeout(this.#soon);
    this.#interval = undefined;
    this.#soon = undefined;
    await this.drain().catch(() => undefined);
  }

  /**
   * Fold everything committed so far, waiting for rows another instance is folding (so
   * they are in the store when this returns). Returns how many events were folded here.
   */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const folded = await this.#fold(true);
      total += folded;
      if (folded < this.#options.batch) return total;
    }
  }

  async #foldQuietly(): Promise<void> {
    try {
      while ((await this.#fold(false)) === this.#options.batch) {
        // More waiting: fold the next batch now.
      }
    } catch (error) {
      // The rows stay; the next fold takes them (the database may be down: health says so).
      this.deps.logger?.warn({ err: { message: (error as Error).message } }, 'journey events not folded yet; will retry');
    }
  }

  #fold(waitForLocked: boolean): Promise<number> {
    const run = async (): Promise<number> => {
      const { db, tz } = this.deps;
      const activated = await db.kysely.transaction().execute(async (trx) => {
        const { rows } = await sql<OutboxRow>`
          DELETE FROM analytics_outbox
           WHERE id IN (SELECT id FROM analytics_outbox ORDER BY created_at LIMIT ${this.#options.batch}
                        FOR UPDATE ${waitForLocked ? sql`` : sql`SKIP LOCKED`})
          RETURNING id, user_id, name, occurred_at, properties`.execute(trx);
        if (rows.length === 0) return { count: 0, newly: 0 };
        const { newlyActivated } = await storeEventsIn(trx, db, tz, rows.map(subjectEvent));
        return { count: rows.length, newly: newlyActivated.length };
      });
      // Counted once committed: a fold that rolls back activated no one.
      if (activated.newly > 0) this.deps.activations.inc(activated.newly);
      return activated.count;
    };
    const previous = this.#folding ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(run);
    this.#folding = next;
    return next;
  }
}

function subjectEvent(row: OutboxRow, index: number): SubjectEvent {
  const at = new Date(row.occurred_at);
  return {
    index,
    id: row.id,
    name: row.name,
    rawName: row.name,
    userId: row.user_id,
    deviceId: undefined,
    sessionId: undefined,
    timestamp: at,
    timestampText: at.toISOString(),
    appVersion: undefined,
    platform: undefined,
    properties: row.properties,
    propertiesJson: JSON.stringify(row.properties),
    sentByOps: false,
    subject: row.user_id,
  };
}
