/**
 * A value loaded at most every `maxAgeMs`, with one load shared by concurrent callers —
 * the one cache helper of the server. What a caller gets while the value is old is the
 * one choice each user makes:
 *
 * - `stale: 'while-refreshing'` — the last value at once, the reload in the background
 *   (reports behind gauges and alert rounds: a scrape never waits for a report);
 * - `stale: 'on-failure'` — wait for the reload, but keep the last value if it fails
 *   (the content catalog outlives a database hiccup);
 * - `stale: 'never'` — wait for the reload, and fail with it (health must be current).
 *
 * Only the very first call waits in every mode. A background reload that fails is not
 * an unhandled rejection: it is retried on the next call.
 */
export interface CachedOptions {
  maxAgeMs: number;
  stale: 'while-refreshing' | 'on-failure' | 'never';
  now?: () => number;
}

export class Cached<T> {
  #value: { data: T; at: number } | undefined;
  #loading: Promise<T> | undefined;
  readonly #now: () => number;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly options: CachedOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  async get(): Promise<T> {
    const last = this.#value;
    if (last && this.#isFresh(last.at)) return last.data;
    this.#loading ??= this.load()
      .then((data) => {
        this.#value = { data, at: this.#now() };
        return data;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    if (last && this.options.stale === 'while-refreshing') {
      this.#loading.catch(() => {}); // retried on the next call
      return last.data;
    }
    try {
      return await this.#loading;
    } catch (error) {
      if (last && this.options.stale === 'on-failure') return last.data;
      throw error;
    }
  }

  /** The value when it is loaded and fresh (no load due), without a promise; else undefined. */
  peek(): T | undefined {
    const last = this.#value;
    return last && this.#isFresh(last.at) ? last.data : undefined;
  }

  #isFresh(loadedAt: number): boolean {
    return this.#now() - loadedAt < this.options.maxAgeMs;
  }

  /** The next call loads again (after a known change, and in tests). */
  invalidate(): void {
    if (this.#value) this.#value = { ...this.#value, at: Number.NEGATIVE_INFINITY };
  }
}
