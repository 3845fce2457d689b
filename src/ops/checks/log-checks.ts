/**
 * 查看过夜错误日志和告警: error lines of LOG_FILE since last evening's check, grouped by
 * what they say (a fingerprint that ignores ids and numbers), and the alerts that fired
 * in the same hours.
 */
import { stat } from 'node:fs/promises';
import { Cron } from 'croner';
import { readTail } from '../../files.js';
import type { CheckDefinition } from './check.js';
import type { ChecksDeps } from './deps.js';

/** How much of a log's end is read: a night of a busy server, not months of history. */
const TAIL_BYTES = 64 * 1024 * 1024;

/** The evening slot before `now` (18:00 in `tz`): where "overnight" begins. */
export function lastEvening(now: Date, tz: string): Date {
  const [previous] = new Cron('0 18 * * *', { timezone: tz, paused: true }).previousRuns(1, now);
  return previous ?? new Date(now.getTime() - 15 * 3_600_000);
}

export interface LogGroup {
  fingerprint: string;
  level: string;
  count: number;
  first: string;
  last: string;
  /** One line of the group as written, cut to 300 characters. */
  example: string;
}

/**
 * What an error says, without what changes between occurrences: ids, numbers, hex and
 * quoted values become placeholders, so a thousand timeouts are one group.
 */
export function fingerprintOf(message: string): string {
  return message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b/gi, '<hex>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\d+(\.\d+)?/g, '#')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

const LEVELS = new Set(['error', 'fatal']);

/** Error and fatal lines written in [since, until), grouped by fingerprint, most frequent first. */
export async function errorGroups(files: string[], since: Date, until: Date): Promise<{ lines: number; groups: LogGroup[] }> {
  const groups = new Map<string, LogGroup>();
  let lines = 0;
  for (const file of files) {
    // A file that is not there (no rotation yet) has no lines.
    const text = await readTail(file, TAIL_BYTES).catch(() => undefined);
    if (text === undefined) continue;
    for (const line of text.split('\n')) {
      // Cheap filter before parsing: only error and fatal lines are parsed.
      if (!line.includes('"level":"error"') && !line.includes('"level":"fatal"')) continue;
      let entry: { level?: string; time?: string; msg?: string; err?: { message?: string }; route?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (!entry.level || !LEVELS.has(entry.level) || !entry.time) continue;
      const at = Date.parse(entry.time);
      if (Number.isNaN(at) || at < since.getTime() || at >= until.getTime()) continue;
      lines++;
      const text = [entry.msg, entry.route, entry.err?.message].filter(Boolean).join(': ');
      const fingerprint = `${entry.level} ${fingerprintOf(text)}`;
      const group = groups.get(fingerprint);
      if (group) {
        group.count++;
        if (entry.time < group.first) group.first = entry.time;
        if (entry.time > group.last) group.last = entry.time;
      } else {
        groups.set(fingerprint, {
          fingerprint,
          level: entry.level,
          count: 1,
          first: entry.time,
          last: entry.time,
          example: text.slice(0, 300),
        });
      }
    }
  }
  return { lines, groups: [...groups.values()].sort((a, b) => b.count - a.count) };
}

const fileExists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

export const logsOvernight: CheckDefinition<ChecksDeps> = {
  id: 'logs.overnight',
  slot: 'morning',
  severity: 'warning',
  title: { en: 'Overnight error log and alerts', zh: '查看过夜错误日志和告警' },
  action: {
    en: 'Read the largest group first (`grep` its message in LOG_FILE); open an issue for any new error; make sure every alert that fired was acknowledged and resolved.',
    zh: '先看数量最多的一组（在 LOG_FILE 中 grep 该消息）；新出现的错误需建单跟进；确认每条告警都已确认并解决。',
  },
  run: async (deps, context) => {
    const { logFile, tz } = deps.config;
    if (!(await fileExists(logFile))) {
      return { status: 'skip', summary: context.t({ en: `no log file at ${logFile}`, zh: `日志文件不存在：${logFile}` }) };
    }
    const since = lastEvening(context.now, tz);
    // logrotate's previous file holds the start of the night when it rotated at midnight.
    const { lines, groups } = await errorGroups([`${logFile}.1`, logFile], since, context.now);
    const alerts = await deps.db.kysely
      .selectFrom('alerts')
      .select(['rule_id', 'severity', 'status', 'fired_at', 'summary', 'summary_zh'])
      .where('fired_at', '>=', since)
      .where('fired_at', '<', context.now)
      .orderBy('fired_at')
      .execute();
    const open = alerts.filter((alert) => alert.status !== 'resolved');
    const fatal = groups.some((group) => group.level === 'fatal');
    const critical = open.some((alert) => alert.severity === 'critical');
    const status = fatal || critical ? 'fail' : lines > 0 || alerts.length > 0 ? 'warn' : 'pass';
    const evidence = [
      context.t({
        en: `since ${since.toISOString()}: ${lines} error lines in ${groups.length} groups`,
        zh: `自 ${since.toISOString()} 起：${lines} 条错误日志，${groups.length} 组`,
      }),
      ...groups.slice(0, 10).map((group) => `×${group.count} [${group.level}] ${group.example} (${group.first} … ${group.last})`),
      ...alerts.map(
        (alert) =>
          `${context.t({ en: 'alert', zh: '告警' })} ${alert.rule_id} (${alert.severity}, ${alert.status}) ${new Date(alert.fired_at).toISOString()}: ${context.t({ en: alert.summary, zh: alert.summary_zh ?? alert.summary })}`,
      ),
    ];
    return {
      status,
      summary:
        status === 'pass'
          ? context.t({ en: 'a quiet night: no errors, no alerts', zh: '夜间平稳：无错误、无告警' })
          : context.t({
              en: `${lines} errors in ${groups.length} groups; ${alerts.length} alerts fired, ${open.length} still open`,
              zh: `${lines} 条错误（${groups.length} 组）；触发 ${alerts.length} 条告警，${open.length} 条未解决`,
            }),
      evidence,
      data: {
        since: since.toISOString(),
        errorLines: lines,
        groups: groups.slice(0, 20),
        alertsFired: alerts.length,
        alertsOpen: open.length,
      },
    };
  },
};
