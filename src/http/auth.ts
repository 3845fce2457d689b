/**
 * Bearer-token authentication: learners (token from POST /api/v1/users) and the
 * ops team (OPS_TOKEN). Routes opt in with `onRequest: app.auth.learner`,
 * `app.auth.optionalLearner`, `app.auth.ops` or `app.auth.learnerOrOps`: the token is
 * checked when the request arrives, before its body is read, so an anonymous caller
 * cannot make the server parse and validate 4 MiB for nothing. A learner route that
 * names a user in its path also calls `assertSelf`.
 *
 * Learner tokens are looked up on every request (`findLearner`: one primary-key read in
 * the database): a revoked token stops working at once, on every instance. A wrong ops token
 * counts against the caller's address; past the limit, even the right one is refused
 * with 429 for the rest of the minute, so guessing it is pointless.
 */
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { sameSecret } from '../secrets.js';
import type { KeyValueStore } from '../store/store.js';
import { normalizeUuid } from '../validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated learner's id, when the route authenticated one. */
    learnerId: string | undefined;
    /** True when the request carried the ops token. */
    isOps: boolean;
  }
  interface FastifyInstance {
    auth: {
      learner: onRequestHookHandler;
      optionalLearner: onRequestHookHandler;
      ops: onRequestHookHandler;
      /** Either token, or none: for endpoints both clients and operators post to. */
      learnerOrOps: onRequestHookHandler;
      /**
       * Check an ops token given some other way than the Authorization header (the
       * console's sign-in form): the same constant-time check and the same per-address
       * failure count; throws 401 (or 429 when the address is blocked).
       */
      verifyOps(request: FastifyRequest, token: string): Promise<void>;
    };
  }
}

export interface AuthOptions {
  /** The learner a token belongs to (learning/users.ts reads it from the database every time). */
  findLearner: (token: string) => Promise<string | undefined>;
  store: KeyValueStore;
  opsToken: string;
  /** Failed token checks an address may make per minute before ops authentication is refused. */
  failuresPerMinute: number;
  /** Called for every authenticated learner request (real-time presence). */
  onLearnerSeen?: (userId: string) => void;
  /**
   * The ops console's session, for a request without a bearer token: 'ok' for a live
   * session (with its CSRF token on a state-changing request), 'csrf' when that token is
   * missing or wrong, undefined without a session.
   */
  consoleSession?: (request: FastifyRequest) => Promise<'ok' | 'csrf' | undefined>;
}

/** OpenAPI security requirements of learner and ops routes (securitySchemes in server/app.ts). */
export const LEARNER_SECURITY = [{ learnerToken: [] }];
export const OPS_SECURITY = [{ opsToken: [] }];

/** Longest token we look at; anything longer is not one of ours. */
const MAX_TOKEN_LENGTH = 200;

/** The bearer token of a request (scheme in any case, spaces around it ignored), or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('SMT_ERR_AUTH_INVALID', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}

/**
 * A learner may only name themself in a path; ids compare in lower case (a uuid in
 * upper case is the same learner). Returns the normalized id.
 */
export function assertSelf(request: FastifyRequest, userId: string): string {
  const normalized = normalizeUuid(userId);
  if (request.learnerId !== normalized) {
    throw new AppError('SMT_ERR_AUTH_FORBIDDEN', 'A learner token can only access its own data');
  }
  return normalized;
}

export const authPlugin = fp<AuthOptions>(
  async (app: FastifyInstance, options) => {
    app.decorateRequest('learnerId', undefined);
    app.decorateRequest('isOps', false);

    const failureKey = (request: FastifyRequest) => `auth-failures:${request.ip}`;
    const recordFailure = async (request: FastifyRequest) => {
      await options.store.incr(failureKey(request), 1, 60).catch(() => 0);
    };
    const refuseIfBlocked = async (request: FastifyRequest) => {
      const failures = Number((await options.store.get(failureKey(request)).catch(() => undefined)) ?? 0);
      if (failures >= options.failuresPerMinute) {
        throw new AppError('SMT_ERR_RATE_LIMITED', 'Too many failed authentication attempts from this address; wait a minute');
      }
    };
    /** True for the ops token, checked in constant time, from an address not blocked by failures. */
    const acceptOps = async (request: FastifyRequest, token: string) => {
      if (!sameSecret(token, options.opsToken)) return false;
      await refuseIfBlocked(request);
      request.isOps = true;
      return true;
    };

    const verifyOps = async (request: FastifyRequest, token: string) => {
      if (await acceptOps(request, token)) return;
      await refuseIfBlocked(request);
      await recordFailure(request);
      throw new AppError('SMT_ERR_AUTH_INVALID', 'The ops token is not valid');
    };

    const authenticateLearner = async (request: FastifyRequest, token: string) => {
      const userId = token.length <= MAX_TOKEN_LENGTH ? await options.findLearner(token) : undefined;
      if (!userId) {
        await recordFailure(request);
        throw new AppError('SMT_ERR_AUTH_INVALID');
      }
      request.learnerId = userId;
      options.onLearnerSeen?.(userId);
    };

    /**
     * An onRequest hook from a check that is asynchronous only when it has work to do:
     * an anonymous request to a route where the token is optional (the public catalog)
     * passes without a promise.
     */
    const hook =
      (check: (request: FastifyRequest) => Promise<void> | undefined): onRequestHookHandler =>
      (request, _reply, done) => {
        let pending: Promise<void> | undefined;
        try {
          pending = check(request);
        } catch (error) {
          return done(error as Error);
        }
        if (pending === undefined) return done();
        pending.then(() => done(), done);
      };

    app.decorate('auth', {
      verifyOps,
      learner: hook((request) => {
        const token = bearerToken(request);
        if (!token) throw new AppError('SMT_ERR_AUTH_MISSING');
        return authenticateLearner(request, token);
      }),
      optionalLearner: hook((request) => {
        const token = bearerToken(request);
        return token ? authenticateLearner(request, token) : undefined;
      }),
      ops: hook((request) => {
        const token = bearerToken(request);
        if (!token && options.consoleSession) {
          return options.consoleSession(request).then((session) => {
            if (session === 'csrf')
              throw new AppError('SMT_ERR_AUTH_FORBIDDEN', 'The console session needs its CSRF token for this action');
            if (session !== 'ok')
              throw new AppError('SMT_ERR_AUTH_MISSING', 'The ops token is required (Authorization: Bearer $OPS_TOKEN)');
            request.isOps = true;
          });
        }
        if (!token) throw new AppError('SMT_ERR_AUTH_MISSING', 'The ops token is required (Authorization: Bearer $OPS_TOKEN)');
        return verifyOps(request, token);
      }),
      learnerOrOps: hook((request) => {
        const token = bearerToken(request);
        if (!token) return undefined;
        return (async () => {
          if (!(await acceptOps(request, token))) await authenticateLearner(request, token);
        })();
      }),
    });
  },
  { name: 'smartalk-auth' },
);
