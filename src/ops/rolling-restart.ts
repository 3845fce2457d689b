/**
 * Restarting every instance in turn without failing a request: one instance at a time,
 * each only once the one before is back, ready and given time for the balancer to see it.
 *
 * What makes one restart safe is the instance's own drain (DRAIN_SECONDS, cli/commands/
 * serve.ts): on SIGTERM its readiness fails and its connections close after their
 * response, then it stops accepting and finishes what is in flight — and nginx's
 * `proxy_next_upstream` (deploy/nginx/smartalk.conf) sends what it refuses elsewhere.
 * What this adds is the order: never two instances down at once, never the next one
 * while the last is not serving, and stop at the first that does not come back.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Lang } from '../config.js';
import { say } from '../i18n.js';

/** One instance of the template unit: its port names it (smartalk-backend@3001). */
export interface Instance {
  host: string;
  port: number;
}

export interface RollingRestartOptions {
  instances: Instance[];
  /** Restart one instance; resolves when the supervisor has been told (systemctl restart returns). */
  restart: (instance: Instance) => Promise<void>;
  /** How long an instance may take to be back and ready. */
  timeoutMs: number;
  /** Wait after an instance is ready, before the next: the balancer's passive health clears (fail_timeout). */
  settleMs: number;
  /** Restart even when an instance is not ready before starting (capacity is already down). */
  force?: boolean;
  lang: Lang;
  onStep?: (line: string) => void;
  fetchImpl?: typeof fetch;
  pollMs?: number;
}

export interface InstanceOutcome {
  instance: string;
  outcome: 'restarted' | 'failed' | 'not-attempted';
  /** Seconds from the restart command to the new process answering ready. */
  seconds?: number;
  detail?: string;
}

export interface RollingRestartResult {
  ok: boolean;
  instances: InstanceOutcome[];
}

const label = (instance: Instance) => `${instance.host}:${instance.port}`;

/** Parse "3000,3001" or "10.0.0.5:3000,10.0.0.6:3000" (a bare port is on `defaultHost`). */
export function parseInstances(list: string, defaultHost: string): Instance[] {
  const instances = list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) throw new Error(`not an instance (port, or host:port): "${entry}"`);
      return { host: match[1] ?? defaultHost, port };
    });
  if (instances.length === 0) throw new Error('no instances given');
  const seen = new Set(instances.map(label));
  if (seen.size !== instances.length) throw new Error('an instance is listed twice');
  return instances;
}

/** A restart command with {host} and {port} filled in, run by the shell (systemctl by default). */
export function commandRestart(template: string): (instance: Instance) => Promise<void> {
  const run = promisify(execFile);
  return async (instance) => {
    const command = template.replaceAll('{port}', String(instance.port)).replaceAll('{host}', instance.host);
    await run('sh', ['-c', command], { timeout: 120_000 });
  };
}

interface Probe {
  ready: boolean;
  /** The process's uptime from the deep health report, when it answered. */
  uptimeSeconds?: number;
  detail: string;
}

async function probe(instance: Instance, fetchImpl: typeof fetch): Promise<Probe> {
  const base = `http://${label(instance)}/api/v1/health`;
  try {
    const ready = await fetchImpl(`${base}/ready`, { signal: AbortSignal.timeout(3_000) });
    const readyBody = (await ready.json().catch(() => ({}))) as { reason?: string };
    const health = await fetchImpl(base, { signal: AbortSignal.timeout(5_000) });
    const report = (await health.json().catch(() => ({}))) as { uptimeSeconds?: number };
    return {
      ready: ready.status === 200,
      ...(typeof report.uptimeSeconds === 'number' ? { uptimeSeconds: report.uptimeSeconds } : {}),
      detail: ready.status === 200 ? 'ready' : `not ready (${readyBody.reason ?? ready.status})`,
    };
  } catch (error) {
    return { ready: false, detail: (error as Error).cause ? String((error as Error).cause) : (error as Error).message };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function rollingRestart(options: RollingRestartOptions): Promise<RollingRestartResult> {
  const { instances, lang } = options;
  const fetchImpl = options.fetchImpl ?? fetch;
  const step = options.onStep ?? (() => {});
  const pollMs = options.pollMs ?? 500;
  const outcomes: InstanceOutcome[] = instances.map((instance) => ({ instance: label(instance), outcome: 'not-attempted' }));

  // Restarting one while another is already down would leave fewer serving than planned.
  const before = await Promise.all(instances.map((instance) => probe(instance, fetchImpl)));
  const down = instances.filter((_, i) => !before[i]?.ready);
  if (down.length > 0 && !options.force) {
    for (const [i, instance] of instances.entries()) {
      if (!before[i]?.ready) (outcomes[i] as InstanceOutcome).detail = before[i]?.detail;
      step(`${label(instance)}: ${before[i]?.detail}`);
    }
    step(
      say(lang, {
        en: `not starting: ${down.map(label).join(', ')} not ready (--force to restart anyway)`,
        zh: `未开始：${down.map(label).join('、')} 未就绪（加 --force 仍然重启）`,
      }),
    );
    return { ok: false, instances: outcomes };
  }

  for (const [i, instance] of instances.entries()) {
    const outcome = outcomes[i] as InstanceOutcome;
    const started = Date.now();
    step(say(lang, { en: `${label(instance)}: restarting`, zh: `${label(instance)}：正在重启` }));
    try {
      await options.restart(instance);
    } catch (error) {
      outcome.outcome = 'failed';
      outcome.detail = `restart command failed: ${(error as Error).message.split('\n')[0]}`;
      step(`${label(instance)}: ${outcome.detail}`);
      return { ok: false, instances: outcomes };
    }
    // Back means ready *and* a new process: the old one answers ready until its drain begins.
    let last: Probe = { ready: false, detail: 'no answer yet' };
    for (;;) {
      last = await probe(instance, fetchImpl);
      const elapsedSeconds = (Date.now() - started) / 1000;
      if (last.ready && last.uptimeSeconds !== undefined && last.uptimeSeconds <= Math.ceil(elapsedSeconds)) break;
      if (Date.now() - started > options.timeoutMs) {
        outcome.outcome = 'failed';
        outcome.detail = `not back within ${Math.round(options.timeoutMs / 1000)} s: ${last.detail}`;
        step(`${label(instance)}: ${outcome.detail}`);
        return { ok: false, instances: outcomes };
      }
      await sleep(pollMs);
    }
    outcome.outcome = 'restarted';
    outcome.seconds = Math.round((Date.now() - started) / 100) / 10;
    step(
      say(lang, {
        en: `${label(instance)}: back and ready in ${outcome.seconds} s`,
        zh: `${label(instance)}：${outcome.seconds} 秒后恢复就绪`,
      }),
    );
    if (i < instances.length - 1) await sleep(options.settleMs);
  }
  return { ok: true, instances: outcomes };
}
