/**
 * Running checks: a slot, or any list of slots and check ids, one check after another
 * (each looks at shared resources; a morning slot is a few seconds).
 */
import type { Lang } from '../../config.js';
import { say } from '../../i18n.js';
import { CHECKS, checkById, isSlot } from './catalog.js';
import { type CheckDefinition, type CheckResult, type CheckRun, runStep, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

/** How long one check may take. */
const CHECK_TIMEOUT_MS = 30_000;

/** The checks named by slots and ids, in the runbook's order, each once; unknown names throw. */
export function selectChecks(selectors: string[]): CheckDefinition<ChecksDeps>[] {
  const wanted = new Set<CheckDefinition<ChecksDeps>>();
  for (const selector of selectors) {
    if (isSlot(selector)) {
      for (const check of CHECKS) if (check.slot === selector) wanted.add(check);
      continue;
    }
    const check = checkById(selector);
    if (!check) throw new Error(`unknown slot or check: ${selector}`);
    wanted.add(check);
  }
  return CHECKS.filter((check) => wanted.has(check));
}

export interface RunOptions {
  lang: Lang;
  scheduled?: boolean;
  now?: () => Date;
  timeoutMs?: number;
}

export async function runChecks(deps: ChecksDeps, selectors: string[], options: RunOptions): Promise<CheckRun> {
  const checks = selectChecks(selectors);
  const clock = options.now ?? (() => new Date());
  const startedAt = clock();
  const t = (message: { en: string; zh: string }) => say(options.lang, message);
  const results: CheckResult[] = [];
  for (const check of checks) {
    const context = { lang: options.lang, now: clock(), t, scheduled: options.scheduled ?? false };
    results.push(await runStep(check, deps, context, options.timeoutMs ?? CHECK_TIMEOUT_MS));
  }
  const single = selectors.length === 1 && isSlot(selectors[0] as string) ? (selectors[0] as CheckRun['slot']) : null;
  return {
    slot: single,
    selection: selectors,
    startedAt: startedAt.toISOString(),
    finishedAt: clock().toISOString(),
    worst: worstOf(results.map((result) => result.status)),
    results,
  };
}
