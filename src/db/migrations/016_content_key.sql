-- 016: a secret per install. The content's public names are keyed hashes of it
-- (learning/content-key.ts): clip ids, the order of a clue's four clips and media file
-- names, so nothing in the API says which clip is the right one. Kept in the database
-- so every instance agrees and a backup carries it; made of two gen_random_uuid()
-- (a strong random source) hashed together.
CREATE TABLE install_secrets (
  name text PRIMARY KEY,
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO install_secrets (name, secret)
VALUES ('content', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'));
