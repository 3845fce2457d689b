-- 014: the per-day event counters in shards, as the hourly rollups are (migration 006): a
-- learning action now records its events in its own transaction (learning/journey-events.ts),
-- and every learner's answer of the day bumps the same few counters (event:keyword_attempt,
-- keyword_attempt:correct …). One row per counter held each transaction's lock until commit,
-- queueing every answer behind the others; eight rows, picked by the backend, let eight
-- commit at once. Readers already sum.
ALTER TABLE analytics_daily_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE analytics_daily_counts DROP CONSTRAINT analytics_daily_counts_pkey;
ALTER TABLE analytics_daily_counts ADD PRIMARY KEY (day, counter, shard);
