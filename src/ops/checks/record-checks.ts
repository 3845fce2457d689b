/**
 * The evening's and Monday's housekeeping of the platform itself: 确认自动化任务调度正常,
 * 更新运维日志, 更新监控告警规则.
 */
import { sql } from 'kysely';
import { localTime } from '../../format.js';
import { RULES } from '../alerts/catalog.js';
import { addOpsLogEntry } from '../opslog/opslog.js';
import { isManualSlot, slotTime } from '../schedule/scheduler.js';
import type { CheckDefinition } from './check.js';
import type { ChecksDeps } from './deps.js';

export const jobsSchedule: CheckDefinition<ChecksDeps> = {
  id: 'jobs.schedule',
  slot: 'evening',
  severity: 'warning',
  title: { en: 'Scheduled jobs ran on time', zh: '确认自动化任务调度正常' },
  action: {
    en: 'A late or failed job: read its last run (`smartalk ops schedule`) and the log; make sure at least one instance runs with CHECK_SCHEDULE=on.',
    zh: '任务延迟或失败：查看其最近一次运行（`smartalk ops schedule`）与日志；确认至少一个实例以 CHECK_SCHEDULE=on 运行。',
  },
  run: async (deps, context) => {
    if (!deps.schedule) {
      return {
        status: 'skip',
        summary: context.t({
          en: 'no scheduler runs in this process (CHECK_SCHEDULE=off)',
          zh: '本进程未运行调度器（CHECK_SCHEDULE=off）',
        }),
      };
    }
    const jobs = await deps.schedule();
    const late = jobs.filter((job) => job.late);
    const failed = jobs.filter((job) => job.lastRun?.status === 'failed');
    return {
      status: late.length > 0 || failed.length > 0 ? 'fail' : 'pass',
      summary: context.t({
        en: `${jobs.length} jobs: ${late.length} late, ${failed.length} failed at their last run`,
        zh: `${jobs.length} 个任务：${late.length} 个延迟，${failed.length} 个最近一次失败`,
      }),
      evidence: jobs.map((job) => {
        const last = job.lastRun;
        const ran = last
          ? `${localTime(slotTime(last.slot), deps.config.tz)}${isManualSlot(last.slot) ? context.t({ en: ' (by hand)', zh: '（手动）' }) : ''} ${last.status}`
          : context.t({ en: 'never ran', zh: '从未运行' });
        return `${job.id}: ${ran}${job.late ? context.t({ en: ' — LATE', zh: ' — 延迟' }) : ''}`;
      }),
      data: { jobs },
    };
  },
};

export const opslogUpdate: CheckDefinition<ChecksDeps> = {
  id: 'opslog.update',
  slot: 'evening',
  severity: 'info',
  title: { en: 'Ops log updated', zh: '更新运维日志' },
  action: {
    en: 'Add what the platform cannot know: decisions, hand-overs, customer contacts (`smartalk opslog add "…"`).',
    zh: '补充平台无法自动记录的内容：决定、交接、用户沟通（`smartalk opslog add "…"`）。',
  },
  run: async (deps, context) => {
    const since = new Date(context.now.getTime() - 86_400_000);
    const { rows } = await sql<{ kind: string; n: number }>`
      SELECT kind, count(*)::int AS n FROM ops_log WHERE at >= ${since} AND at < ${context.now} GROUP BY kind ORDER BY kind`.execute(
      deps.db.kysely,
    );
    const counts = Object.fromEntries(rows.map((row) => [row.kind, row.n]));
    const total = rows.reduce((sum, row) => sum + row.n, 0);
    const summary = context.t({
      en: `last 24 h: ${total} entries (${rows.map((row) => `${row.kind} ${row.n}`).join(', ') || 'none'})`,
      zh: `过去 24 小时：${total} 条记录（${rows.map((row) => `${row.kind} ${row.n}`).join('、') || '无'}）`,
    });
    // The day's line in the log itself: what the platform recorded, so the log reads as a diary.
    await addOpsLogEntry(deps.db.kysely, {
      kind: 'job',
      actor: 'checklist',
      summary,
      tags: ['daily'],
      details: { counts },
      at: context.now,
    });
    return {
      status: (counts.note ?? 0) === 0 ? 'warn' : 'pass',
      summary,
      evidence: [
        (counts.note ?? 0) === 0
          ? context.t({ en: 'no entry by a person in 24 h', zh: '24 小时内无人工记录' })
          : context.t({ en: `${counts.note} entries by people`, zh: `人工记录 ${counts.note} 条` }),
      ],
      data: { counts },
    };
  },
};

export const alertsRulesReview: CheckDefinition<ChecksDeps> = {
  id: 'alerts.rules_review',
  slot: 'monday',
  severity: 'info',
  title: { en: 'Review alert rules', zh: '更新监控告警规则' },
  action: {
    en: 'A rule that fired often or flapped needs a higher threshold or a longer `for` (ALERTS_CONFIG thresholds); a silence about to expire needs a decision.',
    zh: '频繁触发或反复抖动的规则需调高阈值或延长 for（ALERTS_CONFIG thresholds）；即将到期的静默需要决定是否延长。',
  },
  run: async (deps, context) => {
    const since = new Date(context.now.getTime() - 7 * 86_400_000);
    const [fired, silences] = await Promise.all([
      sql<{ rule_id: string; fired: number; fingerprints: number }>`
        SELECT rule_id, count(*)::int AS fired, count(DISTINCT fingerprint)::int AS fingerprints
        FROM alerts WHERE fired_at >= ${since} AND fired_at < ${context.now} GROUP BY rule_id ORDER BY 2 DESC`.execute(
        deps.db.kysely,
      ),
      deps.db.kysely
        .selectFrom('alert_silences')
        .selectAll()
        .where('ends_at', '>', context.now)
        .where('ends_at', '<', new Date(context.now.getTime() + 86_400_000))
        .execute(),
    ]);
    // Flapping: the same alert opened again and again in a week (each resolve and re-fire is a new row).
    const flapping = fired.rows.filter((row) => row.fired >= 3 * row.fingerprints && row.fired >= 3);
    const firedIds = new Set(fired.rows.map((row) => row.rule_id));
    const silent = RULES.filter((rule) => !firedIds.has(rule.id)).map((rule) => rule.id);
    return {
      status: flapping.length > 0 || silences.length > 0 ? 'warn' : 'pass',
      summary: context.t({
        en: `last 7 days: ${fired.rows.length} rules fired, ${flapping.length} flapped; ${silences.length} silences end within 24 h`,
        zh: `过去 7 天：${fired.rows.length} 条规则触发，${flapping.length} 条抖动；${silences.length} 个静默将在 24 小时内到期`,
      }),
      evidence: [
        ...fired.rows.map(
          (row) =>
            `${row.rule_id}: ${context.t({ en: `fired ${row.fired}×`, zh: `触发 ${row.fired} 次` })}${flapping.includes(row) ? context.t({ en: ' — flapping', zh: ' — 抖动' }) : ''}`,
        ),
        context.t({ en: `never fired: ${silent.join(', ') || '—'}`, zh: `未触发：${silent.join('、') || '—'}` }),
        ...silences.map(
          (s) => `${context.t({ en: 'silence', zh: '静默' })} ${s.id} → ${new Date(s.ends_at).toISOString()}: ${s.reason}`,
        ),
      ],
      data: {
        fired: fired.rows,
        flapping: flapping.map((row) => row.rule_id),
        neverFired: silent,
        expiringSilences: silences.length,
      },
    };
  },
};
