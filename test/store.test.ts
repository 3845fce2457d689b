/**
 * The store contract, run against the in-memory store always and against real
 * Redis when the run has one: both must behave the same.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { redisVersionSupported } from '../src/store/redis-store.js';
import type { KeyValueStore } from '../src/store/store.js';
import { storeReachable, storesUnderTest } from './helpers/server.js';

const stores = storesUnderTest('store-test');
const opened: KeyValueStore[] = [];

afterAll(async () => {
  for (const store of opened) await store.close();
});

describe.each(stores)('%s store', (_name, make) => {
  const store = make();
  opened.push(store);

  it('gets, sets, expires and deletes strings', async () => {
    await storeReachable(store);
    expect(await store.get('missing')).toBeUndefined();
    await store.set('a', '1');
    expect(await store.get('a')).toBe('1');
    // TTLs of a second: a loaded machine may pause for a few hundred milliseconds between two calls.
    await store.set('short', 'x', 1);
    expect(await store.get('short')).toBe('x');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await store.get('short')).toBeUndefined();
    await store.del('a');
    expect(await store.get('a')).toBeUndefined();
  });

  it('counts with incr, keeping the first TTL', async () => {
    expect(await store.incr('n')).toBe(1);
    expect(await store.incr('n', 5)).toBe(6);
    // The second call keeps the first call's TTL: the window ends a second after it began.
    expect(await store.incr('window', 1, 1)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await store.incr('window', 1, 1)).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await store.incr('window', 1, 1)).toBe(1);
  });

  it('keeps sets and sorted sets', async () => {
    expect(await store.sadd('s', 'a', 'b', 'a')).toBe(2);
    expect(await store.sadd('s', 'b', 'c')).toBe(1);
    expect(await store.scard('s')).toBe(3);
    expect(await store.scard('nothing')).toBe(0);
    for (const [member, score] of [
      ['u1', 10],
      ['u2', 20],
      ['u3', 30],
      ['u1', 40],
    ] as const)
      await store.zraise('z', score, member);
    expect(await store.zcount('z', 15, 40)).toBe(3);
    // A lower score never lowers a member's score.
    await store.zraise('z', 5, 'u1');
    expect(await store.zcount('z', 40, 40)).toBe(1);
    expect(await store.zcount('z', 0, 15)).toBe(0);
    expect(await store.zremrangebyscore('z', 0, 25)).toBe(1);
    expect(await store.zcount('z', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(2);
    await store.expire('z', 0.1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await store.zcount('z', 0, 100)).toBe(0);
  });
});

describe('Redis version check', () => {
  it('takes 7.0 and later, and refuses what lacks PEXPIRE NX', () => {
    expect(['7.0.0', '7.0.15', '7.2.4', '8.0.1', '10.0.0'].filter(redisVersionSupported)).toHaveLength(5);
    expect(['6.2.14', '6.0.16', '5.0.14', '3.2.12'].filter(redisVersionSupported)).toEqual([]);
  });
});
