/**
 * The environment → one typed, validated config object.
 *
 * Every variable is read here and nowhere else. A wrong value stops start-up with
 * one line naming the variable and what it expects (ConfigError), so an operator
 * at 3 a.m. does not have to read a stack trace to find a typo in a unit file.
 */
import { isIP } from 'node:net';
import path from 'node:path';

export type Lang = 'en' | 'zh-CN';

export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; absent → embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** A streaming replica for report and check queries (DATABASE_REPLICA_URL; needs DATABASE_URL). */
  databaseReplicaUrl: string | undefined;
  /** A replica further behind than this is not read from (REPLICA_MAX_LAG_SECONDS). */
  replicaMaxLagSeconds: number;
  /** Redis connection string; absent → in-memory store. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key, so several apps (or test runs) can share one Redis. */
  redisPrefix: string;
  /** Proxies whose X-Forwarded-For is believed (TRUST_PROXY). */
  trustProxy: string[];
  dataDir: string;
  logFile: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Anonymous, successful answers a shared cache may keep (the catalog): one line per route
   * a minute (`summary`, the default) or one line each (`lines`) — ACCESS_LOG_PUBLIC.
   */
  accessLogPublic: 'summary' | 'lines';
  /** Bearer token for /api/v1/ops and /ops. Absent → generated once under dataDir. */
  opsToken: string | undefined;
  /** IANA time zone for schedules and day boundaries. */
  tz: string;
  lang: Lang;
  /** Where seeded videos live; served at /videos with Range and ETag. */
  contentDir: string;
  /**
   * Public base URL of the video edge (nginx or a CDN): MEDIA_BASE_URL, or CDN_BASE_URL, its
   * older name; absent → the media URLs use PUBLIC_URL (this server's own origin).
   */
  cdnBaseUrl: string | undefined;
  /** How `smartalk cdn purge` reaches the edge: `nginx-cache:DIR` or `http-purge:URL`. */
  cdnPurge: string | undefined;
  /** The alerting config file (channels, contacts, escalation); absent → the defaults. */
  alertsConfig: string | undefined;
  /** How people reach this server (links in notifications); absent → http://HOST:PORT. */
  publicUrl: string;
  /** Seconds between alert evaluations and escalation/notification rounds. */
  alertIntervalSeconds: number;
  /** nginx access log of the video edge (deploy/nginx format), for the CDN hit ratio. */
  cdnAccessLog: string | undefined;
  /** Per client per minute: learner creations, analytics batches, and failed token checks (per address). */
  rateLimits: { usersPerMinute: number; eventBatchesPerMinute: number; authFailuresPerMinute: number };
  /** A request (headers and body) must arrive within this; its headers within the first 10 s of it. */
  requestTimeoutSeconds: number;
  /**
   * On SIGTERM, how long the instance keeps answering with readiness failed and every
   * connection closed after its response, before it stops accepting (DRAIN_SECONDS): the
   * balancer moves its traffic away while nothing is refused. 0 on a single host.
   */
  drainSeconds: number;
  /** Analytics events older than this many days leave, a monthly partition at a time (EVENTS_RETENTION_DAYS). */
  eventsRetentionDays: number;
  /** Prometheus and Alertmanager, when the team runs them (the checklists look at them). */
  prometheusUrl: string | undefined;
  alertmanagerUrl: string | undefined;
  /** Whether this instance takes part in running the checklists on schedule (CHECK_SCHEDULE=off to opt out). */
  checkSchedule: boolean;
  backups: {
    dir: string;
    keepDaily: number;
    keepWeekly: number;
    /** A shell command copying each new backup off the machine ($BACKUP_FILE, $BACKUP_MANIFEST). */
    copyCommand: string | undefined;
    /** Cron patterns in SMARTALK_TZ for the backup and the restore drill; null: not scheduled here. */
    schedule: string | null;
    drillSchedule: string | null;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${variable} must be ${expected} (got ${JSON.stringify(got)})`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Variables documented in .env.example, in order; a test keeps the two in step. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_PREFIX',
  'DATA_DIR',
  'LOG_FILE',
  'LOG_LEVEL',
  'ACCESS_LOG_PUBLIC',
  'OPS_TOKEN',
  'SMARTALK_TZ',
  'SMARTALK_LANG',
  'CONTENT_DIR',
  'CDN_BASE_URL',
  'MEDIA_BASE_URL',
  'CDN_PURGE',
  'ALERTS_CONFIG',
  'PUBLIC_URL',
  'ALERT_INTERVAL_SECONDS',
  'CDN_ACCESS_LOG',
  'RATE_LIMIT_USERS_PER_MINUTE',
  'RATE_LIMIT_EVENT_BATCHES_PER_MINUTE',
  'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE',
  'REQUEST_TIMEOUT_SECONDS',
  'DRAIN_SECONDS',
  'EVENTS_RETENTION_DAYS',
  'DATABASE_REPLICA_URL',
  'REPLICA_MAX_LAG_SECONDS',
  'PROMETHEUS_URL',
  'ALERTMANAGER_URL',
  'CHECK_SCHEDULE',
  'BACKUP_DIR',
  'BACKUP_KEEP_DAILY',
  'BACKUP_KEEP_WEEKLY',
  'BACKUP_COPY_COMMAND',
  'BACKUP_SCHEDULE',
  'BACKUP_DRILL_SCHEDULE',
] as const;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function parsePort(env: Env): number {
  const raw = read(env, 'PORT');
  if (raw === undefined) return 3000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 0 || port > 65535) {
    throw new ConfigError('PORT', 'an integer from 0 to 65535', raw);
  }
  return port;
}

function parseUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `a URL starting with ${protocols.join(' or ')}`, redactUrl(raw));
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `a URL starting with ${protocols.join(' or ')}`, redactUrl(raw));
  }
  return raw;
}

/** Hide the password of a connection string before it is printed anywhere. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.password) return raw;
    url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

function parsePositiveInt(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new ConfigError(name, 'a positive integer', raw);
  return Number(raw);
}

/** Whole seconds, 0–60: a longer drain than a minute is a stuck shutdown. */
function parseDrainSeconds(env: Env): number {
  const value = read(env, 'DRAIN_SECONDS');
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (!/^\d+$/.test(value) || seconds > 60) throw new ConfigError('DRAIN_SECONDS', 'whole seconds from 0 to 60', value);
  return seconds;
}

/** A replica only beside a primary: reports cannot read a server the writes never reach. */
function parseReplicaUrl(env: Env): string | undefined {
  const url = parseUrl(env, 'DATABASE_REPLICA_URL', ['postgres:', 'postgresql:']);
  if (url && !read(env, 'DATABASE_URL')) {
    throw new ConfigError('DATABASE_REPLICA_URL', 'set only with DATABASE_URL (a replica of that database)', '<hidden>');
  }
  return url;
}

/**
 * At least 120 days: ingestion accepts events up to 90 days old, and the reports'
 * longest raw-event look-back (the monthly checks) must stay inside what is kept.
 */
function parseRetentionDays(env: Env): number {
  const days = parsePositiveInt(env, 'EVENTS_RETENTION_DAYS', 400);
  if (days < 120) throw new ConfigError('EVENTS_RETENTION_DAYS', 'a number of days, at least 120', String(days));
  return days;
}

function parseCdnPurge(env: Env): string | undefined {
  const raw = read(env, 'CDN_PURGE');
  if (raw === undefined) return undefined;
  const nginx = /^nginx-cache:(\/.+)$/.exec(raw);
  if (nginx) return `nginx-cache:${path.resolve(nginx[1] as string)}`;
  if (/^http-purge:https?:\/\/\S+$/.test(raw)) return raw;
  throw new ConfigError('CDN_PURGE', 'nginx-cache:/path/to/proxy_cache_path or http-purge:https://edge.example.com', raw);
}

/** A cron pattern (five or six fields: minute hour day month weekday), or `off`. */
function parseSchedule(env: Env, name: string, fallback: string): string | null {
  const raw = read(env, name) ?? fallback;
  if (raw === 'off') return null;
  const fields = raw.split(/\s+/);
  if (fields.length < 5 || fields.length > 6 || !fields.every((field) => /^[\d*,/?LW#A-Za-z-]+$/.test(field))) {
    throw new ConfigError(name, 'a cron pattern such as "0 3 * * *", or off', raw);
  }
  return raw;
}

/**
 * The proxies whose X-Forwarded-For is believed (addresses or CIDRs): the client address
 * rate limits, the auth-failure block and the logs use is the one they forwarded.
 * Default: loopback, an nginx on the same host. Anything else is refused at start-up.
 */
function parseTrustProxy(env: Env): string[] {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined) return ['127.0.0.1', '::1'];
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const valid = (entry: string) => {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  };
  if (entries.length === 0 || !entries.every(valid))
    throw new ConfigError('TRUST_PROXY', 'comma-separated addresses or CIDRs, e.g. 127.0.0.1,10.0.0.0/8', raw);
  return entries;
}

function parseRedisPrefix(env: Env): string {
  const raw = read(env, 'REDIS_PREFIX') ?? 'smartalk:';
  if (!/^[\w.:-]{1,64}$/.test(raw)) throw new ConfigError('REDIS_PREFIX', 'up to 64 letters, digits, or . : _ -', raw);
  return raw;
}

function parseTimeZone(env: Env): string {
  const raw = read(env, 'SMARTALK_TZ') ?? 'Asia/Shanghai';
  try {
    new Intl.DateTimeFormat('en', { timeZone: raw });
  } catch {
    throw new ConfigError('SMARTALK_TZ', 'an IANA time zone such as Asia/Shanghai', raw);
  }
  return raw;
}

function parseEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `one of ${allowed.join(', ')}`, raw);
  }
  return raw as T;
}

function parseOpsToken(env: Env): string | undefined {
  const raw = read(env, 'OPS_TOKEN');
  if (raw !== undefined && (raw.length < 16 || /\s/.test(raw))) {
    throw new ConfigError('OPS_TOKEN', 'at least 16 characters without spaces', '<hidden>');
  }
  return raw;
}

/** Parse and validate the whole environment; throws ConfigError on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(read(env, 'DATA_DIR') ?? 'data');
  const host = read(env, 'HOST') ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host)) throw new ConfigError('HOST', 'a host name or IP address', host);
  const port = parsePort(env);
  const alertsConfig = read(env, 'ALERTS_CONFIG');
  return {
    port,
    alertsConfig: alertsConfig ? path.resolve(alertsConfig) : undefined,
    publicUrl: (parseUrl(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://${host}:${port}`).replace(/\/+$/, ''),
    alertIntervalSeconds: parsePositiveInt(env, 'ALERT_INTERVAL_SECONDS', 15),
    cdnAccessLog: read(env, 'CDN_ACCESS_LOG') ? path.resolve(read(env, 'CDN_ACCESS_LOG') as string) : undefined,
    host,
    databaseUrl: parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseReplicaUrl: parseReplicaUrl(env),
    replicaMaxLagSeconds: parsePositiveInt(env, 'REPLICA_MAX_LAG_SECONDS', 30),
    redisUrl: parseUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: parseRedisPrefix(env),
    trustProxy: parseTrustProxy(env),
    dataDir,
    logFile: path.resolve(read(env, 'LOG_FILE') ?? path.join(dataDir, 'logs', 'application.log')),
    logLevel: parseEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    accessLogPublic: parseEnum(env, 'ACCESS_LOG_PUBLIC', ['summary', 'lines'] as const, 'summary'),
    opsToken: parseOpsToken(env),
    tz: parseTimeZone(env),
    lang: parseEnum(env, 'SMARTALK_LANG', ['en', 'zh-CN'] as const, 'en'),
    contentDir: path.resolve(read(env, 'CONTENT_DIR') ?? path.join(dataDir, 'content')),
    cdnBaseUrl: (
      parseUrl(env, 'MEDIA_BASE_URL', ['http:', 'https:']) ?? parseUrl(env, 'CDN_BASE_URL', ['http:', 'https:'])
    )?.replace(/\/+$/, ''),
    cdnPurge: parseCdnPurge(env),
    rateLimits: {
      usersPerMinute: parsePositiveInt(env, 'RATE_LIMIT_USERS_PER_MINUTE', 60),
      eventBatchesPerMinute: parsePositiveInt(env, 'RATE_LIMIT_EVENT_BATCHES_PER_MINUTE', 600),
      authFailuresPerMinute: parsePositiveInt(env, 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 20),
    },
    requestTimeoutSeconds: parsePositiveInt(env, 'REQUEST_TIMEOUT_SECONDS', 30),
    drainSeconds: parseDrainSeconds(env),
    eventsRetentionDays: parseRetentionDays(env),
    prometheusUrl: parseUrl(env, 'PROMETHEUS_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    alertmanagerUrl: parseUrl(env, 'ALERTMANAGER_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    checkSchedule: parseEnum(env, 'CHECK_SCHEDULE', ['on', 'off'] as const, 'on') === 'on',
    backups: {
      dir: path.resolve(read(env, 'BACKUP_DIR') ?? path.join(dataDir, 'backups')),
      keepDaily: parsePositiveInt(env, 'BACKUP_KEEP_DAILY', 7),
      keepWeekly: parsePositiveInt(env, 'BACKUP_KEEP_WEEKLY', 4),
      copyCommand: read(env, 'BACKUP_COPY_COMMAND'),
      // 03:00, the quiet hour; the drill on Monday before the Monday checklist reads it.
      schedule: parseSchedule(env, 'BACKUP_SCHEDULE', '0 3 * * *'),
      drillSchedule: parseSchedule(env, 'BACKUP_DRILL_SCHEDULE', '15 9 * * 1'),
    },
  };
}
