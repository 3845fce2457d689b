/**
 * Deep health: database, cache, disk, memory and event-loop lag, each with a
 * status, latency and detail. Results are cached briefly so a load balancer and
 * Prometheus polling every few seconds cost one probe, not one per poll.
 */
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql } from 'kysely';
import { Cached } from '../../cached.js';
import type { Db } from '../../db/database.js';
import type { ReplicaStatus } from '../../db/replica.js';
import type { Store } from '../../store/open-store.js';
import { type ThresholdOverrides, thresholdOf } from '../alerts/catalog.js';

export type CheckStatus = 'ok' | 'degraded' | 'down';

export interface CheckResult {
  status: CheckStatus;
  latencyMs?: number;
  detail?: string;
  /** The detail in Chinese, for the console and the checks in zh-CN (the error text of a failure stays as it came). */
  detailZh?: string;
  [key: string]: unknown;
}

export interface HealthReport {
  status: CheckStatus;
  version: string;
  uptimeSeconds: number;
  checkedAt: string;
  checks: {
    database: CheckResult;
    cache: CheckResult;
    disk: CheckResult;
    memory: CheckResult;
    cpu: CheckResult;
    eventLoop: CheckResult;
    /** Only with DATABASE_REPLICA_URL: where reports read, and how far behind it is. */
    replica?: CheckResult;
  };
}

/**
 * When a check says degraded. Disk, memory and CPU are the warning alerts' thresholds
 * (LowDiskSpace, HighMemory, HighCpu, with ALERTS_CONFIG's overrides), passed in by the
 * wiring so health and alerts never disagree; the rest are health's own.
 */
export interface HealthThresholds {
  diskFreeRatioMin: number;
  memoryUsedRatioMax: number;
  cpuUsedRatioMax: number;
}

/** Health's thresholds from the alert catalog, ALERTS_CONFIG's overrides applied. */
export const healthThresholds = (overrides: ThresholdOverrides = {}): HealthThresholds => ({
  diskFreeRatioMin: thresholdOf('LowDiskSpace', 'ratio', overrides),
  memoryUsedRatioMax: thresholdOf('HighMemory', 'ratio', overrides),
  cpuUsedRatioMax: thresholdOf('HighCpu', 'ratio', overrides),
});

const EVENT_LOOP_P99_MS_MAX = 200;
const DATABASE_TIMEOUT_MS = 1_500;

const LOOP_RESOLUTION_MS = 20;

export interface HealthDeps {
  thresholds: HealthThresholds;
  db: Db;
  store: Store;
  dataDir: string;
  version: string;
  startedAt?: number;
  cacheMs?: number;
  /** The read replica's state (db/replica.ts), when one is configured. */
  replica?: () => ReplicaStatus;
  now?: () => number;
}

/** Used and total system memory from /proc/meminfo (MemAvailable counts reclaimable cache as free). */
export async function systemMemory(): Promise<{ totalBytes: number; availableBytes: number }> {
  try {
    const text = await readFile('/proc/meminfo', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) * 1024;
    const totalBytes = field('MemTotal');
    const availableBytes = field('MemAvailable');
    if (Number.isFinite(totalBytes) && Number.isFinite(availableBytes)) return { totalBytes, availableBytes };
  } catch {
    // not Linux: fall through
  }
  return { totalBytes: os.totalmem(), availableBytes: os.freemem() };
}

/** CPU time counters of the whole machine, from /proc/stat (busy and total jiffies). */
async function cpuTimes(): Promise<{ busy: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined; // not Linux
  }
}

/** Free and total bytes of the file system holding `dir`. */
export async function diskSpace(dir: string): Promise<{ totalBytes: number; freeBytes: number }> {
  const stats = await statfs(dir);
  return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize };
}

export class HealthService {
  readonly #deps: Required<Omit<HealthDeps, 'startedAt' | 'replica'>> & Pick<HealthDeps, 'replica'> & { startedAt: number };
  readonly #loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  #cpuBefore: { busy: number; total: number } | undefined;
  /** Never served stale: a health answer is about now. */
  readonly #report: Cached<HealthReport>;

  constructor(deps: HealthDeps) {
    this.#deps = { cacheMs: 1_000, now: Date.now, startedAt: Date.now(), ...deps };
    this.#loop.enable();
    this.#report = new Cached(() => this.#probe(), { maxAgeMs: this.#deps.cacheMs, stale: 'never', now: this.#deps.now });
  }

  /** The cached report when fresh; otherwise one probe shared by concurrent callers. */
  check(): Promise<HealthReport> {
    return this.#report.get();
  }

  /** The cached report while fresh, without a promise; else undefined. */
  current(): HealthReport | undefined {
    return this.#report.peek();
  }

  /** Forget the cached report (after a known state change, and in tests). */
  invalidate(): void {
    this.#report.invalidate();
  }

  async #probe(): Promise<HealthReport> {
    const [database, cache, disk, memory] = await Promise.all([this.#database(), this.#cache(), this.#disk(), this.#memory()]);
    const replica = this.#replica();
    const checks = {
      database,
      cache,
      disk,
      memory,
      cpu: await this.#cpu(),
      eventLoop: this.#eventLoop(),
      ...(replica ? { replica } : {}),
    };
    const statuses = Object.values(checks).map((check) => check.status);
    const status: CheckStatus = database.status === 'down' ? 'down' : statuses.some((s) => s !== 'ok') ? 'degraded' : 'ok';
    const report: HealthReport = {
      status,
      version: this.#deps.version,
      uptimeSeconds: Math.round((this.#deps.now() - this.#deps.startedAt) / 1000),
      checkedAt: new Date(this.#deps.now()).toISOString(),
      checks,
    };
    return report;
  }

  async #database(): Promise<CheckResult> {
    const { db } = this.#deps;
    try {
      const latencyMs = round(await db.ping(DATABASE_TIMEOUT_MS));
      const pool = db.pool;
      const connections = await sql<{ ratio: number }>`
        SELECT count(*)::float8 / current_setting('max_connections')::float8 AS ratio FROM pg_stat_activity`.execute(db.kysely);
      return {
        status: 'ok',
        latencyMs,
        engine: db.engine,
        connectionsUsedRatio: round(connections.rows[0]?.ratio ?? 0, 4),
        ...(pool ? { pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } } : {}),
      };
    } catch (error) {
      return { status: 'down', engine: db.engine, detail: firstLine(error) };
    }
  }

  /** A replica down or behind degrades nothing but the reports' load: they read the primary meanwhile. */
  #replica(): CheckResult | undefined {
    const status = this.#deps.replica?.();
    if (!status || status.state === 'none') return undefined;
    return {
      status: status.state === 'ok' || status.state === 'unknown' ? 'ok' : 'degraded',
      state: status.state,
      lagSeconds: status.lagSeconds,
      detail: status.detail,
    };
  }

  async #cache(): Promise<CheckResult> {
    const { store } = this.#deps;
    if (store.kind === 'memory') return { status: 'ok', engine: 'memory', ...said('in-process store', '进程内存储') };
    try {
      return { status: 'ok', engine: 'redis', latencyMs: round(await store.ping()) };
    } catch (error) {
      return {
        status: 'degraded',
        engine: 'redis',
        ...said(
          `Redis unavailable (${firstLine(error)}); serving from per-instance memory`,
          `Redis 不可用（${firstLine(error)}），暂由各实例的内存提供`,
        ),
      };
    }
  }

  async #disk(): Promise<CheckResult> {
    try {
      const { totalBytes, freeBytes } = await diskSpace(this.#deps.dataDir);
      const freeRatio = totalBytes > 0 ? freeBytes / totalBytes : 0;
      return {
        status: freeRatio < this.#deps.thresholds.diskFreeRatioMin ? 'degraded' : 'ok',
        freeRatio: round(freeRatio, 4),
        freeBytes,
        totalBytes,
        ...said(
          `${(freeRatio * 100).toFixed(1)}% free on the data directory's file system`,
          `数据目录所在文件系统剩余 ${(freeRatio * 100).toFixed(1)}%`,
        ),
      };
    } catch (error) {
      return {
        status: 'degraded',
        ...said(`cannot read disk space: ${firstLine(error)}`, `无法读取磁盘空间：${firstLine(error)}`),
      };
    }
  }

  async #memory(): Promise<CheckResult> {
    const { totalBytes, availableBytes } = await systemMemory();
    const usedRatio = totalBytes > 0 ? 1 - availableBytes / totalBytes : 0;
    const usage = process.memoryUsage();
    return {
      status: usedRatio > this.#deps.thresholds.memoryUsedRatioMax ? 'degraded' : 'ok',
      usedRatio: round(usedRatio, 4),
      rssBytes: usage.rss,
      heapUsedBytes: usage.heapUsed,
      ...said(
        `${(usedRatio * 100).toFixed(1)}% of system memory in use; this process ${(usage.rss / 2 ** 20).toFixed(0)} MiB`,
        `系统内存已用 ${(usedRatio * 100).toFixed(1)}%；本进程 ${(usage.rss / 2 ** 20).toFixed(0)} MiB`,
      ),
    };
  }

  /** Machine CPU use since the previous probe (since boot on the first). */
  async #cpu(): Promise<CheckResult> {
    const now = await cpuTimes();
    if (!now) {
      const load = os.loadavg()[0] ?? 0;
      return {
        status: 'ok',
        ...said(`load average ${load.toFixed(2)}`, `平均负载 ${load.toFixed(2)}`),
        usedRatio: Math.min(1, load / os.cpus().length),
      };
    }
    const before = this.#cpuBefore ?? { busy: 0, total: 0 };
    this.#cpuBefore = now;
    const usedRatio = now.total > before.total ? (now.busy - before.busy) / (now.total - before.total) : 0;
    return {
      status: usedRatio > this.#deps.thresholds.cpuUsedRatioMax ? 'degraded' : 'ok',
      usedRatio: round(usedRatio, 4),
      ...said(
        `${(usedRatio * 100).toFixed(1)}% of ${os.cpus().length} CPUs busy`,
        `${os.cpus().length} 个 CPU 忙碌 ${(usedRatio * 100).toFixed(1)}%`,
      ),
    };
  }

  #eventLoop(): CheckResult {
    // The histogram records the time between timer ticks; lag is what exceeds the tick.
    const lag = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
    const p99Ms = this.#loop.count > 0 ? lag(this.#loop.percentile(99)) : 0;
    const meanMs = this.#loop.count > 0 ? lag(this.#loop.mean) : 0;
    this.#loop.reset();
    return {
      status: p99Ms > EVENT_LOOP_P99_MS_MAX ? 'degraded' : 'ok',
      p99Ms: round(p99Ms),
      meanMs: round(meanMs),
    };
  }

  close(): void {
    this.#loop.disable();
  }
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
/** A detail people read, in both languages. */
const said = (detail: string, detailZh: string) => ({ detail, detailZh });
const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
