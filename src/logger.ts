/**
 * JSON logs (pino) to stdout and to LOG_FILE. Secrets are redacted by path as a
 * second line of defence; the first is never putting them in a log object.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'opsToken',
  '*.opsToken',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'databaseUrl',
  '*.databaseUrl',
  'redisUrl',
  '*.redisUrl',
  // Learners' feedback text is personal; it is never logged.
  'text',
  '*.text',
];

export interface LoggerOptions {
  /** Also write to stdout (the server does; CLI commands log to the file only). */
  stdout?: boolean;
}

export function createLogger(config: Pick<Config, 'logFile' | 'logLevel'>, options: LoggerOptions = {}): Logger {
  mkdirSync(path.dirname(config.logFile), { recursive: true });
  const streams: pino.StreamEntry[] = [
    {
      level: config.logLevel === 'silent' ? 'fatal' : config.logLevel,
      stream: pino.destination({ dest: config.logFile, mkdir: true, sync: false }),
    },
  ];
  if (options.stdout ?? true)
    streams.push({
      level: config.logLevel === 'silent' ? 'fatal' : config.logLevel,
      stream: pino.destination({ dest: 1, sync: false }),
    });
  return pino(
    {
      level: config.logLevel,
      base: { service: 'smartalk', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
}
