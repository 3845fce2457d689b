/**
 * Shared fast state (caches, counters, presence): Redis when REDIS_URL is set,
 * process memory otherwise. Every method may be called while Redis is down;
 * see store/open-store.ts for how that degrades.
 */
export interface KeyValueStore {
  readonly kind: 'redis' | 'memory';
  /** The value, or undefined when missing or expired. */
  get(key: string): Promise<string | undefined>;
  /** Set a value, expiring after ttlSeconds when given. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Add `by` to an integer counter (created at 0); the TTL applies when the key is new. */
  incr(key: string, by?: number, ttlSeconds?: number): Promise<number>;
  /** Add members to a set; resolves with how many were new. */
  sadd(key: string, ...members: string[]): Promise<number>;
  scard(key: string): Promise<number>;
  /** Add a member to a sorted set, or raise its score to `score`; never lowers it (Redis ZADD GT). */
  zraise(key: string, score: number, member: string): Promise<void>;
  /** Members with min ≤ score ≤ max. */
  zcount(key: string, min: number, max: number): Promise<number>;
  /** Remove members with min ≤ score ≤ max; resolves with how many went. */
  zremrangebyscore(key: string, min: number, max: number): Promise<number>;
  expire(key: string, ttlSeconds: number): Promise<void>;
  /** Round-trip latency in ms; rejects when the store is unreachable. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export interface StoreHealth {
  kind: 'redis' | 'memory';
  /** False while Redis is unreachable and the store is serving from memory. */
  up: boolean;
  lastError: string | undefined;
}
