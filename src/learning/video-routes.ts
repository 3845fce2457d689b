/**
 * The seeded videos and audio under /videos, from CONTENT_DIR: Range, ETag and a
 * year-long immutable Cache-Control, so nginx or a CDN can sit in front.
 *
 * A Range header that does not parse is ignored, as RFC 9110 §14.2 asks (a 200 with the
 * whole file), where the static server answered 416; a real 416 carries
 * a Content-Range header with the file size (the error handler copies it).
 */
import { mkdir } from 'node:fs/promises';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface VideoRoutesOptions {
  contentDir: string;
}

/** `bytes=` then one or more ranges: `first-last` (first ≤ last), `first-`, or `-suffix`. */
const BYTE_RANGES = /^bytes=\s*(?:\d+-\d*|-\d+)(?:\s*,\s*(?:\d+-\d*|-\d+))*\s*$/;

export function isWellFormedRange(header: string): boolean {
  if (!BYTE_RANGES.test(header)) return false;
  return header
    .slice(header.indexOf('=') + 1)
    .split(',')
    .every((part) => {
      const [first, last] = part.trim().split('-');
      return !first || !last || Number(first) <= Number(last);
    });
}

export const videoRoutes: FastifyPluginAsync<VideoRoutesOptions> = async (app, { contentDir }) => {
  await mkdir(contentDir, { recursive: true });
  app.addHook('onRequest', (request, _reply, done) => {
    const range = request.headers.range;
    if (range !== undefined && !isWellFormedRange(range)) delete request.headers.range;
    done();
  });
  await app.register(fastifyStatic, {
    root: contentDir,
    prefix: '/videos/',
    decorateReply: false,
    index: false,
    list: false,
    etag: true,
    lastModified: true,
    acceptRanges: true,
    immutable: true,
    maxAge: '365d',
    cacheControl: true,
    // Apps and pages on other origins play these videos.
    setHeaders: (reply) => reply.header('cross-origin-resource-policy', 'cross-origin'),
  });
};
