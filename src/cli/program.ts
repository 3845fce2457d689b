/**
 * The `smartalk` program: one command per file under cli/commands; each parses its options,
 * calls plain functions and prints. Every failure comes back here, where one
 * handler prints a single line and sets the exit code.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { envLang, say } from '../i18n.js';
import { OpsRequestError, ServerUnreachableError } from '../ops/server-link.js';
import { VERSION } from '../version.js';
import { alertsCommand } from './commands/alerts.js';
import { backupCommand } from './commands/backup.js';
import { dbCommand } from './commands/db.js';
import { feedbackCommand } from './commands/feedback.js';
import { grafanaCommand } from './commands/grafana.js';
import { metricsCommand } from './commands/metrics.js';
import { migrateCommand } from './commands/migrate.js';
import { opsCommand } from './commands/ops.js';
import { opslogCommand } from './commands/opslog.js';
import { reportCommand } from './commands/report.js';
import { runbookCommand } from './commands/runbook.js';
import { seedCommand } from './commands/seed.js';
import { serveCommand } from './commands/serve.js';
import { simulateCommand } from './commands/simulate.js';
import { cdnCommand, videoCommand } from './commands/video.js';
import { PluginUsageError, throwOnUsageErrors, UsageError } from './options.js';

export function buildProgram(): Command {
  const program = new Command('smartalk')
    .description('SmarTalk: the learning backend and the operations platform of its runbook')
    .version(VERSION)
    .showHelpAfterError();
  program.addCommand(serveCommand());
  program.addCommand(migrateCommand());
  program.addCommand(seedCommand());
  program.addCommand(metricsCommand());
  program.addCommand(feedbackCommand());
  program.addCommand(simulateCommand());
  program.addCommand(alertsCommand());
  program.addCommand(opsCommand());
  program.addCommand(opslogCommand());
  program.addCommand(reportCommand());
  program.addCommand(runbookCommand());
  program.addCommand(backupCommand());
  program.addCommand(dbCommand());
  program.addCommand(videoCommand());
  program.addCommand(cdnCommand());
  program.addCommand(grafanaCommand());
  throwOnUsageErrors(program);
  return program;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return handleError(error);
  }
}

export function handleError(error: unknown): number {
  // Commander printed it already.
  if (error instanceof PluginUsageError) return error.exitCode;
  // Help and --version exit 0; every other commander error is a wrong command line: 2.
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UsageError) {
    console.error(`smartalk: ${error.message}`);
    return 2;
  }
  // No server to talk to, or one that refused the request as asked (bad input, token, or an id
  // that names nothing): a connection or usage error.
  if (
    error instanceof ServerUnreachableError ||
    (error instanceof Error && error.name === 'OpsTokenMissingError') ||
    (error instanceof OpsRequestError && [400, 401, 403, 404].includes(error.status))
  ) {
    console.error(`smartalk: ${error.message}`);
    return 2;
  }
  const lang = envLang();
  if (error instanceof ConfigError || (error instanceof Error && error.name === 'AlertsConfigError')) {
    console.error(`smartalk: ${say(lang, { en: 'configuration error', zh: '配置错误' })}: ${error.message}`);
    return 2;
  }
  console.error(`smartalk: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}
