/** GET/POST /api/v1/ops/log: the ops log (运维日志), under the ops scope (token checked before the body is read). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { pageOf, timeKeyCursor } from '../../cursor.js';
import type { Db } from '../../db/database.js';
import { ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import { DateTime, Line, Text } from '../../validation.js';
import { addOpsLogEntry, listOpsLog, OPS_LOG_KINDS } from './opslog.js';

/** A tag: one word of letters, digits and . _ : - (any script). */
const Tag = Type.String({ minLength: 1, maxLength: 40, pattern: '^[\\p{L}\\p{N}_.:-]+$' });

const Entry = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  kind: Type.String(),
  actor: Type.String(),
  summary: Type.String(),
  tags: Type.Array(Type.String()),
  details: Type.Object({}, { additionalProperties: true }),
});

export const opsLogRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/log',
    {
      schema: {
        tags: ['ops'],
        summary: 'The ops log (运维日志), newest first, a page at a time (limit, cursor → nextCursor)',
        security: OPS_SECURITY,
        querystring: Type.Object(
          {
            since: Type.Optional(DateTime()),
            until: Type.Optional(DateTime()),
            tag: Type.Optional(Tag),
            kind: Type.Optional(Type.Union(OPS_LOG_KINDS.map((kind) => Type.Literal(kind)))),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the page before' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ entries: Type.Array(Entry), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          400: ErrorResponse,
          401: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { since, until, tag, kind, limit = 100, cursor } = request.query;
      const after = cursor === undefined ? undefined : timeKeyCursor.decode(cursor, /^\d{1,18}$/);
      const rows = await listOpsLog(db, {
        ...(since ? { since: new Date(since) } : {}),
        ...(until ? { until: new Date(until) } : {}),
        ...(tag ? { tag } : {}),
        ...(kind ? { kind } : {}),
        ...(after ? { before: { at: after.at, id: Number(after.key) } } : {}),
        limit: limit + 1,
      });
      const { items, nextCursor } = pageOf(rows, limit, (last) => timeKeyCursor.encode(new Date(last.at), last.id));
      return { entries: items, nextCursor };
    },
  );

  app.post(
    '/log',
    {
      schema: {
        tags: ['ops'],
        summary: 'Add an entry by a person to the ops log',
        security: OPS_SECURITY,
        body: Type.Object(
          {
            text: Text(4000, { minLength: 1 }),
            author: Type.Optional(Line(100)),
            tags: Type.Optional(Type.Array(Tag, { maxItems: 10 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Entry, 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { text, author, tags } = request.body;
      const entry = await addOpsLogEntry(db.kysely, {
        kind: 'note',
        actor: author ?? 'ops-token',
        summary: text,
        tags: tags ?? [],
      });
      return reply.code(201).send(entry);
    },
  );
};
