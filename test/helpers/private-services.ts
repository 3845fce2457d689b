/**
 * Private PostgreSQL and Redis servers that a test may stop and start at will,
 * on free ports, without touching the shared ones the rest of the suite uses.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findBinary } from './binaries.js';

/** A short-lived connection to a PostgreSQL server, for looking into its database. */
export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const isRoot = () => process.getuid?.() === 0;

/** Run a PostgreSQL tool as the postgres user when we are root (PostgreSQL refuses to run as root). */
function pgTool(tool: string, args: string[]): string {
  const binary = findBinary(tool) as string;
  const [command, fullArgs] = isRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  return execFileSync(command, fullArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface PrivatePostgres {
  url: string;
  port: number;
  stop(): void;
  start(): void;
  destroy(): void;
}

/** A directory PostgreSQL may own (it refuses to run as root). */
function postgresDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** pg_ctl start/stop of a data directory on a port, as one PrivatePostgres. */
function controlled(dir: string, data: string, port: number): PrivatePostgres {
  const start = () =>
    pgTool('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
  const stop = () => pgTool('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    stop,
    destroy: () => {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = postgresDir('smartalk-pg-');
  const data = path.join(dir, 'data');
  pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  return controlled(dir, data, await freePort());
}

/** A streaming replica of a private primary (pg_basebackup -R: it follows the primary's WAL). */
export async function startPrivateReplica(primary: PrivatePostgres): Promise<PrivatePostgres> {
  const dir = postgresDir('smartalk-replica-');
  const data = path.join(dir, 'data');
  pgTool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream']);
  return controlled(dir, data, await freePort());
}

export interface PrivateRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      findBinary('redis-server') as string,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100; i++) {
      if (await canConnect(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('redis-server did not start');
  };
  const stop = async () => {
    if (!child) return;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}/0`, port, start, stop };
}

/**
 * A stand-in for a Redis too old for us (none can be installed here): it speaks enough
 * of the protocol for a client to connect — INFO reports `version`, PING answers — and
 * refuses every other command, as an old Redis refuses PEXPIRE NX.
 */
export async function startOldRedis(port: number, version: string): Promise<{ stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const reply = (command: string) => {
    if (command === 'INFO') {
      const info = `# Server\r\nredis_version:${version}\r\nloading:0\r\n`;
      return `$${Buffer.byteLength(info)}\r\n${info}\r\n`;
    }
    return command === 'PING' ? '+PONG\r\n' : `-ERR unknown command '${command}'\r\n`;
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      // Each command is an array of bulk strings: *<n>\r\n then <n> × $<len>\r\n<bytes>\r\n.
      for (;;) {
        const parts = pending.split('\r\n');
        const count = Number(parts[0]?.slice(1));
        if (!pending.startsWith('*') || parts.length < 2 + 2 * count) return;
        socket.write(reply((parts[2] ?? '').toUpperCase()));
        pending = parts.slice(1 + 2 * count).join('\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Poll `check` until it returns true or `timeoutMs` passes; resolves with the elapsed ms. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
