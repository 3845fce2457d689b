/** The one cache helper: fresh values, one load for concurrent callers, and each stale mode. */
import { describe, expect, it } from 'vitest';
import { Cached, type CachedOptions } from '../src/cached.js';

function source() {
  let value = 0;
  let fail = false;
  let loads = 0;
  let release: (() => void) | undefined;
  return {
    load: async () => {
      loads++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      if (fail) throw new Error('source down');
      return ++value;
    },
    release: () => release?.(),
    failNext: (on: boolean) => {
      fail = on;
    },
    loads: () => loads,
  };
}

function setup(stale: CachedOptions['stale']) {
  let clock = 0;
  const src = source();
  const cache = new Cached(src.load, { maxAgeMs: 100, stale, now: () => clock });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  /** A get() whose load is let through: resolves with what the caller got. */
  const loaded = async () => {
    const pending = cache.get();
    await settle();
    src.release();
    return pending;
  };
  return { cache, src, settle, loaded, advance: (ms: number) => (clock += ms) };
}

describe('Cached', () => {
  it('shares one load among concurrent callers and serves the value while fresh', async () => {
    const { cache, src, settle, advance } = setup('never');
    const both = Promise.all([cache.get(), cache.get()]);
    await settle();
    src.release();
    expect(await both).toEqual([1, 1]);
    advance(99);
    expect(await cache.get()).toBe(1);
    expect(src.loads()).toBe(1);
  });

  it('while-refreshing: answers with the old value at once, reloads in the background, survives a failed reload', async () => {
    const { cache, src, settle, loaded, advance } = setup('while-refreshing');
    expect(await loaded()).toBe(1);
    advance(100);
    src.failNext(true);
    expect(await cache.get()).toBe(1); // not waiting for the reload
    await settle();
    src.release(); // the reload fails: no unhandled rejection, the old value stays
    await settle();
    expect(await cache.get()).toBe(1);
    src.failNext(false);
    await settle();
    src.release();
    await settle();
    expect(await cache.get()).toBe(2);
  });

  it('on-failure: waits for the reload, and keeps the old value when it fails', async () => {
    const { src, loaded, advance } = setup('on-failure');
    expect(await loaded()).toBe(1);
    advance(100);
    src.failNext(true);
    expect(await loaded()).toBe(1);
  });

  it('never: fails with the reload, and reloads after invalidate', async () => {
    const { cache, src, loaded } = setup('never');
    expect(await loaded()).toBe(1);
    cache.invalidate();
    src.failNext(true);
    await expect(loaded()).rejects.toThrow('source down');
  });
});
