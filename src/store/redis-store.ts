/**
 * The Redis store. Commands fail fast while Redis is unreachable (no offline
 * queue, a short command timeout) so a request never waits on a dead cache;
 * ioredis keeps reconnecting in the background.
 */
import { Redis } from 'ioredis';
import type { KeyValueStore } from './store.js';

/**
 * The oldest Redis whose commands we use: counters set their TTL with PEXPIRE NX (7.0),
 * real-time users keep the latest time with ZADD GT (6.2).
 */
export const MIN_REDIS_VERSION = '7.0';

/** Whether a Redis version (INFO's `redis_version`, e.g. "7.0.15") is MIN_REDIS_VERSION or later. */
export function redisVersionSupported(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [minMajor = 0, minMinor = 0] = MIN_REDIS_VERSION.split('.').map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}

export interface RedisStoreOptions {
  keyPrefix?: string;
  onReady?: () => void;
  onError?: (error: Error) => void;
}

export class RedisStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  readonly client: Redis;
  /** Why the server is not to be used, until a connection's version check passes. */
  #unusable: Error | undefined = new Error('not connected yet');

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      commandTimeout: 500,
      // Reconnect forever, backing off to one attempt every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
      lazyConnect: false,
      keyPrefix: options.keyPrefix ?? '',
    });
    // An older Redis would refuse some commands on every call: until a connection finds
    // a newer one (an upgrade and restart), it counts as unavailable — pings fail with the
    // reason, so health and the log say why — and the server runs on memory. A version
    // that cannot be read (INFO refused by an ACL, a timeout) is given the benefit of the doubt.
    this.client.on('ready', () => {
      this.client.info('server').then(
        (info) => this.#versionChecked(/^redis_version:(\S+)/m.exec(info)?.[1], options),
        () => this.#versionChecked(undefined, options),
      );
    });
    this.client.on('error', (error: Error) => options.onError?.(error));
  }

  #versionChecked(version: string | undefined, options: RedisStoreOptions): void {
    this.#unusable =
      version === undefined || redisVersionSupported(version)
        ? undefined
        : new Error(`Redis ${version} is older than ${MIN_REDIS_VERSION}, which SmarTalk needs`);
    if (this.#unusable) options.onError?.(this.#unusable);
    else options.onReady?.();
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'PX', Math.max(1, Math.round(ttlSeconds * 1000)));
  }

  async del(key: string): Promise<void> {
    await this.client.del(key);
  }

  async incr(key: string, by = 1, ttlSeconds?: number): Promise<number> {
    if (ttlSeconds === undefined) return this.client.incrby(key, by);
    // NX: the TTL is set when the counter is created, never extended.
    const [[incrError, value] = [], [expireError] = []] =
      (await this.client
        .multi()
        .incrby(key, by)
        .pexpire(key, Math.max(1, Math.round(ttlSeconds * 1000)), 'NX')
        .exec()) ?? [];
    if (incrError) throw incrError;
    if (expireError) throw expireError;
    return Number(value);
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    return members.length === 0 ? 0 : this.client.sadd(key, ...members);
  }

  async scard(key: string): Promise<number> {
    return this.client.scard(key);
  }

  async zraise(key: string, score: number, member: string): Promise<void> {
    await this.client.zadd(key, 'GT', score, member);
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    return this.client.zcount(key, min, max);
  }

  async zremrangebyscore(key: string, min: number, max: number): Promise<number> {
    return this.client.zremrangebyscore(key, min, max);
  }

  async expire(key: string, ttlSeconds: number): Promise<void> {
    await this.client.pexpire(key, Math.max(1, Math.round(ttlSeconds * 1000)));
  }

  async ping(): Promise<number> {
    if (this.#unusable) throw this.#unusable;
    const started = performance.now();
    await this.client.ping();
    return performance.now() - started;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
