/**
 * The seeded videos and audio under /videos, from CONTENT_DIR: Range, ETag and a
 * year-long immutable Cache-Control, so nginx or a CDN can sit in front.
 *
 * Only two kinds of name are served: `/videos/m/<keyed hash>.<ext>`, the public names of
 * the catalog's media (content-key.ts; a file's own name would tell which keyword a clip
 * shows), and `/videos/sample.mp4`, the file the runbook's edge check fetches.
 *
 * A Range header that does not parse is ignored, as RFC 9110 §14.2 asks (a 200 with the
 * whole file), where the static server answered 416; a real 416 carries
 * a Content-Range header with the file size (the error handler copies it).
 */
import { mkdir } from 'node:fs/promises';
import fastifyStatic from '@fastify/static';
import { type Static, Type } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors.js';
import { type MediaState, SAMPLE_VIDEO_FILE } from './media.js';

export interface VideoRoutesOptions {
  contentDir: string;
  /** The file under contentDir behind a public media name (`m/….mp4`) and where it stands. */
  media: (publicName: string) => Promise<{ file: string; state: MediaState } | undefined>;
}

/** A file being rendered: ask again after this long (the catalog looks again every minute). */
const PENDING_RETRY_SECONDS = 30;

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

export const videoRoutes: FastifyPluginAsync<VideoRoutesOptions> = async (app, { contentDir, media }) => {
  await mkdir(contentDir, { recursive: true });
  app.addHook('onRequest', (request, _reply, done) => {
    const range = request.headers.range;
    if (range !== undefined && !isWellFormedRange(range)) delete request.headers.range;
    done();
  });
  await app.register(fastifyStatic, {
    root: contentDir,
    serve: false,
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
  const params = Type.Object({ file: Type.String({ pattern: '^[A-Za-z0-9_-]{22}\\.[a-z0-9]{2,4}$' }) });
  app.get('/videos/m/:file', { schema: { hide: true, params } }, async (request, reply) => {
    const found = await media(`m/${(request.params as Static<typeof params>).file}`);
    if (!found) throw new AppError('SMT_ERR_MEDIA_NOT_FOUND');
    if (found.state.status === 'pending') {
      reply.header('retry-after', String(PENDING_RETRY_SECONDS));
      throw new AppError('SMT_ERR_MEDIA_PENDING');
    }
    return reply.sendFile(found.file);
  });
  app.get(`/videos/${SAMPLE_VIDEO_FILE}`, { schema: { hide: true } }, (_request, reply) => reply.sendFile(SAMPLE_VIDEO_FILE));
};
