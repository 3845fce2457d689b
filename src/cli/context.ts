/** What every CLI command needs: the validated config and a logger that writes to the log file only. */
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
