/**
 * `smartalk alerts export`: the rule catalog as a Prometheus rules file, its promtool
 * unit tests, or an Alertmanager config that routes to SmarTalk's intake.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../../config.js';
import { localTime } from '../../format.js';
import type { AlertView } from '../../ops/alerts/messages.js';
import type { OpsCall } from '../../ops/server-link.js';
import { operatorName } from '../context.js';
import { parseWhen, UsageError } from '../options.js';
import { printJson, tableMaker } from '../output.js';

export function alertsCommand(): Command {
  const alerts = new Command('alerts').description(
    'Alert rules (critical / warning / info) and their Prometheus and Alertmanager files',
  );
  alerts
    .command('export')
    .description('Write the rule catalog for Prometheus (rules), promtool (unit tests) or Alertmanager (routing to the intake)')
    .addOption(
      new Option('--format <format>', 'what to write')
        .choices(['prometheus', 'promtool-tests', 'alertmanager'])
        .default('prometheus'),
    )
    .option('--out <file>', 'write to this file (default: stdout)')
    .option('--rules-file <file>', 'for promtool-tests: the rules file the tests load', 'smartalk-rules.yml')
    .option('--intake-url <url>', 'for alertmanager: SmarTalk\u2019s intake (default: http://HOST:PORT/api/v1/ops/alertmanager)')
    .option('--token-file <file>', 'for alertmanager: file holding the ops token', '/etc/smartalk/ops-token')
    .action(async (flags: { format: string; out?: string; rulesFile: string; intakeUrl?: string; tokenFile: string }) => {
      const { prometheusRules, promtoolTests, alertmanagerConfig } = await import('../../ops/alerts/prometheus.js');
      let text: string;
      if (flags.format === 'prometheus') text = prometheusRules();
      else if (flags.format === 'promtool-tests') text = promtoolTests(flags.rulesFile);
      else {
        const config = loadConfig();
        text = alertmanagerConfig({
          intakeUrl: flags.intakeUrl ?? `http://${config.host}:${config.port}/api/v1/ops/alertmanager`,
          tokenFile: path.resolve(flags.tokenFile),
        });
      }
      if (flags.out) await writeFile(flags.out, text);
      else process.stdout.write(text);
    });
  addLifecycleCommands(alerts);
  return alerts;
}

/**
 * list / show / ack / resolve / silence / silences / unsilence / test-channel: through the
 * running server's ops API (DATA_DIR/server.json or --url), which also runs the escalation round.
 */
/** An alert as the ops API sends it (dates as ISO strings). */
type AlertJson = Omit<AlertView, 'startedAt' | 'firedAt' | 'pagedAt' | 'resolvedAt'> & {
  startedAt: string;
  firedAt: string;
  pagedAt: string | null;
  resolvedAt: string | null;
};
interface NotificationJson {
  kind: string;
  level: number;
  contact: string;
  channel: string;
  status: string;
  last_error: string | null;
  created_at: string;
}
interface SilenceJson {
  id: string;
  kind: 'silence' | 'maintenance';
  rule_id: string | null;
  matchers: Record<string, string>;
  reason: string;
  created_by: string;
  starts_at: string;
  ends_at: string;
}

const FULL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The full id an alert id names: a full uuid as it is, else a unique prefix (as `alerts
 * list` prints it, like git's short hashes); an ambiguous one lists the candidates.
 */
export async function resolveAlertId(call: OpsCall, given: string, tz: string): Promise<string> {
  if (FULL_UUID.test(given)) return given.toLowerCase();
  if (!/^[0-9a-f-]{4,36}$/i.test(given))
    throw new UsageError(
      `"${given}" is not an alert id: give the id \`alerts list\` prints (4 or more hex digits) or the full one`,
    );
  const { alerts } = await call<{ alerts: AlertJson[] }>(`/api/v1/ops/alerts?idPrefix=${encodeURIComponent(given)}`);
  const [only, ...others] = alerts;
  if (!only) throw new UsageError(`no alert id starts with ${given} (smartalk alerts list --all shows them)`);
  if (others.length === 0) return only.id;
  const lines = alerts.map((a) => `  ${a.id.slice(0, 13)}  ${a.ruleId}  ${a.status}  ${localTime(a.startedAt, tz)}`);
  throw new UsageError(`${given} names ${alerts.length} alerts; give more of the id:\n${lines.join('\n')}`);
}

function addLifecycleCommands(alerts: Command): void {
  const client = async (url?: string) => {
    const config = loadConfig();
    const [{ readLiveServer, opsRequest }, { readOpsToken }] = await Promise.all([
      import('../../ops/server-link.js'),
      import('../../ops/ops-token.js'),
    ]);
    const base = url ?? readLiveServer(config.dataDir)?.url;
    if (!base)
      throw new UsageError(
        `no SmarTalk server is running from ${config.dataDir} — start it with npm start (or smartalk serve), or pass --url`,
      );
    const token = await readOpsToken(config);
    const call: OpsCall = (route, init) => opsRequest(base, route, token, init);
    return { config, call };
  };

  alerts
    .command('list')
    .description('Open alerts (--all: every alert, newest first); times in SMARTALK_TZ')
    .option('--all', 'include resolved alerts')
    .option('--json', 'print JSON (the API’s own)')
    .option('--url <url>', 'server to ask')
    .action(async (flags: { all?: boolean; json?: boolean; url?: string }) => {
      const { config, call } = await client(flags.url);
      const { alerts: list } = await call<{ alerts: AlertJson[] }>(`/api/v1/ops/alerts?status=${flags.all ? 'all' : 'open'}`);
      if (flags.json) return printJson(list);
      const zh = config.lang === 'zh-CN';
      const table = (await tableMaker())({
        head: zh
          ? ['ID', '级别', '规则', '状态', '升级', '问题开始', 'L1 通知', '当前值']
          : ['id', 'severity', 'rule', 'status', 'level', 'problem since', 'L1 paged', 'value'],
      });
      for (const alert of list) {
        table.push([
          String(alert.id).slice(0, 8),
          alert.severity,
          alert.ruleId,
          alert.status,
          `L${alert.escalationLevel}`,
          localTime(alert.startedAt, config.tz),
          alert.pagedAt ? localTime(alert.pagedAt, config.tz) : '—',
          alert.value ?? '—',
        ]);
      }
      console.log(list.length === 0 ? (zh ? '没有未解决的告警。' : 'No open alerts.') : table.toString());
    });

  alerts
    .command('show')
    .description('One alert and every notification sent for it')
    .argument('<id>', 'alert id: the short id `alerts list` prints, or the full one')
    .option('--json', 'print JSON (the API’s own)')
    .option('--url <url>', 'server to ask')
    .action(async (given: string, flags: { json?: boolean; url?: string }) => {
      const { config, call } = await client(flags.url);
      const id = await resolveAlertId(call, given, config.tz);
      const detail = await call<{
        alert: AlertJson;
        notifications: NotificationJson[];
        vendor: { kind: string; name: string; phone?: string; ticketUrl?: string; accountId?: string } | null;
      }>(`/api/v1/ops/alerts/${id}`);
      if (flags.json) return printJson(detail);
      const a = detail.alert;
      const at = (iso: string | null) => (iso ? localTime(iso, config.tz) : '—');
      console.log(`${a.severity.toUpperCase()} ${a.ruleId} — ${a.summary}${a.summaryZh ? ` / ${a.summaryZh}` : ''}`);
      console.log(`id ${a.id}`);
      console.log(
        `status ${a.status}, level L${a.escalationLevel}, value ${a.value ?? '—'} (threshold ${a.threshold ?? '—'}), runbook ${a.runbook ?? '—'}`,
      );
      console.log(`problem since ${at(a.startedAt)} · fired ${at(a.firedAt)} · L1 paged ${at(a.pagedAt)}`);
      if (a.resolvedAt) console.log(`resolved ${at(a.resolvedAt)}`);
      if (detail.vendor) {
        const { vendorLine } = await import('../../ops/alerts/messages.js');
        console.log(`vendor (${detail.vendor.kind}): ${vendorLine(detail.vendor)}`);
      }
      if (a.diagnosis) {
        console.log(`diagnosis (${a.diagnosis.scenario}, ${at(a.diagnosis.at)}): worst ${a.diagnosis.worst}`);
        for (const f of a.diagnosis.findings) console.log(`  ${f.status.toUpperCase().padEnd(4)} ${f.id}: ${f.summary}`);
      }
      for (const n of detail.notifications) {
        console.log(
          `  ${at(n.created_at)}  ${n.kind.padEnd(10)} L${n.level}  ${n.contact}/${n.channel}  ${n.status}${n.last_error ? ` (${n.last_error})` : ''}`,
        );
      }
    });

  for (const [name, verb, description] of [
    ['ack', 'ack', 'Acknowledge an alert: escalation stops (a reminder follows if it stays open)'],
    ['resolve', 'resolve', 'Resolve an alert by hand; everyone paged is told'],
  ] as const) {
    alerts
      .command(name)
      .description(description)
      .argument('<id>', 'alert id: the short id `alerts list` prints, or the full one')
      .option('--by <name>', 'who (default: your OS user name)')
      .option('--json', 'print the alert as JSON (the API’s own)')
      .option('--url <url>', 'server to ask')
      .action(async (given: string, flags: { by?: string; json?: boolean; url?: string }) => {
        const { config, call } = await client(flags.url);
        const id = await resolveAlertId(call, given, config.tz);
        const by = flags.by ?? operatorName();
        const alert = await call<AlertJson>(`/api/v1/ops/alerts/${id}/${verb}`, { method: 'POST', body: { by } });
        if (flags.json) return printJson(alert);
        console.log(`${alert.id.slice(0, 8)} ${alert.ruleId} ${alert.status} (${by})`);
      });
  }

  alerts
    .command('silences')
    .description('Silences and maintenance windows in force and scheduled (--all: also those ended this week)')
    .option('--all', 'include those that ended in the last 7 days')
    .option('--json', 'print JSON (the API’s own)')
    .option('--url <url>', 'server to ask')
    .action(async (flags: { all?: boolean; json?: boolean; url?: string }) => {
      const { config, call } = await client(flags.url);
      const [active, later] = flags.all
        ? [(await call<{ silences: SilenceJson[] }>('/api/v1/ops/silences?state=all')).silences, []]
        : await Promise.all(
            (['active', 'scheduled'] as const).map(
              async (state) => (await call<{ silences: SilenceJson[] }>(`/api/v1/ops/silences?state=${state}`)).silences,
            ),
          );
      const silences = [...(active ?? []), ...(later ?? [])];
      if (flags.json) return printJson(silences);
      const zh = config.lang === 'zh-CN';
      if (silences.length === 0) return console.log(zh ? '没有静默或维护窗口。' : 'No silences or maintenance windows.');
      const table = (await tableMaker())({
        head: zh
          ? ['ID', '类型', '状态', '规则', '标签', '开始', '结束', '原因', '设置人']
          : ['id', 'kind', 'state', 'rule', 'labels', 'starts', 'ends', 'reason', 'by'],
        wordWrap: true,
      });
      const now = Date.now();
      for (const s of silences) {
        const state = Date.parse(s.starts_at) > now ? 'scheduled' : Date.parse(s.ends_at) > now ? 'active' : 'ended';
        table.push([
          s.id.slice(0, 8),
          s.kind,
          state,
          s.rule_id ?? (zh ? '全部' : 'all'),
          Object.entries(s.matchers ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '—',
          localTime(s.starts_at, config.tz),
          localTime(s.ends_at, config.tz),
          s.reason,
          s.created_by,
        ]);
      }
      console.log(table.toString());
    });

  alerts
    .command('unsilence')
    .description('End a silence or maintenance window now (one still to start is cancelled)')
    .argument('<id>', 'silence id: the short id `alerts silences` prints, or the full one')
    .option('--url <url>', 'server to ask')
    .action(async (given: string, flags: { url?: string }) => {
      const { call } = await client(flags.url);
      let id = given.toLowerCase();
      if (!FULL_UUID.test(id)) {
        const { silences } = await call<{ silences: SilenceJson[] }>('/api/v1/ops/silences?state=all');
        const open = silences.filter((s) => s.id.startsWith(id) && Date.parse(s.ends_at) > Date.now());
        if (open.length !== 1)
          throw new UsageError(
            open.length === 0
              ? `no silence in force or scheduled starts with ${given} (smartalk alerts silences)`
              : `${given} names ${open.length} silences: ${open.map((s) => s.id.slice(0, 13)).join(', ')}`,
          );
        id = (open[0] as SilenceJson).id;
      }
      await call(`/api/v1/ops/silences/${id}`, { method: 'DELETE' });
      console.log(`silence ${id.slice(0, 8)} ended`);
    });

  alerts
    .command('silence')
    .description('Silence alerts for a time box with a reason (or --maintenance for a planned window)')
    .option('--rule <id>', 'only this rule (default: all rules)')
    .option('--label <k=v...>', 'only alerts carrying these labels')
    .requiredOption('--minutes <n>', 'how long', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive number of minutes');
      return n;
    })
    .requiredOption('--reason <text>', 'why (kept with the silence)')
    .option('--maintenance', 'a maintenance window rather than a silence')
    .option('--starts <when>', 'start later: ISO date-time or YYYY-MM-DD in SMARTALK_TZ (default: now)')
    .option('--by <name>', 'who (default: your OS user name)')
    .option('--json', 'print the new silence’s id as JSON')
    .option('--url <url>', 'server to ask')
    .action(
      async (flags: {
        rule?: string;
        label?: string[];
        minutes: number;
        reason: string;
        maintenance?: boolean;
        starts?: string;
        by?: string;
        json?: boolean;
        url?: string;
      }) => {
        const { config, call } = await client(flags.url);
        const startsAt = flags.starts ? parseWhen(flags.starts, config.tz, '--starts') : undefined;
        const matchers = Object.fromEntries((flags.label ?? []).map((pair) => pair.split('=', 2) as [string, string]));
        const created = await call<{ id: string }>('/api/v1/ops/silences', {
          method: 'POST',
          body: {
            kind: flags.maintenance ? 'maintenance' : 'silence',
            ...(flags.rule ? { ruleId: flags.rule } : {}),
            matchers,
            reason: flags.reason,
            by: flags.by ?? operatorName(),
            minutes: flags.minutes,
            ...(startsAt ? { startsAt: startsAt.toISOString() } : {}),
          },
        });
        if (flags.json) return printJson(created);
        console.log(
          `${flags.maintenance ? 'maintenance window' : 'silence'} ${created.id.slice(0, 8)} for ${flags.minutes} min${startsAt ? ` from ${localTime(startsAt, config.tz)}` : ''}`,
        );
      },
    );

  alerts
    .command('test-channel')
    .description('Send a test message through one channel of the alerts config')
    .argument('<name>', 'channel name')
    .option('--json', 'print the delivery counts as JSON (the API’s own)')
    .option('--url <url>', 'server to ask')
    .action(async (name: string, flags: { json?: boolean; url?: string }) => {
      const { call } = await client(flags.url);
      const result = await call<{ sent: number; failed: number; retrying: number }>('/api/v1/ops/alerts/test-channel', {
        method: 'POST',
        body: { channel: name },
      });
      if (result.sent === 0) process.exitCode = 1;
      if (flags.json) return printJson(result);
      console.log(
        result.sent > 0
          ? `sent through ${name}`
          : `not delivered through ${name} (${result.retrying} retrying, ${result.failed} failed)`,
      );
    });
}
