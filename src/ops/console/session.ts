/**
 * Console sessions: signing in with the ops token gives the browser an opaque session id
 * in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS) that expires; the token
 * itself never reaches the page, the URL or localStorage. Sessions live in the store
 * (Redis when configured, so every instance knows them), keyed by a hash of the id, each
 * with a CSRF token the page must echo on every action.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from '../../secrets.js';
import type { KeyValueStore } from '../../store/store.js';

export const SESSION_COOKIE = 'smartalk_console';
export const CSRF_HEADER = 'x-smartalk-csrf';
/** A working day: an operator signs in again the next morning. */
export const SESSION_SECONDS = 8 * 3600;

const keyOf = (id: string) => `console-session:${createHash('sha256').update(id).digest('hex')}`;

export interface ConsoleSession {
  csrf: string;
  createdAt: string;
}

export class ConsoleSessions {
  constructor(private readonly store: KeyValueStore) {}

  async create(): Promise<{ id: string; session: ConsoleSession }> {
    const id = randomBytes(32).toString('base64url');
    const session = { csrf: randomBytes(24).toString('base64url'), createdAt: new Date().toISOString() };
    await this.store.set(keyOf(id), JSON.stringify(session), SESSION_SECONDS);
    return { id, session };
  }

  async find(id: string | undefined): Promise<ConsoleSession | undefined> {
    if (!id || id.length > 100) return undefined;
    const raw = await this.store.get(keyOf(id));
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as ConsoleSession;
    } catch {
      return undefined;
    }
  }

  async remove(id: string | undefined): Promise<void> {
    if (id) await this.store.del(keyOf(id));
  }
}

/** The value of one cookie of a request, or undefined. */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, id: string, maxAge = SESSION_SECONDS): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The console's way into the ops API: a live session cookie, and for anything that
 * changes state the session's CSRF token in a header (a cross-site page can send the
 * cookie — SameSite aside — but cannot read the token to send it).
 */
export function consoleAuthenticator(sessions: ConsoleSessions) {
  return async (request: FastifyRequest): Promise<'ok' | 'csrf' | undefined> => {
    const session = await sessions.find(cookieOf(request, SESSION_COOKIE));
    if (!session) return undefined;
    if (UNSAFE.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrf)) return 'csrf';
    }
    return 'ok';
  };
}
