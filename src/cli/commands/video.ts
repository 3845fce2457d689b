/**
 * `smartalk video optimize [FILE…]` (the runbook's 优化视频压缩设置) and `smartalk cdn purge
 * PATH…` (its 清理CDN缓存). Both work on files and the edge, not the database.
 */
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { bytes } from '../../format.js';
import { say } from '../../i18n.js';
import { UsageError } from '../options.js';
import { paint, printJson, progressBar } from '../output.js';

export function videoCommand(): Command {
  const video = new Command('video').description('Video files: re-encode for phones (libx264 CRF 23, preset medium, faststart)');
  video
    .command('optimize')
    .description(
      'Re-encode files as the runbook says, each replaced only when the result is a faststart h264 file; exit 1 if one failed',
    )
    .argument('[files...]', 'MP4 files (default: every file under CONTENT_DIR that `diagnose video` would flag)')
    .option('--json', 'print [{file, outcome, before, after, reason}]')
    .action(async (files: string[], flags: { json?: boolean }) => {
      const config = loadConfig();
      const [{ optimizeVideo }, { probeVideo, videoFiles }] = await Promise.all([
        import('../../ops/video/optimize.js'),
        import('../../learning/media-probe.js'),
      ]);
      let targets = files.map((file) => path.resolve(file));
      if (targets.length === 0) {
        const flagged = [];
        for (const file of await videoFiles(config.contentDir)) {
          if ((await probeVideo(file)).problems.length > 0) flagged.push(file);
        }
        targets = flagged;
      }
      const results = [];
      const bar = progressBar(say(config.lang, { en: 'optimize', zh: '优化' }), !flags.json && process.stderr.isTTY === true);
      for (const [i, file] of targets.entries()) {
        const result = await optimizeVideo(file, {
          onProgress: (share) => bar.update(Math.round((i + share) * 100), targets.length * 100, path.basename(file)),
        });
        results.push(result);
      }
      bar.stop();
      process.exitCode = results.some((r) => r.outcome === 'failed') ? 1 : 0;
      if (flags.json) return printJson(results);
      if (results.length === 0) console.log(say(config.lang, { en: 'nothing to optimize', zh: '没有需要优化的文件' }));
      for (const r of results) {
        const sizes = r.after ? `${bytes(r.before.bytes)} → ${bytes(r.after.bytes)}` : bytes(r.before.bytes);
        const color = r.outcome === 'replaced' ? 'green' : r.outcome === 'kept' ? 'gray' : 'red';
        console.log(`${paint(color, r.outcome.toUpperCase().padEnd(8))} ${r.file}  ${sizes}  ${r.reason}`);
      }
    });
  return video;
}

export function cdnCommand(): Command {
  const cdn = new Command('cdn').description('The video edge (CDN)');
  cdn
    .command('purge')
    .description(
      'Purge paths from the edge (CDN_PURGE: nginx-cache:DIR or http-purge:URL); `/videos/*` purges a prefix; exit 1 if one failed',
    )
    .argument('<paths...>', 'URL paths, e.g. /videos/sample.mp4 or /videos/*')
    .option('--json', 'print [{path, ok, detail}]')
    .action(async (paths: string[], flags: { json?: boolean }) => {
      const config = loadConfig();
      const { purgerOf, validPurgePath } = await import('../../ops/video/cdn-purge.js');
      const bad = paths.filter((p) => !validPurgePath(p));
      if (bad.length > 0) throw new UsageError(`not a URL path (start with /, * only at the end): ${bad.join(' ')}`);
      const purger = purgerOf(config.cdnPurge);
      if (!purger)
        throw new UsageError('set CDN_PURGE (nginx-cache:/var/cache/nginx/smartalk or http-purge:https://cdn.example.com)');
      const outcomes = await purger.purge(paths);
      process.exitCode = outcomes.every((o) => o.ok) ? 0 : 1;
      if (flags.json) return printJson(outcomes);
      for (const o of outcomes)
        console.log(`${paint(o.ok ? 'green' : 'red', o.ok ? 'OK' : 'FAILED')}  ${o.path}: ${o.detail} (${purger.describe()})`);
    });
  return cdn;
}
