/**
 * Real binaries the tests use (promtool, ffmpeg, ffprobe, redis-server, initdb …).
 * Where one is missing locally the test is skipped — the runner's skip, with the
 * reason, never an early return that would count as a pass; .ci/run installs them all
 * and fails on any skipped test (SMARTALK_TEST_NO_SKIPS, test/setup/no-skips-reporter.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'vitest';

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

/** The binaries among `names` that are not installed. */
const missingBinaries = (...names: string[]): string[] => names.filter((name) => !findBinary(name));

/** Why a test needing `names` cannot run here, or undefined when it can. */
export function skipReason(reason: string, ...names: string[]): string | undefined {
  const missing = missingBinaries(...names);
  return missing.length > 0 ? `${reason}: ${missing.join(', ')} not installed (CI installs it)` : undefined;
}

/** Skip the running test, with the reason, unless every binary it needs is installed. */
export function requireBinaries(context: TestContext, reason: string, ...names: string[]): void {
  const why = skipReason(reason, ...names);
  if (why) context.skip(why);
}
