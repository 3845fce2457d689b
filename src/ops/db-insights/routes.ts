/** GET /api/v1/ops/db (database insights, with this server's pool) and POST /api/v1/ops/db/pool/reset (重置连接池). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { Lang } from '../../config.js';
import type { Db } from '../../db/database.js';
import { AppError, ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import { collectDbInsights } from './insights.js';

const Json = Type.Object({}, { additionalProperties: true });

export const dbInsightRoutes: FastifyPluginAsyncTypebox<{ db: Db; lang: Lang }> = async (app, { db, lang }) => {
  app.get(
    '/db',
    {
      schema: {
        tags: ['ops'],
        summary:
          'Database insights (PgHero’s checks): connections and this server’s pool, sessions, locks, statements, indexes, sizes, vacuum, wraparound, sequences',
        security: OPS_SECURITY,
        querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('zh-CN')])) }),
        response: { 200: Json, 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) => collectDbInsights({ db, pool: db.pool }, { lang: request.query.lang ?? lang }),
  );

  app.post(
    '/db/pool/reset',
    {
      schema: {
        tags: ['ops'],
        summary:
          'Reset the connection pool (重置连接池): new queries get fresh connections; the old ones close as they come back',
        security: OPS_SECURITY,
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: Json, 400: ErrorResponse, 401: ErrorResponse, 409: ErrorResponse },
      },
    },
    async () => {
      if (!db.resetPool) throw new AppError('SMT_ERR_NO_POOL');
      const reset = await db.resetPool();
      app.log.warn({ before: reset.before }, 'connection pool reset by an operator');
      return reset;
    },
  );
};
