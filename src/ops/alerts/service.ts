/**
 * Alerts as records with a lifecycle (firing → acknowledged → resolved), escalation
 * by stored times, and an outbox of notifications.
 *
 * - `fire` opens (or refreshes) the one open alert of a fingerprint.
 * - `escalate(now)` notifies every level whose time has come, in order, claiming
 *   each level with a conditional UPDATE so two instances, a restart or a clock
 *   jump never notify a level twice nor skip one.
 * - `deliver(now)` sends due notifications from the outbox; a failed send is retried
 *   with backoff and recorded; a channel that fails never holds the others up.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AlertsTable, Database } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import type { Severity } from './catalog.js';
import { type Channel, createChannel } from './channels.js';
import type { AlertsConfig } from './config.js';
import { type AlertView, type MessageOptions, type NotificationKind, renderMessage } from './messages.js';

export interface FireInput {
  ruleId: string;
  severity: Severity;
  source: 'builtin' | 'alertmanager' | 'watchdog';
  labels: Record<string, string>;
  summary: string;
  summaryZh?: string | null;
  description?: string | null;
  descriptionZh?: string | null;
  value?: string | null;
  threshold?: string | null;
  runbook?: string | null;
  /** When the condition began (defaults to now). */
  startedAt?: Date;
  /** A caller's own fingerprint (Alertmanager's); otherwise rule id + labels. */
  fingerprint?: string;
}

export interface SilenceInput {
  kind: 'silence' | 'maintenance';
  ruleId?: string | null;
  matchers?: Record<string, string>;
  reason: string;
  by: string;
  startsAt: Date;
  endsAt: Date;
}

/** Attempts before a notification is given up as failed, and the waits between them. */
export const MAX_ATTEMPTS = 5;
const BACKOFF_MS = [0, 10_000, 30_000, 90_000, 270_000];
const CLAIM_MS = 60_000;

export function fingerprintOf(ruleId: string, labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
  return `${ruleId}:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}

type AlertRow = Selectable<AlertsTable>;

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
    escalationLevel: row.escalation_level,
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: row.resolved_at ? new Date(row.resolved_at) : null,
  };
}

export interface AlertServiceDeps {
  db: Db;
  config: AlertsConfig;
  logger: Logger;
  messages: MessageOptions;
  now?: () => Date;
  /** Channels by name; built from the config when absent (tests pass their own). */
  channels?: Map<string, Channel>;
}

export class AlertService {
  readonly channels: Map<string, Channel>;
  readonly #db: Db;
  readonly #config: AlertsConfig;
  readonly #logger: Logger;
  readonly #messages: MessageOptions;
  readonly #now: () => Date;

  constructor(deps: AlertServiceDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#messages = deps.messages;
    this.#now = deps.now ?? (() => new Date());
    this.channels =
      deps.channels ??
      new Map(Object.entries(deps.config.channels).map(([name, channel]) => [name, createChannel(name, channel, deps.logger)]));
  }

  get config(): AlertsConfig {
    return this.#config;
  }

  now(): Date {
    return this.#now();
  }

  /** Open an alert, or refresh the open one with the same fingerprint. */
  async fire(input: FireInput, now = this.#now()): Promise<{ alert: AlertView; created: boolean }> {
    const fingerprint = input.fingerprint ?? fingerprintOf(input.ruleId, input.labels);
    return this.#db.kysely.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom('alerts')
        .selectAll()
        .where('fingerprint', '=', fingerprint)
        .where('status', '!=', 'resolved')
        .forUpdate()
        .executeTakeFirst();
      if (open) {
        const row = await trx
          .updateTable('alerts')
          .set({ last_seen_at: now, value: input.value ?? open.value })
          .where('id', '=', open.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return { alert: toView(row), created: false };
      }
      const row = await trx
        .insertInto('alerts')
        .values({
          id: randomUUID(),
          fingerprint,
          rule_id: input.ruleId,
          severity: input.severity,
          source: input.source,
          labels: JSON.stringify(input.labels),
          summary: input.summary,
          summary_zh: input.summaryZh ?? null,
          description: input.description ?? null,
          description_zh: input.descriptionZh ?? null,
          value: input.value ?? null,
          threshold: input.threshold ?? null,
          runbook: input.runbook ?? null,
          status: 'firing',
          started_at: input.startedAt ?? now,
          fired_at: now,
          last_seen_at: now,
        })
        .onConflict((oc) => oc.column('fingerprint').where('status', '!=', 'resolved').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) {
        // Another instance opened it a moment ago: that one is the alert.
        const existing = await trx
          .selectFrom('alerts')
          .selectAll()
          .where('fingerprint', '=', fingerprint)
          .where('status', '!=', 'resolved')
          .executeTakeFirstOrThrow();
        return { alert: toView(existing), created: false };
      }
      this.#logger.warn({ alertId: row.id, rule: row.rule_id, severity: row.severity, source: row.source }, 'alert firing');
      return { alert: toView(row), created: true };
    });
  }

  async #get(id: string): Promise<AlertRow> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new AppError('SMT_ERR_ALERT_NOT_FOUND');
    const row = await this.#db.kysely.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('SMT_ERR_ALERT_NOT_FOUND');
    return row;
  }

  /** Acknowledge: escalation stops; a reminder goes out if it is not resolved in time. */
  async acknowledge(id: string, by: string, now = this.#now()): Promise<AlertView> {
    const row = await this.#get(id);
    if (row.status === 'resolved') throw new AppError('SMT_ERR_ALERT_RESOLVED');
    const updated = await this.#db.kysely
      .updateTable('alerts')
      .set({
        status: 'acknowledged',
        acknowledged_at: now,
        acknowledged_by: by,
        remind_at: new Date(now.getTime() + this.#config.remindAfterMs),
      })
      .where('id', '=', id)
      .where('status', '!=', 'resolved')
      .returningAll()
      .executeTakeFirstOrThrow();
    this.#logger.info({ alertId: id, by }, 'alert acknowledged');
    return toView(updated);
  }

  /** Resolve by id or fingerprint; everyone who was told it fired is told it is over. */
  async resolve(
    idOrFingerprint: { id?: string; fingerprint?: string },
    by: string,
    now = this.#now(),
  ): Promise<AlertView | undefined> {
    return this.#db.kysely.transaction().execute(async (trx) => {
      let query = trx
        .updateTable('alerts')
        .set({ status: 'resolved', resolved_at: now, resolved_by: by, remind_at: null })
        .where('status', '!=', 'resolved');
      if (idOrFingerprint.id) query = query.where('id', '=', idOrFingerprint.id);
      else query = query.where('fingerprint', '=', idOrFingerprint.fingerprint as string);
      const row = await query.returningAll().executeTakeFirst();
      if (!row) return undefined;
      const levels = this.#config.escalation[row.severity].filter((level) => level.level <= row.escalation_level);
      await this.#queue(
        trx,
        row.id,
        'resolved',
        levels.flatMap((level) => level.contacts.map((contact) => ({ level: level.level, contact }))),
        now,
      );
      this.#logger.info({ alertId: row.id, by }, 'alert resolved');
      return toView(row);
    });
  }

  async silence(input: SilenceInput): Promise<{ id: string }> {
    const id = randomUUID();
    await this.#db.kysely
      .insertInto('alert_silences')
      .values({
        id,
        kind: input.kind,
        rule_id: input.ruleId ?? null,
        matchers: JSON.stringify(input.matchers ?? {}),
        reason: input.reason,
        created_by: input.by,
        starts_at: input.startsAt,
        ends_at: input.endsAt,
      })
      .execute();
    this.#logger.info(
      { silenceId: id, kind: input.kind, rule: input.ruleId, by: input.by, until: input.endsAt },
      'alerts silenced',
    );
    return { id };
  }

  async activeSilences(now = this.#now()) {
    return this.#db.kysely
      .selectFrom('alert_silences')
      .selectAll()
      .where('starts_at', '<=', now)
      .where('ends_at', '>', now)
      .orderBy('ends_at')
      .execute();
  }

  async expireSilence(id: string, now = this.#now()): Promise<void> {
    await this.#db.kysely
      .updateTable('alert_silences')
      .set({ ends_at: now })
      .where('id', '=', id)
      .where('ends_at', '>', now)
      .execute();
  }

  #silenced(alert: AlertRow, silences: Awaited<ReturnType<AlertService['activeSilences']>>): boolean {
    const labels = alert.labels as Record<string, string>;
    return silences.some(
      (s) =>
        (s.rule_id === null || s.rule_id === alert.rule_id) &&
        Object.entries(s.matchers as Record<string, string>).every(([key, value]) => labels[key] === value),
    );
  }

  /** Put one message per contact channel in the outbox. */
  async #queue(
    trx: Kysely<Database>,
    alertId: string | null,
    kind: NotificationKind,
    targets: Array<{ level: number; contact: string }>,
    now: Date,
  ): Promise<void> {
    const rows = targets.flatMap(({ level, contact }) =>
      (this.#config.contacts[contact]?.channels ?? []).map((channel) => ({
        alert_id: alertId,
        kind,
        level,
        contact,
        channel,
        next_attempt_at: now,
        created_at: now,
      })),
    );
    if (rows.length > 0) await trx.insertInto('alert_notifications').values(rows).execute();
  }

  /** Notify every level that is due, and remind about acknowledged alerts left open. */
  async escalate(now = this.#now()): Promise<{ notified: number; reminded: number }> {
    const silences = await this.activeSilences(now);
    const open = await this.#db.kysely.selectFrom('alerts').selectAll().where('status', '!=', 'resolved').execute();
    let notified = 0;
    let reminded = 0;
    for (const alert of open) {
      if (this.#silenced(alert, silences)) continue;
      if (alert.status === 'firing') {
        const firedAt = new Date(alert.fired_at).getTime();
        let current = alert.escalation_level;
        for (const level of this.#config.escalation[alert.severity]) {
          if (level.level <= current || firedAt + level.afterMs > now.getTime()) continue;
          // Claim this level: only the caller that moves escalation_level from `current` sends it.
          const claimed = await this.#db.kysely.transaction().execute(async (trx) => {
            const result = await trx
              .updateTable('alerts')
              .set({ escalation_level: level.level })
              .where('id', '=', alert.id)
              .where('escalation_level', '=', current)
              .where('status', '=', 'firing')
              .executeTakeFirst();
            if (Number(result.numUpdatedRows) !== 1) return false;
            await this.#queue(
              trx,
              alert.id,
              current === 0 ? 'firing' : 'escalation',
              level.contacts.map((contact) => ({ level: level.level, contact })),
              now,
            );
            return true;
          });
          if (!claimed) break;
          current = level.level;
          notified++;
        }
      } else if (alert.status === 'acknowledged' && alert.remind_at && new Date(alert.remind_at).getTime() <= now.getTime()) {
        const remindAt = new Date(alert.remind_at);
        const claimed = await this.#db.kysely.transaction().execute(async (trx) => {
          const result = await trx
            .updateTable('alerts')
            .set({ remind_at: new Date(now.getTime() + this.#config.remindAfterMs) })
            .where('id', '=', alert.id)
            .where('remind_at', '=', remindAt)
            .where('status', '=', 'acknowledged')
            .executeTakeFirst();
          if (Number(result.numUpdatedRows) !== 1) return false;
          const levels = this.#config.escalation[alert.severity].filter(
            (level) => level.level <= Math.max(1, alert.escalation_level),
          );
          await this.#queue(
            trx,
            alert.id,
            'reminder',
            levels.flatMap((level) => level.contacts.map((contact) => ({ level: level.level, contact }))),
            now,
          );
          return true;
        });
        if (claimed) reminded++;
      }
    }
    return { notified, reminded };
  }

  /** Send what is due in the outbox. Each message is claimed first, so one sender sends it. */
  async deliver(now = this.#now()): Promise<{ sent: number; failed: number; retrying: number }> {
    const claimed = await sql<{
      id: number;
      alert_id: string | null;
      kind: NotificationKind;
      level: number;
      channel: string;
      attempts: number;
    }>`
      UPDATE alert_notifications SET status = 'sending', attempts = attempts + 1,
        claimed_until = ${new Date(now.getTime() + CLAIM_MS).toISOString()}::timestamptz
      WHERE id IN (
        SELECT id FROM alert_notifications
        WHERE (status = 'pending' AND next_attempt_at <= ${now.toISOString()}::timestamptz)
           OR (status = 'sending' AND claimed_until < ${now.toISOString()}::timestamptz)
        ORDER BY id LIMIT 100
        FOR UPDATE SKIP LOCKED)
      RETURNING id, alert_id, kind, level, channel, attempts`.execute(this.#db.kysely);
    const result = { sent: 0, failed: 0, retrying: 0 };
    const alertIds = [...new Set(claimed.rows.map((row) => row.alert_id).filter((id): id is string => id !== null))];
    const alerts = alertIds.length
      ? new Map(
          (await this.#db.kysely.selectFrom('alerts').selectAll().where('id', 'in', alertIds).execute()).map((row) => [
            row.id,
            toView(row),
          ]),
        )
      : new Map<string, AlertView>();
    await Promise.all(
      claimed.rows.map(async (row) => {
        const channel = this.channels.get(row.channel);
        const alert = row.alert_id ? alerts.get(row.alert_id) : undefined;
        try {
          if (!channel) throw new Error(`no channel named ${row.channel}`);
          const view = alert ?? testAlert(now);
          await channel.send(renderMessage(view, row.kind, row.level, this.#messages), alert ?? null);
          await this.#db.kysely
            .updateTable('alert_notifications')
            .set({ status: 'sent', sent_at: now, last_error: null, claimed_until: null })
            .where('id', '=', row.id)
            .execute();
          result.sent++;
        } catch (error) {
          const message = (error as Error).message.slice(0, 500);
          const giveUp = row.attempts >= MAX_ATTEMPTS;
          await this.#db.kysely
            .updateTable('alert_notifications')
            .set({
              status: giveUp ? 'failed' : 'pending',
              last_error: message,
              claimed_until: null,
              next_attempt_at: new Date(now.getTime() + (BACKOFF_MS[row.attempts] ?? 300_000)),
            })
            .where('id', '=', row.id)
            .execute();
          this.#logger.warn(
            { notificationId: row.id, channel: row.channel, attempt: row.attempts, giveUp, err: { message } },
            'notification not delivered',
          );
          if (giveUp) result.failed++;
          else result.retrying++;
        }
      }),
    );
    return result;
  }

  /** Queue a test message on one channel (`smartalk alerts test-channel NAME`). */
  async testChannel(name: string, now = this.#now()): Promise<void> {
    if (!this.channels.has(name)) throw new AppError('SMT_ERR_CHANNEL_NOT_FOUND', `No channel named ${name}`);
    await this.#db.kysely
      .insertInto('alert_notifications')
      .values({ alert_id: null, kind: 'test', level: 0, contact: 'test', channel: name, next_attempt_at: now, created_at: now })
      .execute();
  }

  async list(options: { open?: boolean; limit?: number } = {}): Promise<AlertView[]> {
    let query = this.#db.kysely
      .selectFrom('alerts')
      .selectAll()
      .orderBy('fired_at', 'desc')
      .limit(options.limit ?? 50);
    if (options.open) query = query.where('status', '!=', 'resolved');
    return (await query.execute()).map(toView);
  }

  async show(id: string) {
    const row = await this.#get(id);
    const notifications = await this.#db.kysely
      .selectFrom('alert_notifications')
      .select(['id', 'kind', 'level', 'contact', 'channel', 'status', 'attempts', 'last_error', 'created_at', 'sent_at'])
      .where('alert_id', '=', id)
      .orderBy('id')
      .execute();
    return { alert: toView(row), notifications };
  }
}

/** The stand-in alert a test message describes. */
function testAlert(now: Date): AlertView {
  return {
    id: '00000000-0000-4000-8000-000000000000',
    fingerprint: 'test',
    source: 'builtin',
    ruleId: 'ChannelTest',
    severity: 'info',
    status: 'firing',
    summary: 'SmarTalk test notification',
    summaryZh: 'SmarTalk 测试通知',
    description: 'If you can read this, the channel works.',
    descriptionZh: '能看到这条消息，说明通知渠道可用。',
    value: null,
    threshold: null,
    runbook: 'docs/alerts.md',
    labels: {},
    startedAt: now,
    firedAt: now,
    escalationLevel: 0,
    acknowledgedBy: null,
    resolvedAt: null,
  };
}
