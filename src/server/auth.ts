/**
 * Bearer-token authentication: learners (token from POST /api/v1/users) and the
 * ops team (OPS_TOKEN). Routes opt in with `preHandler: app.auth.learner`,
 * `app.auth.optionalLearner` or `app.auth.ops`; a learner route that names a user
 * in its path also calls `assertSelf`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { findUserByToken } from '../learning/users.js';
import type { KeyValueStore } from '../store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated learner's id, when the route authenticated one. */
    learnerId: string | undefined;
    /** True when the request carried the ops token (routes using `learnerOrOps`). */
    isOps: boolean;
  }
  interface FastifyInstance {
    auth: {
      learner: preHandlerAsyncHookHandler;
      optionalLearner: preHandlerAsyncHookHandler;
      ops: preHandlerAsyncHookHandler;
      /** Either token, or none: for endpoints both clients and operators post to. */
      learnerOrOps: preHandlerAsyncHookHandler;
    };
  }
}

export interface AuthOptions {
  db: Db;
  store: KeyValueStore;
  opsToken: string;
  /** Called for every authenticated learner request (real-time presence). */
  onLearnerSeen?: (userId: string) => void;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('SMT_ERR_AUTH_INVALID', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A learner may only name themself in a path. */
export function assertSelf(request: FastifyRequest, userId: string): void {
  if (request.learnerId !== userId) {
    throw new AppError('SMT_ERR_AUTH_FORBIDDEN', 'A learner token can only access its own data');
  }
}

export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, options) => {
    app.decorateRequest('learnerId', undefined);
    app.decorateRequest('isOps', false);

    const authenticate = async (request: FastifyRequest, required: boolean) => {
      const token = bearerToken(request);
      if (!token) {
        if (required) throw new AppError('SMT_ERR_AUTH_MISSING');
        return;
      }
      if (token.length > 200) throw new AppError('SMT_ERR_AUTH_INVALID');
      const userId = await findUserByToken(options.db, options.store, token);
      if (!userId) throw new AppError('SMT_ERR_AUTH_INVALID');
      request.learnerId = userId;
      options.onLearnerSeen?.(userId);
    };

    app.decorate('auth', {
      learner: async (request: FastifyRequest, _reply: FastifyReply) => authenticate(request, true),
      optionalLearner: async (request: FastifyRequest, _reply: FastifyReply) => authenticate(request, false),
      ops: async (request: FastifyRequest, _reply: FastifyReply) => {
        const token = bearerToken(request);
        if (!token) throw new AppError('SMT_ERR_AUTH_MISSING', 'The ops token is required (Authorization: Bearer $OPS_TOKEN)');
        if (!sameSecret(token, options.opsToken)) throw new AppError('SMT_ERR_AUTH_INVALID', 'The ops token is not valid');
        request.isOps = true;
      },
      learnerOrOps: async (request: FastifyRequest, _reply: FastifyReply) => {
        const token = bearerToken(request);
        if (token && sameSecret(token, options.opsToken)) request.isOps = true;
        else await authenticate(request, false);
      },
    });
  },
  { name: 'smartalk-auth' },
);
