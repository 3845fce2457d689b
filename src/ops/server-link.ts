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

export class OpsRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'OpsRequestError';
  }
}

/**
 * Call an ops endpoint of a running server with the ops token. A refused token (401)
 * says where the token came from and what to do, instead of a bare status.
 */
export async function opsRequest<T>(
  baseUrl: string,
  route: string,
  token: OpsToken,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  const response = await fetch(new URL(route, baseUrl), {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token.token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON
    }
    if (response.status === 401) message = refusedTokenHint(token);
    throw new OpsRequestError(response.status, `${route}: ${response.status} ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/** GET an ops endpoint of a running server with the ops token. */
export const opsGet = <T>(baseUrl: string, route: string, token: OpsToken): Promise<T> => opsRequest<T>(baseUrl, route, token);
