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
  const existing = await sql<{ relname: string }>`
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = 'analytics_events'`.execute(db.kysely);
  const have = new Set(existing.rows.map((row) => row.relname));
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
