-- 001: learners, content, progress, analytics events, feedback and the ops tables.
-- Frozen once released: later changes go into new numbered files.

-- Content ------------------------------------------------------------------

CREATE TABLE interests (
  id              text PRIMARY KEY,
  sort_order      integer NOT NULL,
  name_en         text NOT NULL,
  name_zh         text NOT NULL,
  badge_en        text NOT NULL,
  badge_zh        text NOT NULL,
  description_en  text NOT NULL,
  description_zh  text NOT NULL
);

CREATE TABLE dramas (
  id                text PRIMARY KEY,
  interest_id       text NOT NULL REFERENCES interests (id),
  chapter           integer NOT NULL CHECK (chapter >= 1),
  title_en          text NOT NULL,
  title_zh          text NOT NULL,
  synopsis_en       text NOT NULL,
  synopsis_zh       text NOT NULL,
  duration_seconds  integer NOT NULL,
  -- Two renditions of the same story: the teaser with subtitles, and the
  -- subtitle-free one played in theater mode for the magic moment.
  video_subtitled   text NOT NULL,
  video_plain       text NOT NULL,
  UNIQUE (interest_id, chapter)
);

CREATE TABLE keywords (
  id              text PRIMARY KEY,
  drama_id        text NOT NULL REFERENCES dramas (id),
  position        integer NOT NULL,
  word            text NOT NULL,
  phonetic        text NOT NULL,
  translation_zh  text NOT NULL,
  example_en      text NOT NULL,
  example_zh      text NOT NULL,
  audio_path      text NOT NULL,
  UNIQUE (drama_id, position)
);

-- vTPR: the options shown for one keyword; exactly one is correct.
CREATE TABLE vtpr_clips (
  id          text PRIMARY KEY,
  keyword_id  text NOT NULL REFERENCES keywords (id),
  position    integer NOT NULL,
  video_path  text NOT NULL,
  is_correct  boolean NOT NULL,
  UNIQUE (keyword_id, position)
);
CREATE UNIQUE INDEX vtpr_clips_one_correct ON vtpr_clips (keyword_id) WHERE is_correct;

-- Learners -----------------------------------------------------------------

CREATE TABLE users (
  id            uuid PRIMARY KEY,
  device_id     text NOT NULL UNIQUE,
  platform      text,
  app_version   text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- Only hashes of learner tokens are stored; a device may hold a few live tokens
-- (reinstalls, a second client) and the oldest are pruned.
CREATE TABLE user_tokens (
  token_hash  text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, created_at);

CREATE TABLE user_interests (
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  interest_id  text NOT NULL REFERENCES interests (id),
  selected_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, interest_id)
);

CREATE TABLE keyword_progress (
  user_id             uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  keyword_id          text NOT NULL REFERENCES keywords (id),
  attempts            integer NOT NULL DEFAULT 0,
  correct_attempts    integer NOT NULL DEFAULT 0,
  consecutive_errors  integer NOT NULL DEFAULT 0,
  focus_attempts      integer NOT NULL DEFAULT 0,
  rescue_attempts     integer NOT NULL DEFAULT 0,
  collected_at        timestamptz,
  next_review_at      timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, keyword_id)
);

CREATE TABLE drama_progress (
  user_id                    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  drama_id                   text NOT NULL REFERENCES dramas (id),
  started_at                 timestamptz NOT NULL DEFAULT now(),
  clues_completed_at         timestamptz,
  magic_moment_completed_at  timestamptz,
  understanding              text,
  PRIMARY KEY (user_id, drama_id)
);

-- Analytics ----------------------------------------------------------------

-- Raw events, partitioned by month of the client timestamp. Partitions are
-- created ahead of time by the server (db/partitions.ts); the default partition
-- catches anything outside them so an insert never fails for want of one.
CREATE TABLE analytics_events (
  id           uuid NOT NULL,
  name         text NOT NULL,
  raw_name     text NOT NULL,
  user_id      uuid,
  device_id    text,
  session_id   text,
  "timestamp"  timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  app_version  text,
  platform     text,
  properties   jsonb NOT NULL DEFAULT '{}'::jsonb
) PARTITION BY RANGE ("timestamp");

CREATE TABLE analytics_events_default PARTITION OF analytics_events DEFAULT;

-- The runbook's own index name (性能优化指南).
CREATE INDEX idx_analytics_events_timestamp ON analytics_events ("timestamp");
CREATE INDEX idx_analytics_events_user ON analytics_events (user_id, "timestamp");

-- Idempotency by client event id: a unique key on the partitioned table would have
-- to include the timestamp, so retries are deduplicated here instead.
CREATE TABLE analytics_event_ids (
  id           uuid PRIMARY KEY,
  received_at  timestamptz NOT NULL DEFAULT now()
);

-- Feedback -----------------------------------------------------------------

CREATE TABLE feedback (
  id               uuid PRIMARY KEY,
  user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type             text NOT NULL CHECK (type IN ('magic_moment', 'overall_experience', 'bug_report', 'feature_request')),
  rating           smallint CHECK (rating BETWEEN 1 AND 5),
  emotion          text,
  text             text,
  context          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_created_at ON feedback (created_at);

-- Operations ---------------------------------------------------------------

-- 运维日志: what the platform and its operators did, newest last.
CREATE TABLE ops_log (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  kind     text NOT NULL,
  actor    text NOT NULL,
  summary  text NOT NULL,
  details  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX ops_log_at ON ops_log (at);

-- One row per scheduled job slot: the unique key makes a slot run once across instances.
CREATE TABLE job_runs (
  job          text NOT NULL,
  slot         text NOT NULL,
  instance     text NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'skipped', 'failed')),
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (job, slot)
);
