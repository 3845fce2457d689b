-- 002: analytics state derived from events as they arrive, so reports read
-- O(users or days) rows instead of every event. Every update is idempotent
-- (LEAST/GREATEST, insert-if-absent) or applied only for newly stored events.

-- One row per subject: a learner (user id), or a device not yet registered
-- ('device:<id>'). The first time each funnel step was reached, and who they are.
CREATE TABLE analytics_subjects (
  subject                     text PRIMARY KEY,
  user_id                     uuid,
  first_seen_at               timestamptz NOT NULL,
  last_seen_at                timestamptz NOT NULL,
  app_version                 text,
  platform                    text,
  interest_id                 text,
  app_launched_at             timestamptz,
  onboarding_started_at       timestamptz,
  interest_selected_at        timestamptz,
  preview_video_completed_at  timestamptz,
  vtpr_learning_started_at    timestamptz,
  first_clue_completed_at     timestamptz,
  all_clues_completed_at      timestamptz,
  magic_moment_completed_at   timestamptz
);
-- Cohorts are "new users by first launch"; retention starts at activation.
CREATE INDEX analytics_subjects_launched ON analytics_subjects (app_launched_at);
CREATE INDEX analytics_subjects_activated ON analytics_subjects (magic_moment_completed_at);

-- Days (in SMARTALK_TZ at ingestion) on which a subject had any event: retention.
CREATE TABLE analytics_daily_activity (
  subject  text NOT NULL,
  day      date NOT NULL,
  PRIMARY KEY (subject, day)
);

-- Per day (SMARTALK_TZ) counters of newly stored events: event:<name>, and the
-- learning counters (keyword_attempt:correct, keyword_attempt:mode:<mode>).
CREATE TABLE analytics_daily_counts (
  day      date NOT NULL,
  counter  text NOT NULL,
  count    bigint NOT NULL,
  PRIMARY KEY (day, counter)
);

-- A subject's way through one drama: first vTPR activity to magic moment.
CREATE TABLE analytics_drama_runs (
  subject       text NOT NULL,
  drama_id      text NOT NULL,
  started_at    timestamptz NOT NULL,
  completed_at  timestamptz,
  PRIMARY KEY (subject, drama_id)
);
CREATE INDEX analytics_drama_runs_completed ON analytics_drama_runs (completed_at);
