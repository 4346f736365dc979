-- crmkit schema, version 6: saved segments changed by an erasure.
-- crm-import erase replaces an erased person's e-mail, phone or external
-- id where a saved expression, a description or a tracked run's
-- expression names them with "<erased>", and records when; crm-segment
-- then warns that the segment may no longer select what it did. Saving
-- the segment again (--save) clears the mark.
ALTER TABLE segments ADD COLUMN scrubbed_at TEXT;
ALTER TABLE segment_runs ADD COLUMN scrubbed_at TEXT;
