/**
 * The media files the content refers to: where each lives under CONTENT_DIR,
 * and how to render a small real one with ffmpeg so a fresh install plays.
 *
 * Rendering is best-effort: without ffmpeg the server still starts and the
 * catalog still works; the missing files answer 404 until rendered.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CATALOG, type CatalogInterest, CLIP_SECONDS, DRAMA_SECONDS, dramaId, keywordId } from './catalog.js';
import { probeVideo } from './media-probe.js';

const run = promisify(execFile);

/** The runbook's `curl -I …/videos/sample.mp4` file: served under its own name. */
export const SAMPLE_VIDEO_FILE = 'sample.mp4';

export const mediaPath = {
  dramaSubtitled: (drama: string) => `dramas/${drama}/subtitled.mp4`,
  dramaPlain: (drama: string) => `dramas/${drama}/plain.mp4`,
  keywordClip: (keyword: string) => `clips/${keyword}.mp4`,
  keywordAudio: (keyword: string) => `audio/${keyword}.m4a`,
};

export interface MediaAsset {
  path: string;
  kind: 'drama-subtitled' | 'drama-plain' | 'clip' | 'audio';
  /** Varies colour and pitch so every file is visibly its own. */
  index: number;
  seconds: number;
  /** Subtitle cues (the drama's keyword sentences) for the subtitled rendition. */
  subtitles?: string[];
}

export function mediaAssets(catalog: CatalogInterest[] = CATALOG): MediaAsset[] {
  // The runbook checks the edge with `curl -I …/videos/sample.mp4`; it exists for that.
  const assets: MediaAsset[] = [{ path: SAMPLE_VIDEO_FILE, kind: 'drama-plain', index: 0, seconds: 10 }];
  let index = 1;
  for (const interest of catalog) {
    interest.dramas.forEach((drama, d) => {
      const id = dramaId(interest.id, d + 1);
      const lines = drama.keywords.map(([, , , exampleEn, exampleZh]) => `${exampleEn}\n${exampleZh}`);
      assets.push({
        path: mediaPath.dramaSubtitled(id),
        kind: 'drama-subtitled',
        index: index++,
        seconds: DRAMA_SECONDS,
        subtitles: lines,
      });
      assets.push({ path: mediaPath.dramaPlain(id), kind: 'drama-plain', index: index++, seconds: DRAMA_SECONDS });
      drama.keywords.forEach((_, k) => {
        const kw = keywordId(id, k + 1);
        assets.push({ path: mediaPath.keywordClip(kw), kind: 'clip', index: index++, seconds: CLIP_SECONDS });
        assets.push({ path: mediaPath.keywordAudio(kw), kind: 'audio', index: index++, seconds: 1 });
      });
    });
  }
  return assets;
}

/** SubRip text spreading the cues evenly over the video. */
export function toSrt(cues: string[], seconds: number): string {
  const span = seconds / Math.max(cues.length, 1);
  const stamp = (t: number) => {
    const ms = Math.round(t * 1000);
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const s = Math.floor((ms % 60_000) / 1000);
    return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')},${String(ms % 1000).padStart(3, '0')}`;
  };
  return cues.map((cue, i) => `${i + 1}\n${stamp(i * span)} --> ${stamp((i + 1) * span)}\n${cue}\n`).join('\n');
}

function ffmpegArgs(asset: MediaAsset, output: string, srtFile: string | undefined): string[] {
  const hue = (asset.index * 47) % 360;
  const video = ['-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=15:duration=${asset.seconds}`];
  const x264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '34', '-pix_fmt', 'yuv420p', '-vf', `hue=h=${hue}`];
  const tone = (seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=${220 + (asset.index % 60) * 11}:duration=${seconds}`];
  const common = ['-v', 'error', '-y', '-nostdin'];
  switch (asset.kind) {
    case 'clip':
      return [...common, ...video, ...x264, '-an', '-movflags', '+faststart', '-f', 'mp4', output];
    case 'audio':
      return [...common, ...tone(asset.seconds), '-c:a', 'aac', '-b:a', '48k', '-f', 'mp4', output];
    case 'drama-plain':
      return [
        ...common,
        ...video,
        ...tone(asset.seconds),
        ...x264,
        '-c:a',
        'aac',
        '-b:a',
        '32k',
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
        output,
      ];
    case 'drama-subtitled':
      return [
        ...common,
        ...video,
        ...tone(asset.seconds),
        '-i',
        srtFile ?? '',
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-map',
        '2:s',
        ...x264,
        '-c:a',
        'aac',
        '-b:a',
        '32k',
        '-c:s',
        'mov_text',
        '-metadata:s:s:0',
        'language=eng',
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
        output,
      ];
  }
}

/** The ffmpeg binary on PATH (or FFMPEG_PATH), or undefined when there is none. */
export function findFfmpeg(env = process.env): Promise<string | undefined> {
  return findTool(env.FFMPEG_PATH ?? 'ffmpeg');
}

/** The ffprobe binary on PATH (or FFPROBE_PATH), or undefined when there is none. */
export function findFfprobe(env = process.env): Promise<string | undefined> {
  return findTool(env.FFPROBE_PATH ?? 'ffprobe');
}

async function findTool(candidate: string): Promise<string | undefined> {
  try {
    await run(candidate, ['-version'], { timeout: 10_000 });
    return candidate;
  } catch {
    return undefined;
  }
}

/** What a phone needs to know of a rendition before fetching it (ffprobe's figures). */
export interface MediaFacts {
  bytes: number;
  durationSeconds: number | null;
  bitrateKbps: number | null;
}

/** ffprobe's figures of each file under CONTENT_DIR, by path: written by the renderer, read with the catalog. */
export const MEDIA_MANIFEST = 'media-manifest.json';

export async function readMediaManifest(contentDir: string): Promise<Record<string, MediaFacts>> {
  try {
    const parsed = JSON.parse(await readFile(path.join(contentDir, MEDIA_MANIFEST), 'utf8')) as { files?: unknown };
    return parsed.files && typeof parsed.files === 'object' ? (parsed.files as Record<string, MediaFacts>) : {};
  } catch {
    // None yet, or half of one from a crash: the files are probed again.
    return {};
  }
}

/**
 * Adds entries to the manifest: merged with what is on disk (another process may have
 * written since), written beside it and renamed into place, one write at a time.
 */
let manifestWrites: Promise<void> = Promise.resolve();
function recordMediaFacts(contentDir: string, entries: Record<string, MediaFacts>): Promise<void> {
  manifestWrites = manifestWrites.then(async () => {
    const files = { ...(await readMediaManifest(contentDir)), ...entries };
    const target = path.join(contentDir, MEDIA_MANIFEST);
    await writeFile(`${target}.partial`, `${JSON.stringify({ version: 1, files }, null, 1)}\n`);
    await rename(`${target}.partial`, target);
  });
  return manifestWrites;
}

async function probeFacts(ffprobe: string, file: string): Promise<MediaFacts> {
  const facts = await probeVideo(file, ffprobe);
  return {
    bytes: facts.bytes,
    durationSeconds: facts.durationSeconds === null ? null : Math.round(facts.durationSeconds * 100) / 100,
    bitrateKbps: facts.bitrate === null ? null : Math.round(facts.bitrate / 1000),
  };
}

/**
 * Where each file stands: `pending` while it is not there (being rendered, or not yet
 * uploaded), else its manifest figures — its size alone when the manifest does not know
 * this version of it yet (the renderer probes it at the next start).
 */
export async function mediaStates(contentDir: string, files: Iterable<string>): Promise<Map<string, MediaState>> {
  const manifest = await readMediaManifest(contentDir);
  const states = new Map<string, MediaState>();
  await Promise.all(
    [...new Set(files)].map(async (file) => {
      const size = await stat(path.join(contentDir, file)).then(
        (info) => info.size,
        () => undefined,
      );
      const known = manifest[file];
      states.set(
        file,
        size === undefined
          ? PENDING_MEDIA
          : known?.bytes === size
            ? { status: 'ready', ...known }
            : { status: 'ready', bytes: size, durationSeconds: null, bitrateKbps: null },
      );
    }),
  );
  return states;
}

export type MediaState = { status: 'ready' | 'pending' } & { [K in keyof MediaFacts]: MediaFacts[K] | null };
export const PENDING_MEDIA: MediaState = { status: 'pending', bytes: null, durationSeconds: null, bitrateKbps: null };

export interface RenderProgress {
  done: number;
  total: number;
  path: string;
  ok: boolean;
}

export interface RenderResult {
  rendered: string[];
  present: number;
  failed: Array<{ path: string; error: string }>;
}

/**
 * Render every asset missing from contentDir. Each file is written beside its
 * final name and renamed into place, so a half-written video is never served.
 */
export async function renderMissingMedia(
  contentDir: string,
  ffmpeg: string,
  options: {
    assets?: MediaAsset[];
    concurrency?: number;
    onProgress?: (progress: RenderProgress) => void;
    /** Stops the rendering: no new file is started and the running ffmpeg is killed (shutdown). */
    signal?: AbortSignal;
    /** Records each file's figures in the manifest (MEDIA_MANIFEST), also of files rendered before. */
    ffprobe?: string;
  } = {},
): Promise<RenderResult> {
  const assets = options.assets ?? mediaAssets();
  // One look at the files: what is missing is rendered, what the manifest does not know is probed.
  const states = await mediaStates(
    contentDir,
    assets.map((asset) => asset.path),
  );
  const missing = assets.filter((asset) => states.get(asset.path)?.status === 'pending');
  const result: RenderResult = { rendered: [], present: assets.length - missing.length, failed: [] };
  const { ffprobe } = options;
  const describe = async (file: string) => {
    if (ffprobe) await recordMediaFacts(contentDir, { [file]: await probeFacts(ffprobe, path.join(contentDir, file)) });
  };
  if (ffprobe) {
    for (const [file, state] of states) {
      if (state.status === 'ready' && state.durationSeconds === null && !options.signal?.aborted)
        await describe(file).catch(() => undefined);
    }
  }
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < missing.length && !options.signal?.aborted) {
      const asset = missing[next++] as MediaAsset;
      const target = path.join(contentDir, asset.path);
      const partial = `${target}.partial`;
      const srt = asset.subtitles ? `${target}.srt` : undefined;
      await mkdir(path.dirname(target), { recursive: true });
      try {
        if (srt) await writeFile(srt, toSrt(asset.subtitles ?? [], asset.seconds));
        await run(ffmpeg, ffmpegArgs(asset, partial, srt), {
          timeout: 120_000,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        await rename(partial, target);
        await describe(asset.path).catch(() => undefined);
        result.rendered.push(asset.path);
        options.onProgress?.({ done: ++done, total: missing.length, path: asset.path, ok: true });
      } catch (error) {
        await rm(partial, { force: true });
        result.failed.push({ path: asset.path, error: (error as Error).message.split('\n')[0] ?? 'ffmpeg failed' });
        options.onProgress?.({ done: ++done, total: missing.length, path: asset.path, ok: false });
      } finally {
        if (srt) await rm(srt, { force: true });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  return result;
}
