-- 019: the label of an item's text read alone, before its rating and emotion are weighed in
-- (feedback/sentiment.ts). The report sets it against the learner's own stars: how often the
-- analyzer's reading of real learners' text agrees with what they rated, per language — the
-- sentiment figures' accuracy measured every day on text nobody wrote for the analyzer
-- (docs/sentiment.md, "Text written by others"). Null for items without text, and for items
-- stored before this column.
ALTER TABLE feedback ADD COLUMN text_label text CHECK (text_label IN ('positive', 'neutral', 'negative'));
