CREATE TABLE "archive"."api_tokens" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."api_tokens_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"token_sha256" "bytea" NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_tokens_role_check" CHECK ("archive"."api_tokens"."role" in ('reader', 'exporter', 'admin'))
);
--> statement-breakpoint
CREATE TABLE "archive"."audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject_type" text,
	"subject_id" text,
	"before" jsonb,
	"after" jsonb,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "archive"."exports" (
	"export_id" text PRIMARY KEY NOT NULL,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"filter" jsonb NOT NULL,
	"formats" text[] NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"progress" jsonb,
	"counts" jsonb,
	"bytes" bigint,
	"sha256" text,
	"path" text,
	"error" text,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "exports_state_check" CHECK ("archive"."exports"."state" in ('running', 'complete', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "archive"."job_runs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."job_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job" text NOT NULL,
	"instance" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text DEFAULT 'running' NOT NULL,
	"figures" jsonb,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "archive"."legal_hold_custodians" (
	"matter_id" text NOT NULL,
	"identifier" text NOT NULL,
	"email" text,
	"user_id" text,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "legal_hold_custodians_matter_id_identifier_pk" PRIMARY KEY("matter_id","identifier")
);
--> statement-breakpoint
CREATE TABLE "archive"."legal_hold_files" (
	"matter_id" text NOT NULL,
	"custodian" text NOT NULL,
	"file_key" text NOT NULL,
	"file_start_date" date,
	"file_end_date" date,
	"file_count" integer,
	"announced_bytes" bigint,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"stored_path" text,
	"stored_bytes" bigint,
	"sha256" text,
	"zip_entries" integer,
	"stored_at" timestamp with time zone,
	"raw" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "legal_hold_files_matter_id_custodian_file_key_pk" PRIMARY KEY("matter_id","custodian","file_key"),
	CONSTRAINT "legal_hold_files_state_check" CHECK ("archive"."legal_hold_files"."state" in ('pending', 'ready', 'downloading', 'stored', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "archive"."legal_hold_matters" (
	"matter_id" text PRIMARY KEY NOT NULL,
	"matter_name" text NOT NULL,
	"start_date" date,
	"end_date" date,
	"creation_date" date,
	"state" text DEFAULT 'active' NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_here_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"raw" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "legal_hold_matters_state_check" CHECK ("archive"."legal_hold_matters"."state" in ('active', 'deleted_in_zoom', 'deleted_here'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_name" ON "archive"."api_tokens" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash" ON "archive"."api_tokens" USING btree ("token_sha256");--> statement-breakpoint
CREATE INDEX "audit_log_subject" ON "archive"."audit_log" USING btree ("subject_type","subject_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "archive"."audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "exports_requested_at" ON "archive"."exports" USING btree ("requested_at");--> statement-breakpoint
CREATE INDEX "job_runs_job_started" ON "archive"."job_runs" USING btree ("job","started_at");--> statement-breakpoint
CREATE INDEX "legal_hold_custodians_email" ON "archive"."legal_hold_custodians" USING btree ("email");--> statement-breakpoint
CREATE INDEX "legal_hold_files_state" ON "archive"."legal_hold_files" USING btree ("state");--> statement-breakpoint
-- Hand-written: the audit log is append-only, like archived versions.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON archive.audit_log
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON archive.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE VIEW public.audit_log AS
SELECT a.id AS audit_id, a.at, a.actor, a.action, a.subject_type, a.subject_id, a.before, a.after, a.details
FROM archive.audit_log a;
