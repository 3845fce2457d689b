/**
 * The real nginx with our deploy/nginx files: their upstream, listen port and paths moved
 * into a temp dir, inside a minimal nginx.conf — the shipped configuration, rendered.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findBinary } from './binaries.js';
import { ROOT } from './cli.js';
import { waitFor } from './private-services.js';

/** The line of the shipped upstream that names the one instance of a single host. */
const SHIPPED_SERVER = 'server 127.0.0.1:3000 max_fails=1 fail_timeout=5s;';

export function renderNginxConfig(dir: string, upstreamPorts: number[], listenPort: number): string {
  const shipped = readFileSync(path.join(ROOT, 'deploy/nginx/smartalk-cache.conf'), 'utf8');
  if (!shipped.includes(SHIPPED_SERVER)) throw new Error(`deploy/nginx/smartalk-cache.conf no longer has "${SHIPPED_SERVER}"`);
  const cache = shipped
    .replace('/var/cache/nginx/smartalk', path.join(dir, 'cache'))
    .replace(
      SHIPPED_SERVER,
      upstreamPorts.map((port) => SHIPPED_SERVER.replace('127.0.0.1:3000', `127.0.0.1:${port}`)).join('\n    '),
    );
  const site = readFileSync(path.join(ROOT, 'deploy/nginx/smartalk.conf'), 'utf8')
    .replace('listen 80;', `listen 127.0.0.1:${listenPort};`)
    .replace('/var/log/nginx/smartalk.access.log', path.join(dir, 'access.log'));
  const file = path.join(dir, 'nginx.conf');
  writeFileSync(
    file,
    `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 512; }
http {
  default_type application/octet-stream;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  ${cache}
  ${site}
}`,
  );
  return file;
}

/** `nginx -t` on a rendered configuration. */
export function testNginxConfig(dir: string): { status: number | null; stderr: string } {
  const result = spawnSync(findBinary('nginx') as string, ['-t', '-c', path.join(dir, 'nginx.conf'), '-p', dir], {
    encoding: 'utf8',
  });
  return { status: result.status, stderr: result.stderr };
}

/** nginx in the foreground on a rendered configuration, once it answers through to an instance. */
export async function startNginx(dir: string, listenPort: number): Promise<{ url: string; pid: number; stop(): void }> {
  const child = spawn(findBinary('nginx') as string, ['-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${listenPort}`;
  await waitFor(
    async () => {
      try {
        return (await fetch(`${url}/api/v1/health/live`)).status === 200;
      } catch {
        return false;
      }
    },
    10_000,
    'nginx',
  );
  return { url, pid: child.pid as number, stop: () => child.kill('SIGTERM') };
}
