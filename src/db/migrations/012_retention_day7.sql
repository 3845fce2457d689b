-- 012: D7 retention is the industry's "active on day 7 after the activation day" (local
-- days in SMARTALK_TZ), not "active on any of days 1–6", which read as a second, larger
-- D1 (81% D7 beside 52% D1). D1 is unchanged: active on day 1.
CREATE OR REPLACE FUNCTION analytics_subject_returns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.returned_d1 := NEW.activation_day IS NOT NULL AND EXISTS (
    SELECT 1 FROM analytics_daily_activity a WHERE a.subject = NEW.subject AND a.day = NEW.activation_day + 1);
  NEW.returned_d7 := NEW.activation_day IS NOT NULL AND EXISTS (
    SELECT 1 FROM analytics_daily_activity a WHERE a.subject = NEW.subject AND a.day = NEW.activation_day + 7);
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION analytics_activity_returns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE analytics_subjects s
  SET returned_d1 = s.returned_d1 OR s.activation_day + 1 = ANY (a.days),
    returned_d7 = s.returned_d7 OR s.activation_day + 7 = ANY (a.days)
  FROM (SELECT subject, array_agg(day) AS days FROM new_days GROUP BY subject) a
  WHERE s.subject = a.subject AND s.activation_day IS NOT NULL
    AND ((NOT s.returned_d1 AND s.activation_day + 1 = ANY (a.days))
      OR (NOT s.returned_d7 AND s.activation_day + 7 = ANY (a.days)));
  RETURN NULL;
END $$;

-- Learners already activated: their D7 by the new definition (the rollup triggers move
-- each changed learner between retention buckets, so the hourly rollups follow).
UPDATE analytics_subjects s
SET returned_d7 = EXISTS (
  SELECT 1 FROM analytics_daily_activity a WHERE a.subject = s.subject AND a.day = s.activation_day + 7)
WHERE s.activation_day IS NOT NULL
  AND s.returned_d7 IS DISTINCT FROM EXISTS (
    SELECT 1 FROM analytics_daily_activity a WHERE a.subject = s.subject AND a.day = s.activation_day + 7);
