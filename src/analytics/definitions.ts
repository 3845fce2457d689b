/**
 * The one definition of every analytics event and business metric (docs/metrics.md).
 * Ingestion, the metrics service, the CLI, the gauges on /metrics and the alert
 * rules all read these; docs/metrics.md describes them for people.
 */

/** The activation funnel, in order. Step 8 is activation. */
export const FUNNEL = [
  { step: 1, event: 'app_launched', column: 'app_launched_at', target: 1.0, label: { en: 'App launched', zh: '启动应用' } },
  {
    step: 2,
    event: 'onboarding_started',
    column: 'onboarding_started_at',
    target: 0.9,
    label: { en: 'Onboarding started', zh: '开始引导' },
  },
  {
    step: 3,
    event: 'interest_selected',
    column: 'interest_selected_at',
    target: 0.85,
    label: { en: 'Interest selected', zh: '选择兴趣' },
  },
  {
    step: 4,
    event: 'preview_video_completed',
    column: 'preview_video_completed_at',
    target: 0.8,
    label: { en: 'Preview video completed', zh: '看完预告片' },
  },
  {
    step: 5,
    event: 'vtpr_learning_started',
    column: 'vtpr_learning_started_at',
    target: 0.75,
    label: { en: 'vTPR learning started', zh: '开始 vTPR 学习' },
  },
  {
    step: 6,
    event: 'first_clue_completed',
    column: 'first_clue_completed_at',
    target: 0.7,
    label: { en: 'First clue collected', zh: '收集第一个线索' },
  },
  {
    step: 7,
    event: 'all_clues_completed',
    column: 'all_clues_completed_at',
    target: 0.6,
    label: { en: 'All clues collected', zh: '收集全部线索' },
  },
  {
    step: 8,
    event: 'magic_moment_completed',
    column: 'magic_moment_completed_at',
    target: 0.4,
    label: { en: 'Magic moment completed (activation)', zh: '完成魔法时刻（激活）' },
  },
] as const;

export type FunnelStep = (typeof FUNNEL)[number];
export type FunnelColumn = FunnelStep['column'];
export const ACTIVATION_EVENT = 'magic_moment_completed';

/** Legacy names clients still send, mapped on ingest (the raw name is kept). */
export const EVENT_ALIASES: Readonly<Record<string, string>> = {
  app_launch: 'app_launched',
  onboarding_start: 'onboarding_started',
  theme_selected: 'interest_selected',
  video_preview_complete: 'preview_video_completed',
  vtpr_start: 'vtpr_learning_started',
  magic_moment_complete: 'magic_moment_completed',
  activation_complete: 'magic_moment_completed',
  user_activation: 'magic_moment_completed',
  user_activation_completed: 'magic_moment_completed',
  user_activated: 'magic_moment_completed',
};

/** Known events outside the funnel. Unknown names are accepted too (product teams add events first). */
export const OTHER_EVENTS = [
  'keyword_attempt',
  'focus_mode_triggered',
  'rescue_mode_triggered',
  'magic_moment_started',
  'badge_earned',
  'srs_card_reviewed',
  'video_load',
  'app_start_time',
  'app_crash',
  'feature_used',
  'feedback_submitted',
] as const;

// hasOwn: "constructor" and "__proto__" are valid event names, and must not find
// Object.prototype's members.
export const canonicalName = (name: string): string =>
  Object.hasOwn(EVENT_ALIASES, name) ? (EVENT_ALIASES[name] as string) : name;

/** Metric definitions with their windows and targets. */
export const METRICS = {
  /** Activation: the share of a cohort's new users who complete a magic moment within this many days. */
  activationWindowDays: 7,
  /** Funnel conversion window, from step 1. */
  funnelWindowDays: 7,
  /** Real-time users: any event or authenticated request within this many seconds. */
  realtimeWindowSeconds: 300,
  /** Baseline for comparisons: the same metric over this many days before the window. */
  baselineDays: 7,
  activationTarget: 0.4,
  /** At or above: "close"; below: "needs work". */
  activationClose: 0.3,
  retentionD1Target: 0.5,
  retentionD7Target: 0.3,
  /** "Activation drop > 50%": current < this × baseline. */
  activationDropFactor: 0.5,
  /** "Funnel step drop > 20%": step-to-step conversion < this × its baseline. */
  funnelStepDropFactor: 0.8,
  /**
   * Activation and the funnel are judged (against the target or the baseline) only with at
   * least this many new users on each side: with 8, one learner moves activation by 12.5
   * points, and a quiet night's three installs would page someone.
   */
  minNewUsersToJudge: 50,
} as const;

/**
 * Whether a window and its baseline each hold enough new users for a comparison to mean
 * something (the report's flags, the checks, the alerts and the diagnosis all ask this).
 */
export const enoughNewUsersToCompare = (
  report: { newUsers: number; baseline: { newUsers: number } },
  min: number = METRICS.minNewUsersToJudge,
): boolean => Math.min(report.newUsers, report.baseline.newUsers) >= min;

/**
 * The definitions SQL functions are made from (migration 009), handed to migrations as
 * `smartalk.<name>` settings: the funnel and activation windows live here only.
 */
export const DEFINITION_SETTINGS: Readonly<Record<string, string>> = {
  funnel_window_days: String(METRICS.funnelWindowDays),
  activation_window_days: String(METRICS.activationWindowDays),
};

export type ActivationVerdict = 'on_target' | 'close' | 'needs_work' | 'no_data';

export function activationVerdict(rate: number | null): ActivationVerdict {
  if (rate === null) return 'no_data';
  if (rate >= METRICS.activationTarget) return 'on_target';
  if (rate >= METRICS.activationClose) return 'close';
  return 'needs_work';
}

/** a ÷ b, or null when there is nothing to divide by. */
export const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
