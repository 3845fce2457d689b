/**
 * The ops console: the page at /ops and its assets (our own origin, strict CSP, no inline
 * script), sign-in and sign-out at /ops/session, and the panels' data at
 * /api/v1/ops/console (under the ops scope, which accepts the console's session cookie).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import { Cached } from '../../cached.js';
import { AppError, ErrorResponse } from '../../errors.js';
import { OPS_SECURITY } from '../../http/auth.js';
import {
  type ConsoleSessions,
  CSRF_HEADER,
  consoleAuthenticator,
  cookieOf,
  SESSION_COOKIE,
  SESSION_SECONDS,
  setSessionCookie,
} from './session.js';
import { buildConsoleSummary, type ConsoleDeps } from './summary.js';

/** The page runs our own script and styles only: nothing inline, nothing from elsewhere. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Built assets: dist/ops/console/assets (the compiled page script, uPlot, the page). */
function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'assets');
  if (existsSync(path.join(beside, 'console.js'))) return beside;
  // Running from src (tests, tsx): the build's copy.
  return path.resolve(here, '../../../dist/ops/console/assets');
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface ConsoleRoutesOptions {
  sessions: ConsoleSessions;
}

/** The page, its assets and the session (registered at the root). */
export const consolePageRoutes: FastifyPluginAsyncTypebox<ConsoleRoutesOptions> = async (app, options) => {
  const dir = assetsDir();
  const pageHeaders = (reply: { header(name: string, value: string): unknown }) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
  };

  app.get('/ops', { schema: { hide: true } }, async (_request, reply) => {
    pageHeaders(reply);
    return reply.type(TYPES['.html'] as string).send(await readFile(path.join(dir, 'index.html'), 'utf8'));
  });

  app.get<{ Params: { file: string } }>(
    '/ops/assets/:file',
    {
      schema: {
        hide: true,
        params: Type.Object({ file: Type.String({ pattern: '^[a-z0-9.-]+\\.(js|css|svg)$', maxLength: 64 }) }),
      },
    },
    async (request, reply) => {
      const file = path.join(dir, request.params.file);
      const text = await readFile(file).catch(() => undefined);
      if (!text) throw new AppError('SMT_ERR_NOT_FOUND');
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('cache-control', 'public, max-age=300');
      return reply.type(TYPES[path.extname(file)] as string).send(text);
    },
  );

  const Session = Type.Object({
    signedIn: Type.Boolean(),
    csrf: Type.Optional(Type.String()),
    expiresInSeconds: Type.Optional(Type.Integer()),
  });

  app.post(
    '/ops/session',
    {
      bodyLimit: 1024,
      schema: {
        tags: ['ops'],
        summary: 'Sign in to the ops console with the ops token (sets an HttpOnly session cookie)',
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: Session, 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      // The same check as the ops API's bearer token: guessing here is as pointless.
      await app.auth.verifyOps(request, request.body.token);
      const { id, session } = await options.sessions.create();
      setSessionCookie(request, reply, id);
      request.log.info('ops console: signed in');
      return { signedIn: true, csrf: session.csrf, expiresInSeconds: SESSION_SECONDS };
    },
  );

  app.get(
    '/ops/session',
    {
      schema: {
        tags: ['ops'],
        summary: 'Whether this browser is signed in to the console (and its CSRF token)',
        response: { 200: Session },
      },
    },
    async (request) => {
      const session = await options.sessions.find(cookieOf(request, SESSION_COOKIE));
      return session ? { signedIn: true, csrf: session.csrf } : { signedIn: false };
    },
  );

  app.delete(
    '/ops/session',
    {
      schema: {
        tags: ['ops'],
        summary: 'Sign out of the console: the session ends on the server, the cookie is cleared',
        response: { 200: Session, 403: ErrorResponse },
      },
    },
    async (request, reply) => {
      const id = cookieOf(request, SESSION_COOKIE);
      const verdict = await consoleAuthenticator(options.sessions)(request);
      if (verdict === 'csrf') throw new AppError('SMT_ERR_AUTH_FORBIDDEN', `Sign-out needs the ${CSRF_HEADER} header`);
      await options.sessions.remove(id);
      setSessionCookie(request, reply, '', 0);
      return { signedIn: false };
    },
  );
};

/** How long one build of the console's answer serves every open console (they refresh every 5 s). */
const SHARED_MS = 5_000;

/** GET /api/v1/ops/console (registered under the ops scope). */
export const consoleDataRoutes: FastifyPluginAsyncTypebox<{ deps: ConsoleDeps }> = async (app, { deps }) => {
  const shared = new Cached(() => buildConsoleSummary(deps), { maxAgeMs: SHARED_MS, stale: 'never' });
  app.get(
    '/console',
    {
      schema: {
        tags: ['ops'],
        summary:
          'What the ops console shows: health, API latency and errors over the last hours, real-time users, activation by hour, funnel, retention, learning, feedback, alerts, checklist runs, ops log, reports',
        description: 'Shared by every console for 5 s; `fresh=true` (after an action on the page) builds it anew.',
        security: OPS_SECURITY,
        querystring: Type.Object({ fresh: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: Type.Object({}, { additionalProperties: true }), 400: ErrorResponse, 401: ErrorResponse },
      },
    },
    async (request) => {
      if (request.query.fresh) shared.invalidate();
      return shared.get();
    },
  );
};
