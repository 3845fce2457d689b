/**
 * Every checklist line of the runbook (日常运维程序), in its slot and in the runbook's
 * order, each automated; a line whose source is absent (no PostgreSQL server, no
 * Prometheus) answers `skip` with the reason, so a slot always shows the whole checklist.
 */
import type { Bilingual } from '../../i18n.js';
import { usersAnomalies } from './anomaly-checks.js';
import { backupRestoreDrill, backupState } from './backup-checks.js';
import { apiOptimization, capacityNextDay } from './capacity-checks.js';
import { type CheckDefinition, SLOTS, type Slot } from './check.js';
import { dbPerformance, dbQueryAnalysis } from './database-checks.js';
import type { ChecksDeps } from './deps.js';
import { cdnCacheStrategy, cdnHitRate } from './edge-checks.js';
import { logsOvernight } from './log-checks.js';
import { logsCleanup, systemUpdates } from './maintenance-checks.js';
import { alertsRulesReview, jobsSchedule, opslogUpdate } from './record-checks.js';
import { reportDaily, reportProductWeekly, reportWeekly } from './report-checks.js';
import { servicesAvailability, systemHealth, systemResources } from './system-checks.js';
import {
  apiLatency,
  featuresUsage,
  feedbackNew,
  funnelRealtime,
  mobilePerformance,
  usersBehaviorTrends,
  usersRealtime,
} from './usage-checks.js';

export const CHECKS: CheckDefinition<ChecksDeps>[] = [
  systemHealth,
  logsOvernight,
  servicesAvailability,
  dbPerformance,
  cdnHitRate,
  backupState,

  usersRealtime,
  apiLatency,
  funnelRealtime,
  feedbackNew,
  systemResources,

  reportDaily,
  usersAnomalies,
  jobsSchedule,
  capacityNextDay,
  opslogUpdate,

  systemUpdates,
  logsCleanup,
  backupRestoreDrill,
  alertsRulesReview,

  dbQueryAnalysis,
  cdnCacheStrategy,
  apiOptimization,
  mobilePerformance,

  reportWeekly,
  usersBehaviorTrends,
  featuresUsage,
  reportProductWeekly,
];

export const checkById = (id: string) => CHECKS.find((check) => check.id === id);

export const checksOf = (slot: Slot) => CHECKS.filter((check) => check.slot === slot);

export const isSlot = (name: string): name is Slot => (SLOTS as readonly string[]).includes(name);

/** The slots and check ids `smartalk ops check` accepts. */
export const CHECK_SELECTORS: string[] = [...SLOTS, ...CHECKS.map((check) => check.id)];

/** When each slot runs (cron, in SMARTALK_TZ): the runbook's times and weekdays. */
export const SLOT_SCHEDULE: Record<Slot, { cron: string; description: Bilingual }> = {
  morning: { cron: '0 9 * * *', description: { en: 'Morning checks (9:00 AM)', zh: '上午检查 (9:00 AM)' } },
  afternoon: { cron: '0 14 * * *', description: { en: 'Afternoon checks (2:00 PM)', zh: '下午检查 (2:00 PM)' } },
  evening: { cron: '0 18 * * *', description: { en: 'Evening checks (6:00 PM)', zh: '晚间检查 (6:00 PM)' } },
  // Weekly tasks run after the morning checks of their day.
  monday: { cron: '30 9 * * 1', description: { en: 'Monday: system maintenance', zh: '周一：系统维护' } },
  wednesday: { cron: '30 9 * * 3', description: { en: 'Wednesday: performance', zh: '周三：性能优化' } },
  friday: { cron: '0 17 * * 5', description: { en: 'Friday: data analysis', zh: '周五：数据分析' } },
};
