/**
 * Real binaries the tests use (promtool, ffmpeg, ffprobe, redis-server, initdb …).
 * Where one is missing locally the test is skipped with the reason printed;
 * .ci/run installs them all.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const cache = new Map<string, string | undefined>();

/** Absolute path of `name` on PATH (or in PostgreSQL's bin directory), or undefined. */
export function findBinary(name: string): string | undefined {
  if (cache.has(name)) return cache.get(name);
  let found: string | undefined;
  try {
    found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    found = undefined;
  }
  if (!found) {
    for (const dir of ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin']) {
      if (existsSync(`${dir}/${name}`)) {
        found = `${dir}/${name}`;
        break;
      }
    }
  }
  cache.set(name, found);
  return found;
}

/** The missing binaries among `names`, printing why the caller will skip. */
export function missingBinaries(reason: string, ...names: string[]): string[] {
  const missing = names.filter((name) => !findBinary(name));
  if (missing.length > 0) console.warn(`[skip] ${reason}: ${missing.join(', ')} not installed (CI installs it)`);
  return missing;
}
