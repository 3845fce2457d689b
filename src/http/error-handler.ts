/**
 * One place that turns every error, from every layer, into
 * `{error: {code, message, details?, requestId}}` with the headers every response
 * gets: thrown by a service, refused by a schema, by Fastify's router (a bad or too
 * long URL), by Node's HTTP parser (headers too large, a request too slow), or by a
 * draining server. Bad input is a 4xx logged at info; a 5xx is a bug or an outage,
 * logged at error (a database outage at warn, with its own code, since it passes).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Lang } from '../config.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { AppError, ERRORS, type ErrorCode } from '../errors.js';
import { acceptLanguage, type Bilingual } from '../i18n.js';
import { INPUT_LIMITS } from '../validation.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown; requestId?: string };
}

/**
 * Headers on every response of the API, error or not (HTML pages get helmet's full set):
 * the two a JSON API needs (OWASP's REST cheat sheet). A referrer policy and a
 * cross-origin resource policy change nothing for JSON; each header is paid on every
 * request (bench/http.ts), so the videos set their own CORP and nothing else does.
 */
export const API_SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const;

/** Fastify's own error codes that mean bad input, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'SMT_ERR_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SMT_ERR_MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SMT_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SMT_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SMT_ERR_VALIDATION',
  FST_ERR_VALIDATION: 'SMT_ERR_VALIDATION',
  FST_ERR_BAD_URL: 'SMT_ERR_BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'SMT_ERR_URL_TOO_LONG',
};

/**
 * A client's request id is echoed in logs and headers: kept only when short and of a
 * safe alphabet, otherwise replaced (it accepted 8,000 characters of anything).
 */
const REQUEST_ID = new RegExp(`^[A-Za-z0-9._:-]{1,${INPUT_LIMITS.maxRequestIdLength}}$`);

/**
 * Our own ids: this process's random prefix and a counter — unique across instances and
 * restarts as a UUID would be, without drawing random bytes per request (1% of a catalog
 * read, bench/http.ts).
 */
const PROCESS_ID = randomBytes(9).toString('base64url');
let requestCount = 0;

function newRequestId(): string {
  requestCount++;
  return `${PROCESS_ID}-${requestCount.toString(36)}`;
}

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
}

const DATE_TIME_RANGE = `${new Date(INPUT_LIMITS.minInstantMs).toISOString()} – ${new Date(INPUT_LIMITS.maxInstantMs).toISOString()}`;
const DATE_TIME_RULE = `must be an RFC 3339 date-time from ${new Date(INPUT_LIMITS.minInstantMs).toISOString()} to before ${new Date(INPUT_LIMITS.maxInstantMs).toISOString()}`;

/** PostgreSQL's class 22 (data exception): a value it refused. Input got past a schema; still the client's. */
const isDataException = (error: Error) => /^22[0-9A-Z]{3}$/.test(String((error as { code?: unknown }).code ?? ''));

interface SchemaProblem {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

const list = (values: unknown[], zh: boolean) => values.map((v) => String(v)).join(zh ? '、' : ', ');

/** One schema problem in both languages, for a learner's app as much as for its developer. */
function describeProblem(problem: SchemaProblem): Bilingual {
  const p = problem.params;
  switch (problem.keyword) {
    case 'enum':
    case 'oneOf-const': {
      const allowed = (p.allowedValues as unknown[]) ?? [];
      return { en: `must be one of: ${list(allowed, false)}`, zh: `必须是以下之一：${list(allowed, true)}` };
    }
    case 'const':
      return { en: `must be ${String(p.allowedValue)}`, zh: `必须是 ${String(p.allowedValue)}` };
    case 'required':
      return { en: `must have property ${String(p.missingProperty)}`, zh: `缺少字段 ${String(p.missingProperty)}` };
    case 'additionalProperties':
      return {
        en: `has an unknown property ${String(p.additionalProperty)}`,
        zh: `不允许的字段 ${String(p.additionalProperty)}`,
      };
    case 'type':
      return { en: `must be ${String(p.type)}`, zh: `类型必须是 ${String(p.type)}` };
    case 'minLength':
      return { en: `must have at least ${String(p.limit)} characters`, zh: `至少 ${String(p.limit)} 个字符` };
    case 'maxLength':
      return { en: `must have at most ${String(p.limit)} characters`, zh: `最多 ${String(p.limit)} 个字符` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        en: `must be ${String(p.comparison)} ${String(p.limit)}`,
        zh: `必须 ${String(p.comparison)} ${String(p.limit)}`,
      };
    case 'minItems':
      return { en: `must have at least ${String(p.limit)} items`, zh: `至少 ${String(p.limit)} 项` };
    case 'maxItems':
      return { en: `must have at most ${String(p.limit)} items`, zh: `最多 ${String(p.limit)} 项` };
    case 'pattern':
      return { en: `must match ${String(p.pattern)}`, zh: `格式必须符合 ${String(p.pattern)}` };
    case 'format':
      return p.format === 'date-time'
        ? { en: DATE_TIME_RULE, zh: `必须是 RFC 3339 日期时间（${DATE_TIME_RANGE}）` }
        : { en: `must be a valid ${String(p.format)}`, zh: `必须是有效的 ${String(p.format)}` };
    default:
      return { en: problem.message ?? 'is not valid', zh: '无效' };
  }
}

/**
 * A union of literals ('normal' | 'focus' | 'rescue') fails as one "must be equal to
 * constant" per branch and an anyOf: said once, with the allowed values.
 */
function mergeLiteralUnions(problems: SchemaProblem[]): SchemaProblem[] {
  const constsByPath = new Map<string, unknown[]>();
  for (const problem of problems)
    if (problem.keyword === 'const')
      constsByPath.set(problem.instancePath, [...(constsByPath.get(problem.instancePath) ?? []), problem.params.allowedValue]);
  const merged: SchemaProblem[] = [];
  const done = new Set<string>();
  for (const problem of problems) {
    const allowed = constsByPath.get(problem.instancePath);
    if (allowed && allowed.length > 1 && (problem.keyword === 'const' || problem.keyword === 'anyOf')) {
      if (done.has(problem.instancePath)) continue;
      done.add(problem.instancePath);
      merged.push({ instancePath: problem.instancePath, keyword: 'oneOf-const', params: { allowedValues: allowed } });
    } else if (!(problem.keyword === 'anyOf' && allowed)) merged.push(problem);
  }
  return merged;
}

function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const problems = mergeLiteralUnions(fastifyError.validation as SchemaProblem[]).map((v) => {
      const said = describeProblem(v);
      return { path: v.instancePath || '/', message: said.en, messageZh: said.zh, params: v.params };
    });
    const first = problems[0];
    const context = fastifyError.validationContext ?? 'request';
    const contextZh =
      ({ body: '请求体', querystring: '查询参数', params: '路径参数', headers: '请求头' } as Record<string, string>)[context] ??
      '请求';
    return new AppError(
      'SMT_ERR_VALIDATION',
      first
        ? { en: `Invalid ${context}: ${first.path} ${first.message}`, zh: `${contextZh}无效：${first.path} ${first.messageZh}` }
        : error.message,
      problems,
    );
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped);
  if (fastifyError.statusCode === 429) return new AppError('SMT_ERR_RATE_LIMITED', error.message);
  if (fastifyError.statusCode === 416) return new AppError('SMT_ERR_RANGE_NOT_SATISFIABLE');
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) return new AppError('SMT_ERR_MALFORMED_JSON');
  if (isDatabaseUnavailable(error)) return new AppError('SMT_ERR_DB_UNAVAILABLE');
  if (isDataException(error))
    return new AppError('SMT_ERR_VALIDATION', {
      en: 'A value is outside what the database can store',
      zh: '某个值超出了数据库可存储的范围',
    });
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) return new AppError('SMT_ERR_VALIDATION', error.message);
  return new AppError('SMT_ERR_INTERNAL');
}

/** The error as sent: the message in the client's language (Accept-Language), the code the same in both. */
export function errorBody(error: AppError, requestId?: string, lang: Lang = 'en'): ErrorBody {
  return {
    error: {
      code: error.code,
      message: lang === 'zh-CN' ? error.zh : error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(requestId === undefined ? {} : { requestId }),
    },
  };
}

/** The security headers as pairs, listed once: `reply.headers(object)` walked the object's keys on every response. */
export const SECURITY_HEADER_ENTRIES = Object.entries(API_SECURITY_HEADERS);

/** What every response carries: the security headers and the request id. */
export function applyCommonHeaders(request: FastifyRequest, reply: FastifyReply): void {
  for (const [name, value] of SECURITY_HEADER_ENTRIES) reply.header(name, value);
  reply.header('x-request-id', request.id);
}

function logRejection(request: FastifyRequest, error: Error, appError: AppError): void {
  if (appError.code === 'SMT_ERR_INTERNAL') {
    request.log.error({ err: error }, 'unhandled error');
  } else if (appError.code === 'SMT_ERR_DB_UNAVAILABLE') {
    request.log.warn({ err: { message: error.message, code: (error as FastifyError).code } }, 'database unavailable');
  } else if (!(error instanceof AppError) && isDataException(error)) {
    // Refused by PostgreSQL, not by a schema: the schema should have caught it.
    request.log.warn({ err: { message: error.message, code: (error as FastifyError).code } }, 'value refused by the database');
  } else {
    request.log.info({ code: appError.code, reason: appError.message.slice(0, 300) }, 'request rejected');
  }
}

/** Send an error in our shape (the app's onSend hook adds the headers every response gets). */
export function sendError(request: FastifyRequest, reply: FastifyReply, appError: AppError): FastifyReply {
  if (appError.code === 'SMT_ERR_DB_UNAVAILABLE' || appError.code === 'SMT_ERR_SHUTTING_DOWN') reply.header('retry-after', '5');
  // The rate limiter sets its own; the failed-authentication limit lasts a minute.
  if (appError.code === 'SMT_ERR_RATE_LIMITED' && !reply.hasHeader('retry-after')) reply.header('retry-after', '60');
  return reply
    .code(appError.statusCode)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(errorBody(appError, request.id, acceptLanguage(request.headers['accept-language'])));
}

/**
 * Fastify's `frameworkErrors` option: a URL the router cannot decode or whose segment
 * is too long. Those replies skip onSend hooks, so the common headers are set here;
 * they are counted on /metrics with the unmatched requests.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.server.observeUnmatched(request, reply);
  const appError = toAppError(error);
  logRejection(request, error, appError);
  applyCommonHeaders(request, reply);
  void sendError(request, reply, appError);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Fastify's `clientErrorHandler` option: Node's HTTP parser refused the request before
 * Fastify saw it (headers too large, a request too slow, not HTTP). Written on the raw
 * socket, still in our shape and with our headers.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? 'SMT_ERR_REQUEST_TIMEOUT'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? 'SMT_ERR_HEADERS_TOO_LARGE'
        : 'SMT_ERR_BAD_REQUEST';
  const requestId = newRequestId();
  const body = JSON.stringify(errorBody(new AppError(code), requestId));
  const status = ERRORS[code].status;
  if (socket.writable) {
    const headers = {
      ...API_SECURITY_HEADERS,
      'cache-control': 'no-store',
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': requestId,
      connection: 'close',
    };
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`);
  }
  socket.destroy(error);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    logRejection(request, error, appError);
    // The rate limiter's Retry-After and limits; a 416's Content-Range (the file size).
    const headers = (error as FastifyError & { headers?: Record<string, string> }).headers;
    if (headers && (appError.statusCode === 429 || appError.statusCode === 416)) reply.headers(headers);
    return sendError(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) => {
    app.observeUnmatched(request, reply);
    return sendError(
      request,
      reply,
      new AppError('SMT_ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`),
    );
  });
}

/** Every code with its status, for docs/errors.md and the test that keeps them in step. */
export const errorCatalogue = () => Object.entries(ERRORS).map(([code, { status, message }]) => ({ code, status, message }));
