-- 004: hourly rollups of feedback, kept in the same transaction as each insert, so
-- the report sums hours instead of scanning every item of its window. Hours are
-- UTC hours; a day in SMARTALK_TZ is exactly 24 of them for whole-hour offsets.
CREATE TABLE feedback_hourly (
  hour           timestamptz NOT NULL,
  type           text NOT NULL,
  label          text NOT NULL,
  emotion        text NOT NULL DEFAULT '',
  items          integer NOT NULL,
  with_text      integer NOT NULL,
  ratings        integer NOT NULL,
  rating_sum     integer NOT NULL,
  sentiment_sum  double precision NOT NULL,
  urgent         integer NOT NULL,
  PRIMARY KEY (hour, type, label, emotion)
);

CREATE TABLE feedback_theme_hourly (
  hour   timestamptz NOT NULL,
  theme  text NOT NULL,
  label  text NOT NULL,
  items  integer NOT NULL,
  PRIMARY KEY (hour, theme, label)
);

INSERT INTO feedback_hourly
SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', type, sentiment_label, coalesce(emotion, ''),
  count(*), count(*) FILTER (WHERE coalesce(text, '') <> ''), count(rating), coalesce(sum(rating), 0), sum(sentiment),
  count(*) FILTER (WHERE urgent)
FROM feedback GROUP BY 1, 2, 3, 4;

INSERT INTO feedback_theme_hourly
SELECT date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', theme, sentiment_label, count(*)
FROM feedback, unnest(themes) AS theme GROUP BY 1, 2, 3;
