-- 005: alert history, escalation state, the notification outbox, silences and
-- maintenance windows. Escalation is driven by the times stored here, never by
-- in-memory timers alone, so it survives restarts and runs once across instances.

CREATE TABLE alerts (
  id                 uuid PRIMARY KEY,
  -- rule id + labels: one open alert per fingerprint.
  fingerprint        text NOT NULL,
  rule_id            text NOT NULL,
  severity           text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
  source             text NOT NULL CHECK (source IN ('builtin', 'alertmanager', 'watchdog')),
  labels             jsonb NOT NULL DEFAULT '{}'::jsonb,
  summary            text NOT NULL,
  summary_zh         text,
  description        text,
  description_zh     text,
  value              text,
  threshold          text,
  runbook            text,
  status             text NOT NULL CHECK (status IN ('firing', 'acknowledged', 'resolved')),
  -- When the condition began (Alertmanager's startsAt) and when it fired here.
  started_at         timestamptz NOT NULL,
  fired_at           timestamptz NOT NULL,
  last_seen_at       timestamptz NOT NULL,
  -- The highest escalation level notified so far (0: none yet).
  escalation_level   integer NOT NULL DEFAULT 0,
  acknowledged_at    timestamptz,
  acknowledged_by    text,
  -- An acknowledged but unresolved alert is notified again at this time.
  remind_at          timestamptz,
  resolved_at        timestamptz,
  resolved_by        text
);
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (fingerprint) WHERE status <> 'resolved';
CREATE INDEX alerts_fired_at ON alerts (fired_at);
CREATE INDEX alerts_open ON alerts (status) WHERE status <> 'resolved';

-- The outbox: every message to send, claimed by one sender at a time; a sender that
-- dies mid-send leaves a claim that expires, so a message is sent at least once.
CREATE TABLE alert_notifications (
  id            bigserial PRIMARY KEY,
  alert_id      uuid REFERENCES alerts (id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('firing', 'escalation', 'reminder', 'resolved', 'test')),
  level         integer NOT NULL,
  contact       text NOT NULL,
  channel       text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  claimed_until timestamptz,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz
);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX alert_notifications_alert ON alert_notifications (alert_id, created_at);

-- Silences (time-boxed, with a reason) and maintenance windows (planned, all alerts
-- or some rules). Alerts keep being recorded; only notifications wait.
CREATE TABLE alert_silences (
  id          uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('silence', 'maintenance')),
  -- null: every rule
  rule_id     text,
  -- labels an alert must carry (all of them) to be silenced
  matchers    jsonb NOT NULL DEFAULT '{}'::jsonb,
  reason      text NOT NULL,
  created_by  text NOT NULL,
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_silences_active ON alert_silences (ends_at);
