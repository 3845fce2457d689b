/**
 * Videos: rendered by the real ffmpeg, checked by the real ffprobe, and served with
 * HTTP Range, ETag and a long-lived Cache-Control so nginx or a CDN can sit in front.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaAssets, renderMissingMedia, toSrt } from '../src/learning/media.js';
import { findBinary, skipReason } from './helpers/binaries.js';
import { api, startTestServer, type TestServer } from './helpers/server.js';

const needed = ['travel-01/subtitled.mp4', 'travel-01/plain.mp4', 'clips/travel-01-k01.mp4', 'audio/travel-01-k01.m4a'];
const assets = mediaAssets().filter((asset) => needed.some((end) => asset.path.endsWith(end)));

let server: TestServer;
/** Rendering and serving real videos need ffmpeg and ffprobe. */
const noFfmpeg = skipReason('video rendering', 'ffmpeg', 'ffprobe');
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

function rawGet(url: string, headers: Record<string, string>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
      .on('error', reject);
  });
}

function probeFormat(file: string): { bit_rate: string } {
  const out = execFileSync(findBinary('ffprobe') as string, ['-v', 'error', '-show_format', '-of', 'json', file], {
    encoding: 'utf8',
  });
  return JSON.parse(out).format;
}

function probe(file: string): { streams: Array<{ codec_type: string; codec_name: string }>; format: { duration: string } } {
  const out = execFileSync(
    findBinary('ffprobe') as string,
    ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out);
}

describe('media rendering', () => {
  it('writes subtitle cues as SubRip spread over the video', () => {
    expect(toSrt(['Hello\n你好', 'Bye'], 10)).toBe(
      '1\n00:00:00,000 --> 00:00:05,000\nHello\n你好\n\n2\n00:00:05,000 --> 00:00:10,000\nBye\n',
    );
  });

  it('renders real H.264/AAC files, the subtitled drama with a subtitle track', async (context) => {
    if (noFfmpeg) context.skip(noFfmpeg);
    // Before: the drama says its videos are pending, and fetching one says so too.
    const before = (await api(server.url, '/api/v1/dramas/travel-01')).body.videos.plain;
    expect(before).toMatchObject({ status: 'pending', bytes: null, durationSeconds: null, bitrateKbps: null });
    const early = await fetch(before.url);
    expect(early.status).toBe(404);
    expect(early.headers.get('retry-after')).toBe('30');
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('SMT_ERR_MEDIA_PENDING');

    const result = await renderMissingMedia(server.config.contentDir, 'ffmpeg', { assets, ffprobe: 'ffprobe' });
    expect(result.failed).toEqual([]);
    expect(result.rendered.sort()).toEqual(assets.map((a) => a.path).sort());
    const dir = server.config.contentDir;
    const subtitled = probe(`${dir}/dramas/travel-01/subtitled.mp4`);
    expect(subtitled.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264', 'mov_text']);
    expect(Number(subtitled.format.duration)).toBeCloseTo(60, 0);
    const plain = probe(`${dir}/dramas/travel-01/plain.mp4`);
    expect(plain.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(probe(`${dir}/clips/travel-01-k01.mp4`).streams.map((s) => s.codec_name)).toEqual(['h264']);
    expect(probe(`${dir}/audio/travel-01-k01.m4a`).streams.map((s) => s.codec_name)).toEqual(['aac']);
    // A second pass finds everything present and renders nothing.
    const again = await renderMissingMedia(dir, 'ffmpeg', { assets });
    expect(again).toMatchObject({ rendered: [], present: assets.length });

    // After (the catalog looks again every minute; here at once): each rendition's figures, ffprobe's.
    server.runtime.catalog.invalidate();
    const drama = (await api(server.url, '/api/v1/dramas/travel-01')).body;
    const bytes = statSync(`${dir}/dramas/travel-01/plain.mp4`).size;
    expect(drama.videos.plain).toMatchObject({
      status: 'ready',
      bytes,
      durationSeconds: Number(Number(plain.format.duration).toFixed(2)),
    });
    expect(drama.videos.plain.bitrateKbps).toBe(
      Math.round(Number(probeFormat(`${dir}/dramas/travel-01/plain.mp4`).bit_rate) / 1000),
    );
    expect(drama.keywords[0].audio).toMatchObject({ status: 'ready', durationSeconds: expect.closeTo(1, 0) });
    // A clue's clips: the right one is rendered (its keyword's own clip), the others pending.
    expect(drama.keywords[0].clips.map((clip: { video: { status: string } }) => clip.video.status).sort()).toEqual([
      'pending',
      'pending',
      'pending',
      'ready',
    ]);
  });
});

describe('video serving', () => {
  it('serves byte ranges with ETag and an immutable year-long cache', async (context) => {
    if (noFfmpeg) context.skip(noFfmpeg);
    const url = (await api(server.url, '/api/v1/dramas/travel-01')).body.videos.plain.url as string;
    expect(url).toMatch(/\/videos\/m\/[\w-]{22}\.mp4$/);
    const full = await fetch(url);
    expect(full.status).toBe(200);
    const body = Buffer.from(await full.arrayBuffer());
    expect(full.headers.get('content-type')).toBe('video/mp4');
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = full.headers.get('etag');
    expect(etag).toBeTruthy();

    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${body.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(body.subarray(100, 200));

    // fetch() adds Cache-Control: no-cache to conditional requests; a CDN revalidating does not.
    const cached = await rawGet(url, { 'if-none-match': etag as string });
    expect(cached).toBe(304);

    const bad = await fetch(url, { headers: { range: `bytes=${body.length + 10}-` } });
    expect(bad.status).toBe(416);
  });

  it('answers 404 for missing media, for a file under its own name, and refuses path traversal', async () => {
    const unknown = await fetch(`${server.url}/videos/m/AAAAAAAAAAAAAAAAAAAAAA.mp4`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('SMT_ERR_MEDIA_NOT_FOUND');
    // The content team's names would say which keyword a clip shows: only the public ones are served.
    expect((await fetch(`${server.url}/videos/dramas/travel-01/plain.mp4`)).status).toBe(404);
    expect((await fetch(`${server.url}/videos/clips/travel-01-k01.mp4`)).status).toBe(404);
    expect((await fetch(`${server.url}/videos/dramas/nope/plain.mp4`)).status).toBe(404);
    expect((await fetch(`${server.url}/videos/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${server.url}/videos/../ops-token`)).status).toBe(404);
  });
});
