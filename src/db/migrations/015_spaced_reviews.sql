-- 015: spaced reviews. A collected keyword carries its FSRS card (ts-fsrs: stability,
-- difficulty, reps, lapses, state, last review); next_review_at is the card's due time. A
-- learner's own due keywords are read through the primary key (at most 90 rows each); the
-- index is for the report's "reviews due now" across every learner.
ALTER TABLE keyword_progress ADD COLUMN srs jsonb;
ALTER TABLE keyword_progress ADD COLUMN reviews integer NOT NULL DEFAULT 0;
CREATE INDEX keyword_progress_due ON keyword_progress (next_review_at) WHERE next_review_at IS NOT NULL;
