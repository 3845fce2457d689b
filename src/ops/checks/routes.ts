/**
 * The checklists over HTTP, under the ops scope: run a slot or checks now
 * (`smartalk ops check` calls this when a server runs), the latest scheduled run of each
 * slot, and the schedule with each job's last and next run (`smartalk ops schedule`).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { Lang } from '../../config.js';
import type { Db } from '../../db/database.js';
import { ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import { addOpsLogEntry } from '../opslog/opslog.js';
import type { Scheduler } from '../schedule/scheduler.js';
import { CHECK_SELECTORS } from './catalog.js';
import type { ChecksDeps } from './deps.js';
import { checklistLogEntry, latestCheckRuns } from './jobs.js';
import { runChecks } from './runner.js';

export interface CheckRoutesOptions {
  deps: ChecksDeps;
  scheduler: Scheduler;
  db: Db;
  lang: Lang;
}

const Status = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail'), Type.Literal('skip')]);

const CheckRunSchema = Type.Object({
  slot: Type.Union([Type.String(), Type.Null()]),
  selection: Type.Array(Type.String()),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.String({ format: 'date-time' }),
  worst: Status,
  results: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      status: Status,
      summary: Type.String(),
      evidence: Type.Array(Type.String()),
      action: Type.Union([Type.String(), Type.Null()]),
      durationMs: Type.Number(),
      data: Type.Optional(Type.Object({}, { additionalProperties: true })),
    }),
  ),
});

const JobRun = Type.Object({
  job: Type.String(),
  slot: Type.String(),
  instance: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  details: Type.Object({}, { additionalProperties: true }),
});

const LangSchema = Type.Union([Type.Literal('en'), Type.Literal('zh-CN')]);

export const checkRoutes: FastifyPluginAsyncTypebox<CheckRoutesOptions> = async (app, { deps, scheduler, db, lang }) => {
  app.post(
    '/checks/run',
    {
      schema: {
        tags: ['ops'],
        summary: 'Run checklist slots or single checks now',
        description: `Slots and check ids: ${CHECK_SELECTORS.join(', ')}.`,
        security: OPS_SECURITY,
        body: Type.Object(
          {
            checks: Type.Array(Type.Union(CHECK_SELECTORS.map((name) => Type.Literal(name))), { minItems: 1, maxItems: 40 }),
            lang: Type.Optional(LangSchema),
          },
          { additionalProperties: false },
        ),
        response: { 200: CheckRunSchema, 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) => {
      const run = await runChecks(deps, request.body.checks, { lang: request.body.lang ?? lang });
      await addOpsLogEntry(db.kysely, checklistLogEntry(run, 'ops-token', lang));
      return run;
    },
  );

  app.get(
    '/checks/latest',
    {
      schema: {
        tags: ['ops'],
        summary: 'The latest scheduled run of each checklist slot',
        security: OPS_SECURITY,
        response: {
          200: Type.Object({
            runs: Type.Array(
              Type.Object({ job: Type.String(), scheduledFor: Type.String(), run: Type.Union([CheckRunSchema, Type.Null()]) }),
            ),
          }),
          401: ErrorResponse,
        },
      },
    },
    async () => ({ runs: await latestCheckRuns(scheduler) }),
  );

  app.get(
    '/schedule',
    {
      schema: {
        tags: ['ops'],
        summary: 'Scheduled jobs: pattern, last run (by any instance) and next run',
        security: OPS_SECURITY,
        response: {
          200: Type.Object({
            tz: Type.String(),
            enabledHere: Type.Boolean(),
            jobs: Type.Array(
              Type.Object({
                id: Type.String(),
                cron: Type.String(),
                description: Type.Object({ en: Type.String(), zh: Type.String() }),
                tz: Type.String(),
                lastRun: Type.Union([Type.Omit(JobRun, ['details']), Type.Null()]),
                nextRun: Type.Union([Type.String(), Type.Null()]),
                late: Type.Boolean(),
              }),
            ),
          }),
          401: ErrorResponse,
        },
      },
    },
    async () => {
      const jobs = await scheduler.list();
      return { tz: deps.config.tz, enabledHere: scheduler.started, jobs };
    },
  );
};
