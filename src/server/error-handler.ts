/**
 * One place that turns every thrown error into `{error: {code, message, details?}}`.
 * Bad input is a 4xx logged at info; a 5xx is a bug or an outage, logged at error
 * (a database outage at warn, with its own code, since it is expected to pass).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/database.js';
import { AppError, ERRORS, type ErrorCode } from '../errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** Fastify's own error codes that mean bad input, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'SMT_ERR_MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SMT_ERR_MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'SMT_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SMT_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SMT_ERR_VALIDATION',
  FST_ERR_VALIDATION: 'SMT_ERR_VALIDATION',
};

function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return new AppError(
      'SMT_ERR_VALIDATION',
      `Invalid ${fastifyError.validationContext ?? 'request'}: ${error.message}`,
      fastifyError.validation.map((v) => ({ path: v.instancePath || '/', message: v.message, params: v.params })),
    );
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new AppError(mapped);
  if (fastifyError.statusCode === 429) return new AppError('SMT_ERR_RATE_LIMITED', error.message);
  if (fastifyError.statusCode === 416) return new AppError('SMT_ERR_RANGE_NOT_SATISFIABLE');
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) return new AppError('SMT_ERR_MALFORMED_JSON');
  if (isDatabaseUnavailable(error)) return new AppError('SMT_ERR_DB_UNAVAILABLE');
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) return new AppError('SMT_ERR_VALIDATION', error.message);
  return new AppError('SMT_ERR_INTERNAL');
}

export function errorBody(error: AppError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.code === 'SMT_ERR_INTERNAL') {
      request.log.error({ err: error }, 'unhandled error');
    } else if (appError.code === 'SMT_ERR_DB_UNAVAILABLE') {
      request.log.warn({ err: { message: error.message, code: (error as FastifyError).code } }, 'database unavailable');
      reply.header('retry-after', '5');
    } else {
      request.log.info({ code: appError.code, reason: appError.message }, 'request rejected');
    }
    const headers = (error as FastifyError & { headers?: Record<string, string> }).headers;
    if (appError.statusCode === 429 && headers) reply.headers(headers);
    reply.code(appError.statusCode).header('cache-control', 'no-store').send(errorBody(appError));
  });

  app.setNotFoundHandler((request, reply) => {
    app.observeUnmatched(request, reply);
    reply
      .code(404)
      .header('cache-control', 'no-store')
      .send(errorBody(new AppError('SMT_ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)));
  });
}

/** Every code with its status, for docs/errors.md and the test that keeps them in step. */
export const errorCatalogue = () => Object.entries(ERRORS).map(([code, { status, message }]) => ({ code, status, message }));
