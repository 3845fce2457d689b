/**
 * Who is due a notification, by stored times: every escalation level of a firing alert
 * whose time has come, in order, and a reminder for an acknowledged alert left open.
 * Each level (and each reminder) is claimed with a conditional UPDATE before its
 * messages are queued, in one transaction, so two instances, a restart or a clock jump
 * never notify a level twice nor skip one. Silenced alerts wait.
 */
import type { Db } from '../../db/database.js';
import {
  type AlertRow,
  claimEscalationLevel,
  claimReminder,
  enqueue,
  listSilences,
  type OutboxMessage,
  openAlerts,
  type SilenceRow,
} from './alert-store.js';
import type { AlertsConfig } from './config.js';
import type { NotificationKind } from './messages.js';

export function isSilenced(alert: AlertRow, silences: SilenceRow[]): boolean {
  return silences.some((s) => silenceCovers(s, alert));
}

const silenceCovers = (s: SilenceRow, alert: AlertRow) => {
  const labels = alert.labels as Record<string, string>;
  return (
    (s.rule_id === null || s.rule_id === alert.rule_id) &&
    Object.entries(s.matchers as Record<string, string>).every(([key, value]) => labels[key] === value)
  );
};

/**
 * When L1 was paged, for counting the later levels (PagerDuty's way): when L1 was due —
 * its delay after the alert fired, so a server that was down or a clock that jumped
 * catches up on every missed level — or, for an alert a silence held back, when the last
 * such silence ended, so L2 gets its full delay after L1 is paged.
 */
function escalationStart(alert: AlertRow, firstAfterMs: number, silences: SilenceRow[]): number {
  let start = new Date(alert.fired_at).getTime() + firstAfterMs;
  for (const s of silences) {
    const ended = new Date(s.ends_at).getTime();
    if (ended > start && new Date(s.starts_at).getTime() <= start && silenceCovers(s, alert)) start = ended;
  }
  return start;
}

/** One message per channel of each contact of the given levels. */
export function messagesFor(
  config: AlertsConfig,
  alertId: string,
  kind: NotificationKind,
  levels: Array<{ level: number; contacts: string[] }>,
): OutboxMessage[] {
  return levels.flatMap(({ level, contacts }) =>
    contacts.flatMap((contact) =>
      (config.contacts[contact]?.channels ?? []).map((channel) => ({ alertId, kind, level, contact, channel })),
    ),
  );
}

/** The levels an alert has reached (for a resolution or a reminder: everyone who was told). */
export const levelsReached = (config: AlertsConfig, alert: AlertRow, atLeast = 0) =>
  config.escalation[alert.severity].filter((level) => level.level <= Math.max(atLeast, alert.escalation_level));

export async function escalate(db: Db, config: AlertsConfig, now: Date): Promise<{ notified: number; reminded: number }> {
  // In force now, and those that ended lately (they may have held an alert's L1 back).
  const recent = (await listSilences(db, now, 'all')).filter((s) => new Date(s.starts_at) <= now);
  const silences = recent.filter((s) => new Date(s.ends_at) > now);
  let notified = 0;
  let reminded = 0;
  for (const alert of await openAlerts(db)) {
    if (isSilenced(alert, silences)) continue;
    if (alert.status === 'firing') {
      const levels = config.escalation[alert.severity];
      const firstAfterMs = levels[0]?.afterMs ?? 0;
      const start = escalationStart(alert, firstAfterMs, recent);
      let current = alert.escalation_level;
      for (const level of levels) {
        const due = start + level.afterMs - firstAfterMs;
        if (level.level <= current || due > now.getTime()) continue;
        const from = current;
        const claimed = await db.kysely.transaction().execute(async (trx) => {
          if (!(await claimEscalationLevel(trx, alert.id, from, level.level, now))) return false;
          await enqueue(trx, messagesFor(config, alert.id, from === 0 ? 'firing' : 'escalation', [level]), now);
          return true;
        });
        if (!claimed) break;
        current = level.level;
        notified++;
      }
    } else if (alert.status === 'acknowledged' && alert.remind_at && new Date(alert.remind_at).getTime() <= now.getTime()) {
      const due = new Date(alert.remind_at);
      const claimed = await db.kysely.transaction().execute(async (trx) => {
        if (!(await claimReminder(trx, alert.id, due, new Date(now.getTime() + config.remindAfterMs)))) return false;
        await enqueue(trx, messagesFor(config, alert.id, 'reminder', levelsReached(config, alert, 1)), now);
        return true;
      });
      if (claimed) reminded++;
    }
  }
  return { notified, reminded };
}
