/**
 * Real-time users: a sorted set of subject → last activity time in the store
 * (Redis when configured, so every instance sees the same count; memory otherwise).
 */
import type { KeyValueStore } from '../store/store.js';
import { METRICS } from './definitions.js';

export const PRESENCE_KEY = 'presence:users';
/** Entries older than this are pruned; it bounds the set's size. */
const KEEP_SECONDS = 3600;

export class Presence {
  #lastPrune = 0;

  constructor(
    private readonly store: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Mark subjects active at the given times (ms); times in the future count as now. A
   * subject keeps its latest time: events that arrive late (an offline client's batch)
   * never move back a learner just seen.
   */
  async touch(entries: Array<[subject: string, atMs: number]>): Promise<void> {
    const now = this.now();
    const cutoff = now - METRICS.realtimeWindowSeconds * 1000;
    await Promise.all(
      entries
        .filter(([, at]) => at >= cutoff)
        .map(([subject, at]) => this.store.zraise(PRESENCE_KEY, Math.min(at, now), subject)),
    );
    if (now - this.#lastPrune > 60_000) {
      this.#lastPrune = now;
      await this.store.zremrangebyscore(PRESENCE_KEY, 0, now - KEEP_SECONDS * 1000);
    }
  }

  /** Distinct subjects active within the window (default: the real-time window). */
  async count(windowSeconds: number = METRICS.realtimeWindowSeconds): Promise<number> {
    const now = this.now();
    return this.store.zcount(PRESENCE_KEY, now - windowSeconds * 1000, Number.POSITIVE_INFINITY);
  }
}
