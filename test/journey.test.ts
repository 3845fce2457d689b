/**
 * The server records what it knows: the learning actions write their own analytics events
 * in the action's transaction (to the outbox, folded moments later), so activation counts
 * for a client that sends nothing, once for a client that also sends its own, and never
 * for an action that failed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activationCounter, JourneyOutbox } from '../src/analytics/journey-sink.js';
import type { MetricsReport } from '../src/analytics/report.js';
import { fetchAnswerKey } from '../src/analytics/simulation-driver.js';
import { type AnswerKey, keywordsOf } from '../src/analytics/simulation-plan.js';
import { journeyEventId } from '../src/learning/journey-events.js';
import { waitFor } from './helpers/private-services.js';
import { api, createLearner, type Learner, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let answerKey: AnswerKey;
beforeAll(async () => {
  server = await startTestServer();
  answerKey = await fetchAnswerKey(server.url, server.opsToken);
});
afterAll(async () => {
  await server?.close();
});

/** The events of the actions so far, folded from the outbox (as a report does first). */
const folded = () => server.runtime.journeyOutbox.drain();

const activations = async () => {
  await folded();
  return Number(/^user_activated_total (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
};

async function sendEvents(learner: Learner, events: Array<Record<string, unknown>>) {
  const res = await api(server.url, '/api/v1/analytics/events', {
    token: learner.token,
    body: { events: events.map((e) => ({ userId: learner.userId, timestamp: new Date().toISOString(), ...e })) },
  });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** The whole first journey through the API: interest, every clue (one error on the first), the magic moment. */
async function journey(learner: Learner) {
  const post = (path: string, body: Record<string, unknown>) => api(server.url, path, { token: learner.token, body });
  expect((await post(`/api/v1/users/${learner.userId}/interests`, { interestId: 'travel' })).status).toBe(200);
  expect(
    (await post('/api/v1/keywords/travel-01-k01/attempts', { selectedClipId: answerKey.wrong('travel-01-k01') })).status,
  ).toBe(200);
  for (const keywordId of keywordsOf('travel-01')) {
    const res = await post(`/api/v1/keywords/${keywordId}/attempts`, { selectedClipId: answerKey.right(keywordId) });
    expect(res.status, res.text).toBe(200);
  }
  const magic = await post('/api/v1/dramas/travel-01/magic-moment', { understanding: 'got_the_gist' });
  expect(magic.status, magic.text).toBe(200);
  expect(magic.body).toMatchObject({ activated: true, firstCompletion: true });
}

const eventNames = async (userId: string) => {
  await folded();
  return (
    await sql<{ name: string; n: number }>`
      SELECT name, count(*)::int AS n FROM analytics_events WHERE user_id = ${userId}::uuid GROUP BY name ORDER BY name`.execute(
      server.runtime.db.kysely,
    )
  ).rows;
};

async function report(): Promise<MetricsReport> {
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const res = await api<MetricsReport>(server.url, `/api/v1/ops/metrics-report?since=${since}`, { token: server.opsToken });
  expect(res.status).toBe(200);
  return res.body;
}

describe('the events of the learning journey', () => {
  it('are recorded by the server, so a learner whose client sends nothing but its launch is activated once', async () => {
    const before = await activations();
    const baseline = await report();
    const learner = await createLearner(server.url);
    await sendEvents(learner, [{ id: randomUUID(), name: 'app_launched' }]);
    await journey(learner);
    expect(await activations()).toBe(before + 1);
    expect(await eventNames(learner.userId)).toEqual([
      { name: 'all_clues_completed', n: 1 },
      { name: 'app_launched', n: 1 },
      { name: 'first_clue_completed', n: 1 },
      { name: 'interest_selected', n: 1 },
      { name: 'keyword_attempt', n: 16 },
      { name: 'magic_moment_completed', n: 1 },
      { name: 'vtpr_learning_started', n: 1 },
    ]);
    const after = await report();
    expect(after.newUsers).toBe(baseline.newUsers + 1);
    expect(after.activation.activated).toBe(baseline.activation.activated + 1);
    // Steps 1, 3, 5–8 of the funnel moved for this learner (2 and 4 are the client's to send).
    const moved = after.funnel.map((step, i) => step.users - (baseline.funnel[i]?.users ?? 0));
    expect(moved).toEqual([1, 0, 0, 0, 0, 0, 0, 0]); // the funnel needs every step before: 2 and 4 are missing
    expect(after.learning.attempts).toBe(baseline.learning.attempts + 16);
    expect(after.learning.correctAttempts).toBe(baseline.learning.correctAttempts + 15);
  });

  it('count once when the client sends them too, under its own ids or the server’s', async () => {
    const before = await activations();
    const baseline = await report();
    const learner = await createLearner(server.url);
    await sendEvents(learner, [
      { id: randomUUID(), name: 'app_launched' },
      { id: randomUUID(), name: 'onboarding_started' },
      { id: randomUUID(), name: 'preview_video_completed', properties: { dramaId: 'travel-01' } },
    ]);
    await journey(learner);
    // The client reports the magic moment itself: once under its own id, once under the server's.
    const own = await sendEvents(learner, [
      { id: randomUUID(), name: 'magic_moment_completed', properties: { dramaId: 'travel-01' } },
    ]);
    expect(own.accepted).toBe(1);
    const same = await sendEvents(learner, [
      {
        id: journeyEventId(learner.userId, 'magic_moment_completed', 'travel-01'),
        name: 'magic_moment_completed',
        properties: { dramaId: 'travel-01' },
      },
    ]);
    // One event either way: a duplicate here when the server's copy was folded first, else the fold's is.
    expect(same.accepted + same.duplicates).toBe(1);
    await folded();
    expect(await eventNames(learner.userId)).toContainEqual({ name: 'magic_moment_completed', n: 2 });
    expect(await activations()).toBe(before + 1);
    const after = await report();
    expect(after.activation.activated).toBe(baseline.activation.activated + 1);
    expect(after.funnel.map((step, i) => step.users - (baseline.funnel[i]?.users ?? 0))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('are not recorded for an action that failed, and count a learner with no client events in user_activated_total', async () => {
    const learner = await createLearner(server.url);
    // Chapter 2 is locked until chapter 1's magic moment: the attempt fails, and leaves no event.
    const locked = await api(server.url, `/api/v1/keywords/${keywordsOf('travel-02')[0]}/attempts`, {
      token: learner.token,
      body: { selectedClipId: answerKey.right(keywordsOf('travel-02')[0] as string) },
    });
    expect(locked.status).toBe(409);
    expect(await eventNames(learner.userId)).toEqual([]);
    const before = await activations();
    await journey(learner);
    expect(await activations()).toBe(before + 1);
    // A second drama's magic moment is not a second activation.
    for (const keywordId of keywordsOf('travel-02')) {
      await api(server.url, `/api/v1/keywords/${keywordId}/attempts`, {
        token: learner.token,
        body: { selectedClipId: answerKey.right(keywordId) },
      });
    }
    const second = await api(server.url, '/api/v1/dramas/travel-02/magic-moment', { token: learner.token, body: {} });
    expect(second.body).toMatchObject({ activated: false, firstCompletion: true });
    expect(await activations()).toBe(before + 1);
  });

  it('carry the time the client says the action happened (an offline client syncing later)', async () => {
    const learner = await createLearner(server.url);
    const at = new Date(Date.now() - 3 * 86_400_000);
    const res = await api(server.url, '/api/v1/users/' + learner.userId + '/interests', {
      token: learner.token,
      body: { interestId: 'movies', occurredAt: at.toISOString() },
    });
    expect(res.status).toBe(200);
    await folded();
    const { rows: stored } = await sql<{ timestamp: Date }>`
      SELECT "timestamp" FROM analytics_events WHERE user_id = ${learner.userId}::uuid AND name = 'interest_selected'`.execute(
      server.runtime.db.kysely,
    );
    expect(stored.map((r) => new Date(r.timestamp).toISOString())).toEqual([at.toISOString()]);
    const tooOld = await api(server.url, '/api/v1/keywords/movies-01-k01/attempts', {
      token: learner.token,
      body: {
        selectedClipId: answerKey.right('movies-01-k01'),
        occurredAt: new Date(Date.now() - 91 * 86_400_000).toISOString(),
      },
    });
    expect(tooOld.status).toBe(400);
    expect(tooOld.body.error.message).toMatch(/occurredAt is more than 90 days in the past/);
  });
});

describe('the outbox the journey events wait in', () => {
  it('is folded at the next start when an instance died before folding, and a second fold adds nothing', async () => {
    const learner = await createLearner(server.url);
    const { db } = server.runtime;
    const id = journeyEventId(learner.userId, 'interest_selected', 'travel');
    // What a crash leaves: the action and its outbox row committed, nothing folded yet.
    const leftBehind = () =>
      sql`INSERT INTO analytics_outbox (id, user_id, name, occurred_at, properties)
          VALUES (${id}::uuid, ${learner.userId}::uuid, 'interest_selected', now(), '{"interestId":"travel"}')`.execute(
        db.kysely,
      );
    const stored = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM analytics_events WHERE id = ${id}::uuid`.execute(db.kysely))
        .rows[0]?.n;
    const waiting = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM analytics_outbox`.execute(db.kysely)).rows[0]?.n;
    await leftBehind();
    // The next instance (its own outbox folder, as at start-up) folds it without being told.
    const restarted = new JourneyOutbox({ db, tz: server.config.tz, activations: activationCounter(new Registry()) });
    restarted.start();
    try {
      await waitFor(async () => (await stored()) === 1, 10_000, 'the left-behind event in the store');
      expect(await waiting()).toBe(0);
      // The same event again (a fold that ran twice): still one.
      await leftBehind();
      await restarted.drain();
      expect(await stored()).toBe(1);
      expect(await waiting()).toBe(0);
    } finally {
      await restarted.stop();
    }
  });
});

describe('spaced reviews', () => {
  it('list what is due a page at a time, take answers graded by the clip, and reschedule them with FSRS', async () => {
    const learner = await createLearner(server.url);
    const other = await createLearner(server.url);
    const fourDaysAgo = new Date(Date.now() - 4 * 86_400_000).toISOString();
    const keywords = keywordsOf('travel-01').slice(0, 5);
    // Collected four days ago (an offline client syncing): due now, three days after.
    for (const keywordId of keywords) {
      const res = await api(server.url, `/api/v1/keywords/${keywordId}/attempts`, {
        token: learner.token,
        body: { selectedClipId: answerKey.right(keywordId), occurredAt: fourDaysAgo },
      });
      expect(res.status, res.text).toBe(200);
    }
    const reviews = (query: string, token = learner.token) =>
      api(server.url, `/api/v1/users/${learner.userId}/reviews${query}`, { token });
    const first = await reviews('?limit=2');
    expect(first.status, first.text).toBe(200);
    expect(first.body.reviews.map((r: { keywordId: string }) => r.keywordId)).toEqual(keywords.slice(0, 2));
    expect(first.body.reviews[0]).toMatchObject({ word: expect.any(String), reviews: 0, card: { reps: 1, scheduledDays: 3 } });
    expect(first.body.reviews[0].clips).toHaveLength(4);
    const seen = [...first.body.reviews];
    let cursor = first.body.nextCursor;
    while (cursor) {
      const page = await reviews(`?limit=2&cursor=${cursor}`);
      seen.push(...page.body.reviews);
      cursor = page.body.nextCursor;
    }
    expect(seen.map((r) => r.keywordId)).toEqual(keywords);
    expect((await reviews('?limit=2&sort=due')).status).toBe(400);
    expect((await reviews('?cursor=bm9wZQ')).status).toBe(400);
    expect((await reviews('', other.token)).status).toBe(403);

    const answer = (keywordId: string, clip: string, token = learner.token, userId = learner.userId) =>
      api(server.url, `/api/v1/users/${userId}/reviews/${keywordId}`, { token, body: { selectedClipId: clip } });
    const [k1, k2] = keywords as [string, string];
    const right = await answer(k1, answerKey.right(k1));
    expect(right.status, right.text).toBe(200);
    expect(right.body).toMatchObject({ keywordId: k1, correct: true, rating: 'good', reviews: 1, card: { reps: 2, lapses: 0 } });
    // Recalled after 4 days: the next interval is longer than the first (3 days).
    expect(new Date(right.body.nextReviewAt).getTime() - Date.now()).toBeGreaterThan(4 * 86_400_000);
    const wrong = await answer(k2, answerKey.wrong(k2));
    expect(wrong.body).toMatchObject({ correct: false, rating: 'again', card: { lapses: 1 } });
    expect(new Date(wrong.body.nextReviewAt).getTime() - Date.now()).toBeLessThan(2 * 86_400_000);
    // Answered ones leave the due list.
    const after = await reviews('?limit=100');
    expect(after.body.reviews.map((r: { keywordId: string }) => r.keywordId)).toEqual(keywords.slice(2));
    // Not collected: nothing to review. Someone else's: refused.
    const uncollected = keywordsOf('travel-01')[10] as string;
    expect((await answer(uncollected, answerKey.right(uncollected))).body.error.code).toBe('SMT_ERR_REVIEW_NOT_COLLECTED');
    expect((await answer(k1, answerKey.right(k1), other.token)).status).toBe(403);
    // Recorded as events by the server, and counted in the metrics report's learning section.
    expect((await eventNames(learner.userId)).find((e) => e.name === 'srs_card_reviewed')).toEqual({
      name: 'srs_card_reviewed',
      n: 2,
    });
    const learning = (await report()).learning;
    expect(learning.reviews).toBeGreaterThanOrEqual(2);
    expect(learning.reviewsCorrect).toBeGreaterThanOrEqual(1);
    expect(learning.reviewsDue).toBeGreaterThanOrEqual(3);
  });
});
