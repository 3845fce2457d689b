/**
 * `smartalk alerts export`: the rule catalog as a Prometheus rules file, its promtool
 * unit tests, or an Alertmanager config that routes to SmarTalk's intake.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../../config.js';

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
  return alerts;
}
