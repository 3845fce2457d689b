/**
 * The media files the content refers to: where each lives under CONTENT_DIR,
 * and how to render a small real one with ffmpeg so a fresh install plays.
 *
 * Rendering is best-effort: without ffmpeg the server still starts and the
 * catalog still works; the missing files answer 404 until rendered.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CATALOG, type CatalogInterest, CLIP_SECONDS, DRAMA_SECONDS, dramaId, keywordId } from './catalog.js';

const run = promisify(execFile);

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
  const assets: MediaAsset[] = [{ path: 'sample.mp4', kind: 'drama-plain', index: 0, seconds: 10 }];
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
export async function findFfmpeg(env = process.env): Promise<string | undefined> {
  const candidate = env.FFMPEG_PATH ?? 'ffmpeg';
  try {
    await run(candidate, ['-version'], { timeout: 10_000 });
    return candidate;
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

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
  } = {},
): Promise<RenderResult> {
  const assets = options.assets ?? mediaAssets();
  const missing: MediaAsset[] = [];
  for (const asset of assets) if (!(await exists(path.join(contentDir, asset.path)))) missing.push(asset);
  const result: RenderResult = { rendered: [], present: assets.length - missing.length, failed: [] };
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
