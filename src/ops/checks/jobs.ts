/** The checklist slots as scheduled jobs, and how a run reads in the ops log. */
import type { Lang } from '../../config.js';
import { say } from '../../i18n.js';
import { type AlertService, fingerprintOf } from '../alerts/service.js';
import type { NewOpsLogEntry } from '../opslog/opslog.js';
import { type JobRunRecord, type ScheduledJob, type Scheduler, slotTime } from '../schedule/scheduler.js';
import { checkById, SLOT_SCHEDULE } from './catalog.js';
import { type CheckRun, type CheckStatus, SLOTS } from './check.js';
import type { ChecksDeps } from './deps.js';
import { runChecks } from './runner.js';

export const checklistJobId = (slot: string) => `checks.${slot}`;

export function checklistJobs(
  deps: ChecksDeps,
  options: { lang: Lang; now?: () => Date; alerts?: AlertService },
): ScheduledJob[] {
  return SLOTS.map((slot) => ({
    id: checklistJobId(slot),
    cron: SLOT_SCHEDULE[slot].cron,
    description: SLOT_SCHEDULE[slot].description,
    run: async () => {
      const run = await runChecks(deps, [slot], { ...options, scheduled: true });
      if (options.alerts) await alertOnFailures(options.alerts, run);
      return { status: 'success', details: { run } };
    },
  }));
}

/** The alert a failing scheduled check raises: one per check, in the check's tier. */
export const CHECK_FAILED_RULE = 'ChecklistFailed';

/**
 * A scheduled run's failures go out through the alert channels at each check's tier
 * (escalation, silences and the outbox as for any alert); a check that passes again
 * resolves its alert. A warning or a skip leaves an open alert as it is.
 */
export async function alertOnFailures(alerts: AlertService, run: CheckRun): Promise<void> {
  for (const result of run.results) {
    const check = checkById(result.id);
    if (!check) continue;
    const labels = { check: result.id };
    if (result.status === 'fail') {
      await alerts.fire({
        ruleId: CHECK_FAILED_RULE,
        severity: check.severity,
        source: 'builtin',
        labels,
        summary: `Check ${result.id} failed: ${result.summary}`,
        summaryZh: `检查项 ${result.id} 失败：${result.summary}`,
        description: check.action.en,
        descriptionZh: check.action.zh,
        runbook: 'docs/checklists.md',
      });
    } else if (result.status === 'pass') {
      await alerts.resolve({ fingerprint: fingerprintOf(CHECK_FAILED_RULE, labels) }, 'checklist');
    }
  }
}

/** "morning: 4 pass, 1 warn, 1 skip — worst warn" */
export function tallyOf(run: CheckRun): string {
  const counts = new Map<CheckStatus, number>();
  for (const result of run.results) counts.set(result.status, (counts.get(result.status) ?? 0) + 1);
  const parts = (['fail', 'warn', 'pass', 'skip'] as const).filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  return `${parts.join(', ')} — worst ${run.worst}`;
}

/** The ops log's line for a checklist run, scheduled or on demand. */
export function checklistLogEntry(run: CheckRun, actor: string, lang: Lang, catchUp = false): NewOpsLogEntry {
  const name = run.selection.join(', ');
  const late = catchUp
    ? say(lang, { en: ' (run late: every instance was down when it was due)', zh: '（补跑：到期时所有实例均未运行）' })
    : '';
  return {
    kind: 'check',
    actor,
    summary: `${name}: ${tallyOf(run)}${late}`,
    tags: run.slot ? [run.slot] : [],
    details: {
      worst: run.worst,
      catchUp,
      problems: run.results
        .filter((result) => result.status === 'warn' || result.status === 'fail')
        .map((result) => ({ id: result.id, status: result.status, summary: result.summary })),
    },
  };
}

/** A scheduled run's record, read back as the check run it holds. */
export const checkRunOf = (record: Pick<JobRunRecord, 'details'>): CheckRun | undefined =>
  (record.details as { run?: CheckRun }).run;

/** The ops log's line for a scheduled run: the checklist's tally, or the job's status when it failed before one. */
export function scheduledRunLogEntry(jobId: string, record: JobRunRecord, actor: string, lang: Lang): NewOpsLogEntry {
  const run = checkRunOf(record);
  return run
    ? checklistLogEntry(run, actor, lang, record.details.catchUp === true)
    : { kind: 'job', actor, summary: `${jobId}: ${record.status}`, details: record.details };
}

/** The latest recorded run of each scheduled job that has one, read back as check runs. */
export async function latestCheckRuns(
  scheduler: Pick<Scheduler, 'list'>,
): Promise<Array<{ job: string; scheduledFor: string; run: CheckRun | null }>> {
  return (await scheduler.list()).flatMap((job) =>
    job.lastRun ? [{ job: job.id, scheduledFor: slotTime(job.lastRun.slot), run: checkRunOf(job.lastRun) ?? null }] : [],
  );
}
