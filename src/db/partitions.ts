/**
 * Monthly partitions of analytics_events, created ahead of time.
 *
 * Rows outside every partition land in the default partition, so ingestion never
 * fails for want of one; but a partition cannot be created over a range the
 * default partition already holds rows for, so we stay months ahead.
 */
import { sql } from 'kysely';
import type { Db } from './database.js';

export interface PartitionRange {
  name: string;
  from: Date;
  to: Date;
}

/** The monthly partitions (UTC) covering `monthsBack` before and `monthsAhead` after `now`. */
export function monthlyPartitions(now: Date, monthsBack: number, monthsAhead: number): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  for (let offset = -monthsBack; offset <= monthsAhead; offset++) {
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
    const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
    const month = String(from.getUTCMonth() + 1).padStart(2, '0');
    ranges.push({ name: `analytics_events_y${from.getUTCFullYear()}m${month}`, from, to });
  }
  return ranges;
}

/**
 * Create the missing partitions around `now`. Returns the names created; a range
 * the default partition already holds rows for is skipped (reported in `skipped`).
 */
export async function ensureEventPartitions(
  db: Db,
  now: Date,
  { monthsBack = 3, monthsAhead = 3 } = {},
): Promise<{ created: string[]; skipped: string[] }> {
  const wanted = monthlyPartitions(now, monthsBack, monthsAhead);
  const have = new Set(await partitionNames(db));
  const created: string[] = [];
  const skipped: string[] = [];
  for (const range of wanted) {
    if (have.has(range.name)) continue;
    try {
      // DDL cannot take bind parameters; the name and bounds are escaped by Kysely.
      await sql`CREATE TABLE IF NOT EXISTS ${sql.id(range.name)} PARTITION OF analytics_events
        FOR VALUES FROM (${sql.lit(range.from.toISOString())}) TO (${sql.lit(range.to.toISOString())})`.execute(db.kysely);
      created.push(range.name);
    } catch {
      skipped.push(range.name);
    }
  }
  return { created, skipped };
}

const PARTITION_NAME = /^analytics_events_y(\d{4})m(\d{2})$/;

/** The month one of our partitions covers, read from its name; undefined for any other table. */
export function partitionRange(name: string): PartitionRange | undefined {
  const match = PARTITION_NAME.exec(name);
  if (!match) return undefined;
  const from = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
  return { name, from, to: new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1)) };
}

/** The names of every partition of analytics_events, the default one included. */
async function partitionNames(db: Db): Promise<string[]> {
  const { rows } = await sql<{ relname: string }>`
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'analytics_events'::regclass`.execute(db.kysely);
  return rows.map((row) => row.relname);
}

/** The monthly partitions of analytics_events there are now, oldest first (the default one aside). */
export async function eventPartitions(db: Db): Promise<PartitionRange[]> {
  return (await partitionNames(db))
    .map((name) => partitionRange(name))
    .filter((range): range is PartitionRange => range !== undefined)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}

export interface EventRetention {
  /** The monthly partitions there were, oldest first. */
  partitions: PartitionRange[];
  /** Events before this instant are past retention. */
  cutoff: Date;
  /** Partitions wholly before the cutoff: dropped (apply) or to drop. */
  expired: PartitionRange[];
  /** Idempotency keys of events received before the cutoff, removed with them (apply). */
  idsRemoved: number;
}

/**
 * Events older than `retentionDays` leave a month at a time: a partition whose whole
 * month is past the cutoff is dropped — one catalog change, no DELETE, no table bloat,
 * no vacuum. A month partly inside retention stays whole until it is all past. Reports
 * read the rollups (daily counts, cohorts, summaries), never the raw events, so their
 * figures for old windows do not change. The idempotency keys of those events go too:
 * an event that old is refused at ingestion anyway (at most 90 days), so its key can
 * no longer catch a duplicate.
 */
export async function applyEventRetention(
  db: Db,
  now: Date,
  retentionDays: number,
  { apply }: { apply: boolean },
): Promise<EventRetention> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const partitions = await eventPartitions(db);
  const expired = partitions.filter((range) => range.to.getTime() <= cutoff.getTime());
  if (!apply) return { partitions, cutoff, expired, idsRemoved: 0 };
  for (const range of expired) await sql`DROP TABLE IF EXISTS ${sql.id(range.name)}`.execute(db.kysely);
  // In batches: one huge DELETE would hold its locks and its WAL for a long time.
  let idsRemoved = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM analytics_event_ids WHERE id IN (
        SELECT id FROM analytics_event_ids WHERE received_at < ${cutoff} LIMIT 10000)`.execute(db.kysely);
    const removed = Number(result.numAffectedRows ?? 0);
    idsRemoved += removed;
    if (removed < 10_000) break;
  }
  return { partitions, cutoff, expired, idsRemoved };
}
