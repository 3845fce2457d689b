/**
 * Kysely's view of the tables created by db/migrations. Column types are what
 * both engines return with the type parsers set in db/database.ts (int8 and
 * numeric as number, timestamptz as Date, jsonb as parsed JSON).
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string | undefined, string>;

export interface InterestsTable {
  id: string;
  sort_order: number;
  name_en: string;
  name_zh: string;
  badge_en: string;
  badge_zh: string;
  description_en: string;
  description_zh: string;
}

export interface DramasTable {
  id: string;
  interest_id: string;
  chapter: number;
  title_en: string;
  title_zh: string;
  synopsis_en: string;
  synopsis_zh: string;
  duration_seconds: number;
  video_subtitled: string;
  video_plain: string;
}

export interface KeywordsTable {
  id: string;
  drama_id: string;
  position: number;
  word: string;
  phonetic: string;
  translation_zh: string;
  example_en: string;
  example_zh: string;
  audio_path: string;
}

export interface VtprClipsTable {
  id: string;
  keyword_id: string;
  position: number;
  video_path: string;
  is_correct: boolean;
}

/** One row: bumped with every change to the content tables (migration 018). */
export interface ContentVersionTable {
  only_row: Generated<boolean>;
  version: number;
}

/** Secrets of this install (migration 016): `content` keys the content's public names. */
export interface InstallSecretsTable {
  name: string;
  secret: string;
  created_at: Generated<Date>;
}

export interface UsersTable {
  id: string;
  device_id: string;
  /** SHA-256 of the device secret; null for learners created before migration 008. */
  device_secret_hash: string | null;
  platform: string | null;
  app_version: string | null;
  created_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface UserTokensTable {
  token_hash: string;
  user_id: string;
  created_at: Timestamp;
}

export interface UserInterestsTable {
  user_id: string;
  interest_id: string;
  selected_at: Timestamp;
}

export interface KeywordProgressTable {
  user_id: string;
  keyword_id: string;
  attempts: Generated<number>;
  correct_attempts: Generated<number>;
  consecutive_errors: Generated<number>;
  focus_attempts: Generated<number>;
  rescue_attempts: Generated<number>;
  collected_at: Timestamp | null;
  next_review_at: Timestamp | null;
  updated_at: Timestamp;
  /** The keyword's FSRS card once collected (migration 015; learning/srs.ts). */
  srs: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  reviews: Generated<number>;
}

export interface DramaProgressTable {
  user_id: string;
  drama_id: string;
  started_at: Timestamp;
  clues_completed_at: Timestamp | null;
  magic_moment_completed_at: Timestamp | null;
  understanding: string | null;
}

export interface AnalyticsEventsTable {
  id: string;
  name: string;
  raw_name: string;
  user_id: string | null;
  device_id: string | null;
  session_id: string | null;
  timestamp: Timestamp;
  received_at: Timestamp;
  app_version: string | null;
  platform: string | null;
  properties: Json;
}

/** Learning actions' events waiting to be folded into the event store (migration 017). */
export interface AnalyticsOutboxTable {
  id: string;
  user_id: string;
  name: string;
  occurred_at: Timestamp;
  properties: Json;
  created_at: Generated<Date>;
}

export interface AnalyticsEventIdsTable {
  id: string;
  received_at: Timestamp;
}

export interface FeedbackTable {
  id: string;
  user_id: string;
  type: string;
  rating: number | null;
  emotion: string | null;
  text: string | null;
  context: Json;
  created_at: Timestamp;
  sentiment: number;
  sentiment_label: 'positive' | 'neutral' | 'negative';
  themes: string[];
  urgent: boolean;
  urgent_reasons: string[];
  language: string | null;
  /** The text's own label, before the rating and emotion (migration 019). */
  text_label: 'positive' | 'neutral' | 'negative' | null;
}

export interface FeedbackHourlyTable {
  hour: Timestamp;
  type: string;
  label: string;
  emotion: string;
  items: number;
  with_text: number;
  ratings: number;
  rating_sum: number;
  sentiment_sum: number;
  urgent: number;
}

export interface FeedbackThemeHourlyTable {
  hour: Timestamp;
  theme: string;
  label: string;
  items: number;
}

export interface OpsLogTable {
  id: Generated<number>;
  at: Timestamp;
  kind: string;
  actor: string;
  summary: string;
  details: Json;
  tags: ColumnType<string[], string[] | undefined, string[]>;
}

export interface JobRunsTable {
  job: string;
  slot: string;
  instance: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  status: 'running' | 'success' | 'skipped' | 'failed';
  details: Json;
}

export interface AnalyticsSubjectsTable {
  subject: string;
  user_id: string | null;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  app_version: string | null;
  platform: string | null;
  interest_id: string | null;
  app_launched_at: Timestamp | null;
  onboarding_started_at: Timestamp | null;
  interest_selected_at: Timestamp | null;
  preview_video_completed_at: Timestamp | null;
  vtpr_learning_started_at: Timestamp | null;
  first_clue_completed_at: Timestamp | null;
  all_clues_completed_at: Timestamp | null;
  magic_moment_completed_at: Timestamp | null;
  /** The magic moment's calendar day in SMARTALK_TZ (migration 006: retention). */
  activation_day: string | null;
  returned_d1: Generated<boolean>;
  returned_d7: Generated<boolean>;
}

export interface AnalyticsDailyActivityTable {
  subject: string;
  day: string;
}

export interface AnalyticsDailyCountsTable {
  day: string;
  counter: string;
  /** Which of 8 rows of a counter (migration 014): readers sum them. */
  shard: Generated<number>;
  count: number;
}

export interface AnalyticsDramaRunsTable {
  subject: string;
  drama_id: string;
  started_at: Timestamp;
  completed_at: Timestamp | null;
}

export interface AlertsTable {
  id: string;
  fingerprint: string;
  rule_id: string;
  severity: 'critical' | 'warning' | 'info';
  source: 'builtin' | 'alertmanager' | 'watchdog';
  labels: Json;
  summary: string;
  summary_zh: string | null;
  description: string | null;
  description_zh: string | null;
  value: string | null;
  threshold: string | null;
  runbook: string | null;
  status: 'firing' | 'acknowledged' | 'resolved';
  started_at: Timestamp;
  fired_at: Timestamp;
  last_seen_at: Timestamp;
  escalation_level: Generated<number>;
  acknowledged_at: Timestamp | null;
  acknowledged_by: string | null;
  remind_at: Timestamp | null;
  resolved_at: Timestamp | null;
  resolved_by: string | null;
  /** The diagnosis run when it fired (migration 011); null for rules without one. */
  diagnosis: ColumnType<Record<string, unknown> | null, string | undefined, string>;
  /** When L1 was paged (migration 013); escalation counts from it. Null until then. */
  paged_at: ColumnType<Date | null, Date | undefined, Date | null>;
}

export interface AlertNotificationsTable {
  id: Generated<number>;
  alert_id: string | null;
  kind: 'firing' | 'escalation' | 'reminder' | 'resolved' | 'test';
  level: number;
  contact: string;
  channel: string;
  status: Generated<'pending' | 'sending' | 'sent' | 'failed'>;
  attempts: Generated<number>;
  last_error: string | null;
  claimed_until: Timestamp | null;
  next_attempt_at: Timestamp;
  created_at: Timestamp;
  sent_at: Timestamp | null;
}

export interface AlertSilencesTable {
  id: string;
  kind: 'silence' | 'maintenance';
  rule_id: string | null;
  matchers: Json;
  reason: string;
  created_by: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  created_at: Timestamp;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Timestamp;
}

export interface Database {
  interests: InterestsTable;
  dramas: DramasTable;
  keywords: KeywordsTable;
  vtpr_clips: VtprClipsTable;
  install_secrets: InstallSecretsTable;
  content_version: ContentVersionTable;
  users: UsersTable;
  user_tokens: UserTokensTable;
  user_interests: UserInterestsTable;
  keyword_progress: KeywordProgressTable;
  drama_progress: DramaProgressTable;
  analytics_events: AnalyticsEventsTable;
  analytics_event_ids: AnalyticsEventIdsTable;
  analytics_outbox: AnalyticsOutboxTable;
  analytics_subjects: AnalyticsSubjectsTable;
  analytics_daily_activity: AnalyticsDailyActivityTable;
  analytics_daily_counts: AnalyticsDailyCountsTable;
  analytics_drama_runs: AnalyticsDramaRunsTable;
  feedback: FeedbackTable;
  feedback_hourly: FeedbackHourlyTable;
  feedback_theme_hourly: FeedbackThemeHourlyTable;
  ops_log: OpsLogTable;
  alerts: AlertsTable;
  alert_notifications: AlertNotificationsTable;
  alert_silences: AlertSilencesTable;
  job_runs: JobRunsTable;
  schema_migrations: SchemaMigrationsTable;
}
