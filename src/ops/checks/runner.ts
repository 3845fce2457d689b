/**
 * Running checks: a slot, or any list of slots and check ids, one check after another
 * (each looks at shared resources; a morning slot is a few seconds). A check that
 * throws or overruns is a `fail` that says so: the thing it looks at is unwell.
 */
import type { Lang } from '../../config.js';
import { say } from '../../i18n.js';
import { CHECKS, checkById, isSlot } from './catalog.js';
import { type CheckDefinition, type CheckOutcome, type CheckResult, type CheckRun, worstOf } from './check.js';
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
    const started = performance.now();
    const now = clock();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      check.run(deps, { lang: options.lang, now, t, scheduled: options.scheduled ?? false }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`did not finish within ${(options.timeoutMs ?? CHECK_TIMEOUT_MS) / 1000} s`)),
          options.timeoutMs ?? CHECK_TIMEOUT_MS,
        );
      }),
    ])
      .catch(
        (error: Error): CheckOutcome => ({
          status: 'fail',
          summary: t({ en: `the check could not complete: ${error.message}`, zh: `检查未能完成：${error.message}` }),
          evidence: [],
        }),
      )
      .finally(() => clearTimeout(timer));
    results.push({
      id: check.id,
      title: t(check.title),
      status: outcome.status,
      summary: outcome.summary,
      evidence: outcome.evidence ?? [],
      ...(outcome.data ? { data: outcome.data } : {}),
      action: outcome.status === 'warn' || outcome.status === 'fail' ? t(check.action) : null,
      durationMs: Math.round(performance.now() - started),
    });
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
