/**
 * The one catalogue of error codes the API answers with.
 *
 * Services throw `AppError`s by code; the central error handler
 * (server/error-handler.ts) turns them into `{error: {code, message, details?}}`
 * with the status listed here. docs/errors.md documents every code; a test keeps
 * the two in step.
 */
import { Type } from '@fastify/type-provider-typebox';

export const ERRORS = {
  SMT_ERR_VALIDATION: { status: 400, message: 'The request is not valid' },
  SMT_ERR_MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON' },
  SMT_ERR_BAD_URL: { status: 400, message: 'The URL is not valid (bad percent-encoding)' },
  SMT_ERR_BAD_REQUEST: { status: 400, message: 'The request is not valid HTTP' },
  SMT_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  SMT_ERR_URL_TOO_LONG: { status: 414, message: 'A path segment of the URL is too long' },
  SMT_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  SMT_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json' },
  SMT_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  SMT_ERR_AUTH_MISSING: { status: 401, message: 'A bearer token is required' },
  SMT_ERR_AUTH_INVALID: { status: 401, message: 'The bearer token is not valid' },
  SMT_ERR_AUTH_FORBIDDEN: { status: 403, message: 'This token may not access that resource' },
  SMT_ERR_NOT_FOUND: { status: 404, message: 'No such route' },
  SMT_ERR_USER_NOT_FOUND: { status: 404, message: 'No such user' },
  SMT_ERR_INTEREST_NOT_FOUND: { status: 404, message: 'No such interest' },
  SMT_ERR_DRAMA_NOT_FOUND: { status: 404, message: 'No such drama' },
  SMT_ERR_KEYWORD_NOT_FOUND: { status: 404, message: 'No such keyword' },
  SMT_ERR_CLIP_NOT_FOUND: { status: 404, message: 'That clip does not belong to this keyword' },
  SMT_ERR_ALERT_NOT_FOUND: { status: 404, message: 'No such alert' },
  SMT_ERR_SILENCE_NOT_FOUND: { status: 404, message: 'No such silence' },
  SMT_ERR_MODE_MISMATCH: { status: 409, message: 'The clue is in another learning mode' },
  SMT_ERR_REVIEW_NOT_COLLECTED: { status: 409, message: 'Collect the clue before reviewing it' },
  SMT_ERR_CHANNEL_NOT_FOUND: { status: 404, message: 'No such notification channel' },
  SMT_ERR_DEVICE_REGISTERED: {
    status: 409,
    message: 'This device already has a learner; resume with its deviceSecret or a live token of that learner',
  },
  SMT_ERR_ALERT_RESOLVED: { status: 409, message: 'The alert is already resolved' },
  SMT_ERR_DRAMA_LOCKED: { status: 409, message: 'This drama is locked' },
  SMT_ERR_NO_POOL: { status: 409, message: 'The embedded database has no connection pool to reset' },
  SMT_ERR_CLUES_INCOMPLETE: { status: 409, message: 'Collect every story clue before the magic moment' },
  SMT_ERR_RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested byte range is outside the file' },
  SMT_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  SMT_ERR_DB_UNAVAILABLE: { status: 503, message: 'The database is unavailable; try again shortly' },
  SMT_ERR_SHUTTING_DOWN: { status: 503, message: 'The server is shutting down' },
  SMT_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.statusCode = ERRORS[code].status;
  }
}

/** The wire shape of every error (server/error-handler.ts), for route response schemas. */
export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
    requestId: Type.Optional(Type.String({ description: 'Quote it when reporting a problem' })),
  }),
});
