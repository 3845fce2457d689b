-- 009: the funnel and activation windows come from analytics/definitions.ts (METRICS),
-- where migration 006 wrote out 7 days. The migrator hands them to this file as the
-- settings smartalk.funnel_window_days and smartalk.activation_window_days
-- (analytics/definitions.ts: DEFINITION_SETTINGS); the functions are made from them, and
-- analytics_windows() tells start-up which windows the database was built with, so a
-- later change to METRICS stops start-up instead of mixing two definitions
-- (analytics/report-queries.ts: assertDefinitionWindows).
DO $migration$
DECLARE
  funnel_days constant integer := nullif(current_setting('smartalk.funnel_window_days', true), '')::integer;
  activation_days constant integer := nullif(current_setting('smartalk.activation_window_days', true), '')::integer;
BEGIN
  IF funnel_days IS NULL OR activation_days IS NULL THEN
    RAISE EXCEPTION 'migration 009 takes the funnel and activation windows from analytics/definitions.ts: apply it with `smartalk migrate` or by starting the server';
  END IF;
  -- The rollups of 006 hold levels computed with 7 days; other windows would disagree
  -- with them, so they need a migration that rebuilds the rollups as well.
  IF (funnel_days <> 7 OR activation_days <> 7) AND EXISTS (SELECT 1 FROM analytics_subjects) THEN
    RAISE EXCEPTION 'the analytics rollups were built with 7-day windows; windows of % and % days need a migration that rebuilds them',
      funnel_days, activation_days;
  END IF;

  EXECUTE format($fn$
    CREATE OR REPLACE FUNCTION analytics_funnel_level(
      t1 timestamptz, t2 timestamptz, t3 timestamptz, t4 timestamptz,
      t5 timestamptz, t6 timestamptz, t7 timestamptz, t8 timestamptz
    ) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
      SELECT (CASE
        WHEN t1 IS NULL THEN 0
        WHEN t2 IS NULL OR t2 - t1 >= %1$L::interval THEN 1
        WHEN t3 IS NULL OR t3 - t1 >= %1$L::interval THEN 2
        WHEN t4 IS NULL OR t4 - t1 >= %1$L::interval THEN 3
        WHEN t5 IS NULL OR t5 - t1 >= %1$L::interval THEN 4
        WHEN t6 IS NULL OR t6 - t1 >= %1$L::interval THEN 5
        WHEN t7 IS NULL OR t7 - t1 >= %1$L::interval THEN 6
        WHEN t8 IS NULL OR t8 - t1 >= %1$L::interval THEN 7
        ELSE 8 END)::smallint
    $body$$fn$, funnel_days || ' days');

  EXECUTE format($fn$
    CREATE OR REPLACE FUNCTION analytics_activated(t1 timestamptz, t8 timestamptz) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
      SELECT t1 IS NOT NULL AND t8 IS NOT NULL AND t8 - t1 < %1$L::interval
    $body$$fn$, activation_days || ' days');

  EXECUTE format($fn$
    CREATE FUNCTION analytics_windows(OUT funnel_window_days integer, OUT activation_window_days integer)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$ SELECT %1$s, %2$s $body$$fn$, funnel_days, activation_days);
END
$migration$;
