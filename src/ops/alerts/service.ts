/**
 * Alerts as records with a lifecycle (firing → acknowledged → resolved): what routes,
 * the CLI, the evaluator and the watchdog call.
 *
 * - `fire` opens (or refreshes) the one open alert of a fingerprint.
 * - `escalate(now)` notifies every level whose time has come (escalation.ts).
 * - `deliver(now)` sends due notifications from the outbox (outbox.ts).
 *
 * The queries are in alert-store.ts.
 */

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { pageOf, timeKeyCursor } from '../../cursor.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { addOpsLogEntry } from '../opslog/opslog.js';
import * as store from './alert-store.js';
import type { Severity } from './catalog.js';
import { type Channel, createChannel } from './channels.js';
import type { AlertsConfig } from './config.js';
import { escalate, levelsReached, messagesFor } from './escalation.js';
import { type AlertDiagnosis, type AlertView, type MessageOptions, vendorOf } from './messages.js';
import { deliver } from './outbox.js';

/** An alert's id: a UUID. */
const ALERT_ID = /^[0-9a-f-]{36}$/i;

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

export function fingerprintOf(ruleId: string, labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
  return `${ruleId}:${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
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
  #onFired: ((alert: AlertView) => Promise<AlertDiagnosis | undefined>) | undefined;
  readonly #diagnosing = new Map<string, Promise<void>>();
  /** fire() calls still opening their alert (escalate() waits for them and their diagnoses). */
  readonly #opening = new Set<Promise<unknown>>();

  constructor(deps: AlertServiceDeps) {
    this.#db = deps.db;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.#messages = { ...deps.messages, vendors: deps.config.vendors };
    this.#now = deps.now ?? (() => new Date());
    this.channels =
      deps.channels ??
      new Map(Object.entries(deps.config.channels).map(([name, channel]) => [name, createChannel(name, channel, deps.logger)]));
  }

  /**
   * Run `diagnose` for each alert this instance opens (the server wires `smartalk ops
   * diagnose`): its findings are kept on the alert, written to the ops log and sent with
   * the first notification — escalation waits for it, within `budgetMs`.
   */
  diagnoseWith(diagnose: (alert: AlertView) => Promise<AlertDiagnosis | undefined>): void {
    this.#onFired = diagnose;
  }

  #startDiagnosis(alert: AlertView, budgetMs = 20_000): void {
    const diagnose = this.#onFired;
    if (!diagnose) return;
    let timer: NodeJS.Timeout | undefined;
    const run = Promise.race([
      diagnose(alert),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), budgetMs);
      }),
    ])
      .then(async (diagnosis) => {
        if (!diagnosis) return;
        await store.setDiagnosis(this.#db, alert.id, diagnosis);
        const problems = diagnosis.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
        await addOpsLogEntry(this.#db.kysely, {
          kind: 'alert',
          actor: 'diagnosis',
          summary: `${alert.ruleId} diagnosis (${diagnosis.scenario}): ${
            problems.length ? problems.map((f) => `${f.id} ${f.status}: ${f.summary}`).join('; ') : 'nothing wrong found'
          }`,
          tags: [alert.ruleId, 'diagnosis'],
          details: { alertId: alert.id, diagnosis },
        });
      })
      .catch((error: Error) => this.#logger.warn({ alertId: alert.id, err: { message: error.message } }, 'diagnosis failed'))
      .finally(() => {
        clearTimeout(timer);
        this.#diagnosing.delete(alert.id);
      });
    this.#diagnosing.set(alert.id, run);
  }

  get config(): AlertsConfig {
    return this.#config;
  }

  now(): Date {
    return this.#now();
  }

  /** Open an alert, or refresh the open one with the same fingerprint. */
  fire(input: FireInput, now = this.#now()): Promise<{ alert: AlertView; created: boolean }> {
    // Known to escalate() from the call on: an escalation round that starts while the alert
    // is being opened waits for it, and so for its diagnosis, instead of paging it bare.
    const opening = this.#open(input, now).then((fired) => {
      if (fired.created) this.#startDiagnosis(fired.alert);
      return fired;
    });
    this.#opening.add(opening);
    void opening.then(
      () => this.#opening.delete(opening),
      () => this.#opening.delete(opening),
    );
    return opening;
  }

  async #open(input: FireInput, now: Date): Promise<{ alert: AlertView; created: boolean }> {
    const fingerprint = input.fingerprint ?? fingerprintOf(input.ruleId, input.labels);
    return this.#db.kysely.transaction().execute(async (trx) => {
      const open = await store.openAlertForUpdate(trx, fingerprint);
      if (open)
        return { alert: store.toView(await store.touchAlert(trx, open.id, now, input.value ?? open.value)), created: false };
      const row = await store.insertAlert(
        trx,
        {
          fingerprint,
          ruleId: input.ruleId,
          severity: input.severity,
          source: input.source,
          labels: input.labels,
          summary: input.summary,
          summaryZh: input.summaryZh ?? null,
          description: input.description ?? null,
          descriptionZh: input.descriptionZh ?? null,
          value: input.value ?? null,
          threshold: input.threshold ?? null,
          runbook: input.runbook ?? null,
          startedAt: input.startedAt ?? now,
        },
        now,
      );
      // Another instance opened it a moment ago: that one is the alert.
      if (!row) return { alert: store.toView(await store.openAlert(trx, fingerprint)), created: false };
      this.#logger.warn({ alertId: row.id, rule: row.rule_id, severity: row.severity, source: row.source }, 'alert firing');
      await addOpsLogEntry(trx, {
        kind: 'alert',
        actor: row.source,
        summary: `${row.rule_id} firing (${row.severity}): ${row.summary}`,
        tags: [row.rule_id],
        details: { alertId: row.id, value: row.value, labels: row.labels },
        at: now,
      });
      return { alert: store.toView(row), created: true };
    });
  }

  async #get(id: string): Promise<store.AlertRow> {
    if (!ALERT_ID.test(id)) throw new AppError('SMT_ERR_ALERT_NOT_FOUND');
    const row = await store.alertById(this.#db, id);
    if (!row) throw new AppError('SMT_ERR_ALERT_NOT_FOUND');
    return row;
  }

  /** Acknowledge: escalation stops; a reminder goes out if it is not resolved in time. */
  async acknowledge(id: string, by: string, now = this.#now()): Promise<AlertView> {
    const row = await this.#get(id);
    if (row.status === 'resolved') throw new AppError('SMT_ERR_ALERT_RESOLVED');
    const updated = await this.#db.kysely.transaction().execute(async (trx) => {
      const acknowledged = await store.acknowledgeAlert(trx, id, by, now, new Date(now.getTime() + this.#config.remindAfterMs));
      await addOpsLogEntry(trx, {
        kind: 'alert',
        actor: by,
        summary: `${acknowledged.rule_id} acknowledged`,
        tags: [acknowledged.rule_id],
        details: { alertId: id },
        at: now,
      });
      return acknowledged;
    });
    this.#logger.info({ alertId: id, by }, 'alert acknowledged');
    return store.toView(updated);
  }

  /** Resolve by id or fingerprint; everyone who was told it fired is told it is over. */
  async resolve(
    idOrFingerprint: { id?: string; fingerprint?: string },
    by: string,
    now = this.#now(),
  ): Promise<AlertView | undefined> {
    return this.#db.kysely.transaction().execute(async (trx) => {
      const row = await store.resolveAlert(trx, idOrFingerprint, by, now);
      if (!row) return undefined;
      await store.enqueue(trx, messagesFor(this.#config, row.id, 'resolved', levelsReached(this.#config, row)), now);
      await addOpsLogEntry(trx, {
        kind: 'alert',
        actor: by,
        summary: `${row.rule_id} resolved after ${Math.round((now.getTime() - new Date(row.fired_at).getTime()) / 60_000)} min`,
        tags: [row.rule_id],
        details: { alertId: row.id },
        at: now,
      });
      this.#logger.info({ alertId: row.id, by }, 'alert resolved');
      return store.toView(row);
    });
  }

  async silence(input: SilenceInput): Promise<{ id: string }> {
    const id = await store.insertSilence(this.#db, {
      ...input,
      ruleId: input.ruleId ?? null,
      matchers: input.matchers ?? {},
    });
    await addOpsLogEntry(this.#db.kysely, {
      kind: 'alert',
      actor: input.by,
      summary: `${input.kind} of ${input.ruleId ?? 'every rule'} until ${input.endsAt.toISOString()}: ${input.reason}`,
      tags: [input.kind, ...(input.ruleId ? [input.ruleId] : [])],
      details: { silenceId: id, matchers: input.matchers ?? {} },
    });
    this.#logger.info(
      { silenceId: id, kind: input.kind, rule: input.ruleId, by: input.by, until: input.endsAt },
      'alerts silenced',
    );
    return { id };
  }

  silences(state: store.SilenceState, now = this.#now()) {
    return store.listSilences(this.#db, now, state);
  }

  expireSilence(id: string, now = this.#now()): Promise<boolean> {
    return store.expireSilence(this.#db, id, now);
  }

  /** Alerts a short id (a prefix of the uuid, as `alerts list` prints) may name; a few at most. */
  async byIdPrefix(prefix: string): Promise<AlertView[]> {
    return (await store.alertsByIdPrefix(this.#db, prefix.toLowerCase(), 10)).map(store.toView);
  }

  /** Notify every level that is due, and remind about acknowledged alerts left open. */
  async escalate(now = this.#now()): Promise<{ notified: number; reminded: number }> {
    // A diagnosis still running for a new alert goes out with its first notification; an
    // alert still being opened is waited for first (twice: one opened meanwhile too).
    for (let pass = 0; pass < 2 && this.#opening.size + this.#diagnosing.size > 0; pass++) {
      await Promise.allSettled(this.#opening);
      await Promise.all(this.#diagnosing.values());
    }
    return escalate(this.#db, this.#config, now);
  }

  /** Send what is due in the outbox. */
  deliver(now = this.#now()): Promise<{ sent: number; failed: number; retrying: number }> {
    return deliver({ db: this.#db, channels: this.channels, messages: this.#messages, logger: this.#logger }, now);
  }

  /** Queue a test message on one channel (`smartalk alerts test-channel NAME`). */
  async testChannel(name: string, now = this.#now()): Promise<void> {
    if (!this.channels.has(name)) throw new AppError('SMT_ERR_CHANNEL_NOT_FOUND', `No channel named ${name}`);
    await store.enqueue(this.#db.kysely, [{ alertId: null, kind: 'test', level: 0, contact: 'test', channel: name }], now);
  }

  async list(options: { open?: boolean; limit?: number; before?: { firedAt: Date; id: string } } = {}): Promise<AlertView[]> {
    return (await store.listAlerts(this.#db, options)).map(store.toView);
  }

  /** A page of alerts, newest first, and the cursor of the next one (null on the last). */
  async page(options: { open: boolean; limit: number; cursor?: string }) {
    const after = options.cursor === undefined ? undefined : timeKeyCursor.decode(options.cursor, ALERT_ID);
    const before = after && { firedAt: after.at, id: after.key };
    const rows = await this.list({ open: options.open, limit: options.limit + 1, before });
    const { items, nextCursor } = pageOf(rows, options.limit, (last) => timeKeyCursor.encode(last.firedAt, last.id));
    return { alerts: items, nextCursor };
  }

  async show(id: string) {
    const row = await this.#get(id);
    return {
      alert: store.toView(row),
      notifications: await store.notificationsOf(this.#db, id),
      vendor: vendorOf(row.rule_id, this.#config.vendors),
    };
  }
}
