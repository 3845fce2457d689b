/**
 * The ops console's cost and speed, in one run:
 *
 * 1. learner API throughput (wrk on /api/v1/interests and a drama) with no console open,
 *    then with 20 consoles refreshing every 5 s (the page's call, with a session cookie), in interleaved pairs; the aim is a drop under 5%;
 * 2. the page's first meaningful paint in Chromium: from navigation to every panel
 *    filled with data (signed in), median of 5;
 * 3. the page's weight: its HTML, script, styles and uPlot, gzip-compressed (aim < 300 KB).
 *
 *   npm run bench -- console          (embedded PGlite; BENCH_DATABASE_URL for PostgreSQL)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { type Child, freePort, machine, median, serverNodeFlags, startChild, table, wrk } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);
const CONSOLES = 20;
/** What the page calls on each refresh. */
const PAGE_CALLS = ['/api/v1/ops/console'];

export async function runConsoleBench(): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-console-'));
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const token = 'bench-console-ops-token-0123456789';
  const children: Child[] = [];
  try {
    const app = await startChild(
      process.execPath,
      [...serverNodeFlags(), path.join(ROOT, 'bin/smartalk.js'), 'serve', '--no-media'],
      {
        DATA_DIR: dataDir,
        OPS_TOKEN: token,
        LOG_FILE: path.join(dataDir, 'bench.log'),
        RATE_LIMIT_USERS_PER_MINUTE: '100000',
        RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '100000',
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      },
      await freePort(),
      '/api/v1/health/ready',
      path.join(dataDir, 'server.out'),
    );
    children.push(app);
    console.error('  simulating a population …');
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'bin/smartalk.js'), 'simulate', '--users', '300', '--days', '7', '--seed', '3', '--url', app.url],
      {
        env: { ...process.env, OPS_TOKEN: token, DATA_DIR: dataDir },
        stdio: 'ignore',
      },
    );
    const signIn = await fetch(`${app.url}/ops/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;

    // 20 consoles, each refreshing every 5 s, staggered as real browsers would be.
    const consoles = (stop: () => boolean) =>
      Promise.all(
        Array.from({ length: CONSOLES }, async (_, i) => {
          await new Promise((resolve) => setTimeout(resolve, (i * 5_000) / CONSOLES));
          let refreshes = 0;
          while (!stop()) {
            await Promise.all(
              PAGE_CALLS.map(async (call) => (await fetch(`${app.url}${call}`, { headers: { cookie } })).arrayBuffer()),
            );
            refreshes++;
            await new Promise((resolve) => setTimeout(resolve, 5_000));
          }
          return refreshes;
        }),
      );

    const rows: Array<Array<string | number>> = [];
    for (const route of ['/api/v1/interests', '/api/v1/dramas/travel-01']) {
      const ratios: number[] = [];
      let alone = 0;
      let withConsoles = 0;
      let refreshed = 0;
      for (let pair = 0; pair < PAIRS; pair++) {
        const a = await wrk(`${app.url}${route}`, { seconds: SECONDS });
        let stopped = false;
        const running = consoles(() => stopped);
        const b = await wrk(`${app.url}${route}`, { seconds: SECONDS });
        stopped = true;
        refreshed += (await running).reduce((sum, n) => sum + n, 0);
        ratios.push(b.requestsPerSecond / a.requestsPerSecond);
        alone += a.requestsPerSecond / PAIRS;
        withConsoles += b.requestsPerSecond / PAIRS;
      }
      const ratio = median(ratios);
      rows.push([
        route,
        Math.round(alone),
        Math.round(withConsoles),
        `${((1 - ratio) * 100).toFixed(1)}%`,
        Math.round(refreshed / PAIRS),
      ]);
    }

    // First meaningful paint: every panel filled with data.
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox'],
    });
    const paints: number[] = [];
    try {
      const context = await browser.newContext();
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: app.url, httpOnly: true, sameSite: 'Strict' }]);
      for (let i = 0; i < 6; i++) {
        const page = await context.newPage();
        const started = Date.now();
        await page.goto(`${app.url}/ops`);
        await page.waitForSelector('#dashboard[data-ready=true]');
        if (i > 0) paints.push(Date.now() - started); // the first warms the server's caches
        await page.close();
      }
    } finally {
      await browser.close();
    }

    // The page's weight, compressed.
    const assets = path.join(ROOT, 'dist/ops/console/assets');
    const files = readdirSync(assets);
    const raw = files.reduce((sum, file) => sum + readFileSync(path.join(assets, file)).length, 0);
    const gzipped = files.reduce((sum, file) => sum + gzipSync(readFileSync(path.join(assets, file))).length, 0);

    return [
      `### Ops console (${databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}, 300 simulated learners)`,
      '',
      `Machine: ${machine()}. wrk (1 thread, 32 connections, ${SECONDS} s) without and with ${CONSOLES} consoles refreshing every 5 s, ${PAIRS} interleaved pairs; the drop is the median of the pairs' ratios.`,
      '',
      table(['learner route', 'req/s alone', `req/s with ${CONSOLES} consoles`, 'drop', 'console refreshes per run'], rows),
      '',
      `First meaningful paint of /ops (signed in, every panel with data), Chromium: median ${median(paints)} ms of ${paints.length} (${paints.join(', ')} ms).`,
      `Page weight: ${files.length} files, ${(raw / 1024).toFixed(0)} KB, ${(gzipped / 1024).toFixed(0)} KB gzip-compressed.`,
    ].join('\n');
  } finally {
    for (const child of children) await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
