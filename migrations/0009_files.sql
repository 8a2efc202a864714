CREATE TABLE "archive"."file_contents" (
	"sha256" text COLLATE "C" PRIMARY KEY NOT NULL,
	"bytes" bigint NOT NULL,
	"stored_path" text NOT NULL,
	"stored_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "archive"."file_refs" (
	"version_id" bigint NOT NULL,
	"ordinal" integer NOT NULL,
	"session_id" text COLLATE "C" NOT NULL,
	"message_id" text COLLATE "C" NOT NULL,
	"kind" text COLLATE "C" NOT NULL,
	"file_id" text COLLATE "C",
	"file_name" text,
	"declared_bytes" bigint,
	"referenced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "file_refs_version_id_ordinal_pk" PRIMARY KEY("version_id","ordinal")
);
--> statement-breakpoint
CREATE TABLE "archive"."files" (
	"file_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"file_name" text,
	"declared_bytes" bigint,
	"download_url" text,
	"zoom_length" bigint,
	"zoom_digest" text,
	"info_fetched_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_attempt_at" timestamp with time zone,
	"next_attempt_at" timestamp with time zone,
	"first_missing_at" timestamp with time zone,
	"sha256" text,
	"digest_mismatch" boolean DEFAULT false NOT NULL,
	"size_mismatch" boolean DEFAULT false NOT NULL,
	"stored_at" timestamp with time zone,
	"first_referenced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "files_state_check" CHECK ("archive"."files"."state" in ('pending', 'stored', 'failed', 'gone', 'too_large', 'skipped')),
	CONSTRAINT "files_stored_check" CHECK (("archive"."files"."state" = 'stored') = ("archive"."files"."sha256" IS NOT NULL))
);
--> statement-breakpoint
CREATE INDEX "file_refs_file" ON "archive"."file_refs" USING btree ("file_id");--> statement-breakpoint
CREATE INDEX "file_refs_message" ON "archive"."file_refs" USING btree ("session_id","message_id");--> statement-breakpoint
CREATE INDEX "files_due" ON "archive"."files" USING btree ("next_attempt_at") WHERE "archive"."files"."state" IN ('pending', 'failed');--> statement-breakpoint
CREATE INDEX "files_sha256" ON "archive"."files" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "message_versions_with_files" ON "archive"."message_versions" USING btree ("id") WHERE "archive"."message_versions"."files" IS NOT NULL;--> statement-breakpoint

-- ---------------------------------------------------------------------------------------------
-- Hand-written below: the guards that keep file evidence append-only, and the read-model view.

-- Stored content is evidence: its row is never changed or removed (the file under
-- ARCHIVE_DATA_DIR/files/ is named by the same SHA-256 and never overwritten).
CREATE TRIGGER file_contents_append_only BEFORE UPDATE OR DELETE ON archive.file_contents
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER file_contents_no_truncate BEFORE TRUNCATE ON archive.file_contents
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
-- A reference records what an archived version said; it follows the version, never changes.
CREATE TRIGGER file_refs_no_update BEFORE UPDATE ON archive.file_refs
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER file_refs_no_truncate BEFORE TRUNCATE ON archive.file_refs
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

-- A file once stored stays stored with the same content: a later download (a refreshed URL, a
-- changed digest) can never replace what was captured, and a stored file is never deleted.
CREATE FUNCTION archive.files_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'DELETE on archive.files is not allowed: file capture records are kept'
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.state = 'stored' AND (NEW.state <> 'stored' OR NEW.sha256 IS DISTINCT FROM OLD.sha256 OR NEW.stored_at IS DISTINCT FROM OLD.stored_at) THEN
    RAISE EXCEPTION 'file % is stored (sha256 %); its content is never replaced', OLD.file_id, OLD.sha256
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER files_guard BEFORE UPDATE OR DELETE ON archive.files
  FOR EACH ROW EXECUTE FUNCTION archive.files_guard();
--> statement-breakpoint
CREATE TRIGGER files_no_truncate BEFORE TRUNCATE ON archive.files
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

-- chat_files: one row per file entry of an archived version (deleted messages included), with the
-- capture state of its file and the stored content (README, "The SQL read model"). A version
-- disposed of by retention takes its rows out of the view. state 'skipped': the entry had no
-- usable file_id; 'pending': not captured yet (or not referenced by the capture stage yet).
CREATE VIEW public.chat_files AS
SELECT
  r.session_id,
  r.message_id,
  r.version_id,
  r.kind AS version_kind,
  v.action_at,
  v.sent_at,
  r.ordinal,
  r.file_id,
  r.file_name,
  r.declared_bytes AS file_size,
  CASE WHEN r.file_id IS NULL THEN 'skipped' ELSE coalesce(f.state, 'pending') END AS state,
  coalesce(f.attempts, 0) AS attempts,
  f.last_error,
  f.last_attempt_at,
  f.first_missing_at,
  f.zoom_length,
  f.zoom_digest,
  f.sha256,
  c.bytes AS stored_bytes,
  c.stored_path,
  f.stored_at,
  coalesce(f.digest_mismatch, false) AS digest_mismatch,
  coalesce(f.size_mismatch, false) AS size_mismatch
FROM archive.file_refs r
JOIN archive.message_versions v ON v.id = r.version_id
LEFT JOIN archive.files f ON f.file_id = r.file_id
LEFT JOIN archive.file_contents c ON c.sha256 = f.sha256;
--> statement-breakpoint

-- held_files: the files of every held version (held_messages covers their files too): one row per
-- (matter, custodian, file entry), with the capture state and content of chat_files.
CREATE VIEW public.held_files AS
SELECT h.matter_id, h.matter_name, h.matter_state, h.custodian, f.*
FROM public.held_messages h
JOIN public.chat_files f ON f.version_id = h.version_id;
