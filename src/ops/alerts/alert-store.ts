/**
 * Alerts, silences and the notification outbox in the database: every query of
 * alerting, in one place. The service decides; this file reads and writes. Functions
 * that must run inside a caller's transaction take the executor as `q`.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Db } from '../../db/database.js';
import type { AlertsTable, Database } from '../../db/schema.js';
import type { AlertDiagnosis, AlertView, NotificationKind } from './messages.js';

type Q = Kysely<Database>;
export type AlertRow = Selectable<AlertsTable>;

export function toView(row: AlertRow): AlertView {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    source: row.source,
    ruleId: row.rule_id,
    severity: row.severity,
    status: row.status,
    summary: row.summary,
    summaryZh: row.summary_zh,
    description: row.description,
    descriptionZh: row.description_zh,
    value: row.value,
    threshold: row.threshold,
    runbook: row.runbook,
    labels: row.labels as Record<string, string>,
    startedAt: new Date(row.started_at),
    firedAt: new Date(row.fired_at),
    pagedAt: row.paged_at ? new Date(row.paged_at) : null,
    escalationLevel: row.escalation_level,
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: row.resolved_at ? new Date(row.resolved_at) : null,
    diagnosis: (row.diagnosis as unknown as AlertDiagnosis | null) ?? null,
  };
}

/** Keep the diagnosis that ran when the alert fired. */
export async function setDiagnosis(db: Db, id: string, diagnosis: AlertDiagnosis): Promise<void> {
  await db.kysely
    .updateTable('alerts')
    .set({ diagnosis: JSON.stringify(diagnosis) })
    .where('id', '=', id)
    .execute();
}

/** What opening an alert writes: its view's identity and text, before any lifecycle. */
export type NewAlert = Pick<
  AlertView,
  | 'fingerprint'
  | 'ruleId'
  | 'severity'
  | 'source'
  | 'labels'
  | 'summary'
  | 'summaryZh'
  | 'description'
  | 'descriptionZh'
  | 'value'
  | 'threshold'
  | 'runbook'
  | 'startedAt'
>;

/** The open (not resolved) alert of a fingerprint, locked for the caller's transaction. */
export const openAlertForUpdate = (q: Q, fingerprint: string) =>
  q
    .selectFrom('alerts')
    .selectAll()
    .where('fingerprint', '=', fingerprint)
    .where('status', '!=', 'resolved')
    .forUpdate()
    .executeTakeFirst();

export const touchAlert = (q: Q, id: string, now: Date, value: string | null) =>
  q.updateTable('alerts').set({ last_seen_at: now, value }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();

/** Insert a firing alert; undefined when another instance opened the same fingerprint first. */
export const insertAlert = (q: Q, alert: NewAlert, now: Date) =>
  q
    .insertInto('alerts')
    .values({
      id: randomUUID(),
      fingerprint: alert.fingerprint,
      rule_id: alert.ruleId,
      severity: alert.severity,
      source: alert.source,
      labels: JSON.stringify(alert.labels),
      summary: alert.summary,
      summary_zh: alert.summaryZh,
      description: alert.description,
      description_zh: alert.descriptionZh,
      value: alert.value,
      threshold: alert.threshold,
      runbook: alert.runbook,
      status: 'firing',
      started_at: alert.startedAt,
      fired_at: now,
      last_seen_at: now,
    })
    .onConflict((oc) => oc.column('fingerprint').where('status', '!=', 'resolved').doNothing())
    .returningAll()
    .executeTakeFirst();

export const openAlert = (q: Q, fingerprint: string) =>
  q
    .selectFrom('alerts')
    .selectAll()
    .where('fingerprint', '=', fingerprint)
    .where('status', '!=', 'resolved')
    .executeTakeFirstOrThrow();

export const alertById = (db: Db, id: string) =>
  db.kysely.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();

export const acknowledgeAlert = (q: Q, id: string, by: string, now: Date, remindAt: Date) =>
  q
    .updateTable('alerts')
    .set({ status: 'acknowledged', acknowledged_at: now, acknowledged_by: by, remind_at: remindAt })
    .where('id', '=', id)
    .where('status', '!=', 'resolved')
    .returningAll()
    .executeTakeFirstOrThrow();

export function resolveAlert(q: Q, which: { id?: string; fingerprint?: string }, by: string, now: Date) {
  let query = q
    .updateTable('alerts')
    .set({ status: 'resolved', resolved_at: now, resolved_by: by, remind_at: null })
    .where('status', '!=', 'resolved');
  if (which.id) query = query.where('id', '=', which.id);
  else query = query.where('fingerprint', '=', which.fingerprint as string);
  return query.returningAll().executeTakeFirst();
}

export const openAlerts = (db: Db) => db.kysely.selectFrom('alerts').selectAll().where('status', '!=', 'resolved').execute();

/** Move a firing alert from escalation level `from` to `to` (from 0: L1 is paged now); true for the one caller that did. */
export async function claimEscalationLevel(q: Q, id: string, from: number, to: number, now: Date): Promise<boolean> {
  const result = await q
    .updateTable('alerts')
    .set(from === 0 ? { escalation_level: to, paged_at: now } : { escalation_level: to })
    .where('id', '=', id)
    .where('escalation_level', '=', from)
    .where('status', '=', 'firing')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Move an acknowledged alert's reminder from `due` to `next`; true for the one caller that did. */
export async function claimReminder(q: Q, id: string, due: Date, next: Date): Promise<boolean> {
  const result = await q
    .updateTable('alerts')
    .set({ remind_at: next })
    .where('id', '=', id)
    .where('remind_at', '=', due)
    .where('status', '=', 'acknowledged')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Alerts newest first; `before`: the page after the one that ended with this alert. */
export const listAlerts = (db: Db, options: { open?: boolean; limit?: number; before?: { firedAt: Date; id: string } }) => {
  let query = db.kysely
    .selectFrom('alerts')
    .selectAll()
    .orderBy('fired_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit ?? 50);
  if (options.open) query = query.where('status', '!=', 'resolved');
  const before = options.before;
  if (before)
    query = query.where((eb) =>
      eb.or([eb('fired_at', '<', before.firedAt), eb.and([eb('fired_at', '=', before.firedAt), eb('id', '<', before.id)])]),
    );
  return query.execute();
};

/** Alerts whose id starts with `prefix` (lower-case hex and dashes): what a short id names. */
export const alertsByIdPrefix = (db: Db, prefix: string, limit: number) =>
  db.kysely
    .selectFrom('alerts')
    .selectAll()
    .where(sql<string>`id::text`, 'like', `${prefix}%`)
    .orderBy('fired_at', 'desc')
    .limit(limit)
    .execute();

export const alertsByIds = (db: Db, ids: string[]) =>
  ids.length === 0 ? Promise.resolve([]) : db.kysely.selectFrom('alerts').selectAll().where('id', 'in', ids).execute();

// --- silences -------------------------------------------------------------------------

export interface NewSilence {
  kind: 'silence' | 'maintenance';
  ruleId: string | null;
  matchers: Record<string, string>;
  reason: string;
  by: string;
  startsAt: Date;
  endsAt: Date;
}

export async function insertSilence(db: Db, silence: NewSilence): Promise<string> {
  const id = randomUUID();
  await db.kysely
    .insertInto('alert_silences')
    .values({
      id,
      kind: silence.kind,
      rule_id: silence.ruleId,
      matchers: JSON.stringify(silence.matchers),
      reason: silence.reason,
      created_by: silence.by,
      starts_at: silence.startsAt,
      ends_at: silence.endsAt,
    })
    .execute();
  return id;
}

export type SilenceState = 'active' | 'scheduled' | 'all';

/** Silences in force now, those still to start, or both with those ended in the last week ("all"). */
export const listSilences = (db: Db, now: Date, state: SilenceState = 'active') => {
  let query = db.kysely.selectFrom('alert_silences').selectAll();
  if (state === 'active') query = query.where('starts_at', '<=', now).where('ends_at', '>', now);
  else if (state === 'scheduled') query = query.where('starts_at', '>', now);
  else query = query.where('ends_at', '>', new Date(now.getTime() - 7 * 86_400_000));
  return query.orderBy('starts_at').orderBy('ends_at').execute();
};

export type SilenceRow = Awaited<ReturnType<typeof listSilences>>[number];

/**
 * End a silence now; one still to start is deleted (it never silenced anything). False
 * when there is no such silence or it has already ended.
 */
export async function expireSilence(db: Db, id: string, now: Date): Promise<boolean> {
  const ended = await db.kysely
    .updateTable('alert_silences')
    .set({ ends_at: now })
    .where('id', '=', id)
    .where('starts_at', '<=', now)
    .where('ends_at', '>', now)
    .executeTakeFirst();
  if (Number(ended.numUpdatedRows) === 1) return true;
  const cancelled = await db.kysely
    .deleteFrom('alert_silences')
    .where('id', '=', id)
    .where('starts_at', '>', now)
    .executeTakeFirst();
  return Number(cancelled.numDeletedRows) === 1;
}

// --- the outbox ---------------------------------------------------------------------------

export interface OutboxMessage {
  alertId: string | null;
  kind: NotificationKind;
  level: number;
  contact: string;
  channel: string;
}

/** Put messages in the outbox, due now. */
export async function enqueue(q: Q, messages: OutboxMessage[], now: Date): Promise<void> {
  if (messages.length === 0) return;
  await q
    .insertInto('alert_notifications')
    .values(
      messages.map((m) => ({
        alert_id: m.alertId,
        kind: m.kind,
        level: m.level,
        contact: m.contact,
        channel: m.channel,
        next_attempt_at: now,
        created_at: now,
      })),
    )
    .execute();
}

export interface ClaimedMessage {
  id: number;
  alert_id: string | null;
  kind: NotificationKind;
  level: number;
  channel: string;
  attempts: number;
}

/**
 * Claim up to 100 due messages for `claimMs` (pending and due, or claimed by a sender
 * whose claim ran out): SKIP LOCKED, so concurrent senders never take the same one.
 */
export async function claimDue(db: Db, now: Date, claimMs: number): Promise<ClaimedMessage[]> {
  const { rows } = await sql<ClaimedMessage>`
    UPDATE alert_notifications SET status = 'sending', attempts = attempts + 1,
      claimed_until = ${new Date(now.getTime() + claimMs).toISOString()}::timestamptz
    WHERE id IN (
      SELECT id FROM alert_notifications
      WHERE (status = 'pending' AND next_attempt_at <= ${now.toISOString()}::timestamptz)
         OR (status = 'sending' AND claimed_until < ${now.toISOString()}::timestamptz)
      ORDER BY id LIMIT 100
      FOR UPDATE SKIP LOCKED)
    RETURNING id, alert_id, kind, level, channel, attempts`.execute(db.kysely);
  return rows;
}

export async function markSent(db: Db, id: number, now: Date): Promise<void> {
  await db.kysely
    .updateTable('alert_notifications')
    .set({ status: 'sent', sent_at: now, last_error: null, claimed_until: null })
    .where('id', '=', id)
    .execute();
}

/** A failed send: retried at `retryAt`, or given up as failed. */
export async function markFailed(db: Db, id: number, error: string, giveUp: boolean, retryAt: Date): Promise<void> {
  await db.kysely
    .updateTable('alert_notifications')
    .set({ status: giveUp ? 'failed' : 'pending', last_error: error, claimed_until: null, next_attempt_at: retryAt })
    .where('id', '=', id)
    .execute();
}

export const notificationsOf = (db: Db, alertId: string) =>
  db.kysely
    .selectFrom('alert_notifications')
    .select(['id', 'kind', 'level', 'contact', 'channel', 'status', 'attempts', 'last_error', 'created_at', 'sent_at'])
    .where('alert_id', '=', alertId)
    .orderBy('id')
    .execute();
