/**
 * `smartalk serve`: migrate, seed on first run, listen, render missing media in the
 * background, and shut down gracefully on SIGTERM/SIGINT (stop accepting, finish
 * in-flight requests, close the pools).
 */
import { Command } from 'commander';
import type { Logger } from 'pino';
import { loadConfig } from '../../config.js';
import { say } from '../../i18n.js';
import { removeServerInfo, writeServerInfo } from '../../ops/server-link.js';
import { parsePort } from '../options.js';

/** How long in-flight requests get to finish before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

export function serveCommand(): Command {
  return new Command('serve')
    .description('Start the HTTP server (PORT, default 3000); migrates and seeds on first run')
    .option('-p, --port <port>', 'port to listen on (overrides PORT)', parsePort)
    .option('-H, --host <host>', 'address to bind (overrides HOST)')
    .option('--no-media', 'do not render missing videos with ffmpeg')
    .action(async (options: { port?: number; host?: string; media: boolean }) => {
      // Heavy modules load only when the command runs, so `smartalk --help` stays instant.
      const [{ createLogger }, { startRuntime, announceStart }] = await Promise.all([
        import('../../logger.js'),
        import('../../server/runtime.js'),
      ]);
      const config = loadConfig();
      if (options.port !== undefined) config.port = options.port;
      if (options.host !== undefined) config.host = options.host;
      const logger = createLogger(config);
      const runtime = await startRuntime(config, logger);
      const { app } = runtime;

      let stopping = false;
      // Media rendering in the background stops with the server (ffmpeg children included).
      const rendering = new AbortController();
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        rendering.abort();
        const force = setTimeout(
          () => {
            logger.error('shutdown grace period over; exiting with requests still open');
            process.exit(1);
          },
          SHUTDOWN_GRACE_MS + config.drainSeconds * 1000,
        );
        force.unref();
        // Behind a balancer: readiness fails and connections close after their response for
        // DRAIN_SECONDS while everything is still answered; then the listener closes.
        runtime.drain();
        if (config.drainSeconds > 0) {
          logger.info(
            { signal, drainSeconds: config.drainSeconds },
            'draining: readiness fails, connections close after their response',
          );
          await new Promise((resolve) => setTimeout(resolve, config.drainSeconds * 1000));
        }
        logger.info({ signal }, 'shutting down: draining in-flight requests');
        try {
          await runtime.close();
          await removeServerInfo(config.dataDir);
          logger.info('shutdown complete');
          logger.flush();
        } finally {
          clearTimeout(force);
        }
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));

      const address = await app.listen({ port: config.port, host: config.host });
      await writeServerInfo(config.dataDir, { pid: process.pid, url: address, startedAt: new Date().toISOString() });
      logger.info(
        { address, engine: runtime.db.engine, cache: runtime.store.kind, dataDir: config.dataDir, logFile: config.logFile },
        say(config.lang, { en: 'SmarTalk is listening', zh: 'SmarTalk 已启动' }),
      );
      if (!config.opsToken) {
        logger.info(
          { opsTokenFile: `${config.dataDir}/ops-token` },
          say(config.lang, {
            en: 'ops token generated; set OPS_TOKEN to choose one',
            zh: '已生成运维令牌；可通过 OPS_TOKEN 指定',
          }),
        );
      }

      await announceStart(runtime, address);

      if (options.media)
        void renderMediaInBackground(runtime.config.contentDir, logger, rendering.signal, () => runtime.catalog.invalidate());
    });
}

/**
 * Renders what is missing while the server answers; the catalog shows those files as
 * `pending` until they land (it re-reads them every minute, and at the end of this).
 */
async function renderMediaInBackground(
  contentDir: string,
  logger: Logger,
  signal: AbortSignal,
  onDone: () => void,
): Promise<void> {
  const { findFfmpeg, findFfprobe, renderMissingMedia } = await import('../../learning/media.js');
  const ffmpeg = await findFfmpeg();
  if (!ffmpeg) {
    logger.warn('ffmpeg not found: videos are not rendered; install ffmpeg and run `smartalk seed`');
    return;
  }
  const ffprobe = await findFfprobe();
  const result = await renderMissingMedia(contentDir, ffmpeg, { concurrency: 1, signal, ...(ffprobe ? { ffprobe } : {}) });
  onDone();
  if (signal.aborted) {
    logger.info(
      { rendered: result.rendered.length, present: result.present },
      'media rendering stopped for shutdown; the rest renders at the next start',
    );
  } else if (result.rendered.length > 0 || result.failed.length > 0) {
    logger.info({ rendered: result.rendered.length, failed: result.failed, present: result.present }, 'media rendered');
  }
}
