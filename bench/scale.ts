/**
 * Scale-out on this machine, in one run:
 *
 *   BENCH_DATABASE_URL=postgres://… [BENCH_REDIS_URL=redis://…] npm run bench -- scale
 *
 * The same routes (a cached content view, and an analytics batch of 50 events) driven by
 * wrk (one thread) three ways, interleaved PAIRS times: straight at one instance; through
 * nginx (rendered from deploy/nginx) to that one instance — nginx's own cost; and through
 * nginx to two instances. CPU per request is read from /proc for every SmarTalk process
 * and nginx worker, so the figures hold on a machine whose speed drifts. Two cores bound
 * everything here: two instances plus nginx plus wrk share them, so the second instance
 * shows what the balancing costs and whether a second process helps on the same cores —
 * not what a second machine would add (docs/scaling.md does that arithmetic).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderNginxConfig, startNginx } from '../test/helpers/nginx.js';
import {
  type Child,
  cpuSeconds,
  dropDatabase,
  freePort,
  freshDatabase,
  machine,
  median,
  runWrk,
  serverNodeFlags,
  startChild,
  table,
} from './lib.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3);

interface Run {
  requestsPerSecond: number;
  p99Ms: number | undefined;
  errors: number;
  smartalkCpuUs: number;
  nginxCpuUs: number;
  /** Every local `postgres` process (backends come and go: one that appears counts from zero). */
  postgresCpuUs: number;
}

/** CPU seconds of each local PostgreSQL process now (empty when PostgreSQL runs elsewhere). */
function postgresCpu(): Map<number, number> {
  let pids: number[] = [];
  try {
    pids = execFileSync('pgrep', ['-x', 'postgres'], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    // none here
  }
  return new Map(pids.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
}

/** wrk with a Lua script when the request has a body; CPU of `smartalk` and `nginx` pids around it. */
async function drive(url: string, script: string | undefined, pids: { smartalk: number[]; nginx: number[] }): Promise<Run> {
  const cpu = (list: number[]) => list.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  const before = { smartalk: cpu(pids.smartalk), nginx: cpu(pids.nginx), postgres: postgresCpu() };
  const { total, requestsPerSecond, p99Ms, errors } = await runWrk(url, { seconds: SECONDS, script });
  return {
    requestsPerSecond,
    p99Ms,
    errors,
    smartalkCpuUs: total > 0 ? ((cpu(pids.smartalk) - before.smartalk) * 1e6) / total : 0,
    nginxCpuUs: total > 0 ? ((cpu(pids.nginx) - before.nginx) * 1e6) / total : 0,
    postgresCpuUs:
      total > 0
        ? ([...postgresCpu()].reduce((sum, [pid, after]) => sum + after - (before.postgres.get(pid) ?? 0), 0) * 1e6) / total
        : 0,
  };
}

/**
 * A wrk script posting a batch of 50 new events per request (fresh random ids made in
 * Lua, so every event is stored: the whole ingestion path, not the duplicate answer).
 */
function batchScript(dir: string): string {
  const file = path.join(dir, 'batch.lua');
  writeFileSync(
    file,
    `math.randomseed(os.time())
local stamp = "${new Date().toISOString()}"
local function uuid()
  return (("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"):gsub("[xy]", function(c)
    return string.format("%x", c == "x" and math.random(0, 15) or math.random(8, 11))
  end))
end
request = function()
  local events = {}
  for i = 1, 50 do
    events[i] = '{"id":"' .. uuid() .. '","name":"app_launched","timestamp":"' .. stamp .. '","deviceId":"bench-scale-' .. i .. '"}'
  end
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"events":[' .. table.concat(events, ",") .. ']}')
end
`,
  );
  return file;
}

/** nginx rendered from deploy/nginx in front of `upstreams`, with its worker's pid (for CPU). */
async function startEdge(dir: string, upstreams: number[]): Promise<{ url: string; pids: number[]; stop(): void }> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  renderNginxConfig(dir, upstreams, port);
  const nginx = await startNginx(dir, port);
  const workers = execFileSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number);
  return { url: nginx.url, pids: workers, stop: nginx.stop };
}

export async function runScaleBench(): Promise<string> {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  if (!databaseUrl)
    return '### Scale\n\nNeeds BENCH_DATABASE_URL: several instances share one PostgreSQL (PGlite is one process).';
  const redisUrl = process.env.BENCH_REDIS_URL;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-scale-'));
  const database = await freshDatabase(databaseUrl, 'smartalk_bench_scale');
  const children: Child[] = [];
  const edges: Array<{ stop(): void }> = [];
  try {
    const env = {
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: database,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      LOG_LEVEL: 'info',
      OPS_TOKEN: 'bench-scale-token-0123456789',
      CHECK_SCHEDULE: 'off',
      RATE_LIMIT_EVENT_BATCHES_PER_MINUTE: '100000000',
    };
    for (const name of ['a', 'b']) {
      const port = await freePort();
      const child = await startChild(
        process.execPath,
        [...serverNodeFlags(), path.join(ROOT, 'bin/smartalk.js'), 'serve', '--no-media'],
        { ...env, LOG_FILE: path.join(dir, `${name}.log`) },
        port,
        '/api/v1/health/ready',
        path.join(dir, `${name}.out`),
      );
      children.push(child);
    }
    const [a, b] = children as [Child, Child];
    const port = (child: Child) => Number(new URL(child.url).port);
    const one = await startEdge(path.join(dir, 'edge-1'), [port(a)]);
    edges.push(one);
    const two = await startEdge(path.join(dir, 'edge-2'), [port(a), port(b)]);
    edges.push(two);
    const pid = (child: Child) => child.process.pid as number;
    const variants = [
      { name: 'direct to one instance', url: a.url, pids: { smartalk: [pid(a)], nginx: [] as number[] } },
      { name: 'nginx → one instance', url: one.url, pids: { smartalk: [pid(a)], nginx: one.pids } },
      { name: 'nginx → two instances', url: two.url, pids: { smartalk: [pid(a), pid(b)], nginx: two.pids } },
    ];
    const routes = [
      { name: 'GET /api/v1/interests/travel/dramas', path: '/api/v1/interests/travel/dramas', script: undefined },
      { name: 'POST /api/v1/analytics/events (50 events)', path: '/api/v1/analytics/events', script: batchScript(dir) },
    ];
    const rows: Array<Array<string | number>> = [];
    for (const route of routes) {
      for (const variant of variants) await drive(`${variant.url}${route.path}`, route.script, variant.pids); // warm-up
      const runs = new Map<string, Run[]>(variants.map((variant) => [variant.name, []]));
      for (let pair = 0; pair < PAIRS; pair++) {
        // Rotate the order, so a drift in machine speed favours no variant.
        const order = variants.map((_, i) => variants[(i + pair) % variants.length] as (typeof variants)[number]);
        for (const variant of order)
          runs.get(variant.name)?.push(await drive(`${variant.url}${route.path}`, route.script, variant.pids));
      }
      const direct = median((runs.get(variants[0]?.name as string) ?? []).map((run) => run.requestsPerSecond));
      for (const variant of variants) {
        const list = runs.get(variant.name) ?? [];
        const rps = median(list.map((run) => run.requestsPerSecond));
        console.error(`  ${route.name}, ${variant.name}: ${rps.toFixed(0)} req/s`);
        rows.push([
          route.name,
          variant.name,
          Math.round(rps),
          (rps / direct).toFixed(2),
          median(list.map((run) => run.smartalkCpuUs)).toFixed(0),
          median(list.map((run) => run.nginxCpuUs)).toFixed(0),
          median(list.map((run) => run.postgresCpuUs)).toFixed(0),
          median(list.map((run) => run.p99Ms ?? 0)).toFixed(1),
          list.reduce((sum, run) => sum + run.errors, 0),
        ]);
      }
    }
    return [
      `### Scale-out (PostgreSQL${redisUrl ? ' + Redis' : ''}, nginx from deploy/nginx)`,
      '',
      `Machine: ${machine()}. wrk, one thread, 32 connections, ${SECONDS} s per run, ${PAIRS} rounds in rotating order;`,
      'medians. CPU per request from /proc: every SmarTalk process, and the nginx worker. Each batch is 50 new events',
      '(anonymous, fresh ids): the whole ingestion path. PostgreSQL CPU: every local postgres process, per request.',
      '',
      table(
        [
          'route',
          'path',
          'req/s',
          'vs direct',
          'SmarTalk CPU µs/req',
          'nginx CPU µs/req',
          'PostgreSQL CPU µs/req',
          'p99 ms',
          'errors',
        ],
        rows,
      ),
    ].join('\n');
  } finally {
    for (const edge of edges) edge.stop();
    for (const child of children) await child.stop();
    await dropDatabase(databaseUrl, 'smartalk_bench_scale');
    rmSync(dir, { recursive: true, force: true });
  }
}
