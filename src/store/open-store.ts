/**
 * The store the server uses: Redis when configured, wrapped so that Redis being
 * down degrades instead of breaking. While Redis is unreachable every call is
 * served by a per-process memory store (counts become per-instance, caches
 * start cold); when Redis answers again, calls go back to it, with no restart.
 */
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { KeyValueStore, StoreHealth } from './store.js';

export interface OpenStoreOptions {
  redisUrl: string | undefined;
  redisPrefix?: string;
  /** Told once per outage and once per recovery, for the log. */
  onStateChange?: (up: boolean, error?: Error) => void;
}

export interface Store extends KeyValueStore {
  health(): StoreHealth;
}

export function openStore(options: OpenStoreOptions): Store {
  if (!options.redisUrl) {
    const memory = new MemoryStore();
    return Object.assign(memory, {
      health: (): StoreHealth => ({ kind: 'memory', up: true, lastError: undefined }),
    });
  }
  return new FallbackStore(options.redisUrl, options.redisPrefix ?? 'smartalk:', options.onStateChange);
}

type Method = Exclude<keyof KeyValueStore, 'kind' | 'close' | 'ping'>;

class FallbackStore implements Store {
  readonly kind = 'redis' as const;
  readonly #redis: RedisStore;
  readonly #memory = new MemoryStore();
  #up = false;
  #lastError: string | undefined = 'not connected yet';

  constructor(
    url: string,
    keyPrefix: string,
    private readonly onStateChange?: (up: boolean, error?: Error) => void,
  ) {
    this.#redis = new RedisStore(url, {
      keyPrefix,
      onReady: () => this.#mark(true),
      onError: (error) => this.#mark(false, error),
    });
  }

  #mark(up: boolean, error?: Error): void {
    if (error) this.#lastError = error.message;
    if (up === this.#up) return;
    this.#up = up;
    if (up) this.#lastError = undefined;
    this.onStateChange?.(up, error);
  }

  async #call<M extends Method>(
    method: M,
    ...args: Parameters<KeyValueStore[M]>
  ): Promise<Awaited<ReturnType<KeyValueStore[M]>>> {
    type Fn = (...a: Parameters<KeyValueStore[M]>) => Promise<Awaited<ReturnType<KeyValueStore[M]>>>;
    if (this.#up) {
      try {
        return await (this.#redis[method] as unknown as Fn).apply(this.#redis, args);
      } catch (error) {
        // A WRONGTYPE or syntax error is ours to fix, not an outage.
        if (error instanceof Error && /^(WRONGTYPE|ERR)/.test(error.message)) throw error;
        this.#mark(false, error as Error);
      }
    }
    return (this.#memory[method] as unknown as Fn).apply(this.#memory, args);
  }

  get(key: string) {
    return this.#call('get', key);
  }
  set(key: string, value: string, ttlSeconds?: number) {
    return this.#call('set', key, value, ttlSeconds);
  }
  del(key: string) {
    return this.#call('del', key);
  }
  incr(key: string, by?: number, ttlSeconds?: number) {
    return this.#call('incr', key, by, ttlSeconds);
  }
  sadd(key: string, ...members: string[]) {
    return this.#call('sadd', key, ...members);
  }
  scard(key: string) {
    return this.#call('scard', key);
  }
  zraise(key: string, score: number, member: string) {
    return this.#call('zraise', key, score, member);
  }
  zcount(key: string, min: number, max: number) {
    return this.#call('zcount', key, min, max);
  }
  zremrangebyscore(key: string, min: number, max: number) {
    return this.#call('zremrangebyscore', key, min, max);
  }
  expire(key: string, ttlSeconds: number) {
    return this.#call('expire', key, ttlSeconds);
  }

  /** Pings Redis itself, so health sees the outage even while the fallback serves. */
  async ping(): Promise<number> {
    try {
      const latency = await this.#redis.ping();
      this.#mark(true);
      return latency;
    } catch (error) {
      this.#mark(false, error as Error);
      throw error;
    }
  }

  health(): StoreHealth {
    return { kind: 'redis', up: this.#up, lastError: this.#lastError };
  }

  async close(): Promise<void> {
    await this.#redis.close();
    await this.#memory.close();
  }
}
