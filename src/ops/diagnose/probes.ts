/** What the diagnoses look at from outside: a TCP port, the health endpoint, the log's recent errors. */
import net from 'node:net';
import { errorGroups, type LogGroup } from '../checks/log-checks.js';
import type { HealthReport } from '../health/health.js';

export type TcpProbe = { ok: true; ms: number } | { ok: false; code: string; message: string };

/** Can a TCP connection to host:port be opened within `timeoutMs`? */
export function probeTcp(host: string, port: number, timeoutMs = 2_000): Promise<TcpProbe> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect({ host, port });
    const done = (result: TcpProbe) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'ETIMEDOUT', message: `no answer within ${timeoutMs} ms` }));
    socket.once('connect', () => done({ ok: true, ms: performance.now() - started }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, code: error.code ?? 'ERROR', message: error.message }),
    );
  });
}

export type HealthProbe = { ok: true; status: number; report: HealthReport; ms: number } | { ok: false; error: string };

/** GET /api/v1/health: the deep health answer (200 or 503 both carry the report). */
export async function probeHealth(url: string, timeoutMs = 4_000): Promise<HealthProbe> {
  const started = performance.now();
  try {
    const response = await fetch(new URL('/api/v1/health', url), { signal: AbortSignal.timeout(timeoutMs) });
    const report = (await response.json()) as HealthReport;
    return { ok: true, status: response.status, report, ms: performance.now() - started };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: cause?.code ? `${cause.code} ${cause.message ?? ''}`.trim() : (error as Error).message };
  }
}

/** Error and fatal lines of LOG_FILE (and its last rotation) in the last `windowMs`, grouped, optionally filtered. */
export async function recentErrors(
  logFile: string,
  now: Date,
  windowMs: number,
  keep: (group: LogGroup) => boolean = () => true,
): Promise<LogGroup[]> {
  const { groups } = await errorGroups(
    [`${logFile}.1`, logFile],
    new Date(now.getTime() - windowMs),
    new Date(now.getTime() + 1),
  );
  return groups.filter(keep);
}
