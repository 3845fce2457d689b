/**
 * api.latency_trend against a real Prometheus holding eight days of history (backfilled
 * with promtool): today's p50/p95 per route next to the same hours of the previous days.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HTTP_BUCKETS } from '../src/http/metrics.js';
import { runChecks } from '../src/ops/checks/runner.js';
import { type OpsReport, prometheusTimeline } from '../src/ops/reports/ops-report.js';
import { findBinary, requireBinaries } from './helpers/binaries.js';
import { freePort, waitFor } from './helpers/private-services.js';
import { api, startTestServer, type TestServer } from './helpers/server.js';

let prometheus: ChildProcess | undefined;
let server: TestServer | undefined;
afterAll(async () => {
  prometheus?.kill('SIGTERM');
  await server?.close();
});

/**
 * One route's histogram, a sample a minute for eight days: 60 requests a minute at 4 ms,
 * then at 300 ms for the last two hours (a slow afternoon).
 */
function history(now: number): string {
  const slowFrom = now - 2 * 3_600_000;
  const edges = [...HTTP_BUCKETS.map(String), '+Inf'];
  const counts = new Array<number>(edges.length).fill(0);
  const points: Array<{ at: number; counts: number[] }> = [];
  for (let at = now - 8 * 86_400_000; at <= now - 120_000; at += 60_000) {
    const latency = at >= slowFrom ? 0.3 : 0.004;
    edges.forEach((edge, i) => {
      if (edge === '+Inf' || latency <= Number(edge)) counts[i] = (counts[i] as number) + 60;
    });
    points.push({ at, counts: [...counts] });
  }
  const lines = ['# TYPE http_request_duration_seconds_bucket gauge'];
  const series = 'job="smartalk",instance="app:3000",method="GET",route="/api/v1/interests"';
  const seconds = (at: number) => (at / 1000).toFixed(0);
  edges.forEach((edge, i) => {
    for (const point of points)
      lines.push(`http_request_duration_seconds_bucket{${series},le="${edge}"} ${point.counts[i]} ${seconds(point.at)}`);
  });
  // Requests by status: 60 a minute answered 200, and 6 a minute 500 while it was slow.
  lines.push('# TYPE http_requests_total gauge');
  for (const status of ['200', '500']) {
    let total = 0;
    for (const point of points) {
      total += status === '200' ? 60 : point.at >= slowFrom ? 6 : 0;
      lines.push(`http_requests_total{${series},status="${status}"} ${total} ${seconds(point.at)}`);
    }
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

describe('Prometheus history in the checks and reports', () => {
  it('names the route that is slower today than in the same hours of the previous 7 days', async (context) => {
    requireBinaries(context, 'a Prometheus with backfilled history', 'prometheus', 'promtool');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-trend-'));
    const now = Date.now();
    writeFileSync(path.join(dir, 'history.om'), history(now));
    execFileSync(findBinary('promtool') as string, [
      'tsdb',
      'create-blocks-from',
      'openmetrics',
      '-q',
      path.join(dir, 'history.om'),
      path.join(dir, 'data'),
    ]);
    writeFileSync(path.join(dir, 'prometheus.yml'), 'global: { scrape_interval: 1m }\nscrape_configs: []\n');
    const port = await freePort();
    prometheus = spawn(
      findBinary('prometheus') as string,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        '--storage.tsdb.retention.time=30d',
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const prometheusUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok === true,
      30_000,
      'prometheus',
    );
    server = await startTestServer({ env: { PROMETHEUS_URL: prometheusUrl } });

    const run = await runChecks(server.runtime.checks, ['api.latency_trend'], { lang: 'en', now: () => new Date(now) });
    const result = run.results[0];
    expect(result).toMatchObject({ status: 'warn', data: { source: 'prometheus' } });
    expect(result?.summary).toBe('1 routes today vs the same hours of the previous 7 days: 1 slower than usual or over 1 s');
    // Usual: every request at 4 ms, interpolated inside the ≤ 5 ms bucket; today: the slow share lands in ≤ 500 ms.
    expect(result?.evidence[0]).toMatch(
      /^GET \/api\/v1\/interests: p50 \d+ ms, p95 (2[5-9]\d|[34]\d\d|500) ms today; usual p95 5 ms — SLOWER$/,
    );

    // Without Prometheus answering, the check says so and falls back to this instance's figures.
    const down = { ...server.runtime.checks, config: { ...server.runtime.checks.config, prometheusUrl: 'http://127.0.0.1:9' } };
    const fallback = (await runChecks(down, ['api.latency_trend'], { lang: 'en' })).results[0];
    expect(fallback?.evidence.join('\n')).toMatch(/Prometheus at http:\/\/127\.0\.0\.1:9 did not answer/);

    // The daily report draws every instance's p95 and 5xx share hour by hour from the same history.
    const made = await api<{ report: OpsReport }>(server.url, '/api/v1/ops/reports', {
      body: { kind: 'daily' },
      token: server.opsToken,
    });
    const timeline = made.body.report.operations.timeline;
    expect(timeline && 'points' in timeline).toBe(true);
    if (timeline && 'points' in timeline) {
      expect(timeline.limits).toEqual({ p95Seconds: 1, errorRate: 0.05 });
      const last = timeline.points.at(-1);
      expect(last?.p95Seconds).toBeGreaterThan(0.25);
      expect(last?.errorRate).toBeCloseTo(6 / 66, 2);
    }
    // Whatever the hour: a day with whole hours behind it gets a point per hour; in a day's
    // first hour, one point over the minutes so far (not an error from Prometheus).
    const limits = { p95Seconds: 1, errorRate: 0.05 };
    const hours = await prometheusTimeline(prometheusUrl, new Date(now - 3 * 3_600_000), new Date(now), 3_600, limits);
    expect(hours && 'points' in hours ? hours.points.length : hours).toBe(3);
    const firstHour = await prometheusTimeline(prometheusUrl, new Date(now - 20 * 60_000), new Date(now), 3_600, limits);
    expect(firstHour && 'points' in firstHour ? firstHour.points.map((p) => p.at) : firstHour).toEqual([
      new Date(now).toISOString(),
    ]);
    if (firstHour && 'points' in firstHour) expect(firstHour.points[0]?.p95Seconds).toBeGreaterThan(0.25);

    const page = await api(server.url, `/api/v1/ops/reports/daily-${made.body.report.date}.html`, { token: server.opsToken });
    expect(page.text).toContain('>HighErrorRate</text>');
    expect(page.text).toContain('>SlowApi</text>');
  }, 120_000);
});
