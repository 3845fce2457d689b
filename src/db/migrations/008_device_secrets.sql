-- A device id is an identifier, not a credential: creating a learner now also issues a
-- device secret (only its SHA-256 is stored), and resuming a device's learner needs that
-- secret or a live token of the learner. Learners created before this migration have no
-- secret: they resume with one of their live tokens and receive their secret then.
ALTER TABLE users ADD COLUMN device_secret_hash text;
