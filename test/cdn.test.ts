/** The CDN hit ratio from an nginx access log in deploy/nginx's format. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cdnStats } from '../src/ops/cdn.js';

describe('cdnStats', () => {
  it('counts HIT over every cache lookup of /videos/ in the last hour', async () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString().replace('.000Z', '+00:00');
    const line = (minutesAgo: number, request: string, cache: string) =>
      `10.0.0.1 [${at(minutesAgo)}] "${request} HTTP/1.1" 200 1234 rt=0.001 cache=${cache}`;
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'smartalk-cdn-')), 'access.log');
    writeFileSync(
      file,
      [
        line(90, 'GET /videos/a.mp4', 'MISS'), // older than an hour
        line(50, 'GET /videos/a.mp4', 'MISS'),
        line(40, 'GET /videos/a.mp4', 'HIT'),
        line(30, 'HEAD /videos/a.mp4', 'HIT'),
        line(20, 'GET /videos/b.mp4', 'EXPIRED'),
        line(10, 'GET /api/v1/interests', '-'), // not a video, not a lookup
        line(5, 'GET /videos/c.mp4', 'HIT'),
        'garbage line',
        '',
      ].join('\n'),
    );
    expect(await cdnStats(file, now)).toEqual({ requests: 5, hits: 3, ratio: 3 / 5 });
    expect(await cdnStats(file, now + 10 * 3_600_000)).toEqual({ requests: 0, hits: 0, ratio: null });
  });
});
