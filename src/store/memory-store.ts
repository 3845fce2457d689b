/**
 * The in-memory twin of the Redis store: the embedded default, the fallback while
 * Redis is down, and what unit tests use. Expired keys are dropped lazily on read
 * and by a sweep that runs at most once a minute.
 */
import type { KeyValueStore } from './store.js';

type Entry =
  | { type: 'string'; value: string; expiresAt: number | undefined }
  | { type: 'set'; value: Set<string>; expiresAt: number | undefined }
  | { type: 'zset'; value: Map<string, number>; expiresAt: number | undefined };

export class MemoryStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  #nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(): void {
    const now = this.now();
    if (now < this.#nextSweep) return;
    this.#nextSweep = now + 60_000;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #expiry(ttlSeconds: number | undefined): number | undefined {
    return ttlSeconds === undefined ? undefined : this.now() + ttlSeconds * 1000;
  }

  #typed<T extends Entry['type']>(key: string, type: T): Extract<Entry, { type: T }> | undefined {
    const entry = this.#live(key);
    if (entry === undefined) return undefined;
    if (entry.type !== type) throw new Error(`WRONGTYPE key ${key} holds a ${entry.type}, not a ${type}`);
    return entry as Extract<Entry, { type: T }>;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#typed(key, 'string')?.value;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    this.#sweep();
    this.#entries.set(key, { type: 'string', value, expiresAt: this.#expiry(ttlSeconds) });
  }

  async del(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async incr(key: string, by = 1, ttlSeconds?: number): Promise<number> {
    const entry = this.#typed(key, 'string');
    const current = entry ? Number(entry.value) : 0;
    if (!Number.isInteger(current)) throw new Error(`ERR value at ${key} is not an integer`);
    const next = current + by;
    this.#entries.set(key, {
      type: 'string',
      value: String(next),
      expiresAt: entry ? entry.expiresAt : this.#expiry(ttlSeconds),
    });
    return next;
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    let entry = this.#typed(key, 'set');
    if (!entry) {
      entry = { type: 'set', value: new Set(), expiresAt: undefined };
      this.#entries.set(key, entry);
    }
    const before = entry.value.size;
    for (const member of members) entry.value.add(member);
    return entry.value.size - before;
  }

  async scard(key: string): Promise<number> {
    return this.#typed(key, 'set')?.value.size ?? 0;
  }

  async zraise(key: string, score: number, member: string): Promise<void> {
    let entry = this.#typed(key, 'zset');
    if (!entry) {
      entry = { type: 'zset', value: new Map(), expiresAt: undefined };
      this.#entries.set(key, entry);
    }
    entry.value.set(member, Math.max(score, entry.value.get(member) ?? Number.NEGATIVE_INFINITY));
  }

  async zcount(key: string, min: number, max: number): Promise<number> {
    const entry = this.#typed(key, 'zset');
    if (!entry) return 0;
    let count = 0;
    for (const score of entry.value.values()) if (score >= min && score <= max) count++;
    return count;
  }

  async zremrangebyscore(key: string, min: number, max: number): Promise<number> {
    const entry = this.#typed(key, 'zset');
    if (!entry) return 0;
    let removed = 0;
    for (const [member, score] of entry.value) {
      if (score >= min && score <= max) {
        entry.value.delete(member);
        removed++;
      }
    }
    return removed;
  }

  async expire(key: string, ttlSeconds: number): Promise<void> {
    const entry = this.#live(key);
    if (entry) entry.expiresAt = this.#expiry(ttlSeconds);
  }

  async ping(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
