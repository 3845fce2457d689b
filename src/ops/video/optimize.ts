/**
 * `smartalk video optimize`: the runbook's 优化视频压缩设置 — libx264 CRF 23, preset medium
 * — plus `+faststart`, written beside the original and swapped in only when the result
 * probes as a faststart h264 file. An original that was already fine and would grow is kept.
 */
import { spawn } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { probeVideo, type VideoFacts } from '../../learning/media-probe.js';

export interface OptimizeResult {
  file: string;
  before: Pick<VideoFacts, 'bytes' | 'videoCodec' | 'faststart' | 'bitrate'>;
  after: Pick<VideoFacts, 'bytes' | 'videoCodec' | 'faststart' | 'bitrate'> | null;
  /** replaced: the optimized file took the original's place; kept: the original stays (why in `reason`). */
  outcome: 'replaced' | 'kept' | 'failed';
  reason: string;
}

const facts = (v: VideoFacts) => ({ bytes: v.bytes, videoCodec: v.videoCodec, faststart: v.faststart, bitrate: v.bitrate });

/** The runbook's settings, and AAC audio (or none) so every phone plays it. */
export function optimizeArgs(input: string, output: string, hasAudio: boolean): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-i',
    input,
    '-map',
    '0:v:0',
    ...(hasAudio ? ['-map', '0:a:0', '-c:a', 'aac', '-b:a', '128k'] : ['-an']),
    '-c:v',
    'libx264',
    '-crf',
    '23',
    '-preset',
    'medium',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-progress',
    'pipe:1',
    '-nostats',
    output,
  ];
}

export async function optimizeVideo(
  file: string,
  options: { ffmpeg?: string; ffprobe?: string; onProgress?: (share: number) => void; signal?: AbortSignal } = {},
): Promise<OptimizeResult> {
  const before = await probeVideo(file, options.ffprobe);
  const temp = path.join(path.dirname(file), `.${path.basename(file, '.mp4')}.optimizing.mp4`);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(options.ffmpeg ?? 'ffmpeg', optimizeArgs(file, temp, before.audioCodec !== null), {
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: options.signal,
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-2000);
      });
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const micros = /out_time_us=(\d+)/.exec(chunk)?.[1];
        if (micros && before.durationSeconds) options.onProgress?.(Math.min(1, Number(micros) / 1e6 / before.durationSeconds));
      });
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}: ${stderr.trim().split('\n').at(-1)}`)),
      );
    });
    const after = await probeVideo(temp, options.ffprobe);
    if (after.videoCodec !== 'h264' || after.faststart !== true) {
      await rm(temp, { force: true });
      return {
        file,
        before: facts(before),
        after: facts(after),
        outcome: 'failed',
        reason: 'the result is not a faststart h264 file',
      };
    }
    if (before.problems.length === 0 && after.bytes >= before.bytes) {
      await rm(temp, { force: true });
      return {
        file,
        before: facts(before),
        after: facts(after),
        outcome: 'kept',
        reason: 'already faststart h264, and re-encoding would not make it smaller',
      };
    }
    await rename(temp, file);
    return {
      file,
      before: facts(before),
      after: facts(after),
      outcome: 'replaced',
      reason: before.problems.join('; ') || 'smaller',
    };
  } catch (error) {
    await rm(temp, { force: true });
    return { file, before: facts(before), after: null, outcome: 'failed', reason: (error as Error).message };
  }
}
