/**
 * pg_dump and pg_restore, run as child processes: the client whose major version is at
 * least the server's (Debian installs each under /usr/lib/postgresql/N/bin), connected
 * through the environment so the password never shows in `ps`.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** libpq's environment for a connection string: host, port, user, password, database, SSL mode. */
export function libpqEnv(connectionString: string, database?: string): NodeJS.ProcessEnv {
  const url = new URL(connectionString);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: decodeURIComponent(url.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    PGPORT: url.port || '5432',
    PGDATABASE: database ?? decodeURIComponent(url.pathname.replace(/^\//, '') || 'postgres'),
    PGAPPNAME: 'smartalk-backup',
  };
  if (url.username) env.PGUSER = decodeURIComponent(url.username);
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  // A host parameter (a Unix socket directory) wins over the URL's host, as in libpq.
  const host = url.searchParams.get('host');
  if (host) env.PGHOST = host;
  return env;
}

export interface PgTool {
  path: string;
  /** `pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)` */
  version: string;
  major: number;
}

async function versionOf(file: string): Promise<PgTool | undefined> {
  try {
    const { stdout } = await execFileAsync(file, ['--version'], { timeout: 10_000 });
    const major = Number(/\(PostgreSQL\)\s+(\d+)/.exec(stdout)?.[1]);
    return Number.isFinite(major) ? { path: file, version: stdout.trim(), major } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `name` client (pg_dump, pg_restore) for a server of major version `serverMajor`:
 * the same major first, then the newest installed, then PATH's — and only one at least
 * as new as the server (an older pg_dump refuses a newer server).
 */
export async function findPgTool(name: 'pg_dump' | 'pg_restore', serverMajor: number): Promise<PgTool> {
  const candidates = [`/usr/lib/postgresql/${serverMajor}/bin/${name}`];
  for (let major = 20; major > serverMajor; major--) candidates.push(`/usr/lib/postgresql/${major}/bin/${name}`);
  candidates.push(name);
  const seen: string[] = [];
  for (const candidate of candidates) {
    if (candidate.startsWith('/') && !existsSync(candidate)) continue;
    const tool = await versionOf(candidate);
    if (!tool) continue;
    if (tool.major >= serverMajor) return tool;
    seen.push(tool.version);
  }
  throw new Error(
    seen.length > 0
      ? `${name} ${seen.join(', ')} is older than the server (PostgreSQL ${serverMajor}); install postgresql-client-${serverMajor}`
      : `${name} is not installed; install postgresql-client-${serverMajor}`,
  );
}

/**
 * Run a PostgreSQL client, calling `onLine` for each line of its stderr (their
 * --verbose progress); rejects with the last lines of stderr when it fails.
 */
export function runPgTool(
  tool: PgTool,
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine?: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, args, { env, stdio: ['ignore', 'ignore', 'pipe'], signal });
    const tail: string[] = [];
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        onLine?.(line);
        // --verbose is chatty; errors are what a failure must show.
        if (
          !/^\S+: (dumping|processing|creating|executing|reading|identifying|finding|saving|last built|setting|entering|launching|finished)/.test(
            line,
          )
        ) {
          tail.push(line);
          if (tail.length > 8) tail.shift();
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, killedBy) => {
      if (code === 0) return resolve();
      const why = tail.join('\n').trim() || (killedBy ? `killed by ${killedBy}` : `exit code ${code}`);
      reject(new Error(`${tool.path.split('/').pop()} failed: ${why}`));
    });
  });
}
