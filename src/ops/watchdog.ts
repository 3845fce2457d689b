/**
 * The watchdog: a server cannot page about its own death, so `smartalk ops watch`
 * probes it from outside (another host, a systemd timer or cron) and pages through
 * the same channels and escalation levels as the server would — ServiceDown when
 * /api/v1/health does not answer, DatabaseDown when it answers 503 with the
 * database down. Its memory between runs is a small state file.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type AlertRule, ruleById } from './alerts/catalog.js';
import { type Channel, createChannel } from './alerts/channels.js';
import { type AlertsConfig, durationMs } from './alerts/config.js';
import { type AlertView, type MessageOptions, type NotificationKind, renderMessage } from './alerts/messages.js';

export interface WatchState {
  [ruleId: string]: { since: string; notifiedLevel: number } | undefined;
}

export interface ProbeResult {
  ok: boolean;
  /** The rule this failure is, when not ok. */
  ruleId?: 'ServiceDown' | 'DatabaseDown';
  detail: string;
}

export async function probe(url: string, timeoutMs = 5_000): Promise<ProbeResult> {
  try {
    const response = await fetch(new URL('/api/v1/health', url), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => undefined)) as
      | { status?: string; checks?: { database?: { status?: string; detail?: string } } }
      | undefined;
    if (response.status === 200) return { ok: true, detail: `health ${body?.status ?? 'ok'}` };
    if (response.status === 503 && body?.checks?.database?.status === 'down') {
      return { ok: false, ruleId: 'DatabaseDown', detail: `database down: ${body.checks.database.detail ?? ''}`.trim() };
    }
    return { ok: false, ruleId: 'ServiceDown', detail: `health answered ${response.status}` };
  } catch (error) {
    return {
      ok: false,
      ruleId: 'ServiceDown',
      detail: `no answer: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
    };
  }
}

export async function readState(file: string): Promise<WatchState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as WatchState;
  } catch {
    return {};
  }
}

async function writeState(file: string, state: WatchState): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(state));
  await rename(`${file}.tmp`, file);
}

export interface WatchDeps {
  url: string;
  config: AlertsConfig;
  stateFile: string;
  logger: Logger;
  messages: MessageOptions;
  now?: () => Date;
  channels?: Map<string, Channel>;
}

export interface WatchOutcome {
  probe: ProbeResult;
  sent: Array<{ ruleId: string; kind: NotificationKind; level: number; channel: string; ok: boolean; error?: string }>;
}

function view(rule: AlertRule, since: Date, url: string, detail: string, resolvedAt: Date | null): AlertView {
  return {
    id: `watch-${rule.id}`,
    fingerprint: `watch:${rule.id}:${url}`,
    source: 'watchdog',
    ruleId: rule.id,
    severity: rule.severity,
    status: resolvedAt ? 'resolved' : 'firing',
    summary: rule.summary.en,
    summaryZh: rule.summary.zh,
    description: `${url}: ${detail}`,
    descriptionZh: `${url}：${detail}`,
    value: rule.id === 'ServiceDown' ? 'up == 0' : 'smartalk_db_up == 0',
    threshold: rule.threshold(rule.thresholds),
    runbook: rule.runbook,
    labels: { instance: new URL(url).host, source: 'watchdog' },
    startedAt: since,
    // It fires once the rule's `for` has passed since the first failed probe, and pages L1 then.
    firedAt: new Date(since.getTime() + durationMs(rule.for)),
    pagedAt: new Date(since.getTime() + durationMs(rule.for)),
    escalationLevel: 0,
    acknowledgedBy: null,
    resolvedAt,
    diagnosis: null,
  };
}

/** One watch round: probe, then page, escalate or resolve by the stored state. */
export async function watchOnce(deps: WatchDeps): Promise<WatchOutcome> {
  const now = deps.now?.() ?? new Date();
  const channels =
    deps.channels ??
    new Map(Object.entries(deps.config.channels).map(([name, config]) => [name, createChannel(name, config, deps.logger)]));
  const state = await readState(deps.stateFile);
  const result = await probe(deps.url);
  const sent: WatchOutcome['sent'] = [];

  const send = async (
    rule: AlertRule,
    alert: AlertView,
    kind: NotificationKind,
    levels: Array<{ level: number; contacts: string[] }>,
  ) => {
    for (const { level, contacts } of levels) {
      for (const contact of contacts) {
        for (const channelName of deps.config.contacts[contact]?.channels ?? []) {
          const channel = channels.get(channelName);
          let ok = false;
          let error: string | undefined;
          // A few quick retries: the watchdog has no outbox to come back to.
          for (let attempt = 0; attempt < 3 && !ok; attempt++) {
            if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, attempt * 1000));
            try {
              if (!channel) throw new Error(`no channel named ${channelName}`);
              await channel.send(renderMessage(alert, kind, level, { ...deps.messages, vendors: deps.config.vendors }), alert);
              ok = true;
            } catch (e) {
              error = (e as Error).message;
            }
          }
          sent.push({ ruleId: rule.id, kind, level, channel: channelName, ok, ...(error && !ok ? { error } : {}) });
        }
      }
    }
  };

  for (const ruleId of ['ServiceDown', 'DatabaseDown'] as const) {
    const rule = ruleById(ruleId) as AlertRule;
    const current = state[ruleId];
    const failing = !result.ok && result.ruleId === ruleId;
    if (failing) {
      const since = current ? new Date(current.since) : now;
      const entry = current ?? { since: since.toISOString(), notifiedLevel: 0 };
      state[ruleId] = entry;
      // `for` counts from the first failed probe; each level then waits its own time.
      const firingFor = now.getTime() - since.getTime();
      if (firingFor < durationMs(rule.for)) continue;
      const firedAt = since.getTime() + durationMs(rule.for);
      const due = deps.config.escalation[rule.severity].filter(
        (l) => l.level > entry.notifiedLevel && firedAt + l.afterMs <= now.getTime(),
      );
      if (due.length === 0) continue;
      const alert = view(rule, since, deps.url, result.detail, null);
      for (const level of due) {
        await send(rule, alert, entry.notifiedLevel === 0 ? 'firing' : 'escalation', [level]);
        entry.notifiedLevel = level.level;
      }
    } else if (current) {
      if (current.notifiedLevel > 0) {
        const levels = deps.config.escalation[rule.severity].filter((l) => l.level <= current.notifiedLevel);
        await send(rule, view(rule, new Date(current.since), deps.url, result.detail, now), 'resolved', levels);
      }
      state[ruleId] = undefined;
    }
  }
  await writeState(deps.stateFile, state);
  return { probe: result, sent };
}
