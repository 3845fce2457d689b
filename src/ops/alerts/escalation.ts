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
  activeSilences,
  claimEscalationLevel,
  claimReminder,
  enqueue,
  type OutboxMessage,
  openAlerts,
  type SilenceRow,
} from './alert-store.js';
import type { AlertsConfig } from './config.js';
import type { NotificationKind } from './messages.js';

export function isSilenced(alert: AlertRow, silences: SilenceRow[]): boolean {
  const labels = alert.labels as Record<string, string>;
  return silences.some(
    (s) =>
      (s.rule_id === null || s.rule_id === alert.rule_id) &&
      Object.entries(s.matchers as Record<string, string>).every(([key, value]) => labels[key] === value),
  );
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
  const silences = await activeSilences(db, now);
  let notified = 0;
  let reminded = 0;
  for (const alert of await openAlerts(db)) {
    if (isSilenced(alert, silences)) continue;
    if (alert.status === 'firing') {
      const firedAt = new Date(alert.fired_at).getTime();
      let current = alert.escalation_level;
      for (const level of config.escalation[alert.severity]) {
        if (level.level <= current || firedAt + level.afterMs > now.getTime()) continue;
        const from = current;
        const claimed = await db.kysely.transaction().execute(async (trx) => {
          if (!(await claimEscalationLevel(trx, alert.id, from, level.level))) return false;
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
