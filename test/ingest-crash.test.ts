/**
 * A server killed with SIGKILL in the middle of a long ingestion loses no
 * acknowledged event, and when the client retries everything, nothing is counted
 * twice — events, or the derived daily counters.
 */

import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSmartalk } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/private-services.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';

let database: TestDatabase | undefined;
let child: ChildProcess | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  await database?.drop();
});

const BATCHES = 120;
const PER_BATCH = 50;

async function startServer(port: number): Promise<ChildProcess> {
  const db = database as TestDatabase;
  const proc = spawnSmartalk(['serve', '--port', String(port), '--no-media'], {
    DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    OPS_TOKEN: 'crash-test-ops-token-12345',
    RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
  });
  let output = '';
  proc.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  proc.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  try {
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`, { signal: AbortSignal.timeout(5_000) })).status === 200,
      60_000,
      'server',
    );
  } catch (error) {
    console.log(output);
    throw error;
  }
  return proc;
}

describe('SIGKILL during ingestion', () => {
  it('keeps every acknowledged event and counts none twice on retry', { timeout: 300_000 }, async () => {
    const t0 = Date.now();
    const mark = (what: string) => console.log(`[crash test] ${what} at +${Date.now() - t0} ms`);
    database = await createTestDatabase();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = await startServer(port);
    const user = (await (
      await fetch(`${base}/api/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"deviceId":"crash-device-01"}',
      })
    ).json()) as { userId: string; token: string };

    const start = Date.now() - 3 * 3_600_000;
    const batches = Array.from({ length: BATCHES }, (_, b) => ({
      events: Array.from({ length: PER_BATCH }, (_, i) => ({
        id: randomUUID(),
        name: i % 2 ? 'keyword_attempt' : 'srs_card_reviewed',
        timestamp: new Date(start + (b * PER_BATCH + i) * 1000).toISOString(),
        properties: { correct: i % 4 === 1, mode: 'normal' },
      })),
    }));
    const send = (body: unknown) =>
      fetch(`${base}/api/v1/analytics/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: JSON.stringify(body),
      });

    // Four clients stream batches; the server is killed once 30 are acknowledged.
    const acknowledged = new Set<number>();
    let next = 0;
    let killed = false;
    const client = async () => {
      while (next < BATCHES && !killed) {
        const b = next++;
        try {
          const res = await send(batches[b]);
          if (res.status === 200 && ((await res.json()) as { accepted: number }).accepted === PER_BATCH) acknowledged.add(b);
        } catch {
          return; // connection reset by the kill
        }
        if (acknowledged.size >= 30 && !killed) {
          killed = true;
          child?.kill('SIGKILL');
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    mark('killed');
    // A killed child has a signalCode and no exitCode; 'exit' may already have fired.
    await new Promise((resolve) =>
      child?.exitCode !== null || child?.signalCode !== null ? resolve(null) : child?.once('exit', resolve),
    );
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(30);
    expect(acknowledged.size).toBeLessThan(BATCHES);

    child = await startServer(port);
    mark('restarted');
    // The client does not know what landed before the kill: it retries everything.
    let accepted = 0;
    let duplicates = 0;
    for (const batch of batches) {
      const res = await send(batch);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { accepted: number; duplicates: number };
      accepted += body.accepted;
      duplicates += body.duplicates;
    }
    mark('retried');
    expect(duplicates).toBeGreaterThanOrEqual(acknowledged.size * PER_BATCH);
    expect(accepted + duplicates).toBe(BATCHES * PER_BATCH);

    const report: any = await (
      await fetch(`${base}/api/v1/ops/metrics-report?since=${new Date(start - 86_400_000).toISOString()}`, {
        headers: { authorization: 'Bearer crash-test-ops-token-12345' },
      })
    ).json();
    // The daily counters saw each event exactly once.
    const all = batches.flatMap((batch) => batch.events);
    expect(report.learning.attempts).toBe(all.filter((e) => e.name === 'keyword_attempt').length);
    expect(report.learning.correctAttempts).toBe(all.filter((e) => e.name === 'keyword_attempt' && e.properties.correct).length);

    child.kill('SIGTERM');
    await new Promise((resolve) => child?.once('exit', resolve));
    child = undefined;
    // Every acknowledged event is there, and each event once.
    const { openDb } = await import('../src/db/database.js');
    const db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
    try {
      const stored = await db.kysely.selectFrom('analytics_events').select(['id']).where('user_id', '=', user.userId).execute();
      const ids = new Set(stored.map((row) => row.id));
      expect(stored.length).toBe(BATCHES * PER_BATCH);
      expect(ids.size).toBe(BATCHES * PER_BATCH);
      for (const b of acknowledged) for (const e of batches[b]?.events ?? []) expect(ids.has(e.id)).toBe(true);
    } finally {
      await db.close();
    }
  });
});
