CREATE SCHEMA "archive";
--> statement-breakpoint
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
CREATE TABLE "archive"."item_errors" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."item_errors_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"source" text NOT NULL,
	"session_id" text COLLATE "C",
	"month_start" date,
	"reason" text NOT NULL,
	"raw_text" text NOT NULL,
	"raw_sha256" "bytea" NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"times_seen" integer DEFAULT 1 NOT NULL,
	"sync_run_id" bigint
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
CREATE TABLE "archive"."message_versions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."message_versions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"session_id" text COLLATE "C" NOT NULL,
	"message_id" text COLLATE "C" NOT NULL,
	"kind" text COLLATE "C" NOT NULL,
	"action_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"sender" text,
	"sender_member_id" text,
	"sender_display_name" text,
	"receiver" text,
	"body" text,
	"reply_main_message_id" text,
	"files" jsonb,
	"raw" jsonb NOT NULL,
	"content_sha256" "bytea" NOT NULL,
	"sync_run_id" bigint,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "message_versions_kind_check" CHECK ("archive"."message_versions"."kind" in ('original', 'edited', 'deleted'))
);
--> statement-breakpoint
CREATE TABLE "archive"."session_snapshots" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."session_snapshots_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"session_id" text COLLATE "C" NOT NULL,
	"raw" jsonb NOT NULL,
	"content_sha256" "bytea" NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sync_run_id" bigint
);
--> statement-breakpoint
CREATE TABLE "archive"."sessions" (
	"session_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"type" text,
	"name" text,
	"channel_id" text,
	"member_emails" text[],
	"status" text,
	"has_external_member" boolean,
	"last_message_sent_at" timestamp with time zone,
	"raw" jsonb NOT NULL,
	"first_archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_listed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_archived_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "archive"."sync_runs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "archive"."sync_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"mode" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text DEFAULT 'running' NOT NULL,
	"horizon_start" date NOT NULL,
	"horizon_end" date NOT NULL,
	"api_calls" integer DEFAULT 0 NOT NULL,
	"units_attempted" integer DEFAULT 0 NOT NULL,
	"units_failed" integer DEFAULT 0 NOT NULL,
	"versions_seen" bigint DEFAULT 0 NOT NULL,
	"versions_added" bigint DEFAULT 0 NOT NULL,
	"error" text,
	CONSTRAINT "sync_runs_mode_check" CHECK ("archive"."sync_runs"."mode" in ('incremental', 'all'))
);
--> statement-breakpoint
CREATE TABLE "archive"."sync_units" (
	"month_start" date NOT NULL,
	"session_id" text COLLATE "C" NOT NULL,
	"covered_through" date,
	"swept_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"resweep_requested_at" timestamp with time zone,
	"sweep_from" date,
	"sweep_to" date,
	"sweep_started_at" timestamp with time zone,
	"resume_token" text,
	"resume_token_at" timestamp with time zone,
	"outcome" text,
	"sweeps" integer DEFAULT 0 NOT NULL,
	"pages_fetched" bigint DEFAULT 0 NOT NULL,
	"versions_seen" bigint DEFAULT 0 NOT NULL,
	"versions_added" bigint DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_units_month_start_session_id_pk" PRIMARY KEY("month_start","session_id")
);
--> statement-breakpoint
CREATE TABLE "archive"."sync_windows" (
	"month_start" date PRIMARY KEY NOT NULL,
	"month_end" date NOT NULL,
	"listed_through" date,
	"listed_at" timestamp with time zone,
	"sessions_listed" integer DEFAULT 0 NOT NULL,
	"completed_at" timestamp with time zone,
	"expired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_name" ON "archive"."api_tokens" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash" ON "archive"."api_tokens" USING btree ("token_sha256");--> statement-breakpoint
CREATE INDEX "audit_log_subject" ON "archive"."audit_log" USING btree ("subject_type","subject_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_at" ON "archive"."audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "exports_requested_at" ON "archive"."exports" USING btree ("requested_at");--> statement-breakpoint
CREATE UNIQUE INDEX "item_errors_identity" ON "archive"."item_errors" USING btree ("source","raw_sha256");--> statement-breakpoint
CREATE INDEX "job_runs_job_started" ON "archive"."job_runs" USING btree ("job","started_at");--> statement-breakpoint
CREATE INDEX "legal_hold_custodians_email" ON "archive"."legal_hold_custodians" USING btree ("email");--> statement-breakpoint
CREATE INDEX "legal_hold_files_state" ON "archive"."legal_hold_files" USING btree ("state");--> statement-breakpoint
CREATE UNIQUE INDEX "message_versions_identity" ON "archive"."message_versions" USING btree ("session_id","message_id","kind","action_at","content_sha256");--> statement-breakpoint
CREATE INDEX "message_versions_transcript" ON "archive"."message_versions" USING btree ("session_id","sent_at","message_id","action_at");--> statement-breakpoint
CREATE INDEX "message_versions_sender_time" ON "archive"."message_versions" USING btree (lower("sender"),"sent_at");--> statement-breakpoint
CREATE INDEX "message_versions_receiver_time" ON "archive"."message_versions" USING btree (lower("receiver"),"sent_at");--> statement-breakpoint
CREATE UNIQUE INDEX "session_snapshots_identity" ON "archive"."session_snapshots" USING btree ("session_id","content_sha256");--> statement-breakpoint
CREATE INDEX "sync_units_session" ON "archive"."sync_units" USING btree ("session_id");