/**
 * Alerting over HTTP, registered under /api/v1/ops (whose scope checks the ops token): Alertmanager's webhook intake, the alert list,
 * acknowledge / resolve, silences and maintenance windows, channel tests — and the
 * background round that escalates and delivers on an interval.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { AppError, ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import { sourcedGauge } from '../../http/metrics.js';
import { DateTime, LabelMap, Line, Text, Uuid } from '../../validation.js';
import { ruleById, type Severity } from './catalog.js';
import type { BuiltinEvaluator } from './evaluator.js';
import type { AlertService } from './service.js';

export interface AlertRoutesOptions {
  alerts: AlertService;
  intervalSeconds: number;
  /** The in-process rule evaluation (the embedded default has no Prometheus). */
  evaluator?: BuiltinEvaluator;
}

const Str = (max: number) => Line(max, { minLength: 0 });

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
const AlertmanagerPayload = Type.Object({
  version: Type.Literal('4'),
  groupKey: Str(4096),
  status: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
  receiver: Str(256),
  groupLabels: LabelMap,
  commonLabels: LabelMap,
  commonAnnotations: LabelMap,
  externalURL: Str(2048),
  truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
  alerts: Type.Array(
    Type.Object({
      status: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
      labels: LabelMap,
      annotations: LabelMap,
      startsAt: DateTime(),
      // Not read: Alertmanager sends Go's zero time (0001-01-01) while an alert fires.
      endsAt: Str(64),
      generatorURL: Str(4096),
      fingerprint: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-f]+$' }),
    }),
    { maxItems: 1000 },
  ),
});

const SEVERITY_OF = new Set(['critical', 'warning', 'info']);

export const alertRoutes: FastifyPluginAsyncTypebox<AlertRoutesOptions> = async (app, { alerts, intervalSeconds, evaluator }) => {
  const round = async () => {
    try {
      await evaluator?.evaluate();
      await alerts.escalate();
      await alerts.deliver();
    } catch (error) {
      // A database outage must not kill the loop; the next round retries.
      app.log.warn({ err: { message: (error as Error).message } }, 'alert round failed');
    }
  };
  let running: Promise<void> | undefined;
  /** One round at a time in this process; other instances are kept out by the claims. */
  const runRound = () => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };
  // Open alerts by severity, for the ops dashboard (every severity present, 0 when none).
  sourcedGauge(
    app.metrics.registry,
    {
      name: 'smartalk_alerts_open',
      help: 'Open alerts (firing or acknowledged) by severity.',
      onError: (error) => app.log.warn({ err: { message: error.message } }, 'open alerts gauge not refreshed'),
    },
    async () => {
      const open = await alerts.list({ open: true, limit: 500 });
      return (['critical', 'warning', 'info'] as const).map((severity) => ({
        labels: { severity },
        value: open.filter((alert) => alert.severity === severity).length,
      }));
    },
  );
  const timer = setInterval(() => void runRound(), intervalSeconds * 1000);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
    await evaluator?.close();
  });

  app.post(
    '/alertmanager',
    {
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        tags: ['ops'],
        summary: "Alertmanager's webhook: alerts evaluated by Prometheus join SmarTalk's escalation",
        security: OPS_SECURITY,
        body: AlertmanagerPayload,
        response: {
          200: Type.Object({ received: Type.Integer(), opened: Type.Integer(), resolved: Type.Integer() }),
          400: ErrorResponse,
          401: ErrorResponse,
        },
      },
    },
    async (request) => {
      let opened = 0;
      let resolved = 0;
      for (const alert of request.body.alerts) {
        const fingerprint = `am:${alert.fingerprint}`;
        if (alert.status === 'resolved') {
          if (await alerts.resolve({ fingerprint }, 'alertmanager')) resolved++;
          continue;
        }
        const ruleId = alert.labels.alertname ?? 'Unknown';
        const rule = ruleById(ruleId);
        const severity = (
          SEVERITY_OF.has(alert.labels.severity ?? '') ? alert.labels.severity : (rule?.severity ?? 'warning')
        ) as Severity;
        const { created } = await alerts.fire({
          ruleId,
          severity,
          source: 'alertmanager',
          fingerprint,
          labels: alert.labels,
          summary: alert.annotations.summary ?? rule?.summary.en ?? ruleId,
          summaryZh: alert.annotations.summary_zh ?? rule?.summary.zh ?? null,
          description: alert.annotations.description ?? null,
          descriptionZh: alert.annotations.description_zh ?? null,
          value: alert.annotations.value ?? null,
          threshold: alert.annotations.threshold ?? null,
          runbook: alert.annotations.runbook ?? rule?.runbook ?? null,
          startedAt: new Date(alert.startsAt),
        });
        if (created) opened++;
      }
      // New alerts page L1 now, not at the next round.
      if (opened > 0 || resolved > 0) void runRound();
      return { received: request.body.alerts.length, opened, resolved };
    },
  );

  const AlertView = Type.Object({}, { additionalProperties: true });

  app.get(
    '/alerts',
    {
      schema: {
        tags: ['ops'],
        summary: 'Alerts, newest first (open ones only with status=open), a page at a time (limit, cursor → nextCursor)',
        description:
          'idPrefix: the alerts whose id starts with it, whatever their status (a short id as `smartalk alerts list` prints it; at most 10).',
        security: OPS_SECURITY,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('all')])),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            idPrefix: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F-]{4,36}$', description: 'four or more hex digits' })),
            cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the page before' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            alerts: Type.Array(AlertView),
            nextCursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
          }),
          400: ErrorResponse,
          401: ErrorResponse,
        },
      },
    },
    async (request) => {
      if (request.query.idPrefix !== undefined) return { alerts: await alerts.byIdPrefix(request.query.idPrefix) };
      return alerts.page({
        open: request.query.status !== 'all',
        limit: request.query.limit ?? 50,
        ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
      });
    },
  );

  app.get(
    '/alerts/:id',
    {
      schema: {
        tags: ['ops'],
        summary: 'One alert with every notification sent for it',
        security: OPS_SECURITY,
        params: Type.Object({ id: Uuid }),
        response: { 200: Type.Object({}, { additionalProperties: true }), 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => alerts.show(request.params.id),
  );

  const By = Type.Object({ by: Line(80) }, { additionalProperties: false });

  app.post(
    '/alerts/:id/ack',
    {
      schema: {
        tags: ['ops'],
        summary: 'Acknowledge: escalation stops; a reminder follows if it is not resolved in time',
        security: OPS_SECURITY,
        params: Type.Object({ id: Uuid }),
        body: By,
        response: { 200: AlertView, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => alerts.acknowledge(request.params.id, request.body.by),
  );

  app.post(
    '/alerts/:id/resolve',
    {
      schema: {
        tags: ['ops'],
        summary: 'Resolve by hand; everyone notified is told',
        security: OPS_SECURITY,
        params: Type.Object({ id: Uuid }),
        body: By,
        response: { 200: AlertView, 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const resolved = await alerts.resolve({ id: request.params.id }, request.body.by);
      if (!resolved) throw new AppError('SMT_ERR_ALERT_NOT_FOUND', 'No open alert with that id');
      void runRound();
      return resolved;
    },
  );

  app.get(
    '/silences',
    {
      schema: {
        tags: ['ops'],
        summary: 'Silences and maintenance windows: in force (state=active, the default), still to start (scheduled), or all',
        description: 'all: in force, scheduled, and those that ended in the last 7 days.',
        security: OPS_SECURITY,
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('scheduled'), Type.Literal('all')])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ silences: Type.Array(AlertView) }), 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) => ({ silences: await alerts.silences(request.query.state ?? 'active') }),
  );

  app.post(
    '/silences',
    {
      schema: {
        tags: ['ops'],
        summary: 'Silence alerts for a time box, with a reason (or plan a maintenance window)',
        description:
          'ruleId absent: every rule. matchers: labels an alert must carry. Notifications wait; alerts are still recorded.',
        security: OPS_SECURITY,
        body: Type.Object(
          {
            kind: Type.Optional(Type.Union([Type.Literal('silence'), Type.Literal('maintenance')])),
            ruleId: Type.Optional(Line(64)),
            matchers: Type.Optional(LabelMap),
            reason: Text(500, { minLength: 3 }),
            by: Line(80),
            startsAt: Type.Optional(DateTime()),
            minutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ id: Uuid }), 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request, reply) => {
      const startsAt = request.body.startsAt ? new Date(request.body.startsAt) : alerts.now();
      const created = await alerts.silence({
        kind: request.body.kind ?? 'silence',
        ruleId: request.body.ruleId ?? null,
        matchers: request.body.matchers,
        reason: request.body.reason,
        by: request.body.by,
        startsAt,
        endsAt: new Date(startsAt.getTime() + request.body.minutes * 60_000),
      });
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/silences/:id',
    {
      schema: {
        tags: ['ops'],
        summary: 'End a silence now (one still to start is cancelled)',
        security: OPS_SECURITY,
        params: Type.Object({ id: Uuid }),
        response: { 204: Type.Null(), 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      if (!(await alerts.expireSilence(request.params.id)))
        throw new AppError('SMT_ERR_SILENCE_NOT_FOUND', 'No silence in force or scheduled with that id');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/alerts/test-channel',
    {
      schema: {
        tags: ['ops'],
        summary: 'Send a test message through one channel',
        security: OPS_SECURITY,
        body: Type.Object({ channel: Line(64) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ sent: Type.Integer(), failed: Type.Integer(), retrying: Type.Integer() }),
          404: ErrorResponse,
        },
      },
    },
    async (request) => {
      await alerts.testChannel(request.body.channel);
      return alerts.deliver();
    },
  );
};
