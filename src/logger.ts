/**
 * JSON logs (pino) to LOG_FILE and, for the server, to stdout (journald under systemd).
 * The one line per request goes to LOG_FILE only, through the access logger
 * (`accessLogOf`): written to two destinations it was the largest cost of a cheap
 * request, and journald keeps what an operator reads there — start-up, warnings and
 * errors (a 5xx is logged as an error, so it reaches both). Secrets are redacted by
 * path as a second line of defence; the first is never putting them in a log object.
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
  'databaseReplicaUrl',
  'config.databaseReplicaUrl',
  'config.redisUrl',
  // Learners' feedback text is personal; it is never logged.
  'text',
  'feedback.text',
];

export interface LoggerOptions {
  /** Also write to stdout (the server does; CLI commands log to the file only). */
  stdout?: boolean;
}

const ACCESS_LOG = Symbol('smartalk.accessLog');

/** One request, as its access line records it. */
export interface AccessLine {
  reqId: string;
  method: string;
  route: string;
  path: string;
  status: number;
  latencyMs: number;
  userId?: string | undefined;
}

/** What one route answered in a window, when its requests are counted instead of written one each. */
export interface AccessSummary {
  method: string;
  route: string;
  requests: number;
  /** Requests by status code. */
  statuses: Record<string, number>;
  maxLatencyMs: number;
  windowSeconds: number;
}

/** The access log: a line per request, or one line for many (http/telemetry.ts decides which). */
export interface AccessLog {
  request(line: AccessLine): void;
  summary(line: AccessSummary): void;
}

/**
 * How request lines are written: to LOG_FILE only, in the same JSON shape as every other
 * line. Built by hand rather than through pino (level check, object merge, a generic
 * serializer): it is the one line written per request. Only the path is client text
 * (JSON-escaped); the request id is of a checked alphabet, the route a template.
 */
export const accessLogOf = (logger: Logger): AccessLog =>
  (logger as Logger & { [ACCESS_LOG]?: AccessLog })[ACCESS_LOG] ?? {
    request: (line) => logger.info({ ...line }, 'request completed'),
    summary: (line) => logger.info({ ...line }, 'requests summarized'),
  };

/**
 * Request lines, gathered and handed to the file in chunks: the file stream measures
 * the UTF-8 length of its whole pending buffer on every write, which made one write per
 * line cost more than building it. Flushed with the logger (at least once a second).
 */
class AccessLines {
  #lines: string[] = [];
  #chars = 0;

  constructor(private readonly destination: pino.DestinationStream) {}

  add(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= ACCESS_CHUNK_CHARS) this.flush();
  }

  flush(): void {
    if (this.#lines.length === 0) return;
    const chunk = this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    this.destination.write(chunk);
  }
}

const ACCESS_CHUNK_CHARS = 32_768;

function accessLog(lines: AccessLines, level: string): AccessLog {
  if (pino.levels.values[level] !== undefined && (pino.levels.values[level] as number) > (pino.levels.values.info as number)) {
    return { request: () => {}, summary: () => {} };
  }
  const head = `{"level":"info","time":"`;
  const base = `","service":"smartalk","pid":${process.pid},`;
  return {
    request: (line) => {
      lines.add(
        `${head}${isoNow()}${base}"reqId":"${line.reqId}","method":"${line.method}","route":"${line.route}","path":${JSON.stringify(line.path)},"status":${line.status},"latencyMs":${line.latencyMs}${line.userId ? `,"userId":"${line.userId}"` : ''},"msg":"request completed"}\n`,
      );
    },
    summary: (line) => {
      lines.add(`${head}${isoNow()}${base}${JSON.stringify({ ...line, msg: 'requests summarized' }).slice(1)}\n`);
    },
  };
}

/** The current time in ISO form, formatted at most once per millisecond (lines come in bursts). */
let lastMs = 0;
let lastIso = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/** Lines are written in batches of this many bytes, or at least once a second. */
const LOG_BATCH_BYTES = 8_192;
const LOG_FLUSH_MS = 1_000;
/**
 * At most this much per write(2). sonic-boom's default (16 KiB) is one write per event-loop
 * turn: at ~25k requests/s the file fell behind and the pending lines grew the heap by
 * ~1 MiB a second; one larger write drains what a busy turn produced.
 */
const LOG_MAX_WRITE_BYTES = 1 << 20;

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
      maxWrite: LOG_MAX_WRITE_BYTES,
    }),
  ];
  if (options.stdout ?? true) destinations.push(pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES }));
  const streams: pino.StreamEntry[] = destinations.map((stream) => ({ level, stream }));
  const pinoOptions: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: 'smartalk', pid: process.pid },
    timestamp: () => `,"time":"${isoNow()}"`,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  const logger = pino(
    pinoOptions,
    streams.length === 1 ? (destinations[0] as pino.DestinationStream) : pino.multistream(streams),
  );
  const accessLines = new AccessLines(destinations[0] as pino.DestinationStream);
  Object.defineProperty(logger, ACCESS_LOG, { value: accessLog(accessLines, level) });
  const flushAll = () => {
    accessLines.flush();
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
