/**
 * `smartalk ops …`: operating the platform. `ops watch` probes a server from
 * outside and pages when it is down (a server cannot report its own death).
 */
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { envLang } from '../../i18n.js';
import { parseNonNegativeInt, parsePositiveInt, UsageError } from '../options.js';
import { printJson } from '../output.js';
import { addCheckCommands } from './ops-checks.js';

export function opsCommand(): Command {
  const ops = new Command('ops').description("Operations: the runbook's checklists and their schedule, and the watchdog");
  addCheckCommands(ops);
  ops
    .command('watch')
    .description('Probe a server from outside and page through the alert channels when it is down (ServiceDown, DatabaseDown)')
    .requiredOption('--url <url>', 'the server to watch, e.g. http://10.0.0.5:3000')
    .option('--once', 'probe once and exit (for a systemd timer or cron)')
    .option('--interval <seconds>', 'seconds between probes when running continuously', parsePositiveInt, 30)
    .option(
      '--state-file <file>',
      'where the watchdog remembers failures between runs',
      path.join(os.tmpdir(), 'smartalk-watchdog.json'),
    )
    .option('--json', 'print each round as JSON')
    .action(async (flags: { url: string; once?: boolean; interval: number; stateFile: string; json?: boolean }) => {
      const config = loadConfig();
      const [{ loadAlertsConfig }, { watchOnce }, { createLogger }] = await Promise.all([
        import('../../ops/alerts/config.js'),
        import('../../ops/watchdog.js'),
        import('../../logger.js'),
      ]);
      const alerts = await loadAlertsConfig(config.alertsConfig);
      const logger = createLogger(config, { stdout: false });
      const round = async () => {
        const outcome = await watchOnce({
          url: flags.url,
          config: alerts,
          stateFile: path.resolve(flags.stateFile),
          logger,
          messages: { lang: config.lang, publicUrl: flags.url, tz: config.tz },
        });
        if (flags.json) printJson(outcome);
        else {
          console.log(
            `${new Date().toISOString()} ${flags.url}: ${outcome.probe.ok ? 'ok' : outcome.probe.ruleId} — ${outcome.probe.detail}`,
          );
          for (const s of outcome.sent)
            console.log(`  ${s.kind} ${s.ruleId} L${s.level} via ${s.channel}: ${s.ok ? 'sent' : `FAILED ${s.error}`}`);
        }
        return outcome;
      };
      if (flags.once) {
        const outcome = await round();
        if (!outcome.probe.ok) process.exitCode = 1;
        return;
      }
      for (;;) {
        await round();
        await new Promise((resolve) => setTimeout(resolve, flags.interval * 1000));
      }
    });
  ops
    .command('rolling-restart')
    .description('Restart each instance in turn (the systemd template unit), each back and ready before the next')
    .requiredOption('--instances <list>', 'ports (or host:port) of the instances, in order, e.g. 3000,3001,3002')
    .option('--host <host>', 'host of the instances given as bare ports', '127.0.0.1')
    .option(
      '--restart-command <command>',
      'how to restart one instance ({port} and {host} filled in)',
      'systemctl restart smartalk-backend@{port}.service',
    )
    .option('--timeout <seconds>', 'how long an instance may take to be back and ready', parsePositiveInt, 120)
    .option('--settle <seconds>', "pause after each instance is back (nginx's fail_timeout)", parseNonNegativeInt, 5)
    .option('--force', 'restart even when an instance is not ready before starting')
    .option('--json', 'print the outcome as JSON')
    .action(
      async (flags: {
        instances: string;
        host: string;
        restartCommand: string;
        timeout: number;
        settle: number;
        force?: boolean;
        json?: boolean;
      }) => {
        const { commandRestart, parseInstances, rollingRestart } = await import('../../ops/rolling-restart.js');
        let instances: ReturnType<typeof parseInstances>;
        try {
          instances = parseInstances(flags.instances, flags.host);
        } catch (error) {
          throw new UsageError(`--instances: ${(error as Error).message}`);
        }
        const result = await rollingRestart({
          instances,
          restart: commandRestart(flags.restartCommand),
          timeoutMs: flags.timeout * 1000,
          settleMs: flags.settle * 1000,
          force: flags.force === true,
          lang: envLang(),
          onStep: flags.json ? undefined : (line) => console.log(`${new Date().toISOString()} ${line}`),
        });
        if (flags.json) printJson(result);
        if (!result.ok) process.exitCode = 1;
      },
    );
  return ops;
}
