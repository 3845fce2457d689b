/**
 * Reports over HTTP, under the ops scope: make one now (saved, and sent when asked),
 * list the saved ones, and read one. A saved HTML report is served with a policy that
 * lets it do nothing but show itself (no script, nothing fetched).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { Lang } from '../../config.js';
import { AppError, ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import { REPORT_KINDS, type ReportKind } from './ops-report.js';
import { CONTENT_TYPES, listReports, readSavedReport } from './report-files.js';
import type { ProducedReport, ProduceOptions } from './reports.js';

export interface ReportRoutesOptions {
  dataDir: string;
  lang: Lang;
  produce: (kind: ReportKind, options: ProduceOptions) => Promise<ProducedReport>;
}

const Saved = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  date: Type.String(),
  format: Type.String(),
  bytes: Type.Integer(),
  savedAt: Type.String({ format: 'date-time' }),
});

/** What a saved HTML report may do in a browser: show its own styles and inline SVG, nothing else. */
const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const reportRoutes: FastifyPluginAsyncTypebox<ReportRoutesOptions> = async (app, { dataDir, lang, produce }) => {
  app.post(
    '/reports',
    {
      schema: {
        tags: ['ops'],
        summary: 'Make a report now: daily, weekly or the product weekly',
        description:
          'Saved under DATA_DIR/reports as HTML, Markdown and JSON; `send: true` also sends it through the alert channels.',
        security: OPS_SECURITY,
        body: Type.Object(
          {
            kind: Type.Union(REPORT_KINDS.map((kind) => Type.Literal(kind))),
            date: Type.Optional(
              Type.String({
                pattern: '^\\d{4}-\\d{2}-\\d{2}$',
                description: 'the last day the report covers (SMARTALK_TZ); default today',
              }),
            ),
            lang: Type.Optional(Type.Union([Type.Literal('en'), Type.Literal('zh-CN')])),
            send: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            report: Type.Object({}, { additionalProperties: true }),
            files: Type.Array(Saved),
            sent: Type.Array(Type.Object({ channel: Type.String(), ok: Type.Boolean(), error: Type.Optional(Type.String()) })),
          }),
          400: ErrorResponse,
          401: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { kind, date, send } = request.body;
      try {
        return await produce(kind, { lang: request.body.lang ?? lang, ...(date ? { date } : {}), send: send ?? false });
      } catch (error) {
        // A day that does not exist or has not begun is the caller's mistake.
        if (error instanceof RangeError) throw new AppError('SMT_ERR_VALIDATION', error.message);
        throw error;
      }
    },
  );

  app.get(
    '/reports',
    {
      schema: {
        tags: ['ops'],
        summary: 'Saved reports, newest day first',
        security: OPS_SECURITY,
        response: { 200: Type.Object({ reports: Type.Array(Saved) }), 401: ErrorResponse },
      },
    },
    async () => ({ reports: await listReports(dataDir) }),
  );

  app.get(
    '/reports/:name',
    {
      schema: {
        tags: ['ops'],
        summary: 'A saved report (HTML, Markdown or JSON)',
        security: OPS_SECURITY,
        params: Type.Object({ name: Type.String({ maxLength: 64, pattern: '^[a-z]+-\\d{4}-\\d{2}-\\d{2}\\.(html|md|json)$' }) }),
        response: { 200: Type.String(), 401: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const saved = await readSavedReport(dataDir, request.params.name);
      if (!saved) throw new AppError('SMT_ERR_NOT_FOUND', 'No such report');
      if (saved.format === 'html') reply.header('content-security-policy', REPORT_CSP);
      return reply.type(CONTENT_TYPES[saved.format]).send(saved.text);
    },
  );
};
