/**
 * HTTP throughput and latency of our routes next to a bare Fastify route, in one run.
 *
 *   npm run bench -- http                      # embedded PGlite
 *   BENCH_DATABASE_URL=postgres://… npm run bench -- http   # real PostgreSQL (the target)
 *
 * For each route: peak requests/s (50 connections), then p99 latency and server RSS at
 * half of that route's peak rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, freePort, type LoadResult, load, machine, routeBuckets, serverP99Ms, startChild, table } from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

export async function runHttpBench(): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-'));
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const redisUrl = process.env.BENCH_REDIS_URL;
  const children: Child[] = [];
  try {
    const bare = await startChild(
      process.execPath,
      [path.join(ROOT, 'bench/bare-server.mjs')],
      {},
      await freePort(),
      '/bare',
      path.join(dataDir, 'bare.out'),
    );
    children.push(bare);
    const app = await startChild(
      process.execPath,
      [path.join(ROOT, 'bin/smartalk.js'), 'serve', '--no-media'],
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

    const targets: Array<{ name: string; url: string; pid?: number; route?: string }> = [
      { name: 'bare Fastify route (ceiling)', url: `${bare.url}/bare`, pid: bare.process.pid as number },
      { name: 'GET /api/v1/health', url: `${app.url}/api/v1/health`, pid: appPid, route: '/api/v1/health' },
      {
        name: 'GET /api/v1/interests/travel/dramas',
        url: `${app.url}/api/v1/interests/travel/dramas`,
        pid: appPid,
        route: '/api/v1/interests/:interestId/dramas',
      },
      {
        name: 'GET /api/v1/dramas/travel-01',
        url: `${app.url}/api/v1/dramas/travel-01`,
        pid: appPid,
        route: '/api/v1/dramas/:dramaId',
      },
    ];
    // Warm up every route (JIT, catalog cache, pools) before measuring.
    for (const target of targets) await load(target.url, { seconds: 2, connections: 10 });

    const peak = new Map<string, LoadResult>();
    for (const target of targets) {
      const result = await load(target.url, { seconds: SECONDS, pid: target.pid });
      peak.set(target.name, result);
      console.error(`  peak ${target.name}: ${result.requestsPerSecond.toFixed(0)} req/s`);
    }
    const half = new Map<string, LoadResult>();
    const serverP99 = new Map<string, number | undefined>();
    for (const target of targets) {
      const rate = Math.max(1, Math.floor((peak.get(target.name)?.requestsPerSecond ?? 2) / 2));
      const before = target.route ? await routeBuckets(`${app.url}/metrics`, target.route) : [];
      half.set(target.name, await load(target.url, { seconds: SECONDS, rate, connections: 20, pid: target.pid }));
      if (target.route) serverP99.set(target.name, serverP99Ms(before, await routeBuckets(`${app.url}/metrics`, target.route)));
    }

    const ceiling = peak.get(targets[0]?.name as string)?.requestsPerSecond ?? 1;
    const ceilingCpu = peak.get(targets[0]?.name as string)?.cpuMicrosPerRequest ?? 1;
    const rows = targets.map((target) => {
      const p = peak.get(target.name) as LoadResult;
      const h = half.get(target.name) as LoadResult;
      return [
        target.name,
        p.requestsPerSecond,
        `${((p.requestsPerSecond / ceiling) * 100).toFixed(0)}%`,
        p.cpuMicrosPerRequest ?? '-',
        p.cpuMicrosPerRequest ? `${((ceilingCpu / p.cpuMicrosPerRequest) * 100).toFixed(0)}%` : '-',
        p.p99Ms,
        h.p99Ms,
        serverP99.has(target.name) ? `≤ ${serverP99.get(target.name)}` : '-',
        h.maxRssMb ?? '-',
        p.errors + p.non2xx + h.errors + h.non2xx,
      ];
    });
    const engine = databaseUrl ? 'PostgreSQL' : 'PGlite';
    return [
      `### HTTP (${engine}${redisUrl ? ' + Redis' : ', in-memory store'})`,
      '',
      `Machine: ${machine()}. autocannon in the same process tree, ${SECONDS} s per run, 50 connections at peak,`,
      "20 connections at half of each route's own peak rate. RSS is the server's maximum during the run.",
      'The load generator shares the two cores with the server, so req/s understates the server; server CPU per request',
      "(from /proc) is the steadier comparison. Server-side p99 comes from the server's own latency histogram (bucket edge).",
      '',
      table(
        [
          'route',
          'peak req/s',
          'vs bare',
          'server CPU µs/req',
          'bare CPU ÷ ours',
          'p99 ms at peak',
          'p99 ms at half peak',
          'server-side p99 ms at half peak',
          'RSS MiB at half peak',
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
