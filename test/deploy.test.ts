/**
 * The deploy/ files work: the real nginx accepts our site config and, in front of a
 * running server, caches videos (Range requests included) and passes the API through.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { mediaAssets, renderMissingMedia } from '../src/learning/media.js';
import { moovFirst } from '../src/learning/media-probe.js';
import { runDiagnosis } from '../src/ops/diagnose/diagnosis.js';
import { assembleDiagnoseDeps } from '../src/ops/diagnose/scenarios.js';
import { videoScenario } from '../src/ops/diagnose/video.js';
import { findBinary, skipReason } from './helpers/binaries.js';
import { smartalkAsync } from './helpers/cli.js';
import { renderNginxConfig, startNginx, testNginxConfig } from './helpers/nginx.js';
import { freePort } from './helpers/private-services.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer | undefined;
let dir: string;
let nginxPort: number;
/** Everything here runs the real nginx. */
const noNginx = skipReason('nginx in front of the server', 'nginx');

let nginx: { url: string; stop(): void } | undefined;

beforeAll(async () => {
  if (noNginx) return; // the tests below skip themselves with the reason
  dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-nginx-'));
  server = await startTestServer({ env: { CDN_ACCESS_LOG: path.join(dir, 'access.log') } });
  nginxPort = await freePort();
  renderNginxConfig(dir, [Number(new URL(server.url).port)], nginxPort);
});

afterAll(async () => {
  nginx?.stop();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nginx in front of SmarTalk', () => {
  it('accepts the site configuration (nginx -t)', (context) => {
    if (noNginx) context.skip(noNginx);
    const result = testNginxConfig(dir);
    expect(result.stderr).toContain('syntax is ok');
    expect(result.status).toBe(0);
  });

  it('caches videos at the edge, Range requests included, and passes the API through', async (context) => {
    const why = noNginx ?? skipReason('video for the nginx test', 'ffmpeg');
    if (why) context.skip(why);
    if (!server) throw new Error('the server did not start');
    const clip = mediaAssets().filter((asset) => asset.path === 'sample.mp4');
    await renderMissingMedia(server.config.contentDir, 'ffmpeg', { assets: clip });
    nginx = await startNginx(dir, nginxPort);
    const edge = nginx.url;

    const first = await fetch(`${edge}/videos/sample.mp4`);
    const body = Buffer.from(await first.arrayBuffer());
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const second = await fetch(`${edge}/videos/sample.mp4`);
    expect(Buffer.from(await second.arrayBuffer())).toEqual(body);
    expect(second.headers.get('x-cache-status')).toBe('HIT');

    const range = await fetch(`${edge}/videos/sample.mp4`, { headers: { range: 'bytes=1000-1999' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('x-cache-status')).toBe('HIT');
    expect(Buffer.from(await range.arrayBuffer())).toEqual(body.subarray(1000, 2000));

    const api = await fetch(`${edge}/api/v1/interests`);
    expect(api.status).toBe(200);
    expect(api.headers.get('cache-control')).toBe('public, max-age=300');
    expect(api.headers.get('x-cache-status')).toBeNull();

    // Metrics are for Prometheus on the host; nginx lets loopback through only.
    expect((await fetch(`${edge}/metrics`)).status).toBe(200);

    const log = readFileSync(path.join(dir, 'access.log'), 'utf8');
    expect(log).toMatch(/GET \/videos\/sample\.mp4 HTTP\/1\.1" 200 \d+ rt=[\d.]+ cache=MISS/);
    expect(log).toMatch(/cache=HIT/);

    // The server reads that log for the CDN hit ratio: 1 MISS, then 2 HITs.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const ratio = Number(/^smartalk_cdn_cache_hit_ratio (\S+)$/m.exec(metrics)?.[1]);
    expect(ratio).toBeCloseTo(2 / 3, 9);
  });
});

describe('diagnose video, cdn purge and video optimize against the real edge', () => {
  it('sees a stale edge copy and a file without faststart; optimize fixes the file, --fix and cdn purge clear the edge', async (context) => {
    const why = noNginx ?? skipReason('video diagnosis', 'ffmpeg', 'ffprobe');
    if (why) context.skip(why);
    if (!server || !nginx) throw new Error('the edge test above must run first');
    const edge = `http://127.0.0.1:${nginxPort}`;
    const contentDir = server.config.contentDir;
    const env = {
      DATA_DIR: server.database.dataDir,
      CONTENT_DIR: contentDir,
      CDN_BASE_URL: edge,
      CDN_PURGE: `nginx-cache:${path.join(dir, 'cache')}`,
      ...(server.database.databaseUrl ? { DATABASE_URL: server.database.databaseUrl } : {}),
    };
    const diagnoseVideo = async (fix = false) =>
      runDiagnosis(videoScenario, await assembleDiagnoseDeps(loadConfig(env), { url: server?.url, fix }), { lang: 'en' });

    // The origin's file changes under the edge: a new encode, without faststart.
    const sample = path.join(contentDir, 'sample.mp4');
    execFileSync(findBinary('ffmpeg') as string, [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=25',
      '-t',
      '3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-movflags',
      '-faststart',
      sample,
    ]);
    const before = await diagnoseVideo();
    const edgeFinding = before.findings.find((f) => f.id === 'video.edge');
    expect(edgeFinding).toMatchObject({ status: 'warn', data: { cacheStatus: 'HIT' } });
    expect(edgeFinding?.summary).toMatch(/a stale copy/);
    const files = before.findings.find((f) => f.id === 'video.files');
    expect(files?.evidence).toContainEqual(expect.stringMatching(/sample\.mp4: no faststart \(moov after mdat\)/));
    expect(before.findings.find((f) => f.id === 'video.transfer')?.evidence[0]).toMatch(/^edge: 200, first byte \d+ ms/);

    const optimized = await smartalkAsync(['video', 'optimize', sample, '--json'], env);
    expect(optimized.status).toBe(0);
    expect(JSON.parse(optimized.stdout)).toEqual([
      expect.objectContaining({
        outcome: 'replaced',
        before: expect.objectContaining({ faststart: false }),
        after: expect.objectContaining({ faststart: true, videoCodec: 'h264' }),
      }),
    ]);
    expect(await moovFirst(sample)).toBe(true);

    // --fix purges the stale copy: the next request misses and brings the origin's file.
    const fixed = await diagnoseVideo(true);
    expect(fixed.fixes).toEqual([
      expect.objectContaining({ action: expect.stringMatching(/^purged \/videos\/sample\.mp4 \(nginx-cache:/), ok: true }),
    ]);
    const refetched = await fetch(`${edge}/videos/sample.mp4`);
    await refetched.arrayBuffer();
    expect(refetched.headers.get('x-cache-status')).toBe('MISS');
    const origin = await fetch(`${server.url}/videos/sample.mp4`, { method: 'HEAD' });
    expect(refetched.headers.get('etag')).toBe(origin.headers.get('etag'));
    expect((await diagnoseVideo()).findings.find((f) => f.id === 'video.files')?.evidence.join('\n') ?? '').not.toMatch(
      /sample\.mp4/,
    );

    // `smartalk cdn purge` with a prefix, as the runbook's PURGE …/videos/*.
    const warm = await fetch(`${edge}/videos/sample.mp4`);
    await warm.arrayBuffer();
    expect(warm.headers.get('x-cache-status')).toBe('HIT');
    const purged = await smartalkAsync(['cdn', 'purge', '/videos/*', '--json'], env);
    expect(purged.status).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual([
      { path: '/videos/*', ok: true, removed: expect.any(Number), detail: expect.stringMatching(/^\d+ cache entries removed$/) },
    ]);
    const after = await fetch(`${edge}/videos/sample.mp4`);
    await after.arrayBuffer();
    expect(after.headers.get('x-cache-status')).toBe('MISS');
    expect((await smartalkAsync(['cdn', 'purge', 'videos/../etc'], env)).status).toBe(2);
  });
});
