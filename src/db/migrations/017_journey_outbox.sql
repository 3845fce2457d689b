-- 017: the learning actions' own analytics events (learning/journey-events.ts) wait here.
-- A learning action writes its events as rows of this table in its own transaction (one
-- small insert, no rollup triggers, no shared counters: the action stays fast); the
-- outbox folder (analytics/journey-outbox.ts) moves them into the event store — deleting
-- and folding in one transaction, many learners' events per statement — moments after
-- the action commits, and at start-up whatever a crash left behind. Ids are the events'
-- deterministic ids, so a client's own copy and a second fold are one event.
CREATE TABLE analytics_outbox (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL,
  name        text NOT NULL,
  occurred_at timestamptz NOT NULL,
  properties  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_outbox_created ON analytics_outbox (created_at);
