/**
 * What a video file is, for `diagnose video` and `video optimize`: ffprobe's codec and
 * bitrate, and whether the MP4 starts with its index (the `moov` box before `mdat`:
 * "faststart"). Without faststart a phone must fetch the end of the file before it can
 * play the first frame — on a slow network, the "视频加载缓慢" learners feel.
 */
import { execFile } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Above this a learner on a mobile network waits: the runbook's CRF 23 at our sizes stays well under. */
export const MAX_VIDEO_BITRATE = 2_500_000;
export const MAX_VIDEO_BYTES = 50 * 2 ** 20;

export interface VideoFacts {
  file: string;
  bytes: number;
  durationSeconds: number | null;
  bitrate: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  width: number | null;
  height: number | null;
  /** `moov` before `mdat`: playback can start before the whole file arrives. */
  faststart: boolean | null;
  problems: string[];
}

/** The order of the top-level MP4 boxes `moov` and `mdat` (null: not an MP4 we can read). */
export async function moovFirst(file: string): Promise<boolean | null> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(16);
    let offset = 0;
    for (let boxes = 0; offset + 8 <= size && boxes < 1000; boxes++) {
      await handle.read(header, 0, 16, offset);
      let length = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (length === 1) length = Number(header.readBigUInt64BE(8));
      else if (length === 0) length = size - offset;
      if (type === 'moov') return true;
      if (type === 'mdat') return false;
      if (length < 8) return null;
      offset += length;
    }
    return null;
  } finally {
    await handle.close();
  }
}

export async function probeVideo(file: string, ffprobe = 'ffprobe'): Promise<VideoFacts> {
  const { size } = await stat(file);
  const { stdout } = await execFileAsync(
    ffprobe,
    ['-v', 'error', '-show_entries', 'format=duration,bit_rate:stream=codec_type,codec_name,width,height', '-of', 'json', file],
    { timeout: 20_000 },
  );
  const parsed = JSON.parse(stdout) as {
    format?: { duration?: string; bit_rate?: string };
    streams?: Array<{ codec_type?: string; codec_name?: string; width?: number; height?: number }>;
  };
  const video = parsed.streams?.find((s) => s.codec_type === 'video');
  const audio = parsed.streams?.find((s) => s.codec_type === 'audio');
  const number = (value: string | undefined) => (value && Number.isFinite(Number(value)) ? Number(value) : null);
  const facts: VideoFacts = {
    file,
    bytes: size,
    durationSeconds: number(parsed.format?.duration),
    bitrate: number(parsed.format?.bit_rate),
    videoCodec: video?.codec_name ?? null,
    audioCodec: audio?.codec_name ?? null,
    width: video?.width ?? null,
    height: video?.height ?? null,
    faststart: await moovFirst(file),
    problems: [],
  };
  if (facts.faststart === false) facts.problems.push('no faststart (moov after mdat)');
  if (facts.videoCodec && facts.videoCodec !== 'h264')
    facts.problems.push(`codec ${facts.videoCodec} (phones play h264 everywhere)`);
  if (facts.bitrate !== null && facts.bitrate > MAX_VIDEO_BITRATE) {
    facts.problems.push(`bitrate ${(facts.bitrate / 1e6).toFixed(1)} Mbit/s over ${MAX_VIDEO_BITRATE / 1e6}`);
  }
  if (facts.bytes > MAX_VIDEO_BYTES)
    facts.problems.push(`${(facts.bytes / 2 ** 20).toFixed(0)} MiB over ${MAX_VIDEO_BYTES / 2 ** 20}`);
  return facts;
}

/** Every .mp4 under `dir`, at most `limit` of them (largest first: those hurt most). */
export async function videoFiles(dir: string, limit = 500): Promise<string[]> {
  const found: Array<{ file: string; bytes: number }> = [];
  const walk = async (current: string, depth: number): Promise<void> => {
    if (depth > 6) return;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.mp4')) found.push({ file: full, bytes: (await stat(full)).size });
    }
  };
  await walk(dir, 0);
  return found
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, limit)
    .map((f) => f.file);
}
