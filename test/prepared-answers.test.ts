/**
 * Prepared answers (src/http/prepared-answers.ts): public views answered before routing
 * must be the very answer Fastify gives (compared with app.inject, which never passes the
 * HTTP server), counted in the same metrics, and must step aside for everything else.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLearner, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET over HTTP with exactly these headers (fetch would add its own Accept-Encoding and decode). */
function rawRequest(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.url}${path}`, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

/** The headers that differ per request or per transport. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'connection', 'keep-alive', 'transfer-encoding']);
const stable = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !PER_REQUEST.has(name)));

/** Requests answered before routing while `action` ran. */
async function preparedDuring(action: () => Promise<unknown>): Promise<number> {
  const before = server.runtime.prepared.answered;
  await action();
  return server.runtime.prepared.answered - before;
}

const CATALOG_PATHS = ['/api/v1/interests', '/api/v1/interests/travel/dramas', '/api/v1/dramas/travel-01'];

describe('prepared answers', () => {
  it('answer a public catalog view again with the bytes and headers Fastify answers, in every encoding', async () => {
    for (const path of CATALOG_PATHS) {
      expect(await preparedDuring(() => rawRequest(path))).toBe(0); // the route answers, and publishes
      for (const acceptEncoding of [undefined, 'gzip', 'br', 'gzip;q=1, br;q=0.5']) {
        const headers: Record<string, string> = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
        let fast: RawAnswer | undefined;
        expect(await preparedDuring(async () => (fast = await rawRequest(path, headers)))).toBe(1);
        const routed = await server.runtime.app.inject({ method: 'GET', url: path, headers });
        expect(fast?.status).toBe(200);
        expect(fast?.body.equals(routed.rawPayload), `${path} ${acceptEncoding}`).toBe(true);
        expect(stable(fast?.headers ?? {})).toEqual(stable(routed.headers));
        expect(fast?.headers['x-request-id']).toMatch(/^[\w-]+$/);
      }
    }
    // A client's own request id is kept, as on every route.
    const tagged = await rawRequest('/api/v1/interests', { 'x-request-id': 'client-tag-1' });
    expect(tagged.headers['x-request-id']).toBe('client-tag-1');
  });

  it('count in the route’s request metrics', async () => {
    const http = server.runtime.app.metrics.http;
    const route = '/api/v1/dramas/:dramaId';
    const count = () => http.total((labels) => labels.route === route && labels.status === '200' && labels.method === 'GET');
    const before = count();
    expect(await preparedDuring(() => Promise.all([1, 2, 3].map(() => rawRequest('/api/v1/dramas/travel-01'))))).toBe(3);
    expect(count() - before).toBe(3);
  });

  it('leave every other request to Fastify: HEAD, a query string, another spelling, a caller, a stale catalog', async () => {
    await rawRequest('/api/v1/interests/travel/dramas');
    const learner = await createLearner(server.url);
    const others: Array<[string, () => Promise<RawAnswer>, (answer: RawAnswer) => void]> = [
      ['HEAD', () => rawRequest('/api/v1/interests', {}, 'HEAD'), (a) => expect(a.status).toBe(200)],
      ['a query string', () => rawRequest('/api/v1/interests?x=1'), (a) => expect(a.status).toBe(400)],
      ['a trailing slash', () => rawRequest('/api/v1/interests/'), (a) => expect(a.status).toBe(200)],
      [
        'a learner',
        () => rawRequest('/api/v1/interests/travel/dramas', { authorization: `Bearer ${learner.token}` }),
        (a) => expect(a.headers['cache-control']).toBe('no-store'),
      ],
      [
        'a bad token',
        () => rawRequest('/api/v1/interests/travel/dramas', { authorization: 'Bearer not-a-token' }),
        (a) => expect(a.status).toBe(401),
      ],
    ];
    for (const [what, request, check] of others) {
      let answer: RawAnswer | undefined;
      expect(await preparedDuring(async () => (answer = await request())), what).toBe(0);
      check(answer as RawAnswer);
    }
    // The trailing-slash answer was not published under its spelling.
    expect(await preparedDuring(() => rawRequest('/api/v1/interests/'))).toBe(0);

    // A catalog no longer current is not answered from: its route answers and publishes the new one.
    server.runtime.catalog.invalidate();
    expect(await preparedDuring(() => rawRequest('/api/v1/interests'))).toBe(0);
    expect(await preparedDuring(() => rawRequest('/api/v1/interests'))).toBe(1);
  });

  it('answer a healthy report while it is the fresh one', async () => {
    // The report is fresh for a second: on a slow machine a pair may straddle a refresh, so try a few.
    let pair: [RawAnswer, RawAnswer] | undefined;
    for (let attempt = 0; attempt < 5 && !pair; attempt++) {
      server.runtime.health.invalidate();
      const first = await rawRequest('/api/v1/health');
      let second: RawAnswer | undefined;
      if ((await preparedDuring(async () => (second = await rawRequest('/api/v1/health')))) === 1)
        pair = [first, second as RawAnswer];
    }
    expect(pair).toBeDefined();
    const [first, second] = pair as [RawAnswer, RawAnswer];
    expect(second.body.equals(first.body)).toBe(true);
    expect(stable(second.headers)).toEqual(stable(first.headers));
    expect(second.headers['cache-control']).toBe('no-store');
    server.runtime.health.invalidate();
    expect(await preparedDuring(() => rawRequest('/api/v1/health'))).toBe(0);
  });

  it('step aside while the server drains, so every answer says the connection closes', async () => {
    await rawRequest('/api/v1/dramas/travel-01');
    server.runtime.drain();
    let answer: RawAnswer | undefined;
    expect(await preparedDuring(async () => (answer = await rawRequest('/api/v1/dramas/travel-01')))).toBe(0);
    expect(answer?.status).toBe(200);
    expect(answer?.headers.connection).toBe('close');
  });
});
