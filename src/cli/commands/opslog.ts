/**
 * `smartalk opslog add|list`: the ops log (运维日志) from the terminal. Through the
 * running server when there is one, else against the database configured here.
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { localTime } from '../../format.js';
import { say } from '../../i18n.js';
import type { OpsLogEntry, OpsLogKind } from '../../ops/opslog/opslog.js';
import { operatorName } from '../context.js';
import { printJson, tableMaker } from '../output.js';
import { onServerOrHere, readReport } from '../report-source.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function parseSince(value: string): string {
  // "24h", "7d" or an ISO time.
  const relative = /^(\d+)([hd])$/.exec(value);
  if (relative) {
    const ms = Number(relative[1]) * (relative[2] === 'h' ? 3_600_000 : 86_400_000);
    return new Date(Date.now() - ms).toISOString();
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new InvalidArgumentError('use 24h, 7d or an ISO time such as 2026-12-01T09:00:00+08:00');
  return new Date(at).toISOString();
}

export function opslogCommand(): Command {
  const opslog = new Command('opslog').description('The ops log (运维日志): what the platform and the team did');
  opslog
    .command('add')
    .description('Add an entry (a decision, a hand-over, a customer contact)')
    .argument('<text>', 'what happened')
    .option('--tag <tag>', 'file it under a tag (repeatable)', collect)
    .option('--author <name>', 'who writes it (default: your OS user name)')
    .option('--url <url>', 'the server to write to (default: the one running from this DATA_DIR, else here)')
    .option('--json', 'print the entry as JSON')
    .action(async (text: string, flags: { tag?: string[]; author?: string; url?: string; json?: boolean }) => {
      const config = loadConfig();
      const body = { text, author: flags.author ?? operatorName(), tags: flags.tag ?? [] };
      const entry = await onServerOrHere(
        config,
        flags.url,
        (call) => call<OpsLogEntry>('/api/v1/ops/log', { method: 'POST', body }),
        async ({ db }) => {
          const { addOpsLogEntry } = await import('../../ops/opslog/opslog.js');
          return addOpsLogEntry(db.kysely, { kind: 'note', actor: body.author, summary: text, tags: body.tags });
        },
      );
      if (flags.json) return printJson(entry);
      console.log(
        say(config.lang, {
          en: `entry ${entry.id} added at ${localTime(entry.at, config.tz)}`,
          zh: `已添加记录 ${entry.id}（${localTime(entry.at, config.tz)}）`,
        }),
      );
    });

  opslog
    .command('list')
    .description('Entries, newest first')
    .option('--since <when>', '24h, 7d or an ISO time', parseSince)
    .option('--tag <tag>', 'only entries with this tag')
    .option('--kind <kind>', 'note, check, alert, deploy or job')
    .option('--limit <n>', 'at most this many', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('an integer from 1 to 1000');
      return n;
    })
    .option('--url <url>', 'the server to ask (default: the one running from this DATA_DIR, else here)')
    .option('--json', 'print JSON')
    .action(async (flags: { since?: string; tag?: string; kind?: OpsLogKind; limit?: number; url?: string; json?: boolean }) => {
      const config = loadConfig();
      const query = new URLSearchParams();
      if (flags.since) query.set('since', flags.since);
      if (flags.tag) query.set('tag', flags.tag);
      if (flags.kind) query.set('kind', flags.kind);
      if (flags.limit) query.set('limit', String(flags.limit));
      const { entries } = await readReport<{ entries: OpsLogEntry[] }>(
        config,
        '/api/v1/ops/log',
        query,
        async ({ db }) => {
          const { listOpsLog } = await import('../../ops/opslog/opslog.js');
          return {
            entries: await listOpsLog(db, {
              ...(flags.since ? { since: new Date(flags.since) } : {}),
              ...(flags.tag ? { tag: flags.tag } : {}),
              ...(flags.kind ? { kind: flags.kind } : {}),
              ...(flags.limit ? { limit: flags.limit } : {}),
            }),
          };
        },
        flags.url,
      );
      if (flags.json) return printJson({ entries });
      if (entries.length === 0) return console.log(say(config.lang, { en: 'no entries', zh: '无记录' }));
      const table = (await tableMaker())({
        head: say(config.lang, { en: 'time|kind|who|entry', zh: '时间|类型|记录者|内容' }).split('|'),
        colWidths: [26, 8, 24, 70],
        wordWrap: true,
      });
      for (const entry of entries) {
        table.push([
          localTime(entry.at, config.tz),
          entry.kind,
          entry.actor,
          `${entry.summary}${entry.tags.length ? ` [${entry.tags.join(', ')}]` : ''}`,
        ]);
      }
      console.log(table.toString());
    });
  return opslog;
}
