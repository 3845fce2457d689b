/**
 * Prepared answers: public views that are already in memory, answered whole before
 * Fastify routes the request.
 *
 * Why: a catalog read is the hot path, and the answer is a string kept in memory. Around
 * it, Fastify's per-request work — routing, three hook runners, the query-string check,
 * the reply's header object — measured as a third of the request (bench/http.ts,
 * docs/benchmarks.md). So a route that has answered a public view through Fastify
 * publishes it here under its exact path, with the headers Fastify sent; the next GET of
 * exactly that path gets the same bytes and headers straight from the HTTP server, and is
 * counted in the same metrics and access log (telemetry.ts).
 *
 * Anything else goes through Fastify as before: another method (HEAD included), a query
 * string, any Authorization header, a path spelled another way, a view that is no longer
 * current (its route publishes the new one when it next answers), a server that is
 * draining or closing.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyServerFactory } from 'fastify';
import { requestIdOf, SECURITY_HEADER_ENTRIES } from './error-handler.js';
import { JSON_TYPE, type JsonView } from './json-view.js';

/** Called once per prepared answer, after it is written: metrics and the access log. */
export type PreparedAnswerObserver = (requestId: string, path: string, latencyMs: number) => void;

export interface PreparedAnswer {
  view: JsonView;
  /** The route's own headers (caching); the type, encoding, security headers and length are added here. */
  headers: Readonly<Record<string, string>>;
  /** Whether the view is still the one its route would answer with (checked per request). */
  isCurrent: () => boolean;
  observe: PreparedAnswerObserver;
}

/** Headers as Node's raw list (name, value, …); the last value is the request id's slot. */
interface Variant {
  headers: string[];
  body: string | Buffer;
}

class Prepared {
  readonly #variants = new Map<'br' | 'gzip' | 'identity', Variant>();

  constructor(readonly answer: PreparedAnswer) {}

  variant(acceptEncoding: string | undefined): Variant {
    const { view, headers } = this.answer;
    const encoding = view.encodingFor(acceptEncoding);
    let variant = this.#variants.get(encoding ?? 'identity');
    if (!variant) {
      const body = encoding ? view.encoded(encoding) : view.json;
      variant = {
        body,
        headers: [
          ...Object.entries(headers).flat(),
          'content-type',
          JSON_TYPE,
          ...(encoding ? ['content-encoding', encoding] : []),
          ...SECURITY_HEADER_ENTRIES.flat(),
          'content-length',
          String(Buffer.byteLength(body)),
          'x-request-id',
          '',
        ],
      };
      this.#variants.set(encoding ?? 'identity', variant);
    }
    return variant;
  }
}

export class PreparedAnswers {
  readonly #byPath = new Map<string, Prepared>();
  #answered = 0;

  /** @param accepting false while the server drains or closes: then Fastify answers (it says so). */
  constructor(private readonly accepting: () => boolean) {}

  /** Answer GETs of exactly `path` with `answer` from now on, until it is no longer current. */
  publish(path: string, answer: PreparedAnswer): void {
    const kept = this.#byPath.get(path)?.answer;
    // Kept when unchanged: its encoded variants stay made (a GET with Authorization comes by Fastify each time).
    if (kept?.view === answer.view && kept.isCurrent()) return;
    this.#byPath.set(path, new Prepared(answer));
  }

  /** How many requests were answered here (tests and the benchmark look). */
  get answered(): number {
    return this.#answered;
  }

  /** Answer `request` when it asks for a prepared answer; false leaves it to Fastify. */
  tryAnswer(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'GET') return false;
    const path = request.url as string;
    const prepared = this.#byPath.get(path);
    if (prepared === undefined || request.headers.authorization !== undefined || !this.accepting()) return false;
    if (!prepared.answer.isCurrent()) {
      this.#byPath.delete(path);
      return false;
    }
    const start = performance.now();
    const requestId = requestIdOf(request);
    const { headers, body } = prepared.variant(request.headers['accept-encoding']);
    const sent = headers.slice();
    sent[sent.length - 1] = requestId;
    response.writeHead(200, sent);
    response.end(body);
    this.#answered++;
    prepared.answer.observe(requestId, path, performance.now() - start);
    return true;
  }
}

/**
 * Fastify's `serverFactory`: the HTTP server Fastify would make (its options, timeouts and
 * keep-alive), which offers each request to `answers` before handing it to Fastify.
 */
export function serverWithPreparedAnswers(answers: PreparedAnswers): FastifyServerFactory {
  return (handler, fastifyOptions) => {
    // Fastify's options after its defaults (fastify.js), as it reads them to make its own server.
    const options = fastifyOptions as {
      http?: http.ServerOptions;
      keepAliveTimeout: number;
      requestTimeout: number;
      connectionTimeout: number;
      maxRequestsPerSocket: number;
    };
    const server = http.createServer(options.http ?? {}, (request, response) => {
      if (!answers.tryAnswer(request, response)) handler(request, response);
    });
    server.keepAliveTimeout = options.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}
