/**
 * Feedback over HTTP: learners post it, ops read the report; counters and the
 * negative-share gauges (NegativeFeedbackRising's inputs) go to /metrics.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { Counter } from 'prom-client';
import type { EventWriter } from '../analytics/event-writer.js';
import { ingestEvents } from '../analytics/ingest.js';
import type { Cached } from '../cached.js';
import type { Db } from '../db/database.js';
import { AppError, ErrorResponse } from '../errors.js';
import { assertSelf, LEARNER_SECURITY, OPS_SECURITY } from '../http/auth.js';
import { sample, sourcedGauge } from '../http/metrics.js';
import { Emotion } from '../learning/schemas.js';
import { CLIENT_CLOCK, clientTime } from '../timestamps.js';
import { DateTime, Line, Text, Uuid } from '../validation.js';
import { LABELING_SAMPLE } from './definitions.js';
import { FEEDBACK_TYPES, type FeedbackService, MAX_FEEDBACK_TEXT } from './feedback.js';
import { labelingSample } from './labeling.js';
import { buildFeedbackReport, type FeedbackReport } from './report.js';
import { THEMES, type Theme } from './sentiment.js';

export interface FeedbackRoutesOptions {
  feedback: FeedbackService;
  /** Where the feedback_submitted analytics event goes. */
  eventWriter: EventWriter;
  /** The default report, refreshed in the background (gauges, alert evaluation). */
  reports: Cached<FeedbackReport>;
}

const FeedbackBody = Type.Object(
  {
    type: Type.Union(FEEDBACK_TYPES.map((t) => Type.Literal(t))),
    rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
    emotion: Type.Optional(Emotion),
    text: Type.Optional(
      Text(MAX_FEEDBACK_TEXT, { description: `Chinese, English or both; up to ${MAX_FEEDBACK_TEXT} characters` }),
    ),
    userId: Type.Optional(Uuid),
    writtenAt: Type.Optional(
      DateTime(
        `When the learner wrote it, for a client that sends later (offline): at most ${CLIENT_CLOCK.maxPastDays} days ago, ` +
          'as analytics events; default: now',
      ),
    ),
    context: Type.Optional(
      Type.Object(
        {
          screen: Type.Optional(Line(64)),
          completedSteps: Type.Optional(Type.Array(Line(64), { maxItems: 20 })),
          sessionDurationSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
          errorCode: Type.Optional(Line(64)),
          appVersion: Type.Optional(Line(32)),
          platform: Type.Optional(Line(32)),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Label = Type.Union([Type.Literal('positive'), Type.Literal('neutral'), Type.Literal('negative')]);
const Timestamp = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }));

const StoredFeedback = Type.Object({
  id: Uuid,
  userId: Uuid,
  type: Type.String(),
  rating: Type.Union([Type.Integer(), Type.Null()]),
  emotion: Type.Union([Type.String(), Type.Null()]),
  text: Type.Union([Type.String(), Type.Null()]),
  sentiment: Type.Number({ minimum: -1, maximum: 1 }),
  label: Label,
  themes: Type.Array(Type.Unsafe<Theme>(Type.String({ enum: THEMES }))),
  urgent: Type.Boolean(),
  createdAt: Timestamp,
});

const ReportQuery = Type.Object(
  {
    since: Type.Optional(DateTime()),
    until: Type.Optional(DateTime()),
  },
  { additionalProperties: false },
);

export const feedbackRoutes: FastifyPluginAsyncTypebox<FeedbackRoutesOptions> = async (
  app,
  { feedback, reports, eventWriter },
) => {
  const registry = app.metrics.registry;
  const total = new Counter({
    name: 'smartalk_feedback_total',
    help: 'Feedback items stored, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const byLabel = new Counter({
    name: 'smartalk_feedback_sentiment_total',
    help: 'Feedback items stored, by sentiment label.',
    labelNames: ['label'] as const,
    registers: [registry],
  });
  const urgentTotal = new Counter({
    name: 'smartalk_feedback_urgent_total',
    help: 'Urgent feedback items (crash, unusable, data loss, or rating ≤ 2).',
    registers: [registry],
  });
  for (const type of FEEDBACK_TYPES) total.inc({ type }, 0);
  for (const label of ['positive', 'neutral', 'negative']) byLabel.inc({ label }, 0);

  feedback.onUrgent((item) => {
    urgentTotal.inc();
    // Error level so it is seen at once; the learner's words stay out of the log.
    app.log.error(
      {
        feedbackId: item.id,
        userId: item.userId,
        type: item.type,
        rating: item.rating,
        reasons: item.urgentReasons,
        themes: item.themes,
      },
      'urgent feedback received',
    );
  });

  const gauge = (name: string, help: string, read: (report: FeedbackReport) => number | null) =>
    sourcedGauge(
      registry,
      { name, help, onError: (error) => app.log.warn({ err: { message: error.message } }, 'feedback gauges not refreshed') },
      async () => sample(read(await reports.get())),
    );
  gauge('smartalk_feedback_negative_ratio', 'Share of negative feedback in the last 7 days.', (r) => r.sentiment.negativeShare);
  gauge(
    'smartalk_feedback_negative_baseline_ratio',
    'Share of negative feedback in the 7 days before.',
    (r) => r.baseline.negativeShare,
  );
  gauge(
    'smartalk_feedback_window_items',
    'Feedback items in the last 7 days (the rising-negative rule needs a minimum).',
    (r) => r.totals.items,
  );
  gauge(
    'smartalk_feedback_sentiment_average',
    'Average feedback sentiment (−1…1) in the last 7 days.',
    (r) => r.sentiment.average,
  );

  app.post(
    '/feedback',
    {
      onRequest: app.auth.learner,
      schema: {
        tags: ['feedback'],
        summary: 'Send feedback (scored for sentiment, themes and urgency)',
        description:
          `type: ${FEEDBACK_TYPES.join(' | ')}; rating 1–5; emotion: the magic-moment self-assessment label; text up to ${MAX_FEEDBACK_TEXT} characters ` +
          '(Chinese, English or mixed). Answers with the stored item, its sentiment in [−1, 1], label and themes.',
        security: LEARNER_SECURITY,
        body: FeedbackBody,
        response: { 201: StoredFeedback, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (request, reply) => {
      const userId = request.learnerId as string;
      if (request.body.userId !== undefined) assertSelf(request, request.body.userId);
      const { userId: _ignored, writtenAt, ...input } = request.body;
      if (input.rating === undefined && input.emotion === undefined && !input.text?.trim()) {
        throw new AppError('SMT_ERR_VALIDATION', 'Give at least a rating, an emotion or a text');
      }
      const item = await feedback.submit(userId, input, clientTime(writtenAt, new Date(), 'writtenAt'));
      total.inc({ type: item.type });
      byLabel.inc({ label: item.label });
      // The analytics stream hears of it too; the item itself is already committed.
      await ingestEvents(
        eventWriter,
        [
          {
            id: item.id,
            name: 'feedback_submitted',
            timestamp: item.createdAt.toISOString(),
            properties: { type: item.type, rating: item.rating, emotion: item.emotion, label: item.label, urgent: item.urgent },
          },
        ],
        { kind: 'learner', userId },
      ).catch((error: Error) => request.log.warn({ err: { message: error.message } }, 'feedback_submitted event not recorded'));
      const { scored: _scored, urgentReasons: _reasons, context: _context, ...body } = item;
      return reply.code(201).send(body);
    },
  );
};

/** A report window from its query: either end may be left to the default, but not after the other. */
function windowOf(query: { since?: string; until?: string }): { since?: Date; until?: Date } {
  const since = query.since ? new Date(query.since) : undefined;
  const until = query.until ? new Date(query.until) : undefined;
  if (since && until && since >= until) throw new AppError('SMT_ERR_VALIDATION', 'since must be before until');
  return { since, until };
}

/** The feedback report for the ops team; registered under /api/v1/ops, whose scope checks the ops token. */
export const feedbackOpsRoutes: FastifyPluginAsyncTypebox<{ db: Db; tz: string }> = async (app, { db, tz }) => {
  app.get(
    '/feedback-report',
    {
      schema: {
        tags: ['ops'],
        summary: 'The LaunchFeedbackCollector report: volume, sentiment, themes, urgent items, suggestions',
        description: 'Default window: the last 7 days, compared with the 7 days before.',
        security: OPS_SECURITY,
        querystring: ReportQuery,
        response: { 200: Type.Object({}, { additionalProperties: true }), 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) => buildFeedbackReport({ db, tz }, windowOf(request.query)),
  );

  app.get(
    '/feedback-sample',
    {
      schema: {
        tags: ['ops'],
        summary: "A labeling sample: learners' texts drawn at random per language, with no score (smartalk feedback sample)",
        description: `Default: ${LABELING_SAMPLE.perLanguage} texts per language from the last ${LABELING_SAMPLE.days} days; the same seed draws the same texts.`,
        security: OPS_SECURITY,
        querystring: Type.Object(
          {
            ...ReportQuery.properties,
            perLanguage: Type.Optional(Type.Integer({ minimum: 1, maximum: LABELING_SAMPLE.maxPerLanguage })),
            seed: Type.Optional(Type.String({ pattern: LABELING_SAMPLE.seed.source })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({}, { additionalProperties: true }), 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) =>
      labelingSample(db, { ...windowOf(request.query), perLanguage: request.query.perLanguage, seed: request.query.seed }),
  );
};
