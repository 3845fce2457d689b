/**
 * A value recomputed at most every `maxAgeMs`, in the background: callers get the
 * last value at once (only the very first call waits), and concurrent refreshes
 * are one. Scrapes and evaluators read reports through it.
 */
export class RefreshingCache<T> {
  #value: T | undefined;
  #at = 0;
  #refreshing: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    if (this.now() - this.#at > this.maxAgeMs && !this.#refreshing) {
      this.#refreshing = this.load()
        .then((value) => {
          this.#value = value;
          this.#at = this.now();
          return value;
        })
        .finally(() => {
          this.#refreshing = undefined;
        });
    }
    if (this.#value !== undefined) return this.#value;
    return this.#refreshing as Promise<T>;
  }
}
