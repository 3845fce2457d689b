/** Real-time users (analytics/presence.ts) on the in-memory store, and on real Redis when the run has one. */
import { afterAll, describe, expect, it } from 'vitest';
import { Presence } from '../src/analytics/presence.js';
import type { KeyValueStore } from '../src/store/store.js';
import { storeReachable, storesUnderTest } from './helpers/server.js';

const stores = storesUnderTest('presence-test');
const opened: KeyValueStore[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
});

describe.each(stores)('real-time users on the %s store', (_name, make) => {
  it('keeps a learner seen now when an older event of theirs arrives late', async () => {
    const store = make();
    opened.push(store);
    await storeReachable(store);
    let clock = Date.parse('2026-11-27T08:00:00Z');
    const presence = new Presence(store, () => clock);
    await presence.touch([['learner-1', clock]]); // an authenticated request
    await presence.touch([['learner-1', clock - 200_000]]); // a batch from 200 s ago, sent late
    clock += 150_000;
    // Seen 150 s ago: inside the 5-minute window, whatever arrived after.
    expect(await presence.count()).toBe(1);
    clock += 160_000;
    expect(await presence.count()).toBe(0);
  });
});
