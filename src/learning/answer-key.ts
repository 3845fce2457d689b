/**
 * The ops answer key: which of a clue's clips is the right one, under the public clip ids
 * (content-key.ts) — for the content team checking a drama and for `smartalk simulate`,
 * which answers like a learner who knows (or does not know) the word. Behind the ops token:
 * nothing a learner can read names the right clip.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { AppError, ErrorResponse } from '../errors.js';
import { OPS_SECURITY } from '../http/auth.js';
import { Id } from '../validation.js';
import type { Catalog, CatalogCache } from './content.js';

export const AnswerKeyEntry = Type.Object({
  keywordId: Type.String({ examples: ['travel-01-k01'] }),
  dramaId: Type.String({ examples: ['travel-01'] }),
  word: Type.String({ examples: ['boarding pass'] }),
  rightClipId: Type.String({ examples: ['clip_Yx3kq0L2vVb9TnQe'] }),
  otherClipIds: Type.Array(Type.String()),
});
export interface AnswerKeyEntry {
  keywordId: string;
  dramaId: string;
  word: string;
  rightClipId: string;
  otherClipIds: string[];
}

/** Every clue's answer, in drama and position order; one drama's when `dramaId` is given. */
export function answerKey(catalog: Catalog, dramaId?: string): AnswerKeyEntry[] {
  const dramas = dramaId === undefined ? [...catalog.dramaById.keys()] : [dramaId];
  return dramas.flatMap((drama) =>
    (catalog.keywordsByDrama.get(drama) ?? []).map((keyword) => {
      const clips = catalog.clipsByKeyword.get(keyword.id) ?? [];
      return {
        keywordId: keyword.id,
        dramaId: drama,
        word: keyword.word,
        rightClipId: clips.find((clip) => clip.is_correct)?.id ?? '',
        otherClipIds: clips.filter((clip) => !clip.is_correct).map((clip) => clip.id),
      };
    }),
  );
}

/** Registered under /api/v1/ops, whose scope checks the ops token. */
export const answerKeyRoutes: FastifyPluginAsyncTypebox<{ catalog: CatalogCache }> = async (app, { catalog }) => {
  app.get(
    '/content/answer-key',
    {
      schema: {
        tags: ['ops'],
        summary: 'Which clip is right for each story clue (the learner API does not say): for checking content and simulations',
        security: OPS_SECURITY,
        querystring: Type.Object(
          { dramaId: Type.Optional(Id('Only this drama, e.g. travel-01')) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ keywords: Type.Array(AnswerKeyEntry) }),
          400: ErrorResponse,
          401: ErrorResponse,
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      const content = await catalog.get();
      const { dramaId } = request.query;
      if (dramaId !== undefined && !content.dramaById.has(dramaId)) throw new AppError('SMT_ERR_DRAMA_NOT_FOUND');
      return { keywords: answerKey(content, dramaId) };
    },
  );
};
