/** Shared bench plumbing: child servers, autocannon runs, RSS sampling, timings, result tables. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';

// One way to find a free port, shared with the tests that start private services.
export { freePort } from '../test/helpers/private-services.js';

const SERVER_UNIT = new URL('../deploy/systemd/smartalk-backend.service', import.meta.url);

/**
 * The Node.js flags production starts the server with, read from its systemd unit (the one
 * place a deployment sets them), so benchmarks measure the process an operator runs.
 */
export function serverNodeFlags(unit = readFileSync(SERVER_UNIT, 'utf8')): string[] {
  const execStart = unit.match(/^ExecStart=(.*)$/m)?.[1];
  if (!execStart) throw new Error('no ExecStart in the server unit');
  const words = execStart.trim().split(/\s+/);
  return words.slice(
    1,
    words.findIndex((word) => word.endsWith('/smartalk.js')),
  );
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  maxRssMb: number | undefined;
  /** Server CPU time (user + system) per request, in µs: robust to the load generator sharing the cores. */
  cpuMicrosPerRequest: number | undefined;
}

/** Run `fn` once to warm up, then `runs` times: the durations in ms, sorted. */
export async function sortedTimings(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/** The q-quantile of sorted values (nearest rank below; the median of an odd count). */
export const quantile = (sorted: number[], q: number): number => sorted[Math.floor(sorted.length * q)] as number;

export interface Child {
  process: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Start a server process listening on `port` and wait until `readyPath` answers 200.
 * Its output goes to a file, not a pipe: the load generator must not pay for
 * reading the server's logs.
 */
export async function startChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
  outputFile: string,
): Promise<Child> {
  const out = openSync(outputFile, 'a');
  const child = spawn(command, args, { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', out, out] });
  closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`child exited with ${child.exitCode}; see ${outputFile}`);
    if (Date.now() - started > 120_000) throw new Error(`child did not start; see ${outputFile}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    process: child,
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** utime + stime of a process, in seconds (Linux /proc, 100 ticks a second). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Watch a server process while a load runs: its CPU seconds (from /proc) and the largest
 * RSS seen, sampled every 100 ms. `stop()` ends the sampling and says what it saw.
 */
function watchProcess(pid: number | undefined): { stop(): { cpuSeconds: number | undefined; maxRssMb: number | undefined } } {
  let maxRssMb: number | undefined;
  const sampler =
    pid === undefined
      ? undefined
      : setInterval(() => {
          const rss = rssMb(pid);
          if (rss !== undefined) maxRssMb = Math.max(maxRssMb ?? 0, rss);
        }, 100);
  const before = pid === undefined ? undefined : cpuSeconds(pid);
  return {
    stop: () => {
      if (sampler) clearInterval(sampler);
      const after = pid === undefined ? undefined : cpuSeconds(pid);
      return { cpuSeconds: before !== undefined && after !== undefined ? after - before : undefined, maxRssMb };
    },
  };
}

/** Drive `url` with autocannon; with `rate`, hold that many requests per second overall. */
export async function load(
  url: string,
  options: { connections?: number; seconds?: number; rate?: number; pid?: number; headers?: Record<string, string> } = {},
): Promise<LoadResult> {
  const watch = watchProcess(options.pid);
  const result = await autocannon({
    url,
    connections: options.connections ?? 50,
    duration: options.seconds ?? 10,
    ...(options.rate ? { overallRate: options.rate } : {}),
    headers: options.headers ?? {},
  });
  const { cpuSeconds: cpu, maxRssMb } = watch.stop();
  const served = result.requests.total;
  return {
    cpuMicrosPerRequest: cpu !== undefined && served > 0 ? (cpu * 1e6) / served : undefined,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    maxRssMb,
  };
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? format(cell) : cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => String(row[i]).length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => String(cell).padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map((row) => line(row as string[])),
  ].join('\n');
}

function format(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** Cumulative latency buckets of one route from a /metrics scrape: [[le, count], …]. */
export async function routeBuckets(metricsUrl: string, route: string): Promise<Array<[number, number]>> {
  const text = await (await fetch(metricsUrl)).text();
  const buckets: Array<[number, number]> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_request_duration_seconds_bucket{') || !line.includes(`route="${route}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count]);
  }
  return buckets;
}

/** Upper bound (bucket edge, ms) of the server-side p99 between two scrapes. */
export function serverP99Ms(before: Array<[number, number]>, after: Array<[number, number]>): number | undefined {
  const delta = after.map(([le, count], i) => [le, count - (before[i]?.[1] ?? 0)] as const);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const edge = delta.find(([, count]) => count >= 0.99 * total)?.[0];
  return edge === undefined ? undefined : edge * 1000;
}

export interface WrkResult {
  requestsPerSecond: number;
  p99Ms: number | undefined;
  /** Server CPU per request (µs), from /proc. */
  cpuMicrosPerRequest: number | undefined;
  errors: number;
  maxRssMb: number | undefined;
}

/**
 * Drive `url` with wrk (one thread: a C load generator that leaves the cores to the
 * server, where autocannon shared them and mismeasured ratios).
 */
export async function wrk(
  url: string,
  options: { connections?: number; seconds?: number; pid?: number } = {},
): Promise<WrkResult> {
  const watch = watchProcess(options.pid);
  const run = await runWrk(url, options);
  const { cpuSeconds: cpu, maxRssMb } = watch.stop();
  return {
    requestsPerSecond: run.requestsPerSecond,
    p99Ms: run.p99Ms,
    cpuMicrosPerRequest: cpu !== undefined && run.total > 0 ? (cpu * 1e6) / run.total : undefined,
    errors: run.errors,
    maxRssMb,
  };
}

/** One wrk run (one thread; `script`: a Lua file that makes the requests), as wrk reports it. */
export async function runWrk(
  url: string,
  options: { connections?: number; seconds?: number; script?: string | undefined } = {},
): Promise<{ total: number; requestsPerSecond: number; p99Ms: number | undefined; errors: number }> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      'wrk',
      [
        '-t1',
        `-c${options.connections ?? 32}`,
        `-d${options.seconds ?? 10}s`,
        '--latency',
        ...(options.script ? ['-s', options.script] : []),
        url,
      ],
      { encoding: 'utf8' },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(output);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    total: Number(/(\d+) requests in/.exec(output)?.[1] ?? 0),
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
    p99Ms: p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : undefined,
    errors: Number(errors?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((n, v) => n + Number(v), 0) : 0),
  };
}

export const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
};

/** A new empty database `name` on the server of `adminUrl` (dropped first if left over); its URL. */
export async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return withDatabase(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
};
