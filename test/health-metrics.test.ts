/** Health endpoints, /metrics (checked by the real promtool), OpenAPI docs and the request log. */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ALERTS_YAML } from '../src/ops/alerts/config.js';
import { requireBinaries } from './helpers/binaries.js';
import { api, createLearner, logLines, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('health', () => {
  it('reports every check with a status, and is not cacheable', async () => {
    const res = await api(server.url, '/api/v1/health');
    expect(res.status).toBe(200);
    expect(['ok', 'degraded']).toContain(res.body.status);
    expect(Object.keys(res.body.checks).sort()).toEqual(['cache', 'cpu', 'database', 'disk', 'eventLoop', 'memory']);
    expect(res.body.checks.database).toMatchObject({ status: 'ok', engine: server.runtime.db.engine });
    expect(res.body.checks.database.latencyMs).toBeGreaterThanOrEqual(0);
    expect(res.body.checks.disk.freeRatio).toBeGreaterThan(0);
    expect(res.body.checks.memory.rssBytes).toBeGreaterThan(0);
    // What people read comes in both languages, with the same figure.
    const free = /^(\d+\.\d)% free on the data directory's file system$/.exec(res.body.checks.disk.detail)?.[1];
    expect(Math.abs(Number(free) - res.body.checks.disk.freeRatio * 100)).toBeLessThan(0.1);
    expect(res.body.checks.disk.detailZh).toBe(`数据目录所在文件系统剩余 ${free}%`);
    expect(res.body.checks.memory.detailZh).toMatch(/^系统内存已用 \d+\.\d%；本进程 \d+ MiB$/);
    expect(res.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('degrades at the alert thresholds, ALERTS_CONFIG overrides included', async () => {
    const file = path.join(server.database.dataDir, 'alerts-thresholds.yml');
    await writeFile(
      file,
      `${DEFAULT_ALERTS_YAML}\nthresholds:\n  LowDiskSpace: { ratio: 0.9999 }\n  HighMemory: { ratio: 0.0001 }\n`,
    );
    const strict = await startTestServer({ env: { ALERTS_CONFIG: file } });
    try {
      const res = await api(strict.url, '/api/v1/health');
      expect(res.body.checks.disk.status, JSON.stringify(res.body.checks.disk)).toBe('degraded');
      expect(res.body.checks.memory.status, JSON.stringify(res.body.checks.memory)).toBe('degraded');
      expect(res.body.status).toBe('degraded');
    } finally {
      await strict.close();
    }
  });

  it('answers liveness and readiness', async () => {
    expect((await api(server.url, '/api/v1/health/live')).body).toEqual({ status: 'ok' });
    expect((await api(server.url, '/api/v1/health/ready')).body).toEqual({ status: 'ready' });
  });
});

describe('metrics', () => {
  it('exports RED metrics by route template, process metrics and the up gauges', async () => {
    const learner = await createLearner(server.url);
    await api(server.url, `/api/v1/users/${learner.userId}/progress`, { token: learner.token });
    await api(server.url, '/api/v1/dramas/nope-01');
    await api(server.url, '/no/such/path/12345');
    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1\/users",status="201"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/users\/:userId\/progress",status="200"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/v1\/dramas\/:dramaId",status="404"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain(learner.userId);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="1",method="POST",route="\/api\/v1\/users"\} 1/);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^smartalk_db_up 1$/m);
    expect(text).toMatch(/^smartalk_cache_up 1$/m);
  });

  it('exports the backup status from the job log once a backup has run', async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    expect(before).not.toMatch(/^smartalk_backup_last_success_timestamp_seconds \d/m);
    const finished = new Date('2026-11-26T18:00:00Z');
    await server.runtime.db.kysely
      .insertInto('job_runs')
      .values([
        { job: 'backup', slot: '2026-11-26', instance: 'test', status: 'success', finished_at: finished },
        {
          job: 'backup',
          slot: '2026-11-27',
          instance: 'test',
          status: 'failed',
          finished_at: new Date(finished.getTime() + 86_400_000),
        },
      ])
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The status is cached for 30 s; a fresh server reads it at once.
    const fresh = await startTestServer({ database: server.database });
    try {
      const text = await (await fetch(`${fresh.url}/metrics`)).text();
      expect(text).toMatch(new RegExp(`^smartalk_backup_last_success_timestamp_seconds ${finished.getTime() / 1000}$`, 'm'));
      expect(text).toMatch(/^smartalk_backup_last_run_failed 1$/m);
    } finally {
      await fresh.close();
    }
  });

  it('passes promtool check metrics on a live scrape', async (context) => {
    requireBinaries(context, 'promtool check metrics', 'promtool');
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('API documentation', () => {
  it('documents every route in the OpenAPI document and serves browsable docs', async () => {
    const doc = await api(server.url, '/docs/json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.body.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'POST /api/v1/users',
      'GET /api/v1/users/{userId}',
      'POST /api/v1/users/{userId}/interests',
      'GET /api/v1/users/{userId}/progress',
      'GET /api/v1/interests',
      'GET /api/v1/interests/{interestId}/dramas',
      'GET /api/v1/dramas/{dramaId}',
      'POST /api/v1/keywords/{keywordId}/attempts',
      'POST /api/v1/dramas/{dramaId}/magic-moment',
      'GET /api/v1/health',
      'GET /api/v1/health/live',
      'GET /api/v1/health/ready',
    ]) {
      expect(documented).toContain(route);
    }
    const page = await fetch(`${server.url}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger');
  });

  it('gives every request body field a type, and shows an analytics event’s whole shape', async () => {
    const doc = (await api(server.url, '/docs/json')).body as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
    };
    type Schema = { type?: string; anyOf?: Schema[]; properties?: Record<string, Schema>; items?: Schema };
    const untyped: string[] = [];
    const walk = (where: string, schema: Schema) => {
      if (!schema.type && !schema.anyOf) untyped.push(where);
      for (const [name, field] of Object.entries(schema.properties ?? {})) walk(`${where}.${name}`, field);
      if (schema.items) walk(`${where}[]`, schema.items);
    };
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(methods)) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        if (schema) walk(`${method.toUpperCase()} ${path}`, schema);
      }
    expect(untyped).toEqual([]);
    const events = doc.paths['/api/v1/analytics/events']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(events?.properties?.events?.items?.properties ?? {})).toEqual(
      expect.arrayContaining(['id', 'name', 'timestamp', 'userId', 'deviceId', 'properties']),
    );
  });
});

describe('request log', () => {
  it('writes one JSON line per request with id, route and latency, and no secrets', async () => {
    const learner = await createLearner(server.url);
    await api(server.url, `/api/v1/users/${learner.userId}/progress`, {
      token: learner.token,
      headers: { 'x-request-id': 'trace-me-123' },
    });
    const lines = await logLines(server);
    const line = lines.find((entry) => entry.reqId === 'trace-me-123');
    expect(line).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/api/v1/users/:userId/progress',
      status: 200,
      userId: learner.userId,
    });
    expect(line?.latencyMs).toBeGreaterThan(0);
    const all = lines.map((entry) => JSON.stringify(entry)).join('\n');
    expect(all).not.toContain(learner.token);
    expect(all).not.toContain(server.opsToken);
  });

  it('counts anonymous public catalog answers into a summary line; a learner, an error and ACCESS_LOG_PUBLIC=lines get lines', async () => {
    const own = await startTestServer();
    const learner = await createLearner(own.url);
    for (let i = 0; i < 3; i++) await api(own.url, '/api/v1/interests', { headers: { 'x-request-id': `public-${i}` } });
    await api(own.url, '/api/v1/interests/travel/dramas', { token: learner.token, headers: { 'x-request-id': 'learner-read' } });
    await api(own.url, '/api/v1/dramas/no-such-drama', { headers: { 'x-request-id': 'missing-drama' } });
    const before = await logLines(own, (read) =>
      ['learner-read', 'missing-drama'].every((reqId) => read.some((line) => line.reqId === reqId)),
    );
    expect(before.filter((line) => String(line.reqId).startsWith('public-'))).toEqual([]);
    expect(before.find((line) => line.reqId === 'learner-read')).toMatchObject({
      route: '/api/v1/interests/:interestId/dramas',
      userId: learner.userId,
    });
    expect(before.find((line) => line.reqId === 'missing-drama' && line.msg === 'request completed')).toMatchObject({
      status: 404,
    });
    // The counts are written once a minute, and when the app closes.
    await own.runtime.app.close();
    const summarizes = (line: Record<string, unknown>) =>
      line.msg === 'requests summarized' && line.route === '/api/v1/interests';
    const summary = (await logLines(own, (read) => read.some(summarizes))).find(summarizes);
    await own.close();
    expect(summary).toMatchObject({ method: 'GET', requests: 3, statuses: { 200: 3 } });
    expect(summary?.maxLatencyMs).toBeGreaterThan(0);

    const everyLine = await startTestServer({ env: { ACCESS_LOG_PUBLIC: 'lines' } });
    try {
      // The second is a prepared answer (http/prepared-answers.ts): it gets its line too.
      await api(everyLine.url, '/api/v1/interests', { headers: { 'x-request-id': 'public-line' } });
      await api(everyLine.url, '/api/v1/interests', { headers: { 'x-request-id': 'public-line-2' } });
      expect(everyLine.runtime.prepared.answered).toBe(1);
      const lines = await logLines(everyLine, (read) =>
        ['public-line', 'public-line-2'].every((reqId) => read.some((line) => line.reqId === reqId)),
      );
      for (const reqId of ['public-line', 'public-line-2']) {
        expect(lines.find((line) => line.reqId === reqId)).toMatchObject({ status: 200, route: '/api/v1/interests' });
      }
    } finally {
      await everyLine.close();
    }
  });
});
