-- 010: the ops log (运维日志) takes tags, so people can file an entry under a topic
-- (`smartalk opslog add "…" --tag deploy`) and list by it; listing by kind and time
-- (every scheduled run, alert and start-up writes one) gets its own index.
ALTER TABLE ops_log ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX ops_log_tags ON ops_log USING gin (tags);
CREATE INDEX ops_log_kind_at ON ops_log (kind, at);
