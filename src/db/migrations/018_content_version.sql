-- 018: a version number for the content, bumped in the same transaction as any change to
-- the content tables. Every instance reads it every few seconds (learning/content.ts) and
-- reloads its cached catalog when it moved: a content change is served by all instances
-- within seconds, not at each one's next minute-long reload. In the changing transaction,
-- so an instance never sees the new number before the new content.
CREATE TABLE content_version (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version   bigint NOT NULL
);
INSERT INTO content_version (version) VALUES (1);

CREATE FUNCTION bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE content_version SET version = version + 1;
  RETURN NULL;
END $$;

CREATE TRIGGER interests_content_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON interests
  FOR EACH STATEMENT EXECUTE FUNCTION bump_content_version();
CREATE TRIGGER dramas_content_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dramas
  FOR EACH STATEMENT EXECUTE FUNCTION bump_content_version();
CREATE TRIGGER keywords_content_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON keywords
  FOR EACH STATEMENT EXECUTE FUNCTION bump_content_version();
CREATE TRIGGER vtpr_clips_content_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON vtpr_clips
  FOR EACH STATEMENT EXECUTE FUNCTION bump_content_version();
