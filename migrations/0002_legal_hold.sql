-- Hand-written: legal-hold read model, triggers and indexes.

-- held_messages: every archived message version covered by a matter that still holds — one row per
-- (matter, custodian, version). A custodian covers a session when they sent or received a message
-- in it, or are listed among its members (Zoom lists members for 1:1 chats only, so for group chats
-- and channels participation is what the archive can know). A version is covered when its message
-- was sent inside the matter's dates, or when the version itself (an edit, a deletion) happened
-- inside them — a change made during the hold is held even when the message is older (UTC days,
-- both inclusive; no end date = open-ended; no start date = the matter's creation date, as Zoom
-- does). Matters deleted in Zoom keep holding (what was
-- held stays held); only a matter deleted through this project releases its hold. Any future
-- retention job must keep everything this view returns.
CREATE VIEW public.held_messages AS
WITH custodian_sessions AS (
  SELECT c.matter_id, c.identifier AS custodian, v.session_id
  FROM archive.legal_hold_custodians c
  JOIN archive.message_versions v ON lower(v.sender) = lower(c.email)
  UNION
  SELECT c.matter_id, c.identifier, v.session_id
  FROM archive.legal_hold_custodians c
  JOIN archive.message_versions v ON lower(v.receiver) = lower(c.email)
  UNION
  SELECT c.matter_id, c.identifier, s.session_id
  FROM archive.legal_hold_custodians c
  JOIN archive.sessions s ON EXISTS (SELECT 1 FROM unnest(s.member_emails) AS e WHERE lower(e) = lower(c.email))
)
SELECT
  m.matter_id,
  m.matter_name,
  m.state AS matter_state,
  cs.custodian,
  v.*
FROM archive.legal_hold_matters m
JOIN custodian_sessions cs ON cs.matter_id = m.matter_id
JOIN public.chat_message_versions v ON v.session_id = cs.session_id
CROSS JOIN LATERAL (
  SELECT (coalesce(m.start_date, m.creation_date, '-infinity'::date)::timestamp AT TIME ZONE 'UTC') AS held_from,
         CASE WHEN m.end_date IS NULL THEN 'infinity'::timestamptz ELSE ((m.end_date + 1)::timestamp AT TIME ZONE 'UTC') END AS held_until
) d
WHERE m.state IN ('active', 'deleted_in_zoom')
  AND ((coalesce(v.sent_at, v.action_at) >= d.held_from AND coalesce(v.sent_at, v.action_at) < d.held_until)
    OR (v.action_at >= d.held_from AND v.action_at < d.held_until));
--> statement-breakpoint

-- ---------------------------------------------------------------------------------------------
-- Legal-hold views, triggers and functions (matters, custodians, files) go below this line.

-- Legal-hold records are never forgotten: a matter, a custodian or a file Zoom prepared can change
-- state, but its row can never be deleted. A file in state 'stored' is immutable in what proves it
-- (where it is, its size, its hash, its entry count, when it was stored): the copy on disk must keep
-- matching the row that vouches for it.
CREATE FUNCTION archive.reject_legal_hold_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on %.% is not allowed: legal-hold records are never forgotten (change the state instead)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$;
--> statement-breakpoint
CREATE FUNCTION archive.guard_legal_hold_matter() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.matter_id IS DISTINCT FROM OLD.matter_id THEN
    RAISE EXCEPTION 'the id of legal-hold matter % cannot change', OLD.matter_id USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE FUNCTION archive.guard_legal_hold_custodian() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.matter_id IS DISTINCT FROM OLD.matter_id OR NEW.identifier IS DISTINCT FROM OLD.identifier THEN
    RAISE EXCEPTION 'custodian % of legal-hold matter % cannot be re-keyed', OLD.identifier, OLD.matter_id USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE FUNCTION archive.guard_legal_hold_file() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.matter_id IS DISTINCT FROM OLD.matter_id OR NEW.custodian IS DISTINCT FROM OLD.custodian OR NEW.file_key IS DISTINCT FROM OLD.file_key THEN
      RAISE EXCEPTION 'legal-hold file % of matter % cannot be re-keyed', OLD.file_key, OLD.matter_id USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.state = 'stored' AND (
         NEW.state IS DISTINCT FROM OLD.state
      OR NEW.stored_path IS DISTINCT FROM OLD.stored_path
      OR NEW.stored_bytes IS DISTINCT FROM OLD.stored_bytes
      OR NEW.sha256 IS DISTINCT FROM OLD.sha256
      OR NEW.zip_entries IS DISTINCT FROM OLD.zip_entries
      OR NEW.stored_at IS DISTINCT FROM OLD.stored_at) THEN
      RAISE EXCEPTION 'legal-hold file % of matter % is stored: its state, path, size, hash, entry count and time cannot change', OLD.file_key, OLD.matter_id
        USING ERRCODE = 'restrict_violation';
    END IF;
  END IF;
  IF NEW.state = 'stored' AND (NEW.stored_path IS NULL OR NEW.stored_bytes IS NULL OR NEW.sha256 IS NULL OR NEW.stored_at IS NULL) THEN
    RAISE EXCEPTION 'legal-hold file % of matter % cannot be stored without path, size, hash and time', NEW.file_key, NEW.matter_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER legal_hold_matters_no_delete BEFORE DELETE ON archive.legal_hold_matters
  FOR EACH ROW EXECUTE FUNCTION archive.reject_legal_hold_delete();
--> statement-breakpoint
CREATE TRIGGER legal_hold_matters_no_truncate BEFORE TRUNCATE ON archive.legal_hold_matters
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_legal_hold_delete();
--> statement-breakpoint
CREATE TRIGGER legal_hold_matters_guard BEFORE UPDATE ON archive.legal_hold_matters
  FOR EACH ROW EXECUTE FUNCTION archive.guard_legal_hold_matter();
--> statement-breakpoint
CREATE TRIGGER legal_hold_custodians_no_delete BEFORE DELETE ON archive.legal_hold_custodians
  FOR EACH ROW EXECUTE FUNCTION archive.reject_legal_hold_delete();
--> statement-breakpoint
CREATE TRIGGER legal_hold_custodians_no_truncate BEFORE TRUNCATE ON archive.legal_hold_custodians
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_legal_hold_delete();
--> statement-breakpoint
CREATE TRIGGER legal_hold_custodians_guard BEFORE UPDATE ON archive.legal_hold_custodians
  FOR EACH ROW EXECUTE FUNCTION archive.guard_legal_hold_custodian();
--> statement-breakpoint
CREATE TRIGGER legal_hold_files_no_delete BEFORE DELETE ON archive.legal_hold_files
  FOR EACH ROW EXECUTE FUNCTION archive.reject_legal_hold_delete();
--> statement-breakpoint
CREATE TRIGGER legal_hold_files_no_truncate BEFORE TRUNCATE ON archive.legal_hold_files
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_legal_hold_delete();
--> statement-breakpoint
CREATE TRIGGER legal_hold_files_guard BEFORE INSERT OR UPDATE ON archive.legal_hold_files
  FOR EACH ROW EXECUTE FUNCTION archive.guard_legal_hold_file();
--> statement-breakpoint

-- A matter's files, by state: the download queue and the per-matter counts read this.
CREATE INDEX legal_hold_files_matter_state ON archive.legal_hold_files (matter_id, state);
--> statement-breakpoint

-- legal_hold_matters: one row per matter ever seen, deleted ones included (state says which).
-- state: active | deleted_in_zoom (gone from Zoom's list: what was held stays held) |
-- deleted_here (deleted through this project: the hold is released). custodians lists the
-- identifiers files are listed by; files_* count the matter's zip files by state.
CREATE VIEW public.legal_hold_matters AS
SELECT
  m.matter_id,
  m.matter_name,
  m.state,
  m.start_date,
  m.end_date,
  m.creation_date,
  coalesce(c.custodians, '{}'::text[]) AS custodians,
  coalesce(c.custodian_emails, '{}'::text[]) AS custodian_emails,
  m.first_seen_at,
  m.last_seen_at,
  m.created_here_at,
  m.deleted_at,
  coalesce(f.files, 0) AS files,
  coalesce(f.files_pending, 0) AS files_pending,
  coalesce(f.files_ready, 0) AS files_ready,
  coalesce(f.files_downloading, 0) AS files_downloading,
  coalesce(f.files_stored, 0) AS files_stored,
  coalesce(f.files_failed, 0) AS files_failed,
  coalesce(f.stored_bytes, 0) AS stored_bytes,
  m.updated_at
FROM archive.legal_hold_matters m
LEFT JOIN LATERAL (
  SELECT array_agg(lc.identifier ORDER BY lc.identifier) AS custodians,
         array_agg(lc.email ORDER BY lc.identifier) FILTER (WHERE lc.email IS NOT NULL) AS custodian_emails
  FROM archive.legal_hold_custodians lc
  WHERE lc.matter_id = m.matter_id
) c ON true
LEFT JOIN LATERAL (
  SELECT count(*)::int AS files,
         (count(*) FILTER (WHERE lf.state = 'pending'))::int AS files_pending,
         (count(*) FILTER (WHERE lf.state = 'ready'))::int AS files_ready,
         (count(*) FILTER (WHERE lf.state = 'downloading'))::int AS files_downloading,
         (count(*) FILTER (WHERE lf.state = 'stored'))::int AS files_stored,
         (count(*) FILTER (WHERE lf.state = 'failed'))::int AS files_failed,
         sum(lf.stored_bytes)::bigint AS stored_bytes
  FROM archive.legal_hold_files lf
  WHERE lf.matter_id = m.matter_id
) f ON true;
--> statement-breakpoint

-- legal_hold_custodians: who each matter holds, as Zoom reports them (identifier = the email when
-- Zoom gives one, else the user id).
CREATE VIEW public.legal_hold_custodians AS
SELECT lc.matter_id, lc.identifier, lc.email, lc.user_id, lc.first_seen_at
FROM archive.legal_hold_custodians lc;
--> statement-breakpoint

-- legal_hold_files: every zip Zoom prepared for a matter and custodian, and what became of our copy.
-- state: pending (Zoom is preparing it) | ready | downloading | stored (on disk, verified) | failed
-- (retried on later runs; last_error says why). stored_path is relative to ARCHIVE_DATA_DIR;
-- sha256 is lower-case hex of the stored bytes. unready_hours: how long a pending file has waited.
CREATE VIEW public.legal_hold_files AS
SELECT
  lf.matter_id,
  m.matter_name,
  m.state AS matter_state,
  lf.custodian,
  lf.file_key,
  lf.state,
  lf.file_start_date,
  lf.file_end_date,
  lf.file_count,
  lf.announced_bytes,
  lf.stored_bytes,
  lf.sha256,
  lf.zip_entries,
  lf.stored_path,
  lf.stored_at,
  lf.attempts,
  lf.last_error,
  lf.last_error_at,
  lf.first_seen_at,
  lf.last_seen_at,
  lf.ready_at,
  CASE WHEN lf.state = 'pending' THEN round((extract(epoch FROM now() - lf.first_seen_at) / 3600)::numeric, 1)::double precision END AS unready_hours,
  lf.raw,
  lf.updated_at
FROM archive.legal_hold_files lf
LEFT JOIN archive.legal_hold_matters m ON m.matter_id = lf.matter_id;
