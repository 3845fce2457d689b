/**
 * HTTP throughput of our content routes next to a bare Fastify route answering the same
 * bytes, in one run:
 *
 *   npm run bench -- http                                                  # embedded PGlite
 *   BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://… npm run bench -- http
 *
 * Each route's response is fetched from SmarTalk once and served by a bare Fastify
 * route (bench/bare-server.mjs), so the ratio is the cost of everything we add on top of
 * the framework. (Since session 13 SmarTalk answers these four routes, once warm, before
 * Fastify routes them: src/http/prepared-answers.ts. The ratio then compares that path,
 * with its headers, metrics and access-log tally, against a bare Fastify route.) wrk
 * drives both (one thread: it leaves the cores to the servers), in interleaved pairs
 * (this machine's speed moves ±40% within minutes), PAIRS times; the table gives medians
 * of the per-pair ratios of throughput and of server CPU per request. p99 is then
 * measured at half of our peak (autocannon's fixed rate, the server's own histogram),
 * and RSS is the server's maximum under load.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Child,
  freePort,
  load,
  machine,
  median,
  routeBuckets,
  serverNodeFlags,
  serverP99Ms,
  startChild,
  table,
  wrk,
} from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);

const ROUTES = [
  { path: '/api/v1/health', template: '/api/v1/health' },
  { path: '/api/v1/interests', template: '/api/v1/interests' },
  { path: '/api/v1/interests/travel/dramas', template: '/api/v1/interests/:interestId/dramas' },
  { path: '/api/v1/dramas/travel-01', template: '/api/v1/dramas/:dramaId' },
];

export async function runHttpBench(): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-'));
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const redisUrl = process.env.BENCH_REDIS_URL;
  const children: Child[] = [];
  try {
    const app = await startChild(
      process.execPath,
      [...serverNodeFlags(), path.join(ROOT, 'bin/smartalk.js'), 'serve', '--no-media'],
      {
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        LOG_FILE: path.join(dataDir, 'bench.log'),
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      },
      await freePort(),
      '/api/v1/health/ready',
      path.join(dataDir, 'server.out'),
    );
    children.push(app);
    const appPid = app.process.pid as number;

    // The same bytes, served bare.
    const bytes = await Promise.all(
      ROUTES.map(async (route) => {
        const response = await fetch(`${app.url}${route.path}`);
        return {
          path: route.path,
          contentType: response.headers.get('content-type') ?? 'application/json',
          body: await response.text(),
        };
      }),
    );
    const routesFile = path.join(dataDir, 'bare-routes.json');
    writeFileSync(routesFile, JSON.stringify(bytes));
    const bare = await startChild(
      process.execPath,
      [path.join(ROOT, 'bench/bare-server.mjs')],
      { BARE_ROUTES: routesFile },
      await freePort(),
      '/bare',
      path.join(dataDir, 'bare.out'),
    );
    children.push(bare);
    const barePid = bare.process.pid as number;

    // Warm up both servers on every route (JIT, caches, pools).
    for (const route of ROUTES) {
      await wrk(`${app.url}${route.path}`, { seconds: 2 });
      await wrk(`${bare.url}${route.path}`, { seconds: 2 });
    }

    const rows: Array<Array<string | number>> = [];
    for (const route of ROUTES) {
      const throughput: number[] = [];
      const cpu: number[] = [];
      const ours: number[] = [];
      const theirs: number[] = [];
      let maxRss = 0;
      let errors = 0;
      for (let pair = 0; pair < PAIRS; pair++) {
        // Alternate which goes first, so a drift in machine speed does not favour one side.
        const order = pair % 2 === 0 ? (['bare', 'ours'] as const) : (['ours', 'bare'] as const);
        const results: Record<string, Awaited<ReturnType<typeof wrk>>> = {};
        for (const side of order) {
          results[side] =
            side === 'bare'
              ? await wrk(`${bare.url}${route.path}`, { seconds: SECONDS, pid: barePid })
              : await wrk(`${app.url}${route.path}`, { seconds: SECONDS, pid: appPid });
        }
        const b = results.bare as Awaited<ReturnType<typeof wrk>>;
        const o = results.ours as Awaited<ReturnType<typeof wrk>>;
        throughput.push(o.requestsPerSecond / b.requestsPerSecond);
        if (o.cpuMicrosPerRequest && b.cpuMicrosPerRequest) cpu.push(b.cpuMicrosPerRequest / o.cpuMicrosPerRequest);
        ours.push(o.requestsPerSecond);
        theirs.push(b.requestsPerSecond);
        maxRss = Math.max(maxRss, o.maxRssMb ?? 0);
        errors += o.errors + b.errors;
      }
      // Latency at half our peak: a fixed request rate, read from the server's own histogram.
      const rate = Math.max(1, Math.floor(median(ours) / 2));
      const before = await routeBuckets(`${app.url}/metrics`, route.template);
      const half = await load(`${app.url}${route.path}`, { seconds: SECONDS, rate, connections: 16, pid: appPid });
      const p99 = serverP99Ms(before, await routeBuckets(`${app.url}/metrics`, route.template));
      maxRss = Math.max(maxRss, half.maxRssMb ?? 0);
      console.error(
        `  ${route.path}: ${median(ours).toFixed(0)} vs ${median(theirs).toFixed(0)} req/s, ratio ${median(throughput).toFixed(2)}`,
      );
      rows.push([
        `GET ${route.path}`,
        Math.round(median(ours)),
        Math.round(median(theirs)),
        median(throughput).toFixed(2),
        cpu.length ? median(cpu).toFixed(2) : '-',
        `${Math.min(...throughput).toFixed(2)}–${Math.max(...throughput).toFixed(2)}`,
        p99 === undefined ? '-' : `≤ ${p99}`,
        half.p99Ms,
        Math.round(maxRss),
        errors + half.errors + half.non2xx,
      ]);
    }
    const engine = databaseUrl ? 'PostgreSQL' : 'PGlite';
    return [
      `### HTTP (${engine}${redisUrl ? ' + Redis' : ', in-memory store'})`,
      '',
      `Machine: ${machine()}. wrk, one thread, 32 connections, ${SECONDS} s per run; each route against a bare Fastify`,
      `route answering the same bytes, ${PAIRS} interleaved pairs, medians of the per-pair ratios. p99 at half of our`,
      "peak rate (autocannon's fixed rate, 16 connections): the server's own histogram (bucket edge) and the client's.",
      '',
      table(
        [
          'route',
          'ours req/s',
          'same bytes, bare req/s',
          'throughput ratio',
          'CPU ratio (bare ÷ ours per request)',
          'throughput ratio range',
          'server p99 ms at half peak',
          'client p99 ms at half peak',
          'RSS MiB under load',
          'errors',
        ],
        rows,
      ),
    ].join('\n');
  } finally {
    for (const child of children) await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
