/**
 * Fastify app assembly: plugins in order, each feature's routes as its own plugin.
 * No listening, no process signals here (see cli/commands/serve.ts), so tests build the
 * very same app and drive it over HTTP.
 */
import os from 'node:os';
import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { EventWriter } from '../analytics/event-writer.js';
import { activationCounter, JourneyOutbox } from '../analytics/journey-sink.js';
import { Presence } from '../analytics/presence.js';
import { buildMetricsReport, type MetricsReport } from '../analytics/report.js';
import { analyticsOpsRoutes, analyticsRoutes } from '../analytics/routes.js';
import { Cached } from '../cached.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { ReadRouting } from '../db/replica.js';
import { AppError } from '../errors.js';
import { FeedbackService } from '../feedback/feedback.js';
import { buildFeedbackReport, type FeedbackReport } from '../feedback/report.js';
import { feedbackOpsRoutes, feedbackRoutes } from '../feedback/routes.js';
import { sentimentAnalyzer } from '../feedback/sentiment.js';
import { authPlugin } from '../http/auth.js';
import {
  applyCommonHeaders,
  clientErrorHandler,
  frameworkErrorHandler,
  registerErrorHandling,
  requestIdOf,
} from '../http/error-handler.js';
import { useJsonBodyParser } from '../http/json-body.js';
import { COMPRESS_FROM_BYTES } from '../http/json-view.js';
import { lazyChildLogger } from '../http/lazy-logger.js';
import { metricsPlugin } from '../http/metrics.js';
import { PreparedAnswers, serverWithPreparedAnswers } from '../http/prepared-answers.js';
import { sharedRateLimitStore } from '../http/rate-limit-store.js';
import { telemetryPlugin } from '../http/telemetry.js';
import { answerKeyRoutes } from '../learning/answer-key.js';
import { CatalogCache } from '../learning/content.js';
import { learningRoutes } from '../learning/routes.js';
import { findUserByToken } from '../learning/users.js';
import { videoRoutes } from '../learning/video-routes.js';
import { BuiltinEvaluator } from '../ops/alerts/evaluator.js';
import { alertRoutes } from '../ops/alerts/routes.js';
import type { AlertService } from '../ops/alerts/service.js';
import { type BackupJobDeps, backupJobs } from '../ops/backups/jobs.js';
import { backupRoutes } from '../ops/backups/routes.js';
import { backupStatus } from '../ops/backups/status.js';
import { assembleChecksDeps, type ChecksDeps } from '../ops/checks/deps.js';
import { checklistJobs, latestCheckRuns, scheduledRunLogEntry } from '../ops/checks/jobs.js';
import { checkRoutes } from '../ops/checks/routes.js';
import { HttpHistory } from '../ops/console/history.js';
import { consoleDataRoutes, consolePageRoutes } from '../ops/console/routes.js';
import { ConsoleSessions, consoleAuthenticator } from '../ops/console/session.js';
import type { ConsoleDeps } from '../ops/console/summary.js';
import { dbInsightRoutes } from '../ops/db-insights/routes.js';
import { diagnoseAlerts } from '../ops/diagnose/on-alert.js';
import { HealthService, healthThresholds } from '../ops/health/health.js';
import { healthRoutes } from '../ops/health/routes.js';
import { addOpsLogEntry, instanceActor, listOpsLog } from '../ops/opslog/opslog.js';
import { opsLogRoutes } from '../ops/opslog/routes.js';
import { listReports } from '../ops/reports/report-files.js';
import { reportRoutes } from '../ops/reports/routes.js';
import { eventPartitionsJob } from '../ops/schedule/event-partitions-job.js';
import { Scheduler } from '../ops/schedule/scheduler.js';
import type { Store } from '../store/open-store.js';
import { createAjv } from '../validation.js';
import { VERSION } from '../version.js';

export interface AppDeps {
  config: Config;
  db: Db;
  /** Where reports read: a replica when one is configured and fit, else `db` (db/replica.ts). */
  reads: ReadRouting;
  store: Store;
  logger: Logger;
  opsToken: string;
  alerts: AlertService;
}

export interface App {
  app: FastifyInstance;
  /** The checklists' schedule; serve.ts starts it once listening (CHECK_SCHEDULE). */
  scheduler: Scheduler;
  /** What the checklists look at (the ops console and tests run checks with it). */
  checks: ChecksDeps;
  health: HealthService;
  catalog: CatalogCache;
  presence: Presence;
  feedback: FeedbackService;
  reports: { metrics: Cached<MetricsReport>; feedback: Cached<FeedbackReport> };
  /** The learning actions' events on their way to the event store. */
  journeyOutbox: JourneyOutbox;
  /** Public views answered before routing (http/prepared-answers.ts). */
  prepared: PreparedAnswers;
  /** Begin draining (readiness fails, connections close after their response); app.close() ends it. */
  drain(): void;
}

/** The default reports behind gauges and alert rounds: at most 30 s old, never waited for once loaded. */
const REPORT_CACHE = { maxAgeMs: 30_000, stale: 'while-refreshing' } as const;

/** Largest JSON body the learning API accepts; features with bigger payloads set their own. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * Two Ajv instances: bodies are checked strictly (a string is not a number), while
 * params and query strings, which arrive as text, are coerced.
 */
function validatorCompiler() {
  const options = { allErrors: false, useDefaults: true, removeAdditional: false, strict: false } as const;
  const bodyAjv = createAjv({ ...options, coerceTypes: false });
  const textAjv = createAjv({ ...options, coerceTypes: 'array' });
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config, db, store, logger } = deps;
  // See the draining and closing steps below: while either lasts, Fastify answers everything.
  let draining = false;
  let closing = false;
  // Public catalog views, answered before routing once their route has published them.
  const prepared = new PreparedAnswers(() => !draining && !closing);
  const app = Fastify({
    serverFactory: serverWithPreparedAnswers(prepared),
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request comes from http/telemetry.ts instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    childLoggerFactory: lazyChildLogger,
    bodyLimit: DEFAULT_BODY_LIMIT,
    // A client's x-request-id is kept only when short and of a safe alphabet.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // A draining server answers in our shape (the hook below), not Fastify's raw 503.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // Slow clients are cut off (408): headers within 10 s, the whole request within
    // REQUEST_TIMEOUT_SECONDS; Node checks every 2 s instead of every 30.
    requestTimeout: config.requestTimeoutSeconds * 1000,
    http: {
      headersTimeout: Math.min(10, config.requestTimeoutSeconds) * 1000,
      connectionsCheckingInterval: 2_000,
    },
    // The balancers that forward the client address (TRUST_PROXY; default an nginx on this
    // host, deploy/nginx/smartalk.conf): rate limits and logs key on that address.
    trustProxy: config.trustProxy,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler());

  useJsonBodyParser(app);
  // Only JSON bodies: anything else is a 415, not a string handed to a schema.
  app.removeContentTypeParser('text/plain');

  // Shutting down has two steps. Draining (DRAIN_SECONDS, begun by drain()): everything is
  // answered, readiness fails and each connection closes after its response, so a balancer
  // stops reusing its connections here and opens new ones elsewhere. Closing (app.close()):
  // the listener is closed (a balancer's new connection is refused and goes to the next
  // instance, whatever its method), and a request still arriving on a kept-alive
  // connection is told so and sent elsewhere; health keeps answering so probes see it.
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!draining && !closing) return done();
    reply.header('connection', 'close');
    if (closing && !request.url.startsWith('/api/v1/health')) return done(new AppError('SMT_ERR_SHUTTING_DOWN'));
    done();
  });

  const overrides = deps.alerts.config.thresholds;
  const health = new HealthService({
    db,
    store,
    dataDir: config.dataDir,
    version: VERSION,
    thresholds: healthThresholds(overrides),
    replica: () => deps.reads.status(),
  });
  app.addHook('onClose', async () => health.close());
  const catalog = new CatalogCache(db, config.contentDir);
  // Loaded now, not on the first request: public content survives a database outage
  // from the first minute.
  await catalog.get();
  catalog.watch();
  app.addHook('onClose', async () => catalog.stop());

  await app.register(metricsPlugin);
  await app.register(telemetryPlugin, { accessLogPublic: config.accessLogPublic });
  registerErrorHandling(app);
  // A request without a body has nothing to decompress: GET and HEAD routes go without
  // the plugin's preParsing hook, and routes that send precompressed bytes (catalog
  // views) set `compress: false` themselves — each hook is a cost on every request.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (route.decompress === undefined && methods.every((method) => method === 'GET' || method === 'HEAD')) {
      route.decompress = false;
    }
  });
  await app.register(compress, { threshold: COMPRESS_FROM_BYTES, encodings: ['br', 'gzip', 'deflate'] });
  // Limits are per route (config.rateLimit), counted in the shared store (Redis when
  // configured: one budget across instances). Callers holding the ops token (the
  // simulator, back-office tools) are not limited: every limited route authenticates
  // in onRequest before the limit is counted, which sets isOps (a constant-time check).
  await app.register(rateLimit, {
    global: false,
    allowList: (request) => request.isOps,
    store: sharedRateLimitStore(store),
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'SmarTalk API',
        version: VERSION,
        description: 'Learning API for the SmarTalk app and the operations endpoints of its runbook.',
      },
      components: {
        securitySchemes: {
          learnerToken: { type: 'http', scheme: 'bearer', description: 'Token from POST /api/v1/users' },
          opsToken: { type: 'http', scheme: 'bearer', description: 'OPS_TOKEN' },
        },
      },
    },
  });
  // HTML pages get helmet's full set (CSP included); JSON and video get the few
  // headers that matter for them, set at once (helmet on every API call measured
  // as a third of a cheap request's cost, bench/http.ts).
  await app.register(async (pages) => {
    await pages.register(helmet, { global: true });
    await pages.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    applyCommonHeaders(request, reply);
    // Per-user and ops data must never be cached by a proxy; public catalog routes
    // set their own Cache-Control.
    if (request.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  const presence = new Presence(store);
  const lastSeen = new Map<string, number>();
  // The ops console's sessions: the ops API accepts them (with a CSRF token on actions).
  const consoleSessions = new ConsoleSessions(store);
  await app.register(authPlugin, {
    consoleSession: consoleAuthenticator(consoleSessions),
    findLearner: (token) => findUserByToken(db, token),
    store,
    opsToken: deps.opsToken,
    failuresPerMinute: config.rateLimits.authFailuresPerMinute,
    onLearnerSeen: (userId) => {
      // Real-time users count authenticated requests too; one store write per learner
      // per 30 s is enough for a 5-minute window, and a failure never fails the request.
      const now = Date.now();
      if (now - (lastSeen.get(userId) ?? 0) < 30_000) return;
      if (lastSeen.size > 100_000) lastSeen.clear();
      lastSeen.set(userId, now);
      presence.touch([[userId, now]]).catch(() => {});
    },
  });

  await app.register(videoRoutes, {
    contentDir: config.contentDir,
    media: async (publicName) => (await catalog.get()).media.get(publicName),
  });

  // Absolute, so a phone can play it as it is: the edge (MEDIA_BASE_URL) when there is one,
  // else this server's public origin (PUBLIC_URL; by default http://HOST:PORT, with the port
  // the system picked when PORT is 0). Views are made after listening, so the port is known.
  const mediaBase = (): string => {
    if (config.cdnBaseUrl) return config.cdnBaseUrl;
    const address = app.server.address();
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    if (config.publicUrl !== `http://${host}:${config.port}` || !address || typeof address === 'string') return config.publicUrl;
    return `http://${host}:${address.port}`;
  };
  const mediaUrl = (path: string) => `${mediaBase()}/videos/${path}`;
  const feedback = new FeedbackService(db, sentimentAnalyzer());
  // The learning actions' events: written with each action, folded into the store moments later.
  const activations = activationCounter(app.metrics.registry);
  const journeyOutbox = new JourneyOutbox({ db, tz: config.tz, activations, logger });
  journeyOutbox.start();
  app.addHook('onClose', () => journeyOutbox.stop());
  // Reports read the replica when there is a fit one; the outbox they fold first writes the primary.
  const reportDeps = { db: deps.reads.db, presence, tz: config.tz, journeyOutbox };
  const reports = {
    metrics: new Cached(() => buildMetricsReport(reportDeps), REPORT_CACHE),
    feedback: new Cached(() => buildFeedbackReport({ db: deps.reads.db, tz: config.tz }), REPORT_CACHE),
    // The console's activation by hour: the last two days in hourly cohorts.
    hourly: new Cached(
      () => buildMetricsReport(reportDeps, { since: new Date(Date.now() - 48 * 3_600_000), granularity: 'hour' }),
      // Hours change slowly and only the console reads it: five minutes old is fresh enough.
      { maxAgeMs: 300_000, stale: 'while-refreshing' },
    ),
  };
  // One writer per process, shared by every route that records events, so their
  // batches can share statements.
  const eventWriter = new EventWriter({ db, tz: config.tz });
  const evaluator = new BuiltinEvaluator({
    db,
    alerts: deps.alerts,
    inputs: {
      health,
      http: app.metrics.http,
      metricsReport: reports.metrics,
      feedbackReport: reports.feedback,
      backups: () => backupStatus(db),
    },
    logger,
    thresholds: deps.alerts.config.thresholds,
  });

  // The runbook's checklists and the backups: what they look at, and the schedule that runs them.
  const instance = `${os.hostname()}:${process.pid}`;
  const backupDeps: BackupJobDeps = { db, config };
  // A critical alert this instance opens runs its diagnosis; the findings go with the page.
  deps.alerts.diagnoseWith(diagnoseAlerts(config, db));
  const checksDeps = assembleChecksDeps({
    db,
    reportDb: deps.reads.db,
    store,
    health,
    http: app.metrics.http,
    presence,
    config,
    alerts: deps.alerts,
    schedule: () => scheduler.list(),
    journeyOutbox,
  });
  const scheduler: Scheduler = new Scheduler({
    db,
    // Backups first: at 09:00 on a Monday the drill's result is there for the checklists.
    jobs: [
      ...backupJobs(backupDeps),
      eventPartitionsJob({ db, retentionDays: config.eventsRetentionDays }),
      ...checklistJobs(checksDeps, { lang: config.lang, alerts: deps.alerts }),
    ],
    tz: config.tz,
    instance,
    logger,
    onRun: async (job, record) => {
      await addOpsLogEntry(db.kysely, scheduledRunLogEntry(job.id, record, instanceActor(instance), config.lang));
    },
  });
  app.addHook('onClose', async () => {
    await scheduler.stop();
  });

  // The ops console: its page at /ops, its data from the cached reports.
  const history = new HttpHistory(app.metrics.http);
  history.start();
  app.addHook('onClose', async () => history.stop());
  const consoleDeps: ConsoleDeps = {
    health,
    history,
    presence,
    reports,
    tz: config.tz,
    thresholds: deps.alerts.config.thresholds,
    lists: {
      alerts: () => deps.alerts.list({ open: false, limit: 15 }),
      checks: () => latestCheckRuns(scheduler),
      opslog: () => listOpsLog(db, { limit: 10 }),
      reports: () => listReports(config.dataDir),
    },
  };
  await app.register(consolePageRoutes, { sessions: consoleSessions });

  // The API: each feature a plugin under /api/v1; everything for the ops team under
  // /api/v1/ops, whose one onRequest hook checks the ops token before any body is read.
  await app.register(
    async (api) => {
      await api.register(healthRoutes, {
        health,
        db,
        isClosing: () => draining || closing,
        cdnAccessLog: config.cdnAccessLog,
        prepared,
      });
      await api.register(learningRoutes, {
        db,
        catalog,
        mediaUrl,
        usersPerMinute: config.rateLimits.usersPerMinute,
        events: journeyOutbox,
        prepared,
      });
      await api.register(analyticsRoutes, {
        presence,
        eventWriter,
        batchesPerMinute: config.rateLimits.eventBatchesPerMinute,
        reports: reports.metrics,
        activations,
      });
      await api.register(feedbackRoutes, { feedback, reports: reports.feedback, eventWriter });
      await api.register(
        async (ops) => {
          ops.addHook('onRequest', ops.auth.ops);
          await ops.register(analyticsOpsRoutes, { report: reportDeps });
          await ops.register(answerKeyRoutes, { catalog });
          await ops.register(feedbackOpsRoutes, { db: deps.reads.db, tz: config.tz });
          await ops.register(alertRoutes, { alerts: deps.alerts, intervalSeconds: config.alertIntervalSeconds, evaluator });
          await ops.register(checkRoutes, { deps: checksDeps, scheduler, db, lang: config.lang });
          await ops.register(opsLogRoutes, { db });
          await ops.register(backupRoutes, { deps: backupDeps, instance });
          await ops.register(dbInsightRoutes, { db, lang: config.lang });
          await ops.register(consoleDataRoutes, { deps: consoleDeps });
          await ops.register(reportRoutes, {
            dataDir: config.dataDir,
            lang: config.lang,
            produce: checksDeps.produceReport as NonNullable<ChecksDeps['produceReport']>,
          });
        },
        { prefix: '/ops' },
      );
    },
    { prefix: '/api/v1' },
  );

  return {
    app: app as unknown as FastifyInstance,
    scheduler,
    checks: checksDeps,
    health,
    catalog,
    presence,
    feedback,
    reports,
    journeyOutbox,
    prepared,
    drain: () => {
      draining = true;
    },
  };
}
