/**
 * The ops log (运维日志): what the platform and its people did, in one timeline. The
 * platform writes its own entries — every scheduled checklist run, every alert that
 * fires, is acknowledged, resolved or silenced, every start-up with its version and
 * migrations — and people add theirs (`smartalk opslog add`, POST /api/v1/ops/log).
 * Entries are never edited; a correction is a new entry.
 */

import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database, OpsLogTable } from '../../db/schema.js';

/** What wrote an entry. */
export const OPS_LOG_KINDS = ['note', 'check', 'alert', 'deploy', 'job'] as const;
export type OpsLogKind = (typeof OPS_LOG_KINDS)[number];

export interface NewOpsLogEntry {
  kind: OpsLogKind;
  /** Who: a person's name, `ops-token`, or `instance:<host>:<pid>` for the platform. */
  actor: string;
  summary: string;
  tags?: string[];
  details?: Record<string, unknown>;
  at?: Date;
}

export interface OpsLogEntry {
  id: number;
  at: string;
  kind: string;
  actor: string;
  summary: string;
  tags: string[];
  details: Record<string, unknown>;
}

type Q = Kysely<Database> | Transaction<Database>;

/** Write one entry (in the caller's transaction when given one, so it lands with what it records). */
export async function addOpsLogEntry(q: Q, entry: NewOpsLogEntry): Promise<OpsLogEntry> {
  const row = await q
    .insertInto('ops_log')
    .values({
      kind: entry.kind,
      actor: entry.actor,
      summary: entry.summary,
      tags: entry.tags ?? [],
      details: JSON.stringify(entry.details ?? {}),
      ...(entry.at ? { at: entry.at } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toEntry(row);
}

export interface OpsLogQuery {
  since?: Date;
  until?: Date;
  tag?: string;
  kind?: OpsLogKind;
  limit?: number;
  /** Only entries older than this one (a page's last): keyset paging. */
  before?: { at: Date; id: number };
}

/** Entries, newest first. */
export async function listOpsLog(db: Db, query: OpsLogQuery = {}): Promise<OpsLogEntry[]> {
  let select = db.kysely.selectFrom('ops_log').selectAll();
  if (query.since) select = select.where('at', '>=', query.since);
  if (query.until) select = select.where('at', '<', query.until);
  if (query.kind) select = select.where('kind', '=', query.kind);
  if (query.tag) select = select.where((eb) => eb(eb.val(query.tag as string), '=', eb.fn.any('tags')));
  // Pages are keyed on the time to the millisecond (what a JS Date and a cursor hold; now()
  // writes microseconds), then the id, and ordered the same way, so none is skipped.
  const atMs = sql<Date>`date_trunc('milliseconds', at)`;
  const { before } = query;
  if (before)
    select = select.where((eb) =>
      eb.or([eb(atMs, '<', before.at), eb.and([eb(atMs, '=', before.at), eb('id', '<', before.id)])]),
    );
  const rows = await select
    .orderBy(atMs, 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit ?? 100)
    .execute();
  return rows.map(toEntry);
}

function toEntry(row: Selectable<OpsLogTable>): OpsLogEntry {
  return {
    id: Number(row.id),
    at: new Date(row.at).toISOString(),
    kind: row.kind,
    actor: row.actor,
    summary: row.summary,
    tags: row.tags,
    details: row.details,
  };
}

/** The platform's own name in the log: which instance wrote an entry. */
export const instanceActor = (instance: string): string => `instance:${instance}`;
