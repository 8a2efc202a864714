-- Hand-written: exports read model, guards and indexes.

-- An export row is a record of what was handed out: once it is complete or failed it never
-- changes, and what was asked (id, who, when, filter, formats) never changes at all. While it runs,
-- only its progress and outcome move. updated_at follows every change.
CREATE FUNCTION archive.exports_guard_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN ('complete', 'failed') THEN
    RAISE EXCEPTION 'export % is % and can no longer change', OLD.export_id, OLD.state
      USING ERRCODE = 'restrict_violation',
            HINT = 'A finished export is a record of what was handed out; start a new export instead.';
  END IF;
  IF NEW.export_id IS DISTINCT FROM OLD.export_id OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
     OR NEW.requested_at IS DISTINCT FROM OLD.requested_at OR NEW.filter IS DISTINCT FROM OLD.filter
     OR NEW.formats IS DISTINCT FROM OLD.formats THEN
    RAISE EXCEPTION 'what export % asked for cannot change', OLD.export_id USING ERRCODE = 'restrict_violation';
  END IF;
  IF NEW.state = 'complete' AND (NEW.sha256 IS NULL OR NEW.bytes IS NULL OR NEW.counts IS NULL OR NEW.path IS NULL) THEN
    RAISE EXCEPTION 'a complete export needs its sha256, bytes, counts and path' USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER exports_guard_update BEFORE UPDATE ON archive.exports
  FOR EACH ROW EXECUTE FUNCTION archive.exports_guard_update();
--> statement-breakpoint
-- Export rows are part of the audit trail, like the audit log itself.
CREATE TRIGGER exports_no_delete BEFORE DELETE ON archive.exports
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER exports_no_truncate BEFORE TRUNCATE ON archive.exports
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
-- The stale-export sweep at every export start looks for running rows only.
CREATE INDEX exports_running ON archive.exports (requested_at) WHERE state = 'running';
--> statement-breakpoint
-- export_bundles: every export asked for and what became of it (README, "Export bundles").
-- path is relative to ARCHIVE_DATA_DIR unless absolute; sha256 is the bundle file's, lower-case hex.
CREATE VIEW public.export_bundles AS
SELECT
  e.export_id,
  e.requested_by,
  e.requested_at,
  e.filter,
  e.filter ->> 'kind' AS filter_kind,
  e.formats,
  e.state,
  e.progress,
  e.counts,
  (e.counts ->> 'versions')::bigint AS versions,
  e.bytes,
  e.sha256,
  e.path,
  e.error,
  e.finished_at,
  e.finished_at - e.requested_at AS duration,
  e.updated_at
FROM archive.exports e;
