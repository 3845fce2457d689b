/**
 * `smartalk alerts export`: the rule catalog as a Prometheus rules file, its promtool
 * unit tests, or an Alertmanager config that routes to SmarTalk's intake.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../../config.js';
import type { AlertView } from '../../ops/alerts/messages.js';
import { printJson } from '../output.js';

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
 * list / show / ack / resolve / silence / test-channel: through the running server's
 * ops API (DATA_DIR/server.json or --url), which also runs the escalation round.
 */
/** An alert as the ops API sends it (dates as ISO strings). */
type AlertJson = Omit<AlertView, 'startedAt' | 'firedAt' | 'resolvedAt'> & {
  startedAt: string;
  firedAt: string;
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

function addLifecycleCommands(alerts: Command): void {
  const client = async (url?: string) => {
    const config = loadConfig();
    const [{ readLiveServer, opsRequest }, { readOpsToken }] = await Promise.all([
      import('../../ops/server-link.js'),
      import('../../ops/ops-token.js'),
    ]);
    const base = url ?? readLiveServer(config.dataDir)?.url;
    if (!base) throw new Error('no running server found for DATA_DIR; start it (smartalk serve) or pass --url');
    const token = await readOpsToken(config);
    const call = <T>(method: string, route: string, body?: unknown): Promise<T> =>
      opsRequest<T>(base, route, token, { method, body });
    return { config, call };
  };
  const who = () => process.env.SUDO_USER ?? process.env.USER ?? 'cli';

  alerts
    .command('list')
    .description('Open alerts (--all: every alert, newest first)')
    .option('--all', 'include resolved alerts')
    .option('--json', 'print JSON')
    .option('--url <url>', 'server to ask')
    .action(async (flags: { all?: boolean; json?: boolean; url?: string }) => {
      const { config, call } = await client(flags.url);
      const { alerts: list } = await call<{ alerts: AlertJson[] }>(
        'GET',
        `/api/v1/ops/alerts?status=${flags.all ? 'all' : 'open'}`,
      );
      if (flags.json) return printJson(list);
      const { default: Table } = await import('cli-table3');
      const zh = config.lang === 'zh-CN';
      const table = new Table({
        head: zh
          ? ['ID', '级别', '规则', '状态', '升级', '开始时间', '当前值']
          : ['id', 'severity', 'rule', 'status', 'level', 'since', 'value'],
        style: { head: [], border: [] },
      });
      for (const alert of list) {
        table.push([
          String(alert.id).slice(0, 8),
          alert.severity,
          alert.ruleId,
          alert.status,
          `L${alert.escalationLevel}`,
          new Date(alert.startedAt).toLocaleString(zh ? 'zh-CN' : 'en-CA', { timeZone: config.tz, hourCycle: 'h23' }),
          alert.value ?? '—',
        ]);
      }
      console.log(list.length === 0 ? (zh ? '没有未解决的告警。' : 'No open alerts.') : table.toString());
    });

  alerts
    .command('show')
    .description('One alert and every notification sent for it')
    .argument('<id>', 'alert id (full)')
    .option('--json', 'print JSON')
    .option('--url <url>', 'server to ask')
    .action(async (id: string, flags: { json?: boolean; url?: string }) => {
      const { call } = await client(flags.url);
      const detail = await call<{
        alert: AlertJson;
        notifications: NotificationJson[];
        vendor: { kind: string; name: string; phone?: string; ticketUrl?: string; accountId?: string } | null;
      }>('GET', `/api/v1/ops/alerts/${id}`);
      if (flags.json) return printJson(detail);
      const a = detail.alert;
      console.log(`${a.severity.toUpperCase()} ${a.ruleId} — ${a.summary}${a.summaryZh ? ` / ${a.summaryZh}` : ''}`);
      console.log(
        `status ${a.status}, level L${a.escalationLevel}, value ${a.value ?? '—'} (threshold ${a.threshold ?? '—'}), runbook ${a.runbook ?? '—'}`,
      );
      if (detail.vendor) {
        const { vendorLine } = await import('../../ops/alerts/messages.js');
        console.log(`vendor (${detail.vendor.kind}): ${vendorLine(detail.vendor)}`);
      }
      if (a.diagnosis) {
        console.log(`diagnosis (${a.diagnosis.scenario}, ${a.diagnosis.at}): worst ${a.diagnosis.worst}`);
        for (const f of a.diagnosis.findings) console.log(`  ${f.status.toUpperCase().padEnd(4)} ${f.id}: ${f.summary}`);
      }
      for (const n of detail.notifications) {
        console.log(
          `  ${n.created_at}  ${n.kind.padEnd(10)} L${n.level}  ${n.contact}/${n.channel}  ${n.status}${n.last_error ? ` (${n.last_error})` : ''}`,
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
      .argument('<id>', 'alert id (full)')
      .option('--by <name>', 'who (default: your user name)')
      .option('--url <url>', 'server to ask')
      .action(async (id: string, flags: { by?: string; url?: string }) => {
        const { call } = await client(flags.url);
        const alert = await call<AlertJson>('POST', `/api/v1/ops/alerts/${id}/${verb}`, { by: flags.by ?? who() });
        console.log(`${alert.ruleId} ${alert.status} (${flags.by ?? who()})`);
      });
  }

  alerts
    .command('silence')
    .description('Silence alerts for a time box with a reason (or --maintenance for a planned window)')
    .option('--rule <id>', 'only this rule (default: all rules)')
    .option('--label <k=v...>', 'only alerts carrying these labels')
    .requiredOption('--minutes <n>', 'how long', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error('--minutes must be a positive integer');
      return n;
    })
    .requiredOption('--reason <text>', 'why (kept with the silence)')
    .option('--maintenance', 'a maintenance window rather than a silence')
    .option('--starts <iso>', 'start later (default: now)')
    .option('--by <name>', 'who (default: your user name)')
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
        url?: string;
      }) => {
        const { call } = await client(flags.url);
        const matchers = Object.fromEntries((flags.label ?? []).map((pair) => pair.split('=', 2) as [string, string]));
        const created = await call<{ id: string }>('POST', '/api/v1/ops/silences', {
          kind: flags.maintenance ? 'maintenance' : 'silence',
          ...(flags.rule ? { ruleId: flags.rule } : {}),
          matchers,
          reason: flags.reason,
          by: flags.by ?? who(),
          minutes: flags.minutes,
          ...(flags.starts ? { startsAt: new Date(flags.starts).toISOString() } : {}),
        });
        console.log(`silence ${created.id} for ${flags.minutes} min`);
      },
    );

  alerts
    .command('test-channel')
    .description('Send a test message through one channel of the alerts config')
    .argument('<name>', 'channel name')
    .option('--url <url>', 'server to ask')
    .action(async (name: string, flags: { url?: string }) => {
      const { call } = await client(flags.url);
      const result = await call<{ sent: number; failed: number; retrying: number }>('POST', '/api/v1/ops/alerts/test-channel', {
        channel: name,
      });
      console.log(
        result.sent > 0
          ? `sent through ${name}`
          : `not delivered through ${name} (${result.retrying} retrying, ${result.failed} failed)`,
      );
      if (result.sent === 0) process.exitCode = 1;
    });
}
