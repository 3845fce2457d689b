/**
 * The learning API under /api/v1: anonymous learners, the content catalog, vTPR
 * attempts, the magic moment and progress. Thin: validate, call, shape.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { invalidCursor } from '../cursor.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { assertSelf, bearerToken, LEARNER_SECURITY } from '../http/auth.js';
import { JsonView, sendJsonView } from '../http/json-view.js';
import type { PreparedAnswers } from '../http/prepared-answers.js';
import { clientTime } from '../timestamps.js';
import { type Catalog, type CatalogCache, lockStates } from './content.js';
import type { JourneyEventSink } from './journey-events.js';
import { completeMagicMoment, getProgress, type LearningDeps, recordAttempt } from './progress.js';
import { completedDramas } from './progress-store.js';
import { answerReview, listDueReviews } from './reviews.js';
import * as S from './schemas.js';
import { getUserProfile, registerDevice, revokeToken, selectInterest } from './users.js';
import { DRAMA_PAGE, dramaCursor, dramaDetailView, dramaListView, interestsView, type MediaUrl } from './views.js';

export interface LearningRoutesOptions {
  db: Db;
  catalog: CatalogCache;
  mediaUrl: MediaUrl;
  /** Learner creations per client per minute. */
  usersPerMinute: number;
  /** Where the learning actions' own analytics events go (journey-events.ts). */
  events: JourneyEventSink;
  /** Where public views are published to be answered before routing (http/prepared-answers.ts). */
  prepared?: PreparedAnswers;
}

/** Public content may sit in nginx or a CDN for five minutes (the runbook's 缓存头). */
const PUBLIC_CACHE = 'public, max-age=300';

/**
 * Cache headers of content: public for five minutes, or personal (never stored). Public
 * views vary by Accept-Encoding (they go out compressed or not); only the dramas of a
 * theme also differ by caller (their lock state), so only they vary by Authorization.
 */
const CACHE_HEADERS = {
  public: { 'cache-control': PUBLIC_CACHE, vary: 'Accept-Encoding' },
  'public-by-caller': { 'cache-control': PUBLIC_CACHE, vary: 'Accept-Encoding, Authorization' },
  personal: { 'cache-control': 'no-store', vary: 'Authorization' },
} as const;

function cacheFor(reply: FastifyReply, kind: keyof typeof CACHE_HEADERS): void {
  reply.headers(CACHE_HEADERS[kind]);
}

/** Serialize with the route's own 200 response schema, exactly as Fastify would. */
function serialize(reply: FastifyReply, value: unknown): string {
  return (reply.getSerializationFunction('200') as (input: unknown) => string)(value);
}

/**
 * Answer with the catalog: at once when it is loaded and fresh, after loading it otherwise.
 * The catalog routes are the hot path, and an async handler's promise hop measured as a
 * few percent of their cost (bench/http.ts); Fastify sends what a synchronous answer throws.
 */
function withCatalog(
  catalog: CatalogCache,
  answer: (content: Catalog) => FastifyReply | Promise<FastifyReply>,
): Promise<void> | undefined {
  const content = catalog.current();
  // A reply is a thenable that settles once it is sent: a promise that adopts it settles with
  // nothing then, as an async handler's `return reply` does.
  if (!content) return catalog.get().then(answer) as Promise<unknown> as Promise<void>;
  const answered = answer(content);
  return answered instanceof Promise ? (answered as Promise<unknown> as Promise<void>) : undefined;
}

const errors = { 400: S.ErrorResponse, 401: S.ErrorResponse, 403: S.ErrorResponse, 404: S.ErrorResponse, 409: S.ErrorResponse };

export const learningRoutes: FastifyPluginAsyncTypebox<LearningRoutesOptions> = async (
  app,
  { db, catalog, mediaUrl, usersPerMinute, events, prepared },
) => {
  /**
   * Send a public view. Asked for by its own path (no query string, no other spelling), it is
   * also published as a prepared answer: the next GETs of that path get it before routing,
   * until the catalog changes or goes stale.
   */
  const sendPublicView = (
    request: FastifyRequest,
    reply: FastifyReply,
    content: Catalog,
    path: string,
    view: JsonView,
    kind: 'public' | 'public-by-caller',
  ): FastifyReply => {
    cacheFor(reply, kind);
    if (prepared && request.url === `${app.prefix}${path}`) {
      prepared.publish(request.url, {
        view,
        headers: CACHE_HEADERS[kind],
        isCurrent: () => catalog.current() === content,
        observe: app.preparedAnswerObserver(request.routeOptions.url as string),
      });
    }
    return sendJsonView(request, reply, view);
  };

  const deps = async (): Promise<LearningDeps> => ({ db, catalog: await catalog.get(), events });
  const usersCreated = new Counter({
    name: 'user_created_total',
    help: 'Learners created (a new device) by this instance.',
    registers: [app.metrics.registry],
  });

  app.post(
    '/users',
    {
      // A live learner token (to resume) or the ops token (exempt from the limit) may come along.
      onRequest: app.auth.learnerOrOps,
      config: { rateLimit: { max: usersPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['learners'],
        summary: 'Create an anonymous learner for a device, or resume it',
        description:
          'A new deviceId creates a learner (201) and returns its token and deviceSecret; keep the secret with the device. ' +
          'A known deviceId is resumed (200, same userId, a fresh token) only with its deviceSecret or a live token of that learner (Authorization); otherwise 409 SMT_ERR_DEVICE_REGISTERED and nothing changes. An app that has lost its secret registers under a new deviceId.',
        body: S.CreateUserBody,
        response: { 200: S.CreatedUser, 201: S.CreatedUser, 400: S.ErrorResponse, 401: S.ErrorResponse, 409: S.ErrorResponse },
      },
    },
    async (request, reply) => {
      const user = await registerDevice(db, request.body, request.learnerId);
      if (user.created) usersCreated.inc();
      return reply.code(user.created ? 201 : 200).send(user);
    },
  );

  app.delete(
    '/users/:userId/tokens/current',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learners'],
        summary: 'Log out: end the token of this request, at once on every instance',
        security: LEARNER_SECURITY,
        params: S.UserParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const userId = assertSelf(request, request.params.userId);
      await revokeToken(db, userId, bearerToken(request) as string);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users/:userId',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learners'],
        summary: "The caller's profile",
        security: LEARNER_SECURITY,
        params: S.UserParams,
        querystring: S.NoQuery,
        response: { 200: S.UserProfile, ...errors },
      },
    },
    async (request) => {
      return getUserProfile(db, assertSelf(request, request.params.userId));
    },
  );

  app.post(
    '/users/:userId/interests',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learners'],
        summary: 'Choose an interest theme',
        security: LEARNER_SECURITY,
        params: S.UserParams,
        body: S.SelectInterestBody,
        response: { 200: S.UserProfile, ...errors },
      },
    },
    async (request) => {
      const userId = assertSelf(request, request.params.userId);
      const { interestById } = await catalog.get();
      if (!interestById.has(request.body.interestId)) throw new AppError('SMT_ERR_INTEREST_NOT_FOUND');
      const at = clientTime(request.body.occurredAt, new Date(), 'occurredAt');
      await selectInterest({ db, events }, userId, request.body.interestId, at);
      return getUserProfile(db, userId);
    },
  );

  app.get(
    '/users/:userId/progress',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learners'],
        summary: "The caller's progress: clues collected, dramas completed, locks, reviews due",
        security: LEARNER_SECURITY,
        params: S.UserParams,
        querystring: S.NoQuery,
        response: { 200: S.ProgressReport, ...errors },
      },
    },
    async (request) => {
      return getProgress(db, await catalog.get(), assertSelf(request, request.params.userId));
    },
  );

  app.get(
    '/users/:userId/reviews',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learning'],
        summary: "The caller's keywords due for review now (FSRS), soonest first, a page at a time",
        description:
          'Each review shows the word and its clips: POST the one that shows its meaning to /users/{userId}/reviews/{keywordId}. ' +
          'Pages: limit (1–100, default 20) and cursor (the nextCursor of the page before).',
        security: LEARNER_SECURITY,
        params: S.UserParams,
        querystring: S.ReviewsQuery,
        response: { 200: S.DueReviews, ...errors },
      },
    },
    async (request, reply) => {
      const userId = assertSelf(request, request.params.userId);
      cacheFor(reply, 'personal');
      return listDueReviews(await deps(), userId, { ...request.query, now: new Date() }, mediaUrl);
    },
  );

  app.post(
    '/users/:userId/reviews/:keywordId',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learning'],
        summary: 'Answer a review: graded by the clip picked, rescheduled with FSRS (right: good, wrong: again)',
        security: LEARNER_SECURITY,
        params: S.ReviewParams,
        body: S.ReviewBody,
        response: { 200: S.ReviewResult, ...errors },
      },
    },
    async (request) => {
      const userId = assertSelf(request, request.params.userId);
      const { occurredAt, ...input } = request.body;
      const at = clientTime(occurredAt, new Date(), 'occurredAt');
      return answerReview(await deps(), userId, request.params.keywordId, input, at);
    },
  );

  app.get(
    '/interests',
    {
      compress: false,
      schema: {
        tags: ['content'],
        summary: 'The interest themes',
        querystring: S.NoQuery,
        response: { 200: Type.Object({ interests: Type.Array(S.Interest) }) },
      },
    },
    (request, reply) =>
      withCatalog(catalog, (content) => {
        const view = catalog.viewOf(content, 'interests', (c) => serialize(reply, interestsView(c)));
        return sendPublicView(request, reply, content, '/interests', view, 'public');
      }),
  );

  app.get(
    '/interests/:interestId/dramas',
    {
      // Both answers go out through sendView, compressed there when large enough.
      compress: false,
      onRequest: app.auth.optionalLearner,
      schema: {
        tags: ['content'],
        summary: "A theme's dramas in chapter order, with lock state for the caller",
        description:
          'Chapter 1 is open; chapter N opens when the magic moment of chapter N−1 is completed. ' +
          'Anonymous callers see the state of a new learner and a publicly cacheable response.',
        params: S.InterestParams,
        querystring: S.DramasQuery,
        response: {
          200: Type.Object({
            dramas: Type.Array(S.DramaSummary),
            nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page' }),
          }),
          400: S.ErrorResponse,
          401: S.ErrorResponse,
          404: S.ErrorResponse,
        },
      },
    },
    (request, reply) =>
      withCatalog(catalog, (content) => {
        const { interestId } = request.params;
        if (!content.interestById.has(interestId)) throw new AppError('SMT_ERR_INTEREST_NOT_FOUND');
        const dramas = content.dramasByInterest.get(interestId) ?? [];
        const learner = request.learnerId;
        const { limit, cursor } = request.query;
        if (limit === undefined && cursor === undefined && learner === undefined) {
          const view = catalog.viewOf(content, `dramas:${interestId}`, (c) =>
            serialize(reply, dramaListView(c, interestId, lockStates(dramas, new Set()))),
          );
          return sendPublicView(request, reply, content, `/interests/${interestId}/dramas`, view, 'public-by-caller');
        }
        // A learner's list, or a page other than the first whole list: made for this request, never cached.
        let page: { afterChapter: number; limit: number } | undefined;
        if (limit !== undefined || cursor !== undefined) {
          const afterChapter = cursor === undefined ? 0 : dramaCursor.decode(cursor);
          if (afterChapter === undefined) throw invalidCursor();
          page = { afterChapter, limit: limit ?? DRAMA_PAGE.default };
        }
        cacheFor(reply, 'personal');
        const answer = (completed: ReadonlySet<string>) =>
          sendJsonView(
            request,
            reply,
            new JsonView(serialize(reply, dramaListView(content, interestId, lockStates(dramas, completed), page)), 'once'),
          );
        return learner === undefined ? answer(new Set()) : completedDramas(db.kysely, learner).then(answer);
      }),
  );

  app.get(
    '/dramas/:dramaId',
    {
      compress: false,
      schema: {
        tags: ['content'],
        summary: 'A drama with its videos, story clues (keywords) and vTPR clips',
        params: S.DramaParams,
        querystring: S.NoQuery,
        response: { 200: S.DramaDetail, 404: S.ErrorResponse },
      },
    },
    (request, reply) =>
      withCatalog(catalog, (content) => {
        const drama = content.dramaById.get(request.params.dramaId);
        if (!drama) throw new AppError('SMT_ERR_DRAMA_NOT_FOUND');
        const view = catalog.viewOf(content, `drama:${drama.id}`, (c) => serialize(reply, dramaDetailView(c, drama, mediaUrl)));
        return sendPublicView(request, reply, content, `/dramas/${drama.id}`, view, 'public');
      }),
  );

  app.post(
    '/keywords/:keywordId/attempts',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learning'],
        summary: 'Record a vTPR attempt on a story clue',
        description:
          'Give selectedClipId: the server grades it. After 2 errors in a row the clue is in focus mode (the answer shows ' +
          'the two clips to offer and a slower playback rate), after 4 in rescue mode (the answer shows the right clip and ' +
          'why; then a client-graded correct, e.g. pronunciation, is also taken). A correct answer collects the clue and ' +
          'schedules its first review 24 h later (10 min after rescue). The analytics events of the attempt are recorded ' +
          'by the server (docs/metrics.md).',
        security: LEARNER_SECURITY,
        params: S.KeywordParams,
        body: S.AttemptBody,
        response: { 200: S.AttemptResult, ...errors },
      },
    },
    async (request) => {
      const { occurredAt, ...input } = request.body;
      const at = clientTime(occurredAt, new Date(), 'occurredAt');
      return recordAttempt(await deps(), request.learnerId as string, request.params.keywordId, input, at);
    },
  );

  app.post(
    '/dramas/:dramaId/magic-moment',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['learning'],
        summary: 'Complete the magic moment (watched without subtitles) and self-assess',
        description: 'Needs every story clue collected. Completes the drama, unlocks the next chapter.',
        security: LEARNER_SECURITY,
        params: S.DramaParams,
        body: S.MagicMomentBody,
        response: { 200: S.MagicMomentResult, ...errors },
      },
      // The body is optional: a request without one is the same as {}.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const at = clientTime(request.body.occurredAt, new Date(), 'occurredAt');
      return completeMagicMoment(
        await deps(),
        request.learnerId as string,
        request.params.dramaId,
        request.body.understanding,
        at,
      );
    },
  );
};
