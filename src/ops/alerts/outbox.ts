/**
 * Sending what the outbox holds: each due message is claimed first (so one sender sends
 * it), rendered and sent through its channel; a failed send is retried with backoff and
 * recorded, and a channel that fails or hangs never holds the others up.
 */
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import { alertsByIds, claimDue, markFailed, markSent, toView } from './alert-store.js';
import type { Channel } from './channels.js';
import { type AlertView, type MessageOptions, renderMessage } from './messages.js';

/** Attempts before a notification is given up as failed, and the waits between them. */
export const MAX_ATTEMPTS = 5;
const BACKOFF_MS = [0, 10_000, 30_000, 90_000, 270_000];
const CLAIM_MS = 60_000;

export interface OutboxDeps {
  db: Db;
  channels: Map<string, Channel>;
  messages: MessageOptions;
  logger: Logger;
}

export async function deliver(deps: OutboxDeps, now: Date): Promise<{ sent: number; failed: number; retrying: number }> {
  const { db, channels, logger } = deps;
  const claimed = await claimDue(db, now, CLAIM_MS);
  const result = { sent: 0, failed: 0, retrying: 0 };
  const alertIds = [...new Set(claimed.map((row) => row.alert_id).filter((id): id is string => id !== null))];
  const alerts = new Map((await alertsByIds(db, alertIds)).map((row) => [row.id, toView(row)]));
  await Promise.all(
    claimed.map(async (row) => {
      const channel = channels.get(row.channel);
      const alert = row.alert_id ? alerts.get(row.alert_id) : undefined;
      try {
        if (!channel) throw new Error(`no channel named ${row.channel}`);
        await channel.send(renderMessage(alert ?? testAlert(now), row.kind, row.level, deps.messages), alert ?? null);
        await markSent(db, row.id, now);
        result.sent++;
      } catch (error) {
        const message = (error as Error).message.slice(0, 500);
        const giveUp = row.attempts >= MAX_ATTEMPTS;
        await markFailed(db, row.id, message, giveUp, new Date(now.getTime() + (BACKOFF_MS[row.attempts] ?? 300_000)));
        logger.warn(
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
    pagedAt: now,
    escalationLevel: 0,
    acknowledgedBy: null,
    diagnosis: null,
    resolvedAt: null,
  };
}
