/**
 * The one catalogue of error codes the API answers with.
 *
 * Services throw `AppError`s by code; the central error handler
 * (server/error-handler.ts) turns them into `{error: {code, message, details?}}`
 * with the status listed here. docs/errors.md documents every code; a test keeps
 * the two in step.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { Bilingual } from './i18n.js';

export const ERRORS = {
  SMT_ERR_VALIDATION: { status: 400, message: 'The request is not valid', zh: '请求无效' },
  SMT_ERR_MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON', zh: '请求体不是有效的 JSON' },
  SMT_ERR_BAD_URL: { status: 400, message: 'The URL is not valid (bad percent-encoding)', zh: 'URL 无效（百分号编码错误）' },
  SMT_ERR_BAD_REQUEST: { status: 400, message: 'The request is not valid HTTP', zh: '不是有效的 HTTP 请求' },
  SMT_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time', zh: '未能及时收到请求' },
  SMT_ERR_URL_TOO_LONG: { status: 414, message: 'A path segment of the URL is too long', zh: 'URL 中某一段过长' },
  SMT_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large', zh: '请求头过大' },
  SMT_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body must be application/json',
    zh: '请求体必须是 application/json',
  },
  SMT_ERR_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large', zh: '请求体过大' },
  SMT_ERR_AUTH_MISSING: { status: 401, message: 'A bearer token is required', zh: '需要 Bearer 令牌' },
  SMT_ERR_AUTH_INVALID: { status: 401, message: 'The bearer token is not valid', zh: 'Bearer 令牌无效' },
  SMT_ERR_AUTH_FORBIDDEN: { status: 403, message: 'This token may not access that resource', zh: '此令牌无权访问该资源' },
  SMT_ERR_NOT_FOUND: { status: 404, message: 'No such route', zh: '没有这个接口' },
  SMT_ERR_USER_NOT_FOUND: { status: 404, message: 'No such user', zh: '用户不存在' },
  SMT_ERR_INTEREST_NOT_FOUND: { status: 404, message: 'No such interest', zh: '兴趣主题不存在' },
  SMT_ERR_DRAMA_NOT_FOUND: { status: 404, message: 'No such drama', zh: '短剧不存在' },
  SMT_ERR_KEYWORD_NOT_FOUND: { status: 404, message: 'No such keyword', zh: '关键词不存在' },
  SMT_ERR_CLIP_NOT_FOUND: { status: 404, message: 'That clip does not belong to this keyword', zh: '该视频片段不属于这个关键词' },
  SMT_ERR_MEDIA_NOT_FOUND: { status: 404, message: 'No such media file', zh: '媒体文件不存在' },
  SMT_ERR_MEDIA_PENDING: {
    status: 404,
    message: 'This media file is still being prepared; try again after Retry-After seconds',
    zh: '该媒体文件仍在生成中，请在 Retry-After 秒后重试',
  },
  SMT_ERR_ALERT_NOT_FOUND: { status: 404, message: 'No such alert', zh: '告警不存在' },
  SMT_ERR_SILENCE_NOT_FOUND: { status: 404, message: 'No such silence', zh: '静默不存在' },
  SMT_ERR_MODE_MISMATCH: { status: 409, message: 'The clue is in another learning mode', zh: '该线索处于另一种学习模式' },
  SMT_ERR_REVIEW_NOT_COLLECTED: { status: 409, message: 'Collect the clue before reviewing it', zh: '请先收集这个线索再复习' },
  SMT_ERR_CHANNEL_NOT_FOUND: { status: 404, message: 'No such notification channel', zh: '通知渠道不存在' },
  SMT_ERR_DEVICE_REGISTERED: {
    status: 409,
    message: 'This device already has a learner; resume with its deviceSecret or a live token of that learner',
    zh: '该设备已有学习者；请用设备密钥（deviceSecret）或该学习者的有效令牌恢复',
  },
  SMT_ERR_ALERT_RESOLVED: { status: 409, message: 'The alert is already resolved', zh: '告警已解决' },
  SMT_ERR_DRAMA_LOCKED: { status: 409, message: 'This drama is locked', zh: '该短剧尚未解锁' },
  SMT_ERR_NO_POOL: {
    status: 409,
    message: 'The embedded database has no connection pool to reset',
    zh: '内嵌数据库没有可重置的连接池',
  },
  SMT_ERR_CLUES_INCOMPLETE: {
    status: 409,
    message: 'Collect every story clue before the magic moment',
    zh: '请先收集全部故事线索，再进入魔法时刻',
  },
  SMT_ERR_RANGE_NOT_SATISFIABLE: {
    status: 416,
    message: 'The requested byte range is outside the file',
    zh: '请求的字节范围超出文件',
  },
  SMT_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests', zh: '请求过于频繁' },
  SMT_ERR_DB_UNAVAILABLE: {
    status: 503,
    message: 'The database is unavailable; try again shortly',
    zh: '数据库暂时不可用，请稍后重试',
  },
  SMT_ERR_SHUTTING_DOWN: { status: 503, message: 'The server is shutting down', zh: '服务器正在关闭' },
  SMT_ERR_INTERNAL: { status: 500, message: 'Internal error', zh: '内部错误' },
} as const satisfies Record<string, { status: number; message: string; zh: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly statusCode: number;
  /** The message in Chinese, for a client whose Accept-Language prefers it. */
  readonly zh: string;

  /**
   * `message`: our words for this case, in both languages; English alone gets the code's
   * Chinese message with the English after it (a clue for support, never a blank).
   */
  constructor(
    readonly code: ErrorCode,
    message?: string | Bilingual,
    readonly details?: unknown,
  ) {
    const en = typeof message === 'string' ? message : (message?.en ?? ERRORS[code].message);
    super(en);
    this.name = 'AppError';
    this.statusCode = ERRORS[code].status;
    this.zh =
      typeof message === 'object' ? message.zh : message === undefined ? ERRORS[code].zh : `${ERRORS[code].zh}（${message}）`;
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
