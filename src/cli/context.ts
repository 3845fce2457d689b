/** What every CLI command needs: the validated config and a logger that writes to the log file only. */
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';

export interface CliContext {
  config: Config;
  logger: Logger;
}

export function cliContext(overrides: Partial<Config> = {}): CliContext {
  const config = { ...loadConfig(), ...overrides };
  return { config, logger: createLogger(config, { stdout: false }) };
}
