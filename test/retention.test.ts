/**
 * Events past EVENTS_RETENTION_DAYS leave a month at a time: the daily job drops whole
 * partitions (no DELETE of events), and the metrics reports — which read rollups — say
 * the same for old and recent windows before and after.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNNEL } from '../src/analytics/definitions.js';
import { EventWriter } from '../src/analytics/event-writer.js';
import { ingestEvents } from '../src/analytics/ingest.js';
import { buildMetricsReport } from '../src/analytics/report.js';
import { ensureEventPartitions, eventPartitions, monthlyPartitions } from '../src/db/partitions.js';
import { runChecks } from '../src/ops/checks/runner.js';
import { eventPartitionsJob } from '../src/ops/schedule/event-partitions-job.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const DAY = 86_400_000;

describe('event retention', () => {
  it('drops the months past retention as whole partitions, and the reports do not change', async () => {
    const { db, config } = server.runtime;
    const tz = config.tz;
    const now = new Date();
    const [expiredMonth] = monthlyPartitions(now, 15, 0);
    if (!expiredMonth) throw new Error('no month 15 months back');
    await ensureEventPartitions(db, now, { monthsBack: 15, monthsAhead: 0 });
    expect((await eventPartitions(db)).map((range) => range.name)).toContain(expiredMonth.name);

    // A learner's whole funnel in the expired month and one two days ago, each ingested
    // as it would have been then.
    const writer = new EventWriter({ db, tz });
    const journey = async (start: Date, device: string) => {
      const events = FUNNEL.map((step, i) => ({
        id: randomUUID(),
        name: step.event,
        timestamp: new Date(start.getTime() + i * 60_000).toISOString(),
        deviceId: device,
        platform: 'ios',
        appVersion: '1.0.0',
      }));
      const result = await ingestEvents(writer, events, { kind: 'ops' }, { now: new Date(start.getTime() + DAY) });
      expect(result.rejected).toEqual([]);
      return events.map((event) => event.id);
    };
    const oldStart = new Date(expiredMonth.from.getTime() + 10 * DAY);
    const oldIds = await journey(oldStart, 'retention-old-device');
    await journey(new Date(now.getTime() - 2 * DAY), 'retention-new-device');
    // Their idempotency keys as received then.
    await sql`UPDATE analytics_event_ids SET received_at = ${oldStart} WHERE id = ANY(${oldIds}::uuid[])`.execute(db.kysely);

    const reportDeps = { db, presence: server.runtime.presence, tz };
    const oldWindow = { since: expiredMonth.from, until: expiredMonth.to, now };
    const recentWindow = { since: new Date(now.getTime() - 7 * DAY), until: now, now };
    const before = {
      old: await buildMetricsReport(reportDeps, oldWindow),
      recent: await buildMetricsReport(reportDeps, recentWindow),
    };
    expect(before.old.funnel[0]?.users).toBe(1);

    // The Monday check sees the month waiting.
    const pending = await runChecks(server.runtime.checks, ['logs.cleanup'], { lang: 'en', now: () => now });
    expect(pending.results[0]?.status).toBe('warn');
    expect(pending.results[0]?.evidence.join('\n')).toContain(`${expiredMonth.name}: past retention, not dropped yet`);

    const run = await eventPartitionsJob({ db, retentionDays: 400, now: () => now }).run({} as never);
    expect(run.status).toBe('success');
    expect(run.details?.dropped).toContain(expiredMonth.name);
    expect(run.details?.idsRemoved).toBe(oldIds.length);

    const partitions = (await eventPartitions(db)).map((range) => range.name);
    expect(partitions).not.toContain(expiredMonth.name);
    // Every month within 400 days is still there.
    const cutoff = now.getTime() - 400 * DAY;
    for (const range of monthlyPartitions(now, 12, 0)) {
      if (range.to.getTime() > cutoff) expect(partitions).toContain(range.name);
    }
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM analytics_events WHERE "timestamp" >= ${expiredMonth.from} AND "timestamp" < ${expiredMonth.to}`.execute(
      db.kysely,
    );
    expect(rows[0]?.n).toBe(0);

    expect(await buildMetricsReport(reportDeps, oldWindow)).toEqual(before.old);
    expect(await buildMetricsReport(reportDeps, recentWindow)).toEqual(before.recent);

    const done = await runChecks(server.runtime.checks, ['logs.cleanup'], { lang: 'en', now: () => now });
    expect(done.results[0]?.evidence.join('\n')).not.toContain('past retention, not dropped yet');
    expect(done.results[0]?.evidence.join('\n')).toMatch(/events older than 400 days .* leave a month at a time/);
  });
});
