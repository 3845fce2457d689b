/**
 * How CLI commands and the runbook's `node -e` facades find a running server: it
 * writes $DATA_DIR/server.json (pid and URL) once listening and removes it on
 * shutdown. A command reads through the running server when there is one — the
 * only safe way with embedded PGlite, which one process may open at a time — and
 * opens the database itself when there is none.
 */
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from '../process.js';
import { type OpsToken, refusedTokenHint } from './ops-token.js';

export interface ServerInfo {
  pid: number;
  url: string;
  startedAt: string;
}

const infoFile = (dataDir: string) => path.join(dataDir, 'server.json');

export async function writeServerInfo(dataDir: string, info: ServerInfo): Promise<void> {
  await writeFile(infoFile(dataDir), `${JSON.stringify(info)}\n`);
}

export async function removeServerInfo(dataDir: string, pid = process.pid): Promise<void> {
  if (readLiveServer(dataDir)?.pid === pid) await rm(infoFile(dataDir), { force: true });
}

/** The server running on this data directory, if its process is alive. */
export function readLiveServer(dataDir: string): ServerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(infoFile(dataDir), 'utf8')) as ServerInfo;
    return Number.isInteger(info.pid) && typeof info.url === 'string' && isAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** A call of an ops endpoint of a running server, with the ops token. */
export type OpsCall = <R>(route: string, init?: { method?: string; body?: unknown; timeoutMs?: number }) => Promise<R>;

/** The server answered with an error: `message` is its own words (a 4xx is the caller's to fix). */
export class OpsRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'OpsRequestError';
  }
}

/** No answer at all: nothing listens there, the name does not resolve, or it did not answer in time. */
export class ServerUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach SmarTalk at ${url} (${reason}) — is it running? Start it with npm start, or pass --url`);
    this.name = 'ServerUnreachableError';
  }
}

const UNREACHABLE_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_SOCKET: 'connection closed',
};

/** Why fetch got no answer, in words (undici hides the system error in `cause`). */
function unreachableReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer in ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (code) return UNREACHABLE_REASONS[code] ?? code;
  // fetch will not connect to the ports browsers block (1, 7, 25, 6000, …): say so.
  if (cause?.message === 'bad port') return 'a port fetch refuses to connect to';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Call an ops endpoint of a running server with the ops token. No answer is a
 * ServerUnreachableError naming the address; an error answer is an OpsRequestError
 * carrying the server's own message (a refused token says where the token came from
 * and what to do), not a URL and a bare status.
 */
export async function opsRequest<T>(
  baseUrl: string,
  route: string,
  token: OpsToken,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  const timeoutMs = init.timeoutMs ?? 30_000;
  let response: Response;
  try {
    response = await fetch(new URL(route, baseUrl), {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token.token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new ServerUnreachableError(new URL(baseUrl).origin, unreachableReason(error, timeoutMs));
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON
    }
    if (response.status === 401) message = refusedTokenHint(token);
    // A server fault names where it happened; a refusal is the server's own words.
    if (response.status >= 500) message = `the server failed on ${route} (${response.status}): ${message}`;
    throw new OpsRequestError(response.status, message);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/** GET an ops endpoint of a running server with the ops token. */
export const opsGet = <T>(baseUrl: string, route: string, token: OpsToken): Promise<T> => opsRequest<T>(baseUrl, route, token);
