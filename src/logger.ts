/**
 * JSON logs (pino) to stdout and to LOG_FILE. Secrets are redacted by path as a
 * second line of defence; the first is never putting them in a log object.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './files.js';

// Exact paths only: wildcard redaction is re-evaluated on every log line. Request
// logs never carry headers or bodies (http/telemetry.ts); these catch mistakes.
export const REDACT_PATHS = [
  'authorization',
  'token',
  'opsToken',
  'password',
  'secret',
  'databaseUrl',
  'redisUrl',
  'config.opsToken',
  'config.databaseUrl',
  'config.redisUrl',
  // Learners' feedback text is personal; it is never logged.
  'text',
  'feedback.text',
];

export interface LoggerOptions {
  /** Also write to stdout (the server does; CLI commands log to the file only). */
  stdout?: boolean;
}

/** Lines are written in batches of this many bytes, or at least once a second. */
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 1_000;

export function createLogger(config: Pick<Config, 'logFile' | 'logLevel'>, options: LoggerOptions = {}): Logger {
  mkdirSync(path.dirname(config.logFile), { recursive: true, mode: PRIVATE_DIR_MODE });
  const level = config.logLevel === 'silent' ? 'fatal' : config.logLevel;
  // One write per request per destination measured as the biggest cost of a cheap
  // request (bench/http.ts); batching keeps it off the hot path, the timer keeps
  // `tail -f` current when traffic is low.
  const destinations = [
    pino.destination({
      dest: config.logFile,
      mkdir: true,
      mode: PRIVATE_FILE_MODE,
      sync: false,
      minLength: LOG_BATCH_BYTES,
    }),
  ];
  if (options.stdout ?? true) destinations.push(pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES }));
  const streams: pino.StreamEntry[] = destinations.map((stream) => ({ level, stream }));
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: 'smartalk', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
  const flushAll = () => {
    for (const destination of destinations) destination.flush();
  };
  setInterval(flushAll, LOG_FLUSH_MS).unref();
  // `logger.flush()` (used at shutdown) reaches every destination, not only the first.
  logger.flush = (callback?: (error?: Error) => void) => {
    flushAll();
    callback?.();
  };
  return logger;
}
