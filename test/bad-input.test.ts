/**
 * Bad input gets a clear 4xx JSON error, never a 5xx; a learner can never touch
 * another learner's data. Includes a property test that throws random bodies at
 * every write route.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAnswerKey } from '../src/analytics/simulation-driver.js';
import type { AnswerKey } from '../src/analytics/simulation-plan.js';
import { EMOTION_IDS } from '../src/learning/emotions.js';
import { api, createLearner, type Learner, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let alice: Learner;
let bob: Learner;
let answerKey: AnswerKey;
beforeAll(async () => {
  server = await startTestServer();
  answerKey = await fetchAnswerKey(server.url, server.opsToken);
  alice = await createLearner(server.url);
  bob = await createLearner(server.url);
});
afterAll(async () => {
  await server?.close();
});

function expectJsonError(res: { status: number; body: any; text: string }, status: number, code?: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.body?.error?.code, res.text).toMatch(code ? new RegExp(`^${code}$`) : /^SMT_ERR_/);
  expect(typeof res.body.error.message).toBe('string');
}

describe('authentication and isolation', () => {
  it('answers 401 without a token and with a wrong one', async () => {
    expectJsonError(await api(server.url, `/api/v1/users/${alice.userId}/progress`), 401, 'SMT_ERR_AUTH_MISSING');
    expectJsonError(
      await api(server.url, `/api/v1/users/${alice.userId}/progress`, { token: 'stk_not-a-real-token' }),
      401,
      'SMT_ERR_AUTH_INVALID',
    );
    expectJsonError(
      await api(server.url, `/api/v1/users/${alice.userId}/progress`, { headers: { authorization: 'Basic abc' } }),
      401,
      'SMT_ERR_AUTH_INVALID',
    );
    expectJsonError(
      await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
        body: { selectedClipId: answerKey.right('travel-01-k01') },
      }),
      401,
    );
  });

  it("never lets one learner read or change another's data", async () => {
    for (const route of [`/api/v1/users/${alice.userId}`, `/api/v1/users/${alice.userId}/progress`]) {
      expectJsonError(await api(server.url, route, { token: bob.token }), 403, 'SMT_ERR_AUTH_FORBIDDEN');
    }
    expectJsonError(
      await api(server.url, `/api/v1/users/${alice.userId}/interests`, { token: bob.token, body: { interestId: 'travel' } }),
      403,
      'SMT_ERR_AUTH_FORBIDDEN',
    );
    const aliceProfile = await api(server.url, `/api/v1/users/${alice.userId}`, { token: alice.token });
    expect(aliceProfile.body.interests).toEqual([]);
    // Attempts always act on the caller: Bob's attempt leaves Alice's progress untouched.
    await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
      token: bob.token,
      body: { selectedClipId: answerKey.right('travel-01-k01') },
    });
    const aliceProgress = await api(server.url, `/api/v1/users/${alice.userId}/progress`, { token: alice.token });
    expect(aliceProgress.body.keywordsCollected).toBe(0);
  });

  it('does not accept the ops token as a learner token, nor a learner token on the metrics of another', async () => {
    expectJsonError(await api(server.url, `/api/v1/users/${alice.userId}`, { token: server.opsToken }), 401);
  });
});

describe('malformed requests', () => {
  it('rejects malformed JSON, wrong content types and empty bodies', async () => {
    expectJsonError(await api(server.url, '/api/v1/users', { body: '{"deviceId": ' }), 400, 'SMT_ERR_MALFORMED_JSON');
    expectJsonError(
      await api(server.url, '/api/v1/users', {
        body: 'deviceId=abc',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'SMT_ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    expectJsonError(
      await api(server.url, '/api/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' } }),
      400,
    );
  });

  it('rejects wrong types and out-of-range values with the field named', async () => {
    const wrongType = await api(server.url, '/api/v1/users', { body: { deviceId: 12345678 } });
    expectJsonError(wrongType, 400, 'SMT_ERR_VALIDATION');
    expect(wrongType.body.error.details[0].path).toBe('/deviceId');
    expectJsonError(await api(server.url, '/api/v1/users', { body: { deviceId: 'short' } }), 400, 'SMT_ERR_VALIDATION');
    expectJsonError(await api(server.url, '/api/v1/users', { body: { deviceId: 'has spaces in it' } }), 400);
    expectJsonError(await api(server.url, '/api/v1/users', { body: { deviceId: 'device-0001', extra: 1 } }), 400);
    expectJsonError(
      await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
        token: alice.token,
        body: { correct: 'yes' },
      }),
      400,
    );
    expectJsonError(
      await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', {
        token: alice.token,
        body: { selectedClipId: answerKey.right('travel-01-k01'), mode: 'turbo' },
      }),
      400,
    );
    expectJsonError(
      await api(server.url, '/api/v1/dramas/travel-01/magic-moment', { token: alice.token, body: { understanding: 'meh' } }),
      400,
    );
    expectJsonError(await api(server.url, '/api/v1/users/not-a-uuid/progress', { token: alice.token }), 400);
    // ajv-formats takes the urn:uuid: form; PostgreSQL does not, so neither do we.
    expectJsonError(await api(server.url, `/api/v1/users/urn:uuid:${alice.userId}/progress`, { token: alice.token }), 400);
  });

  it('answers unknown ids with 404 and unknown routes with a JSON 404', async () => {
    expectJsonError(
      await api(server.url, '/api/v1/keywords/travel-09-k01/attempts', {
        token: alice.token,
        body: { selectedClipId: answerKey.right('travel-01-k01') },
      }),
      404,
      'SMT_ERR_KEYWORD_NOT_FOUND',
    );
    expectJsonError(await api(server.url, '/api/v1/dramas/travel-09/magic-moment', { token: alice.token, body: {} }), 404);
    expectJsonError(await api(server.url, '/api/v1/nothing-here'), 404, 'SMT_ERR_NOT_FOUND');
  });

  it('refuses oversized bodies with 413', async () => {
    const huge = JSON.stringify({ deviceId: 'device-0001', padding: 'x'.repeat(200_000) });
    expectJsonError(await api(server.url, '/api/v1/users', { body: huge }), 413, 'SMT_ERR_BODY_TOO_LARGE');
  });

  it('survives prototype-pollution bodies', async () => {
    const res = await api(server.url, '/api/v1/users', { body: '{"deviceId":"device-proto-1","__proto__":{"admin":true}}' });
    expect(res.status).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('property: random bodies never cause a 5xx', () => {
  const writeRoutes = () => [
    { route: '/api/v1/users', token: undefined },
    { route: `/api/v1/users/${alice.userId}/interests`, token: alice.token },
    { route: '/api/v1/keywords/travel-01-k02/attempts', token: alice.token },
    { route: '/api/v1/dramas/travel-01/magic-moment', token: alice.token },
  ];

  const jsonValue = fc.oneof(
    fc.jsonValue(),
    fc.dictionary(
      fc.constantFrom(
        'deviceId',
        'interestId',
        'selectedClipId',
        'correct',
        'mode',
        'responseMs',
        'understanding',
        'platform',
        'appVersion',
      ),
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.array(fc.string())),
    ),
  );
  // Bodies close to valid, so the property reaches the services and not only the validator.
  const nearlyValid = fc.record(
    {
      deviceId: fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z0-9._:-]{8,40}$/)),
      platform: fc.constantFrom('ios', 'android', '', 'x'.repeat(40)),
      interestId: fc.constantFrom('travel', 'movies', 'workplace', 'cooking', '', 'TRAVEL'),
      selectedClipId: fc.constantFrom('travel-01-k02-c1', 'travel-01-k02-c2', 'travel-01-k01-c1', 'x', ''),
      correct: fc.boolean(),
      mode: fc.constantFrom('normal', 'focus', 'rescue', 'turbo'),
      responseMs: fc.oneof(fc.integer({ min: -5, max: 4_000_000 }), fc.double()),
      understanding: fc.constantFrom(...EMOTION_IDS, 'meh'),
    },
    { requiredKeys: [] },
  );
  const rawBody = fc.oneof(
    nearlyValid.map((value) => JSON.stringify(value)),
    jsonValue.map((value) => JSON.stringify(value)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  );

  it('holds for every write route', async () => {
    for (const { route, token } of writeRoutes()) {
      await fc.assert(
        fc.asyncProperty(rawBody, async (body) => {
          const res = await api(server.url, route, {
            token,
            body,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
          });
          expect(res.status, `${route} ${JSON.stringify(body)} → ${res.text}`).toBeLessThan(500);
          if (res.status >= 400) expect(res.body?.error?.code).toMatch(/^SMT_ERR_/);
        }),
        { numRuns: 200 },
      );
    }
  });
});

describe('errors in the language the client asks for', () => {
  it('answer in Chinese for Accept-Language zh-CN, codes unchanged, and name a wrong enum value once', async () => {
    const zh = { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' };
    const drama = await api(server.url, '/api/v1/dramas/nope-99', { headers: zh });
    expect(drama.status).toBe(404);
    expect(drama.body.error).toMatchObject({ code: 'SMT_ERR_DRAMA_NOT_FOUND', message: '短剧不存在' });
    expect((await api(server.url, '/api/v1/dramas/nope-99')).body.error.message).toBe('No such drama');
    expect(
      (await api(server.url, '/api/v1/dramas/nope-99', { headers: { 'accept-language': 'en-US,zh;q=0.5' } })).body.error.message,
    ).toBe('No such drama');

    const turbo = { selectedClipId: answerKey.right('travel-01-k01'), mode: 'turbo' };
    const en = await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', { token: alice.token, body: turbo });
    expect(en.status).toBe(400);
    expect(en.body.error.message).toBe('Invalid body: /mode must be one of: normal, focus, rescue');
    expect(en.body.error.details).toHaveLength(1);
    const cn = await api(server.url, '/api/v1/keywords/travel-01-k01/attempts', { token: alice.token, body: turbo, headers: zh });
    expect(cn.body.error).toMatchObject({
      code: 'SMT_ERR_VALIDATION',
      message: '请求体无效：/mode 必须是以下之一：normal、focus、rescue',
    });
    const extra = await api(server.url, `/api/v1/users/${alice.userId}/reviews?page=2`, { token: alice.token, headers: zh });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toBe('查询参数无效：/ 不允许的字段 page');
  });

  it('reads Accept-Language by its weights', async () => {
    const { acceptLanguage } = await import('../src/i18n.js');
    expect(acceptLanguage(undefined)).toBe('en');
    expect(acceptLanguage('zh')).toBe('zh-CN');
    expect(acceptLanguage('zh-Hans-CN;q=0.8, en;q=0.9')).toBe('en');
    expect(acceptLanguage('en;q=0.1, zh-TW')).toBe('zh-CN');
    expect(acceptLanguage('fr, *;q=0.5')).toBe('en');
    expect(acceptLanguage('zh;q=abc, en;q=0.2')).toBe('zh-CN');
  });
});
