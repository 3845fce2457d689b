/**
 * Analytics over HTTP: event ingestion for clients, the metrics report for ops, and
 * the business counters and gauges on /metrics.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { Counter } from 'prom-client';
import type { Cached } from '../cached.js';
import { AppError, ErrorResponse } from '../errors.js';
import { OPS_SECURITY } from '../http/auth.js';
import { useJsonBodyParser } from '../http/json-body.js';
import { type GaugeSample, sample, sourcedGauge } from '../http/metrics.js';
import { createAjv, DateTime } from '../validation.js';
import { METRICS } from './definitions.js';
import type { EventWriter } from './event-writer.js';
import { EVENT_LIMITS, EventSchema, type IngestCaller } from './events.js';
import { ingestEvents } from './ingest.js';
import type { Presence } from './presence.js';
import { buildMetricsReport, type MetricsReport, type ReportDeps } from './report.js';

export interface AnalyticsRoutesOptions {
  presence: Presence;
  eventWriter: EventWriter;
  /** Batches per client per minute. */
  batchesPerMinute: number;
  /** The default report, refreshed in the background (gauges, alert evaluation). */
  reports: Cached<MetricsReport>;
  /** user_activated_total, shared with the learning actions' own events (journey-sink.ts). */
  activations: Counter;
}

const Rate = Type.Union([Type.Number(), Type.Null()]);

const FunnelStepSchema = Type.Object({
  step: Type.Integer(),
  event: Type.String(),
  users: Type.Integer(),
  overallConversion: Rate,
  stepConversion: Rate,
  dropOff: Rate,
  medianSecondsToConvert: Rate,
  target: Type.Number(),
  met: Type.Union([Type.Boolean(), Type.Null()]),
});

const ReportQuery = Type.Object(
  {
    since: Type.Optional(DateTime('Start of the window (default: 7 days ago, at a day boundary)')),
    until: Type.Optional(DateTime('End of the window (default: now)')),
    granularity: Type.Optional(Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day' })),
    breakdown: Type.Optional(Type.Union([Type.Literal('appVersion'), Type.Literal('platform'), Type.Literal('interest')])),
  },
  { additionalProperties: false },
);

/** A batch's envelope: {events: [1…500 items]}; each item is checked on its own (checkEvent). */
const checkEnvelope = createAjv({ allErrors: false, strict: false }).compile(
  Type.Object(
    { events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: EVENT_LIMITS.maxEventsPerBatch }) },
    { additionalProperties: false },
  ),
);

/** The longest window a report may cover. */
const MAX_WINDOW_DAYS = 366;

export const analyticsRoutes: FastifyPluginAsyncTypebox<AnalyticsRoutesOptions> = async (
  app,
  { presence, eventWriter, batchesPerMinute, reports, activations },
) => {
  // Events are checked one by one (a bad one is rejected alone), so this scope's JSON
  // parser leaves the depth and text checks to checkEvent.
  useJsonBodyParser(app, { perItem: true });
  const registry = app.metrics.registry;
  const events = new Counter({
    name: 'smartalk_analytics_events_total',
    help: 'Analytics events received, by result (accepted, duplicate, rejected).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of ['accepted', 'duplicate', 'rejected']) events.inc({ result }, 0);
  // Group commit at work: fewer statements than batches means batches shared statements.
  for (const [name, help, read] of [
    ['smartalk_ingest_batches_total', 'Event batches written by this instance.', () => eventWriter.stats.requests],
    [
      'smartalk_ingest_statements_total',
      'Statements that wrote event batches; concurrent batches share one (group commit).',
      () => eventWriter.stats.statements,
    ],
  ] as const) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  // Business gauges read the default report (at most 30 s old) at scrape time.
  const onError = (error: Error) => app.log.warn({ err: { message: error.message } }, 'business gauges not refreshed');
  const fromReport = (name: string, help: string, read: (report: MetricsReport) => GaugeSample[]) =>
    sourcedGauge(registry, { name, help, onError }, async () => read(await reports.get()));
  const bySteps = (steps: Array<{ step: number; value: number | null }>) =>
    steps.map(({ step, value }) => ({ labels: { step: String(step) }, value }));

  sourcedGauge(
    registry,
    {
      name: 'smartalk_active_users',
      help: `Distinct learners with an event or an authenticated request in the last ${METRICS.realtimeWindowSeconds} s.`,
    },
    async () => sample(await presence.count()),
  );
  fromReport(
    'smartalk_activation_ratio',
    'Share of the last 7 days\u2019 new users who completed a magic moment (activation).',
    (report) => sample(report.activation.rate),
  );
  fromReport(
    'smartalk_activation_baseline_ratio',
    'Activation ratio of the 7 days before the current window (the baseline of ActivationRateDrop).',
    (report) => sample(report.baseline.activationRate),
  );
  fromReport('smartalk_new_users', 'New users (first app launch) in the last 7 days.', (report) => sample(report.newUsers));
  fromReport(
    'smartalk_baseline_new_users',
    'New users in the 7 days before the current window (comparisons with the baseline need enough of them).',
    (report) => sample(report.baseline.newUsers),
  );
  fromReport(
    'smartalk_funnel_conversion_ratio',
    'Overall funnel conversion (step k ÷ step 1) of the last 7 days\u2019 new users, by step.',
    (report) => bySteps(report.funnel.map((s) => ({ step: s.step, value: s.overallConversion }))),
  );
  fromReport(
    'smartalk_funnel_step_conversion_ratio',
    'Step-to-step funnel conversion (step k ÷ step k−1) of the last 7 days, by step.',
    (report) => bySteps(report.funnel.map((s) => ({ step: s.step, value: s.stepConversion }))),
  );
  fromReport(
    'smartalk_funnel_step_conversion_baseline_ratio',
    'Step-to-step funnel conversion of the 7 days before the current window, by step.',
    (report) => bySteps(report.baseline.funnel.map((s) => ({ step: s.step, value: s.stepConversion }))),
  );
  // 学习效果统计: the report's learning section, for the business dashboard.
  fromReport(
    'smartalk_learning_correct_ratio',
    'Share of keyword attempts in the last 7 days that chose the right clip.',
    (report) => sample(report.learning.attempts > 0 ? report.learning.correctAttempts / report.learning.attempts : null),
  );
  fromReport(
    'smartalk_learning_attempts_per_clue',
    'Average attempts a learner needed per story clue in the last 7 days.',
    (report) => sample(report.learning.averageAttemptsPerClue),
  );
  fromReport(
    'smartalk_learning_mode_ratio',
    'Share of keyword runs in the last 7 days that reached focus mode (2 errors) or rescue mode (4), by mode.',
    (report) => [
      { labels: { mode: 'focus' }, value: report.learning.focusModeShare },
      { labels: { mode: 'rescue' }, value: report.learning.rescueModeShare },
    ],
  );
  fromReport('smartalk_dramas_completed', 'Dramas completed (magic moment reached) in the last 7 days.', (report) =>
    sample(report.learning.dramasCompleted),
  );

  app.post(
    '/analytics/events',
    {
      onRequest: app.auth.learnerOrOps,
      bodyLimit: EVENT_LIMITS.maxBatchBytes,
      config: {
        rateLimit: {
          max: batchesPerMinute,
          timeWindow: '1 minute',
          // Keyed on who the caller is (authentication ran first), never on how a header
          // is spelled: per learner, else per address. The ops token is exempt.
          keyGenerator: (request) => (request.learnerId ? `learner:${request.learnerId}` : `ip:${request.ip}`),
        },
      },
      validatorCompiler: ({ httpPart }) => (httpPart === 'body' ? checkEnvelope : () => true),
      schema: {
        tags: ['analytics'],
        summary: 'Ingest a batch of analytics events',
        description:
          `Up to ${EVENT_LIMITS.maxEventsPerBatch} events or ${EVENT_LIMITS.maxBatchBytes / 1024 / 1024} MiB per batch. Each event is checked on its own: ` +
          'the answer counts accepted and duplicate events and lists rejected ones with their index and reason. ' +
          'Events are idempotent by id. Timestamps more than 10 minutes ahead of the server or more than 90 days old are rejected. ' +
          'With a learner token, events belong to that learner; without one, events may only carry a deviceId. Answered after the events are committed.',
        security: [{ learnerToken: [] }, { opsToken: [] }, {}],
        // The whole shape, for the API reference; validated here only as an envelope (below),
        // each event then on its own by checkEvent, so one bad event is rejected alone.
        body: Type.Object(
          {
            events: Type.Array(EventSchema, {
              minItems: 1,
              maxItems: EVENT_LIMITS.maxEventsPerBatch,
              examples: [
                [
                  {
                    id: '0192f3a4-5b6c-7d8e-9f01-23456789abcd',
                    name: 'app_launched',
                    timestamp: '2026-12-01T08:00:00.000Z',
                    deviceId: 'ios-7f3a2c',
                    appVersion: '1.2.0',
                    platform: 'ios',
                  },
                ],
              ],
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            accepted: Type.Integer(),
            duplicates: Type.Integer(),
            rejected: Type.Array(Type.Object({ index: Type.Integer(), id: Type.Optional(Type.String()), reason: Type.String() })),
            receivedAt: Type.String({ format: 'date-time' }),
          }),
          400: ErrorResponse,
          401: ErrorResponse,
          413: ErrorResponse,
          429: ErrorResponse,
        },
      },
    },
    async (request) => {
      const caller: IngestCaller = request.isOps
        ? { kind: 'ops' }
        : request.learnerId
          ? { kind: 'learner', userId: request.learnerId }
          : { kind: 'anonymous' };
      const outcome = await ingestEvents(eventWriter, request.body.events, caller, {
        checkText: request.bodyHasEscapes,
      });
      events.inc({ result: 'accepted' }, outcome.accepted);
      events.inc({ result: 'duplicate' }, outcome.duplicates);
      events.inc({ result: 'rejected' }, outcome.rejected.length);
      activations.inc(outcome.newlyActivated.length);
      if (outcome.stored.length > 0) {
        const latest = new Map<string, number>();
        for (const event of outcome.stored) {
          latest.set(event.subject, Math.max(latest.get(event.subject) ?? 0, event.timestamp.getTime()));
        }
        // Presence is best-effort: the events are already committed.
        await presence
          .touch([...latest])
          .catch((error: Error) => request.log.warn({ err: { message: error.message } }, 'presence not updated'));
      }
      return {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        rejected: outcome.rejected,
        receivedAt: outcome.receivedAt,
      };
    },
  );
};

export interface AnalyticsOpsRoutesOptions {
  /** How the report reads the database: the folding of the outbox included (ReportDeps). */
  report: ReportDeps;
}

/** The metrics report for the ops team; registered under /api/v1/ops, whose scope checks the ops token. */
export const analyticsOpsRoutes: FastifyPluginAsyncTypebox<AnalyticsOpsRoutesOptions> = async (app, { report }) => {
  app.get(
    '/metrics-report',
    {
      schema: {
        tags: ['ops'],
        summary: 'The LaunchMetricsTracker report: new users, activation, funnel, retention, real-time users, learning',
        description: 'Definitions in docs/metrics.md. Default window: the last 7 days. Compared with the 7 days before it.',
        security: OPS_SECURITY,
        querystring: ReportQuery,
        response: {
          200: Type.Object(
            { funnel: Type.Array(FunnelStepSchema) },
            { additionalProperties: true, description: 'See MetricsReport in src/analytics/report.ts' },
          ),
          400: ErrorResponse,
          401: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { since, until, granularity, breakdown } = request.query;
      const options = {
        since: since ? new Date(since) : undefined,
        until: until ? new Date(until) : undefined,
        granularity,
        breakdown,
      };
      const from = options.since?.getTime() ?? Date.now() - 7 * 86_400_000;
      const to = options.until?.getTime() ?? Date.now();
      if (from >= to) throw new AppError('SMT_ERR_VALIDATION', 'since must be before until');
      if (to - from > MAX_WINDOW_DAYS * 86_400_000) {
        throw new AppError('SMT_ERR_VALIDATION', `the window may cover at most ${MAX_WINDOW_DAYS} days`);
      }
      return buildMetricsReport(report, options);
    },
  );
};
