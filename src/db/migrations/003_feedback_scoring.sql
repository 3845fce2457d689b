-- 003: what the analyzer concluded about each feedback item, stored with it so
-- reports aggregate instead of re-scoring.
ALTER TABLE feedback
  ADD COLUMN sentiment        double precision NOT NULL DEFAULT 0,
  ADD COLUMN sentiment_label  text NOT NULL DEFAULT 'neutral' CHECK (sentiment_label IN ('positive', 'neutral', 'negative')),
  ADD COLUMN themes           text[] NOT NULL DEFAULT '{}',
  ADD COLUMN urgent           boolean NOT NULL DEFAULT false,
  ADD COLUMN urgent_reasons   text[] NOT NULL DEFAULT '{}',
  ADD COLUMN language         text;

CREATE INDEX feedback_urgent ON feedback (created_at) WHERE urgent;
CREATE INDEX feedback_user ON feedback (user_id, created_at);
