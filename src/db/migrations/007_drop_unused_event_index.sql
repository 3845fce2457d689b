-- No query reads events by user: the reports read the derived state, and a learner's
-- own data comes from their progress tables. An index nobody reads is paid for on
-- every ingested event, so it goes; the runbook's timestamp index stays.
DROP INDEX idx_analytics_events_user;
