-- 013: when L1 was paged, apart from when the problem started (started_at: Alertmanager's
-- startsAt, or the first pending evaluation of a built-in rule) and when SmarTalk opened the
-- alert (fired_at). Escalation counts from the L1 page, as PagerDuty's does: an alert that
-- fired inside a silence pages L1 when the silence ends, and L2 its delay after that.
ALTER TABLE alerts ADD COLUMN paged_at timestamptz;
UPDATE alerts a SET paged_at = (
  SELECT min(n.created_at) FROM alert_notifications n WHERE n.alert_id = a.id AND n.level = 1)
WHERE a.escalation_level >= 1;
