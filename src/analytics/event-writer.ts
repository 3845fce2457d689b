/**
 * Group commit for ingestion. A request that arrives while the database is busy
 * with earlier batches waits for the next statement and goes in together with the
 * others that arrived meanwhile: one subject lookup, one statement, one commit for
 * all of them. Alone, a request runs at once; a second statement runs beside the
 * first only when enough is waiting to be worth it. Under load, what a statement costs
 * whatever its size (planning, the subject and daily-counter upserts, the rollup
 * triggers, the commit's WAL flush) is shared by every request in it.
 *
 * Each caller is answered only after the statement holding its events commits, and
 * hears only about its own events: which were stored, which were duplicates (of an
 * earlier batch, or of another request in the same group), which named an unknown
 * user. A failed statement stores nothing of any request in it; its requests are then
 * written one by one, so only the one that cannot be stored fails.
 */
import { type Db, isDatabaseUnavailable } from '../db/database.js';
import { resolveSubjects, type SubjectEvent, storeEvents } from './event-store.js';
import type { NormalizedEvent } from './events.js';

export interface WriteResult {
  stored: SubjectEvent[];
  duplicates: number;
  /** Events whose userId names no user. */
  unknownUser: NormalizedEvent[];
  /** Subjects whose first magic moment arrived in these events: activations. */
  newlyActivated: string[];
}

export interface EventWriterOptions {
  /** Events per statement; a single request larger than this still goes alone. */
  maxEvents: number;
  /** Statements running at most at once (each on its own connection). */
  concurrency: number;
  /**
   * A further statement starts beside a running one only when at least this many
   * events wait; fewer wait for the running statement to end and go in with those
   * that arrive meanwhile. What a statement costs whatever its size (executor start,
   * the rollup triggers, the commit: ~1.5 ms of PostgreSQL CPU) then stays a small
   * share of it, instead of a third of a one-batch statement.
   */
  minEventsToOverlap: number;
}

/** Measured on the ingestion benchmark (docs/benchmarks.md). */
export const DEFAULT_WRITER_OPTIONS: EventWriterOptions = { maxEvents: 2_000, concurrency: 2, minEventsToOverlap: 400 };

interface Waiting {
  events: NormalizedEvent[];
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

export class EventWriter {
  private readonly waiting: Waiting[] = [];
  private waitingEvents = 0;
  private running = 0;
  /** Requests written and statements run so far: their ratio is the grouping achieved. */
  readonly stats = { requests: 0, statements: 0 };

  constructor(
    private readonly deps: { db: Db; tz: string },
    private readonly options: EventWriterOptions = DEFAULT_WRITER_OPTIONS,
  ) {}

  write(events: NormalizedEvent[]): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      this.waitingEvents += events.length;
      this.drain();
    });
  }

  private drain(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) {
      if (this.running > 0 && this.waitingEvents < this.options.minEventsToOverlap) return;
      const group: Waiting[] = [this.waiting.shift() as Waiting];
      let size = group[0]?.events.length ?? 0;
      while (this.waiting.length > 0 && size + (this.waiting[0]?.events.length ?? 0) <= this.options.maxEvents) {
        const next = this.waiting.shift() as Waiting;
        size += next.events.length;
        group.push(next);
      }
      this.waitingEvents -= size;
      this.running++;
      this.stats.statements++;
      this.stats.requests += group.length;
      void writeIsolated(this.deps, group).then((outcomes) => {
        // Free the slot first: a caller resuming from its answer may write again at once.
        this.running--;
        for (const [i, w] of group.entries()) {
          const outcome = outcomes[i] as Outcome;
          if (outcome.ok) w.resolve(outcome.result);
          else w.reject(outcome.error);
        }
        this.drain();
      });
    }
  }
}

type Outcome = { ok: true; result: WriteResult } | { ok: false; error: unknown };

/**
 * Write a group; if its statement fails, write each request on its own, so that a
 * request PostgreSQL refuses fails alone and does not take the others with it.
 */
async function writeIsolated(deps: { db: Db; tz: string }, group: Waiting[]): Promise<Outcome[]> {
  const alone = (w: Waiting): Promise<Outcome> =>
    writeGroup(deps, [w.events]).then(
      (results) => ({ ok: true, result: results[0] as WriteResult }),
      (error: unknown) => ({ ok: false, error }),
    );
  if (group.length === 1) return [await alone(group[0] as Waiting)];
  try {
    const results = await writeGroup(
      deps,
      group.map((w) => w.events),
    );
    return results.map((result) => ({ ok: true, result }));
  } catch (error) {
    // Down is down for every request alike: answer them all now, not one timeout each.
    if (isDatabaseUnavailable(error)) return group.map(() => ({ ok: false, error }));
    const outcomes: Outcome[] = [];
    for (const w of group) outcomes.push(await alone(w));
    return outcomes;
  }
}

/** Store the events of several requests in one statement and split the outcome back per request. */
export async function writeGroup(deps: { db: Db; tz: string }, requests: NormalizedEvent[][]): Promise<WriteResult[]> {
  await resolveSubjects(deps.db, requests.flat());
  const results: WriteResult[] = requests.map(() => ({ stored: [], duplicates: 0, unknownUser: [], newlyActivated: [] }));
  // The first copy of an id in the group is the one stored; later copies (a client
  // retrying while its first attempt is still in flight) are its duplicates.
  const owner = new Map<string, number>();
  const merged: SubjectEvent[] = [];
  requests.forEach((events, request) => {
    const result = results[request] as WriteResult;
    for (const event of events) {
      if (event.subject === null || event.subject === undefined) result.unknownUser.push(event);
      else if (owner.has(event.id)) result.duplicates++;
      else {
        owner.set(event.id, request);
        merged.push(event as SubjectEvent);
      }
    }
  });
  if (merged.length === 0) return results;

  const { repeated, newlyActivated } = await storeEvents(deps.db, deps.tz, merged);
  const activatedBy = new Map<string, number>();
  for (const event of merged) {
    const request = owner.get(event.id) as number;
    const result = results[request] as WriteResult;
    if (repeated.has(event.id)) result.duplicates++;
    else {
      result.stored.push(event);
      if (event.name === 'magic_moment_completed' && !activatedBy.has(event.subject)) activatedBy.set(event.subject, request);
    }
  }
  // An activation is reported once, by the request that carried the magic moment.
  for (const subject of newlyActivated) results[activatedBy.get(subject) ?? 0]?.newlyActivated.push(subject);
  return results;
}
