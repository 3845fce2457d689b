/** What every CLI command needs: the validated config and a logger that writes to the log file only. */
import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../config.js';

export interface CliContext {
  config: Config;
  logger: Logger;
}

export async function cliContext(overrides: Partial<Config> = {}): Promise<CliContext> {
  const config = { ...loadConfig(), ...overrides };
  const { createLogger } = await import('../logger.js');
  return { config, logger: createLogger(config, { stdout: false }) };
}

/**
 * Who is acting, for `--by` and `--author`: the login behind sudo, else the OS account
 * (as documented), else the environment's; "cli" only when there is no name at all (an
 * account without a passwd entry in a container).
 */
export function operatorName(): string {
  if (process.env.SUDO_USER) return process.env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'cli';
  }
}
