/**
 * A checklist line of the runbook as code: an id, the line it automates, and a run that
 * looks at the real thing and answers pass | warn | fail | skip with a one-line summary,
 * the evidence it saw and the runbook's suggested action. A check that cannot look (no
 * log file, no Prometheus, an engine without the view it needs) answers `skip` and says
 * why — never `pass`.
 */
import type { Lang } from '../../config.js';
import type { Bilingual } from '../../i18n.js';
import type { Severity } from '../alerts/catalog.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** The runbook's daily slots and weekly days (日常运维程序). */
export const SLOTS = ['morning', 'afternoon', 'evening', 'monday', 'wednesday', 'friday'] as const;
export type Slot = (typeof SLOTS)[number];

/** What a check found. Texts are in the caller's language (CheckContext.t). */
export interface CheckOutcome {
  status: CheckStatus;
  summary: string;
  /** What the check looked at: numbers, log lines, query results — one line each. */
  evidence?: string[];
  /** The same figures for scripts and dashboards. */
  data?: Record<string, unknown>;
}

export interface CheckResult extends CheckOutcome {
  id: string;
  /** The runbook line this check automates, in the caller's language. */
  title: string;
  evidence: string[];
  /** The runbook's suggested action when the result is not a pass; null on a pass or skip. */
  action: string | null;
  durationMs: number;
}

export interface CheckRun {
  /** The slot when one slot was run, else null (a hand-picked list of checks). */
  slot: Slot | null;
  /** The slots and check ids asked for. */
  selection: string[];
  startedAt: string;
  finishedAt: string;
  /** The worst status among the results (skip counts as pass). */
  worst: CheckStatus;
  results: CheckResult[];
}

export interface CheckDefinition<Deps> extends Step<Deps> {
  slot: Slot;
  /**
   * The alert tier when a scheduled run fails (the runbook's 告警级别): critical for what
   * is down now, warning for what degrades, info for what a person should read.
   */
  severity: Severity;
}

export interface CheckContext {
  lang: Lang;
  now: Date;
  /** Run by the schedule (reports are then sent), not asked for by hand. */
  scheduled: boolean;
  /** Text in the caller's language. */
  t(message: Bilingual): string;
}

const RANK: Record<CheckStatus, number> = { skip: 0, pass: 0, warn: 1, fail: 2 };

export function worstOf(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'pass';
  for (const status of statuses) if (RANK[status] > RANK[worst]) worst = status;
  return worst;
}

/**
 * The exit code of `smartalk ops check` (the monitoring-plugin convention Nagios and
 * Icinga read): 0 all pass or skip, 1 the worst is a warning, 2 the worst is a failure.
 * 3 (could not run at all) is the CLI's own.
 */
export const exitCodeOf = (worst: CheckStatus): 0 | 1 | 2 => (worst === 'fail' ? 2 : worst === 'warn' ? 1 : 0);

/** Anything run like a check: a checklist line, a database insight, a diagnosis step. */
export interface Step<Deps> {
  id: string;
  title: Bilingual;
  action: Bilingual;
  run(deps: Deps, context: CheckContext): Promise<CheckOutcome>;
}

/**
 * Run one step within `timeoutMs`. A step that throws or overruns is a `fail` that says
 * so: the thing it looks at is unwell. The action is attached when the result needs one.
 */
export async function runStep<Deps>(
  step: Step<Deps>,
  deps: Deps,
  context: CheckContext,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    step.run(deps, context),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
    }),
  ])
    .catch(
      (error: Error): CheckOutcome => ({
        status: 'fail',
        summary: context.t({ en: `the check could not complete: ${error.message}`, zh: `检查未能完成：${error.message}` }),
        evidence: [],
      }),
    )
    .finally(() => clearTimeout(timer));
  return {
    id: step.id,
    title: context.t(step.title),
    status: outcome.status,
    summary: outcome.summary,
    evidence: outcome.evidence ?? [],
    ...(outcome.data ? { data: outcome.data } : {}),
    action: outcome.status === 'warn' || outcome.status === 'fail' ? context.t(step.action) : null,
    durationMs: Math.round(performance.now() - started),
  };
}
