-- Review console (issue 14): browser sessions opened with an API token (src/console/session-store.ts),
-- and an index that lets a search walk versions in send order (src/read-model/message-search.ts).
CREATE TABLE "archive"."console_sessions" (
	"session_sha256" "bytea" PRIMARY KEY NOT NULL,
	"token_id" bigint NOT NULL,
	"csrf_token" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "archive"."console_sessions" ADD CONSTRAINT "console_sessions_token_id_api_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "archive"."api_tokens"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_sessions_expires_at" ON "archive"."console_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "console_sessions_token" ON "archive"."console_sessions" USING btree ("token_id");--> statement-breakpoint
CREATE INDEX "message_versions_sent_at" ON "archive"."message_versions" USING btree ("sent_at","id");--> statement-breakpoint
-- A search for a common word (5% of rows) ordered by send time: with the (sent_at, id) index the
-- planner walks versions in order and filters, instead of sorting every GIN match. It judges a word
-- by the most-common-lexeme statistics of the full-text index's expression; a larger target keeps
-- more lexemes of middling frequency there. Rare terms are estimated at 0.5% whatever the target,
-- so searchVersions counts a term's matches before letting the planner walk (docs/benchmarks.md,
-- "Review console").
ALTER INDEX "archive"."message_versions_body_fts" ALTER COLUMN 1 SET STATISTICS 1000;
