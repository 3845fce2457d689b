-- 006: rollups that let the metrics report read hours and days instead of every new
-- learner of its window, so its cost grows with neither events nor users.
--
-- analytics_subjects (one row per learner, kept by ingestion) stays the source of
-- truth. Triggers turn every change of a subject row into deltas — −1 for the old
-- version, +1 for the new — in the same transaction, so each rollup always equals a
-- GROUP BY over the subjects (test/analytics-rollups.test.ts holds them equal).
-- Statement-level triggers see the row versions actually written, so concurrent
-- batches cannot miscount. Each backend adds to its own shard of a rollup row, so
-- concurrent ingestion does not queue on one hot row; readers sum the shards.
-- Hours and days are UTC; a report window is cut into whole days, whole hours and
-- the minutes at its edges, which are read from the subjects themselves.

LOCK TABLE analytics_subjects, analytics_daily_activity, analytics_drama_runs IN SHARE ROW EXCLUSIVE MODE;

-- How many funnel steps in a row a subject reached, each within 7 days of its first
-- launch (definitions.ts: FUNNEL order, METRICS.funnelWindowDays). An ordered funnel:
-- a later step without the earlier ones does not count.
CREATE FUNCTION analytics_funnel_level(
  t1 timestamptz, t2 timestamptz, t3 timestamptz, t4 timestamptz,
  t5 timestamptz, t6 timestamptz, t7 timestamptz, t8 timestamptz
) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE
    WHEN t1 IS NULL THEN 0
    WHEN t2 IS NULL OR t2 - t1 >= interval '7 days' THEN 1
    WHEN t3 IS NULL OR t3 - t1 >= interval '7 days' THEN 2
    WHEN t4 IS NULL OR t4 - t1 >= interval '7 days' THEN 3
    WHEN t5 IS NULL OR t5 - t1 >= interval '7 days' THEN 4
    WHEN t6 IS NULL OR t6 - t1 >= interval '7 days' THEN 5
    WHEN t7 IS NULL OR t7 - t1 >= interval '7 days' THEN 6
    WHEN t8 IS NULL OR t8 - t1 >= interval '7 days' THEN 7
    ELSE 8 END)::smallint
$$;

-- Activated: the magic moment within 7 days of the first launch (METRICS.activationWindowDays).
CREATE FUNCTION analytics_activated(t1 timestamptz, t8 timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT t1 IS NOT NULL AND t8 IS NOT NULL AND t8 - t1 < interval '7 days'
$$;

-- The time from each step to the next (steps 2…8); a negative gap (skewed clocks) is 0.
CREATE FUNCTION analytics_step_gaps(
  t1 timestamptz, t2 timestamptz, t3 timestamptz, t4 timestamptz,
  t5 timestamptz, t6 timestamptz, t7 timestamptz, t8 timestamptz
) RETURNS interval[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[greatest(t2 - t1, interval '0'), greatest(t3 - t2, interval '0'), greatest(t4 - t3, interval '0'),
    greatest(t5 - t4, interval '0'), greatest(t6 - t5, interval '0'), greatest(t7 - t6, interval '0'),
    greatest(t8 - t7, interval '0')]
$$;

-- Durations fall into buckets 1% wide: bucket i > 0 holds (1.01^(i−1), 1.01^i] ms and
-- bucket 0 everything up to 1 ms, so a median read from the buckets is within 0.5%
-- (or 1 ms) of the exact one (report.ts: medianFromBuckets).
CREATE FUNCTION analytics_duration_bucket(d interval) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN d <= interval '1 millisecond' THEN 0
    ELSE ceil(ln(extract(epoch FROM d)::float8 * 1000) / ln(1.01))::integer END
$$;

-- Retention is counted from the activation day (SMARTALK_TZ, set by ingestion, like the
-- days of analytics_daily_activity): D1 = active the day after, D7 = active on any of
-- the six days after.
ALTER TABLE analytics_subjects
  ADD COLUMN activation_day date,
  ADD COLUMN returned_d1 boolean NOT NULL DEFAULT false,
  ADD COLUMN returned_d7 boolean NOT NULL DEFAULT false;

CREATE FUNCTION analytics_subject_returns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.returned_d1 := NEW.activation_day IS NOT NULL AND EXISTS (
    SELECT 1 FROM analytics_daily_activity a WHERE a.subject = NEW.subject AND a.day = NEW.activation_day + 1);
  NEW.returned_d7 := NEW.activation_day IS NOT NULL AND EXISTS (
    SELECT 1 FROM analytics_daily_activity a
    WHERE a.subject = NEW.subject AND a.day BETWEEN NEW.activation_day + 1 AND NEW.activation_day + 6);
  RETURN NEW;
END $$;
CREATE TRIGGER analytics_subjects_returns_on_insert BEFORE INSERT ON analytics_subjects
  FOR EACH ROW WHEN (NEW.activation_day IS NOT NULL) EXECUTE FUNCTION analytics_subject_returns();
CREATE TRIGGER analytics_subjects_returns_on_update BEFORE UPDATE ON analytics_subjects
  FOR EACH ROW WHEN (NEW.activation_day IS DISTINCT FROM OLD.activation_day) EXECUTE FUNCTION analytics_subject_returns();

-- Activity that arrives after the activation marks the return (the trigger above covers
-- activity that came first).
CREATE FUNCTION analytics_activity_returns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE analytics_subjects s
  SET returned_d1 = s.returned_d1 OR s.activation_day + 1 = ANY (a.days), returned_d7 = true
  FROM (SELECT subject, array_agg(day) AS days FROM new_days GROUP BY subject) a
  WHERE s.subject = a.subject AND s.activation_day IS NOT NULL
    AND EXISTS (SELECT 1 FROM unnest(a.days) d WHERE d BETWEEN s.activation_day + 1 AND s.activation_day + 6)
    AND (NOT s.returned_d7 OR (NOT s.returned_d1 AND s.activation_day + 1 = ANY (a.days)));
  RETURN NULL;
END $$;

CREATE TRIGGER analytics_daily_activity_returns AFTER INSERT ON analytics_daily_activity
  REFERENCING NEW TABLE AS new_days FOR EACH STATEMENT EXECUTE FUNCTION analytics_activity_returns();

-- New learners by the hour of their first launch, by how far they got.
CREATE TABLE analytics_funnel_hourly (
  hour         timestamptz NOT NULL,
  app_version  text,
  platform     text,
  interest_id  text,
  level        smallint NOT NULL,
  activated    boolean NOT NULL,
  shard        smallint NOT NULL,
  users        integer NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, app_version, platform, interest_id, level, activated, shard)
);

-- Time from step k−1 to step k of the learners who reached step k, in duration buckets,
-- by the hour (span_hours 1) and the day (24) of their first launch.
CREATE TABLE analytics_step_durations (
  span_hours  smallint NOT NULL,
  start       timestamptz NOT NULL,
  step        smallint NOT NULL,
  bucket      integer NOT NULL,
  shard       smallint NOT NULL,
  users       integer NOT NULL,
  PRIMARY KEY (span_hours, start, step, bucket, shard)
);

-- Activated learners by the hour of their activation, with their activation day and returns.
CREATE TABLE analytics_retention_hourly (
  hour            timestamptz NOT NULL,
  activation_day  date NOT NULL,
  returned_d1     boolean NOT NULL,
  returned_d7     boolean NOT NULL,
  shard           smallint NOT NULL,
  users           integer NOT NULL,
  PRIMARY KEY (hour, activation_day, returned_d1, returned_d7, shard)
);

-- Completed drama runs by the hour of completion: how many, and their summed duration.
CREATE TABLE analytics_drama_runs_hourly (
  hour     timestamptz NOT NULL,
  shard    smallint NOT NULL,
  runs     integer NOT NULL,
  seconds  numeric NOT NULL,
  PRIMARY KEY (hour, shard)
);

-- The rollup writers. Each is made twice from one text: for inserts (every new row
-- counts +1) and for updates (rows whose rolled-up columns changed count −1 old, +1 new).
DO $migration$
DECLARE
  subject_rollup constant text := $body$
DECLARE
  v_shard constant smallint := mod(pg_backend_pid(), 8);
BEGIN
  WITH changes AS (%s),
  funnel AS (
    INSERT INTO analytics_funnel_hourly AS r (hour, app_version, platform, interest_id, level, activated, shard, users)
    SELECT date_trunc('hour', c.app_launched_at, 'UTC'), c.app_version, c.platform, c.interest_id,
      analytics_funnel_level(c.app_launched_at, c.onboarding_started_at, c.interest_selected_at, c.preview_video_completed_at,
        c.vtpr_learning_started_at, c.first_clue_completed_at, c.all_clues_completed_at, c.magic_moment_completed_at),
      analytics_activated(c.app_launched_at, c.magic_moment_completed_at), v_shard, sum(c.sign)
    FROM changes c WHERE c.app_launched_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (hour, app_version, platform, interest_id, level, activated, shard)
    DO UPDATE SET users = r.users + excluded.users
  ),
  durations AS (
    INSERT INTO analytics_step_durations AS r (span_hours, start, step, bucket, shard, users)
    SELECT span.hours, date_trunc(span.unit, c.app_launched_at, 'UTC'), d.step,
      analytics_duration_bucket(d.gap), v_shard, sum(c.sign)
    FROM changes c
    CROSS JOIN LATERAL unnest(ARRAY[2, 3, 4, 5, 6, 7, 8]::smallint[], analytics_step_gaps(c.app_launched_at,
      c.onboarding_started_at, c.interest_selected_at, c.preview_video_completed_at, c.vtpr_learning_started_at,
      c.first_clue_completed_at, c.all_clues_completed_at, c.magic_moment_completed_at)) AS d(step, gap)
    CROSS JOIN (VALUES (1::smallint, 'hour'), (24::smallint, 'day')) AS span(hours, unit)
    WHERE c.app_launched_at IS NOT NULL
      AND d.step <= analytics_funnel_level(c.app_launched_at, c.onboarding_started_at, c.interest_selected_at,
        c.preview_video_completed_at, c.vtpr_learning_started_at, c.first_clue_completed_at, c.all_clues_completed_at,
        c.magic_moment_completed_at)
    GROUP BY 1, 2, 3, 4 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (span_hours, start, step, bucket, shard) DO UPDATE SET users = r.users + excluded.users
  )
  INSERT INTO analytics_retention_hourly AS r (hour, activation_day, returned_d1, returned_d7, shard, users)
  SELECT date_trunc('hour', c.magic_moment_completed_at, 'UTC'), c.activation_day, c.returned_d1, c.returned_d7,
    v_shard, sum(c.sign)
  FROM changes c WHERE c.magic_moment_completed_at IS NOT NULL AND c.activation_day IS NOT NULL
  GROUP BY 1, 2, 3, 4 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3, 4
  ON CONFLICT (hour, activation_day, returned_d1, returned_d7, shard) DO UPDATE SET users = r.users + excluded.users;
  RETURN NULL;
END
$body$;
  subject_columns constant text :=
    'app_launched_at, app_version, platform, interest_id, onboarding_started_at, interest_selected_at, '
    'preview_video_completed_at, vtpr_learning_started_at, first_clue_completed_at, all_clues_completed_at, '
    'magic_moment_completed_at, activation_day, returned_d1, returned_d7';
  run_rollup constant text := $body$
DECLARE
  v_shard constant smallint := mod(pg_backend_pid(), 8);
BEGIN
  WITH changes AS (%s)
  INSERT INTO analytics_drama_runs_hourly AS r (hour, shard, runs, seconds)
  SELECT date_trunc('hour', c.completed_at, 'UTC'), v_shard, sum(c.sign),
    sum(c.sign * extract(epoch FROM c.completed_at - c.started_at))
  FROM changes c WHERE c.completed_at IS NOT NULL
  GROUP BY 1 HAVING sum(c.sign) <> 0 OR sum(c.sign * extract(epoch FROM c.completed_at - c.started_at)) <> 0 ORDER BY 1
  ON CONFLICT (hour, shard) DO UPDATE SET runs = r.runs + excluded.runs, seconds = r.seconds + excluded.seconds;
  RETURN NULL;
END
$body$;
  -- Old and new versions of the rows whose rolled-up columns changed.
  updated constant text := $sql$
    SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON %1$s WHERE (%2$s) IS DISTINCT FROM (%3$s)
    UNION ALL
    SELECT 1 AS sign, n.* FROM old_rows o JOIN new_rows n ON %1$s WHERE (%2$s) IS DISTINCT FROM (%3$s)$sql$;
  inserted constant text := 'SELECT 1 AS sign, * FROM new_rows';
BEGIN
  EXECUTE format('CREATE FUNCTION analytics_subjects_inserted() RETURNS trigger LANGUAGE plpgsql AS %L',
    format(subject_rollup, inserted));
  EXECUTE format('CREATE FUNCTION analytics_subjects_updated() RETURNS trigger LANGUAGE plpgsql AS %L',
    format(subject_rollup, format(updated, 'n.subject = o.subject',
      regexp_replace(subject_columns, '(\w+)', 'o.\1', 'g'), regexp_replace(subject_columns, '(\w+)', 'n.\1', 'g'))));
  EXECUTE format('CREATE FUNCTION analytics_drama_runs_inserted() RETURNS trigger LANGUAGE plpgsql AS %L',
    format(run_rollup, inserted));
  EXECUTE format('CREATE FUNCTION analytics_drama_runs_updated() RETURNS trigger LANGUAGE plpgsql AS %L',
    format(run_rollup, format(updated, 'n.subject = o.subject AND n.drama_id = o.drama_id',
      'o.started_at, o.completed_at', 'n.started_at, n.completed_at')));
END
$migration$;

CREATE TRIGGER analytics_subjects_rollup_on_insert AFTER INSERT ON analytics_subjects
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_subjects_inserted();
CREATE TRIGGER analytics_subjects_rollup_on_update AFTER UPDATE ON analytics_subjects
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_subjects_updated();
CREATE TRIGGER analytics_drama_runs_rollup_on_insert AFTER INSERT ON analytics_drama_runs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_drama_runs_inserted();
CREATE TRIGGER analytics_drama_runs_rollup_on_update AFTER UPDATE ON analytics_drama_runs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_drama_runs_updated();

-- What is already stored, rolled up by the same triggers: every row inserted again
-- (the table locks above keep writers out meanwhile).
CREATE TEMP TABLE stored_subjects ON COMMIT DROP AS SELECT * FROM analytics_subjects;
UPDATE stored_subjects
SET activation_day = (magic_moment_completed_at AT TIME ZONE
  coalesce(nullif(current_setting('smartalk.tz', true), ''), 'Asia/Shanghai'))::date
WHERE magic_moment_completed_at IS NOT NULL;
TRUNCATE analytics_subjects;
INSERT INTO analytics_subjects SELECT * FROM stored_subjects;

CREATE TEMP TABLE stored_runs ON COMMIT DROP AS SELECT * FROM analytics_drama_runs;
TRUNCATE analytics_drama_runs;
INSERT INTO analytics_drama_runs SELECT * FROM stored_runs;
