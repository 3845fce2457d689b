/** Run the real `smartalk` command (bin/smartalk.js → dist/) as a user would. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/smartalk.js`;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function smartalk(args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    input,
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like `smartalk()`, without blocking this process's event loop (sinks in the test must keep answering). */
export function smartalkAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export function spawnSmartalk(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * `smartalk serve` on a port the kernel picks (--port 0), resolved with the address the
 * server says it listens on. A port chosen beforehand (freePort) can be taken by another
 * test file's server in between, and a readiness probe would then ask the wrong server.
 */
export function spawnServer(
  env: Record<string, string>,
  args: string[] = ['--no-media'],
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnSmartalk(['serve', '--port', '0', ...args], env);
  return new Promise((resolve, reject) => {
    let pending = '';
    let output = '';
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as { msg?: string; address?: string };
          if (entry.msg === 'SmarTalk is listening' && entry.address) {
            child.stdout?.off('data', onData);
            child.stdout?.resume();
            resolve({ child, url: entry.address });
            return;
          }
        } catch {
          // not a log line
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.once('exit', (code) => reject(new Error(`smartalk serve exited (${code}) before listening:\n${output}`)));
  });
}
