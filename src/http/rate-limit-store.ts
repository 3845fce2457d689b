/**
 * The rate limits' counters in the shared store (store/): in Redis when REDIS_URL is set,
 * so N instances behind one balancer allow the configured rate, not N times it; in
 * memory otherwise, and while Redis is down (the store falls back by itself, so a limit
 * degrades to per instance instead of failing the request or letting everything pass).
 *
 * A window starts at a caller's first request and lasts the route's timeWindow (the
 * counter's TTL, set when it is created), as @fastify/rate-limit's own stores count.
 * Retry-After says the whole window: the store does not report how much of it is left.
 */
import type { KeyValueStore } from '../store/store.js';

type Outcome = (error: Error | null, result?: { current: number; ttl: number }) => void;

export function sharedRateLimitStore(store: KeyValueStore) {
  return class SharedRateLimitStore {
    /** @param _params the plugin's options (unused), @param prefix the route's key space */
    constructor(
      _params?: unknown,
      private readonly prefix = 'rate-limit:',
    ) {}

    incr(key: string, done: Outcome, timeWindowMs: number): void {
      store.incr(`${this.prefix}${key}`, 1, Math.max(1, Math.ceil(timeWindowMs / 1000))).then(
        (current) => done(null, { current, ttl: timeWindowMs }),
        (error: Error) => done(error),
      );
    }

    /** The plugin passes the route's merged options with the route as `routeInfo` (its types say otherwise). */
    child(options: unknown): SharedRateLimitStore {
      const route = (options as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
      return new SharedRateLimitStore(undefined, `${this.prefix}${String(route?.method ?? '')} ${String(route?.url ?? '')}:`);
    }
  };
}
