/**
 * `smartalk serve` as a process: SIGTERM stops accepting, lets the in-flight request
 * finish, closes the pools and exits 0.
 */

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBinaries } from './helpers/binaries.js';
import { spawnSmartalk } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/private-services.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';

let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.drop();
});

describe('graceful shutdown', () => {
  it('finishes the in-flight request after SIGTERM, then exits 0', async () => {
    database = await createTestDatabase();
    const port = await freePort();
    const child = spawnSmartalk(['serve', '--port', String(port), '--no-media'], {
      DATA_DIR: database.dataDir,
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
      OPS_TOKEN: 'shutdown-test-token-123456',
    });
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/api/v1/health/ready`)).status === 200, 60_000, 'server to start');

    // Start a request and hold its body open, so it is in flight when SIGTERM arrives.
    const body = JSON.stringify({ deviceId: 'shutdown-device-01' });
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        `${base}/api/v1/users`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 500);
      }, 200);
    });

    const answered = await response;
    expect(answered.status, answered.text).toBe(201);
    expect(JSON.parse(answered.text).token).toMatch(/^stk_/);
    expect(await exited).toBe(0);
    await expect(fetch(`${base}/api/v1/health/live`)).rejects.toThrow();
    expect(stdout).toContain('shutting down: draining in-flight requests');
    expect(stdout).toContain('shutdown complete');
    const log = await readFile(`${database.dataDir}/logs/application.log`, 'utf8');
    expect(log).toContain('shutdown complete');
    expect(log).not.toContain('shutdown-test-token-123456');
  });

  it('stops rendering media on SIGTERM: the running ffmpeg is killed and the process exits', async (context) => {
    requireBinaries(context, 'media rendered in the background at start-up', 'ffmpeg');
    const db = await createTestDatabase();
    const port = await freePort();
    const contentDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-shutdown-media-'));
    const child = spawnSmartalk(['serve', '--port', String(port)], {
      DATA_DIR: db.dataDir,
      CONTENT_DIR: contentDir,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
      OPS_TOKEN: 'shutdown-test-token-123456',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const renderers = () =>
        readdirSync('/proc')
          .filter((pid) => /^\d+$/.test(pid))
          .filter((pid) => {
            try {
              return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] === String(child.pid);
            } catch {
              return false;
            }
          });
      await waitFor(async () => renderers().length > 0, 60_000, 'ffmpeg to start rendering');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(renderers()).toEqual([]);
      // Half-written files are not left as if they were videos.
      const leftovers = (readdirSync(contentDir, { recursive: true }) as string[]).filter((name) => name.endsWith('.partial'));
      expect(leftovers).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await db.drop();
    }
  }, 120_000);
});
