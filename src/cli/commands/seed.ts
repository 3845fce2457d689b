/** `smartalk seed`: write the content catalog and render the media it needs. */
import { Command } from 'commander';
import { say } from '../../i18n.js';
import type { RenderResult } from '../../learning/media.js';
import { cliContext } from '../context.js';
import { parsePositiveInt } from '../options.js';
import { printJson, progressBar } from '../output.js';

export function seedCommand(): Command {
  return new Command('seed')
    .description('Write the content catalog (3 themes, 6 dramas, 90 keywords) and render missing videos with ffmpeg')
    .option('--no-media', 'skip rendering videos and audio')
    .option('--concurrency <n>', 'ffmpeg processes at once', parsePositiveInt, 2)
    .option('--json', 'print JSON')
    .action(async (options: { media: boolean; concurrency: number; json?: boolean }) => {
      const [{ findFfmpeg, findFfprobe, renderMissingMedia }, { seedContent }, { openMigratedDb }] = await Promise.all([
        import('../../learning/media.js'),
        import('../../learning/seed.js'),
        import('../../server/runtime.js'),
      ]);
      const { config, logger } = await cliContext();
      const db = await openMigratedDb(config, logger);
      try {
        const counts = await seedContent(db);
        let media: RenderResult | { skipped: string } | undefined;
        if (options.media) {
          const ffmpeg = await findFfmpeg();
          if (ffmpeg) {
            const bar = progressBar(
              say(config.lang, { en: 'Rendering media', zh: '生成视频' }),
              !options.json && process.stderr.isTTY,
            );
            const ffprobe = await findFfprobe();
            media = await renderMissingMedia(config.contentDir, ffmpeg, {
              concurrency: options.concurrency,
              ...(ffprobe ? { ffprobe } : {}),
              onProgress: (p) => bar.update(p.done, p.total, p.path),
            });
            bar.stop();
          } else {
            media = { skipped: 'ffmpeg not found' };
          }
        }
        if (options.json) return printJson({ ...counts, media });
        console.log(
          say(config.lang, {
            en: `Seeded ${counts.interests} themes, ${counts.dramas} dramas, ${counts.keywords} keywords, ${counts.clips} vTPR clips (${db.engine}).`,
            zh: `已写入 ${counts.interests} 个主题、${counts.dramas} 部短剧、${counts.keywords} 个关键词、${counts.clips} 个 vTPR 片段（${db.engine}）。`,
          }),
        );
        if (media && 'skipped' in media) {
          console.log(say(config.lang, { en: 'Media not rendered: ffmpeg not found.', zh: '未生成视频：找不到 ffmpeg。' }));
        } else if (media) {
          console.log(
            say(config.lang, {
              en: `Media: ${media.rendered.length} rendered, ${media.present} already present, ${media.failed.length} failed, in ${config.contentDir}`,
              zh: `视频：新生成 ${media.rendered.length} 个，已存在 ${media.present} 个，失败 ${media.failed.length} 个，位于 ${config.contentDir}`,
            }),
          );
          for (const failure of media.failed) console.log(`  ! ${failure.path}: ${failure.error}`);
          if (media.failed.length > 0) process.exitCode = 1;
        }
      } finally {
        await db.close();
      }
    });
}
