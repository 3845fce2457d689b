/**
 * `smartalk grafana export [--out DIR]`: the runbook's dashboards as Grafana JSON and the
 * provisioning that loads them; `--all` writes the whole monitoring kit (Prometheus,
 * rules, Alertmanager, Grafana) as deploy/ holds it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';

export function grafanaCommand(): Command {
  const grafana = new Command('grafana').description('Grafana dashboards as code (the runbook’s 监控仪表板配置)');
  grafana
    .command('export')
    .description(
      'Write the dashboards (system overview, business metrics, alerts and ops jobs; en and zh-CN) and Grafana provisioning',
    )
    .option('--out <dir>', 'directory to write into', 'deploy/grafana')
    .option(
      '--all',
      'write the whole monitoring kit into --out instead: prometheus/, alertmanager/ and grafana/ (as deploy/ holds it)',
    )
    .action(async (flags: { out: string; all?: boolean }) => {
      const [{ grafanaFiles }, { monitoringFiles }] = await Promise.all([
        import('../../ops/dashboards/grafana.js'),
        import('../../ops/dashboards/monitoring-kit.js'),
      ]);
      const files = flags.all ? monitoringFiles() : grafanaFiles();
      for (const [name, text] of Object.entries(files)) {
        const file = path.join(flags.out, name);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
        console.log(file);
      }
    });
  return grafana;
}
