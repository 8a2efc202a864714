-- Activity-driven sync: a routine pass reads only the sessions a listing showed news for; every
-- known session is read once per month after the month settles (spread over days); sessions seen
-- for the first time get every window once. See README, "How a sync works".

-- A session's units in every window of the horizon are created once, when it is first seen (its
-- backfill). Sessions archived before this migration already have them: the previous engine gave
-- every known session a unit in every window on every pass.
ALTER TABLE archive.sessions ADD COLUMN units_created_at timestamp with time zone;
--> statement-breakpoint
UPDATE archive.sessions SET units_created_at = first_archived_at;
--> statement-breakpoint
CREATE INDEX sessions_without_units ON archive.sessions (session_id) WHERE units_created_at IS NULL;
--> statement-breakpoint

-- full_swept_at: start of the last read that covered the whole window (as far as the horizon
--   allowed) through its last day so far; a settled-month or interim sweep is done for a unit once
--   this is after the sweep began.
-- listed_last_message_at: the latest last_message_sent_time a listing of this window showed.
-- swept_last_message_at: listed_last_message_at as of the last finished read of the unit.
-- news_pending_since: a listing showed something the archive has not read yet (a newer
--   last_message_sent_time, none at all, or the session listed without a send in the listed days);
--   cleared by a read that started after it.
ALTER TABLE archive.sync_units
  ADD COLUMN full_swept_at timestamp with time zone,
  ADD COLUMN listed_last_message_at timestamp with time zone,
  ADD COLUMN swept_last_message_at timestamp with time zone,
  ADD COLUMN news_pending_since timestamp with time zone;
--> statement-breakpoint
UPDATE archive.sync_units SET full_swept_at = completed_at WHERE completed_at IS NOT NULL;
--> statement-breakpoint
CREATE INDEX sync_units_due ON archive.sync_units (month_start, session_id)
  WHERE resweep_requested_at IS NOT NULL OR news_pending_since IS NOT NULL;
--> statement-breakpoint
CREATE INDEX sync_units_incomplete ON archive.sync_units (month_start, session_id) WHERE completed_at IS NULL;
--> statement-breakpoint

-- When every known session was given a unit in the window (for its settled-month sweep, or an
-- interim sweep of the open month).
ALTER TABLE archive.sync_windows ADD COLUMN units_ensured_at timestamp with time zone;
--> statement-breakpoint

-- Report calls (HTTP attempts) per kind: listing, activity, backfill, settled, interim, resweep;
-- and unit reads per kind (the cost plan's calls per read).
ALTER TABLE archive.sync_runs
  ADD COLUMN calls jsonb DEFAULT '{}'::jsonb NOT NULL,
  ADD COLUMN reads jsonb DEFAULT '{}'::jsonb NOT NULL,
  ADD COLUMN sessions_new integer DEFAULT 0 NOT NULL,
  ADD COLUMN listing_misses integer DEFAULT 0 NOT NULL;
--> statement-breakpoint

-- Calibration: a version that a settled-month (or interim) sweep found in a unit no activity pass
-- had news for. Each row measures Zoom's real listing behaviour on this account.
CREATE TABLE archive.listing_misses (
  id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
  version_id bigint NOT NULL,
  session_id text COLLATE "C" NOT NULL,
  month_start date NOT NULL,
  message_id text COLLATE "C" NOT NULL,
  kind text COLLATE "C" NOT NULL,
  action_at timestamp with time zone NOT NULL,
  read_kind text NOT NULL,
  found_at timestamp with time zone DEFAULT now() NOT NULL,
  sync_run_id bigint,
  CONSTRAINT listing_misses_read_kind_check CHECK (read_kind in ('settled', 'interim')),
  CONSTRAINT listing_misses_kind_check CHECK (kind in ('original', 'edited', 'deleted'))
);
--> statement-breakpoint
CREATE INDEX listing_misses_found_at ON archive.listing_misses (found_at);
--> statement-breakpoint
CREATE TRIGGER listing_misses_append_only BEFORE UPDATE OR DELETE ON archive.listing_misses
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

CREATE OR REPLACE VIEW public.sync_units AS
SELECT
  su.month_start,
  su.session_id,
  su.covered_through,
  su.swept_at,
  su.completed_at,
  su.outcome,
  su.sweeps,
  su.pages_fetched,
  su.versions_seen,
  su.versions_added,
  su.failures,
  su.last_error,
  su.last_error_at,
  su.full_swept_at,
  su.listed_last_message_at,
  su.news_pending_since
FROM archive.sync_units su;
--> statement-breakpoint

CREATE OR REPLACE VIEW public.sync_runs AS
SELECT
  r.id AS run_id,
  r.mode,
  r.started_at,
  r.finished_at,
  r.outcome,
  r.horizon_start,
  r.horizon_end,
  r.api_calls,
  r.units_attempted,
  r.units_failed,
  r.versions_seen,
  r.versions_added,
  r.error,
  r.calls,
  r.reads,
  r.sessions_new,
  r.listing_misses
FROM archive.sync_runs r;
--> statement-breakpoint

CREATE VIEW public.sync_listing_misses AS
SELECT
  m.id AS miss_id,
  m.found_at,
  m.session_id,
  m.month_start,
  m.message_id,
  m.kind,
  m.action_at,
  m.read_kind,
  m.version_id,
  m.sync_run_id
FROM archive.listing_misses m;
