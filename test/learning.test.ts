/** The learning API over real HTTP: learners, catalog, vTPR attempts, magic moment, progress, unlocks. */
import http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAnswerKey } from '../src/analytics/simulation-driver.js';
import { type AnswerKey, keywordsOf } from '../src/analytics/simulation-plan.js';
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

async function collectAll(learner: Learner, dramaId: string) {
  for (const keywordId of keywordsOf(dramaId)) {
    const res = await api(server.url, `/api/v1/keywords/${keywordId}/attempts`, {
      token: learner.token,
      body: { selectedClipId: answerKey.right(keywordId), mode: 'normal' },
    });
    expect(res.status, res.text).toBe(200);
  }
}

describe('learners', () => {
  it('creates a learner for a new device and resumes it with the device secret', async () => {
    const first = await api(server.url, '/api/v1/users', { body: { deviceId: 'ios-device-0001', platform: 'ios' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ created: true });
    expect(first.body.userId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.body.deviceSecret).toMatch(/^sds_/);
    const again = await api(server.url, '/api/v1/users', {
      body: { deviceId: 'ios-device-0001', deviceSecret: first.body.deviceSecret },
    });
    expect(again.status).toBe(200);
    expect(again.body.userId).toBe(first.body.userId);
    expect(again.body.created).toBe(false);
    expect(again.body.deviceSecret).toBeUndefined();
    expect(again.body.token).not.toBe(first.body.token);
    // Both tokens work: a reinstall does not log out another client of the same device.
    for (const token of [first.body.token, again.body.token]) {
      const me = await api(server.url, `/api/v1/users/${first.body.userId}`, { token });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: first.body.userId, platform: 'ios' });
    }
  });

  it('creates one learner when a new device registers concurrently; the others get no token', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api(server.url, '/api/v1/users', { body: { deviceId: 'race-device-42' } })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const refused of results.filter((r) => r.status !== 201)) {
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.error.code).toBe('SMT_ERR_DEVICE_REGISTERED');
      expect(refused.body.token).toBeUndefined();
    }
  });

  it('records interest choices, rejecting unknown themes', async () => {
    const learner = await createLearner(server.url);
    const ok = await api(server.url, `/api/v1/users/${learner.userId}/interests`, {
      token: learner.token,
      body: { interestId: 'movies' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.interests.map((i: { id: string }) => i.id)).toEqual(['movies']);
    const unknown = await api(server.url, `/api/v1/users/${learner.userId}/interests`, {
      token: learner.token,
      body: { interestId: 'cooking' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SMT_ERR_INTEREST_NOT_FOUND');
  });
});

describe('catalog', () => {
  it('lists three themes with badges, publicly cacheable', async () => {
    const res = await api(server.url, '/api/v1/interests');
    expect(res.status).toBe(200);
    expect(res.body.interests.map((i: { id: string }) => i.id)).toEqual(['travel', 'movies', 'workplace']);
    expect(res.body.interests[0].badge).toEqual({ en: 'Travel Survivor', zh: '旅行生存家' });
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('compresses responses for clients that accept it', async () => {
    for (const encoding of ['gzip', 'br']) {
      const res = await fetch(`${server.url}/api/v1/dramas/travel-01`, { headers: { 'accept-encoding': encoding } });
      expect(res.headers.get('content-encoding')).toBe(encoding);
      expect(((await res.json()) as { keywords: unknown[] }).keywords).toHaveLength(15);
    }
  });

  it('shows a new learner chapter 1 open and chapter 2 locked', async () => {
    const res = await api(server.url, '/api/v1/interests/travel/dramas');
    expect(res.status).toBe(200);
    expect(
      res.body.dramas.map((d: { id: string; locked: boolean; requires: string | null }) => [d.id, d.locked, d.requires]),
    ).toEqual([
      ['travel-01', false, null],
      ['travel-02', true, 'travel-01'],
    ]);
    expect(res.body.dramas[0].keywordCount).toBe(15);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
  });

  it('serves a drama with 15 keywords, translations and four clips each, without revealing the answer', async () => {
    const res = await api(server.url, '/api/v1/dramas/workplace-01');
    expect(res.status).toBe(200);
    expect(res.body.keywords).toHaveLength(15);
    const first = res.body.keywords[0];
    expect(first).toMatchObject({ id: 'workplace-01-k01', word: 'colleague', translationZh: '同事' });
    expect(first.clips).toHaveLength(4);
    expect(JSON.stringify(res.body)).not.toMatch(/correct/i);
    // Absolute: this server's own origin when no MEDIA_BASE_URL is set; opaque names.
    const media = (ext: string) => new RegExp(`^${server.url}/videos/m/[A-Za-z0-9_-]{22}\\.${ext}$`);
    expect(res.body.videos.plain.url).toMatch(media('mp4'));
    expect(first.audio.url).toMatch(media('m4a'));
    // Nothing is rendered for this server: every rendition says so.
    expect(first.audio).toMatchObject({ status: 'pending', bytes: null });
    // Nothing names the keyword a clip shows, and the right clip's place does not follow a pattern.
    const keywords: Array<{ id: string; clips: Array<{ id: string; position: number; video: { url: string } }> }> =
      res.body.keywords;
    for (const keyword of keywords) {
      expect(keyword.clips.map((clip) => clip.position)).toEqual([1, 2, 3, 4]);
      for (const clip of keyword.clips) {
        expect(clip.video.url).toMatch(media('mp4'));
        expect(clip.id).toMatch(/^clip_[A-Za-z0-9_-]{16}$/);
      }
    }
    expect(JSON.stringify(keywords.flatMap((keyword) => keyword.clips))).not.toMatch(/workplace|clips\//);
    const rightAt = keywords.map((keyword) => keyword.clips.findIndex((clip) => clip.id === answerKey.right(keyword.id)));
    expect(rightAt.every((at) => at >= 0)).toBe(true);
    expect(rightAt).not.toEqual(keywords.map((_, i) => i % 4));
    expect(new Set(rightAt).size).toBeGreaterThan(1);
    // The same choices on every request (a retry shows what the learner saw).
    expect((await api(server.url, '/api/v1/dramas/workplace-01')).body.keywords).toEqual(keywords);
  });

  it('gives the answer key to the ops team only', async () => {
    expect((await api(server.url, '/api/v1/ops/content/answer-key')).status).toBe(401);
    const key = await api(server.url, '/api/v1/ops/content/answer-key?dramaId=travel-01', { token: server.opsToken });
    expect(key.status).toBe(200);
    expect(key.body.keywords).toHaveLength(15);
    expect(key.body.keywords[0]).toMatchObject({
      keywordId: 'travel-01-k01',
      dramaId: 'travel-01',
      otherClipIds: expect.any(Array),
    });
    expect(key.body.keywords[0].otherClipIds).toHaveLength(3);
    const missing = await api(server.url, '/api/v1/ops/content/answer-key?dramaId=nope-01', { token: server.opsToken });
    expect(missing.body.error.code).toBe('SMT_ERR_DRAMA_NOT_FOUND');
  });

  it('points media at MEDIA_BASE_URL (the CDN) when it is set', async () => {
    const edge = await startTestServer({ env: { MEDIA_BASE_URL: 'https://cdn.example.com/' } });
    try {
      const res = await api(edge.url, '/api/v1/dramas/workplace-01');
      expect(res.body.videos.plain.url).toMatch(/^https:\/\/cdn\.example\.com\/videos\/m\/[\w-]{22}\.mp4$/);
      expect(res.body.keywords[0].clips[0].video.url).toMatch(/^https:\/\/cdn\.example\.com\/videos\/m\//);
    } finally {
      await edge.close();
    }
  });

  it('pages a theme’s chapters with limit and cursor, and refuses unknown query parameters', async () => {
    const all = await api(server.url, '/api/v1/interests/travel/dramas');
    expect(all.body.nextCursor).toBeNull();
    const chapters: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { dramas: Array<{ chapter: number }>; nextCursor: string | null } } = await api(
        server.url,
        `/api/v1/interests/travel/dramas?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      chapters.push(...page.body.dramas.map((d) => d.chapter));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(chapters).toEqual(all.body.dramas.map((d: { chapter: number }) => d.chapter));
    expect(chapters.length).toBeGreaterThan(1);
    expect((await api(server.url, '/api/v1/interests/travel/dramas?cursor=bm9wZQ')).status).toBe(400);
    for (const route of ['/api/v1/interests?lang=zh', '/api/v1/dramas/travel-01?v=2', '/api/v1/interests/travel/dramas?page=2']) {
      const res = await api(server.url, route);
      expect(res.status, route).toBe(400);
      expect(res.body.error.code).toBe('SMT_ERR_VALIDATION');
    }
  });

  it('answers 404 with a JSON error for unknown content', async () => {
    for (const route of ['/api/v1/dramas/nope-01', '/api/v1/interests/nope/dramas']) {
      const res = await api(server.url, route);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toMatch(/^SMT_ERR_(DRAMA|INTEREST)_NOT_FOUND$/);
    }
  });
});

/** A GET with exactly these headers, its raw (still encoded) body. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('catalog views, compressed once', () => {
  it('answers in the encoding the client accepts (br before gzip), the same JSON, and says Vary', async () => {
    const url = `${server.url}/api/v1/dramas/travel-01`;
    const plain = await rawGet(url, {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    const json = plain.body.toString('utf8');
    expect(JSON.parse(json).id).toBe('travel-01');
    const br = await rawGet(url, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).toString('utf8')).toBe(json);
    const gzip = await rawGet(url, { 'accept-encoding': 'br;q=0, gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.body).toString('utf8')).toBe(json);
    const none = await rawGet(url, { 'accept-encoding': 'identity' });
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(none.body.toString('utf8')).toBe(json);
    // The anonymous list of a theme also differs by caller; under 1 KiB it goes out as it is.
    const list = await rawGet(`${server.url}/api/v1/interests/travel/dramas`, { 'accept-encoding': 'gzip' });
    expect(list.headers.vary).toBe('Accept-Encoding, Authorization');
    const listJson = list.headers['content-encoding'] === 'gzip' ? gunzipSync(list.body) : list.body;
    expect(list.headers['content-encoding'] === 'gzip').toBe(listJson.length >= 1024);
    expect(JSON.parse(listJson.toString('utf8')).dramas.length).toBeGreaterThan(0);
  });
});

describe('catalog views across reloads', () => {
  it('keep their compressed forms when a reload brings the same content', async () => {
    const { catalog } = server.runtime;
    const render = (c: { interests: unknown[] }) => JSON.stringify({ interests: c.interests, padding: 'x'.repeat(2048) });
    const first = catalog.viewOf(await catalog.get(), 'test:reload', render);
    const compressed = first.encoded('br');
    catalog.invalidate();
    const again = catalog.viewOf(await catalog.get(), 'test:reload', render);
    expect(again).toBe(first);
    expect(again.encoded('br')).toBe(compressed);
  });
});

describe('vTPR attempts and the magic moment', () => {
  it('grades the picked clip; focus mode narrows the choice, rescue mode gives the answer and the earliest review', async () => {
    const learner = await createLearner(server.url);
    const keywordId = 'travel-01-k03';
    const attempt = (body: Record<string, unknown>) =>
      api(server.url, `/api/v1/keywords/${keywordId}/attempts`, { token: learner.token, body });
    // A forged client-graded answer is refused outside rescue mode: only the server grades.
    const forged = await attempt({ correct: true });
    expect(forged.status).toBe(400);
    expect(forged.body.error.message).toMatch(/rescue mode only/);
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await attempt({ selectedClipId: answerKey.wrong(keywordId), mode: i < 2 ? 'normal' : 'focus' });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ correct: false, graded: 'server', collected: false, consecutiveErrors: i + 1 });
      answers.push(res.body);
    }
    expect(answers.map((a) => a.mode)).toEqual(['normal', 'normal', 'focus', 'focus']);
    expect(answers.map((a) => a.suggestedMode)).toEqual(['normal', 'focus', 'focus', 'rescue']);
    // Focus: two clips, the right one among them, the same on every retry; slower playback.
    const focus = answers[1].focus;
    expect(focus.clipIds).toHaveLength(2);
    expect(focus.clipIds).toContain(answerKey.right(keywordId));
    expect(answers[2].focus).toEqual(focus);
    expect(focus.playbackRate).toBeLessThan(1);
    expect(answers[0]).toMatchObject({ focus: null, rescue: null });
    // Rescue: the answer and why.
    expect(answers[3].rescue).toMatchObject({ clipId: answerKey.right(keywordId), word: expect.any(String) });
    expect(answers[3].rescue.translationZh).toMatch(/\p{Script=Han}/u);
    expect(answers[3].rescue.example.en.length).toBeGreaterThan(0);
    // The mode is the server's: a client that says otherwise is told which it is.
    const wrongMode = await attempt({ selectedClipId: answerKey.right(keywordId), mode: 'normal' });
    expect(wrongMode.status).toBe(409);
    expect(wrongMode.body.error).toMatchObject({ code: 'SMT_ERR_MODE_MISMATCH', details: { mode: 'rescue' } });
    // In rescue mode a client-graded answer (pronunciation on the device) is taken, marked as such.
    const right = await attempt({ correct: true, mode: 'rescue' });
    expect(right.body).toMatchObject({
      correct: true,
      graded: 'client',
      mode: 'rescue',
      collected: true,
      newlyCollected: true,
      attempts: 5,
      consecutiveErrors: 0,
      suggestedMode: 'normal',
      rescue: null,
      drama: { collected: 1, total: 15, allCollected: false },
    });
    // Rescued (FSRS "again"): reviewed the next day; collected at the first try ("good"): in 3 days.
    const days = (iso: string) => (new Date(iso).getTime() - Date.now()) / 86_400_000;
    expect(days(right.body.nextReviewAt)).toBeCloseTo(1, 1);
    const plain = await api(server.url, '/api/v1/keywords/travel-01-k04/attempts', {
      token: learner.token,
      body: { selectedClipId: answerKey.right('travel-01-k04') },
    });
    expect(days(plain.body.nextReviewAt)).toBeCloseTo(3, 1);
  });

  it('rejects a clip of another keyword and an attempt with neither clip nor result', async () => {
    const learner = await createLearner(server.url);
    const foreign = await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
      token: learner.token,
      body: { selectedClipId: answerKey.right('travel-01-k02'), mode: 'normal' },
    });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('SMT_ERR_CLIP_NOT_FOUND');
    const neither = await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
      token: learner.token,
      body: { mode: 'normal' },
    });
    expect(neither.status).toBe(400);
  });

  it('keeps chapter 2 locked until the magic moment of chapter 1, then unlocks it', async () => {
    const learner = await createLearner(server.url);
    const locked = await api(server.url, '/api/v1/keywords/travel-02-k01/attempts', {
      token: learner.token,
      body: { correct: true, mode: 'normal' },
    });
    expect(locked.status).toBe(409);
    expect(locked.body.error).toMatchObject({ code: 'SMT_ERR_DRAMA_LOCKED', details: { requires: 'travel-01' } });

    const early = await api(server.url, '/api/v1/dramas/travel-01/magic-moment', { token: learner.token, body: {} });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({ code: 'SMT_ERR_CLUES_INCOMPLETE', details: { collected: 0, total: 15 } });

    await collectAll(learner, 'travel-01');
    const magic = await api(server.url, '/api/v1/dramas/travel-01/magic-moment', {
      token: learner.token,
      body: { understanding: 'got_the_gist' },
    });
    expect(magic.status).toBe(200);
    expect(magic.body).toMatchObject({
      dramaId: 'travel-01',
      firstCompletion: true,
      activated: true,
      unlockedDramaId: 'travel-02',
      badgeEarned: null,
    });
    const again = await api(server.url, '/api/v1/dramas/travel-01/magic-moment', { token: learner.token, body: {} });
    expect(again.body).toMatchObject({ firstCompletion: false, activated: false, unlockedDramaId: null });
    expect(again.body.completedAt).toBe(magic.body.completedAt);

    const list = await api(server.url, '/api/v1/interests/travel/dramas', { token: learner.token });
    expect(list.body.dramas.map((d: { locked: boolean }) => d.locked)).toEqual([false, false]);
    expect(list.headers.get('cache-control')).toBe('no-store');

    await collectAll(learner, 'travel-02');
    const last = await api(server.url, '/api/v1/dramas/travel-02/magic-moment', { token: learner.token, body: {} });
    expect(last.body).toMatchObject({ activated: false, unlockedDramaId: null, badgeEarned: 'Travel Survivor' });

    const progress = await api(server.url, `/api/v1/users/${learner.userId}/progress`, { token: learner.token });
    expect(progress.status).toBe(200);
    expect(progress.headers.get('cache-control')).toBe('no-store');
    expect(progress.body).toMatchObject({ keywordsCollected: 30, dramasCompleted: 2, reviewsDue: 0 });
    const travel = progress.body.interests.find((i: { id: string }) => i.id === 'travel');
    expect(travel.badgeEarned).toBe(true);
    expect(travel.dramas.map((d: { collected: number; locked: boolean }) => [d.collected, d.locked])).toEqual([
      [15, false],
      [15, false],
    ]);
    const movies = progress.body.interests.find((i: { id: string }) => i.id === 'movies');
    expect(movies.dramas.map((d: { locked: boolean }) => d.locked)).toEqual([false, true]);
  });
});
