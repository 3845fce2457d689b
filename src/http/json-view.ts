/**
 * A JSON answer kept in memory and served many times (catalog views, the health report):
 * its text and its compressed forms, each made once, and how to send it.
 */
import { brotliCompressSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { negotiate } from '@fastify/accept-negotiator';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const JSON_TYPE = 'application/json; charset=utf-8';

/** Responses this small go out as they are (server/app.ts gives the compression plugin the same threshold). */
export const COMPRESS_FROM_BYTES = 1024;

/** What views are kept in, in order of preference. */
const ENCODINGS: Array<'br' | 'gzip'> = ['br', 'gzip'];

/** A serialized view and its compressed forms, made once each. */
export class JsonView {
  /**
   * Compressed forms only. Uncompressed, the view goes out as its text: Node writes the
   * headers and a text body in one piece, and that measured ~10% faster than sending the
   * view's UTF-8 bytes encoded once (headers and body then go as two pieces).
   */
  #encoded = new Map<'br' | 'gzip', Buffer>();

  /**
   * @param served `many` for a view kept and served again (compressed hard, once), `once`
   *   for an answer made for one request (compressed at the levels the plugin uses).
   */
  constructor(
    readonly json: string,
    private readonly served: 'many' | 'once' = 'many',
  ) {}

  /**
   * The encoding to answer with, given the request's Accept-Encoding (q-values honoured,
   * br before gzip on a tie: the negotiation the compression plugin uses), or none.
   */
  encodingFor(acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
    if (!acceptEncoding || this.json.length < COMPRESS_FROM_BYTES) return undefined;
    return negotiate(acceptEncoding.toLowerCase(), ENCODINGS) ?? undefined;
  }

  encoded(encoding: 'br' | 'gzip'): Buffer {
    let bytes = this.#encoded.get(encoding);
    if (!bytes) {
      const hard = this.served === 'many';
      bytes =
        encoding === 'br'
          ? brotliCompressSync(this.json, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: hard ? 9 : 4 } })
          : gzipSync(this.json, { level: hard ? 9 : 6 });
      this.#encoded.set(encoding, bytes);
    }
    return bytes;
  }
}

/**
 * Send a view, compressed already when the client accepts it (the compression plugin
 * leaves a response that has its Content-Encoding alone).
 */
export function sendJsonView(request: FastifyRequest, reply: FastifyReply, view: JsonView): FastifyReply {
  const encoding = view.encodingFor(request.headers['accept-encoding']);
  reply.type(JSON_TYPE);
  return encoding ? reply.header('content-encoding', encoding).send(view.encoded(encoding)) : reply.send(view.json);
}
