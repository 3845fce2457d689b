/**
 * The events table's upkeep, daily: partitions for the coming months (a server that runs
 * for months without a restart would otherwise run out of them and fill the default
 * partition), and the months past EVENTS_RETENTION_DAYS dropped (db/partitions.ts).
 */
import type { Db } from '../../db/database.js';
import { applyEventRetention, ensureEventPartitions } from '../../db/partitions.js';
import type { ScheduledJob } from './scheduler.js';

export const EVENT_PARTITIONS_JOB = 'events.partitions';

export function eventPartitionsJob(deps: { db: Db; retentionDays: number; now?: () => Date }): ScheduledJob {
  return {
    id: EVENT_PARTITIONS_JOB,
    // After the 03:00 backup: a dropped month is in last night's backup.
    cron: '30 3 * * *',
    description: {
      en: 'Event partitions: create the coming months, drop the months past EVENTS_RETENTION_DAYS',
      zh: '事件分区：创建未来月份分区，删除超过 EVENTS_RETENTION_DAYS 的月份',
    },
    run: async () => {
      const now = deps.now?.() ?? new Date();
      const ahead = await ensureEventPartitions(deps.db, now);
      const retention = await applyEventRetention(deps.db, now, deps.retentionDays, { apply: true });
      return {
        status: 'success',
        details: {
          created: ahead.created,
          dropped: retention.expired.map((range) => range.name),
          idsRemoved: retention.idsRemoved,
          cutoff: retention.cutoff.toISOString(),
        },
      };
    },
  };
}
