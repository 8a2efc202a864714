-- Hand-written: the service's read model, guards and indexes (scheduler job runs, API tokens).

-- job_runs.outcome is one of the runner's outcomes, and a row is finished exactly when it is not running.
ALTER TABLE archive.job_runs ADD CONSTRAINT job_runs_outcome_check
  CHECK (outcome IN ('running', 'succeeded', 'failed', 'skipped', 'aborted'));
--> statement-breakpoint
ALTER TABLE archive.job_runs ADD CONSTRAINT job_runs_finished_check
  CHECK ((outcome = 'running') = (finished_at IS NULL));
--> statement-breakpoint

-- A finished run is a record of what happened: it never changes, and no run is ever deleted. Only a
-- running row moves (to its outcome, or to 'aborted' when its process died).
CREATE FUNCTION archive.guard_job_run() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'job runs are never deleted (run %)', OLD.id USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.outcome <> 'running' THEN
    RAISE EXCEPTION 'job run % is finished (%) and can no longer change', OLD.id, OLD.outcome USING ERRCODE = 'restrict_violation';
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.job IS DISTINCT FROM OLD.job OR NEW.instance IS DISTINCT FROM OLD.instance
     OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
    RAISE EXCEPTION 'which job ran where and when cannot change (run %)', OLD.id USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER job_runs_guard BEFORE UPDATE OR DELETE ON archive.job_runs
  FOR EACH ROW EXECUTE FUNCTION archive.guard_job_run();
--> statement-breakpoint
CREATE TRIGGER job_runs_no_truncate BEFORE TRUNCATE ON archive.job_runs
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

-- "When did each job last succeed" (/metrics, catch-up at start): one index probe per job.
CREATE INDEX job_runs_job_succeeded ON archive.job_runs (job, finished_at) WHERE outcome = 'succeeded';
--> statement-breakpoint
-- Closing the runs a dead process left 'running' looks only at running rows.
CREATE INDEX job_runs_running ON archive.job_runs (job) WHERE outcome = 'running';
--> statement-breakpoint

-- API tokens are revoked, never deleted, so `api:<name>` in the audit log always names one token.
-- What identifies a token (name, hash, role, creation) never changes; revocation is final.
CREATE FUNCTION archive.guard_api_token() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'API tokens are revoked, never deleted (token %)', OLD.name USING ERRCODE = 'restrict_violation';
  END IF;
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.name IS DISTINCT FROM OLD.name OR NEW.token_sha256 IS DISTINCT FROM OLD.token_sha256
     OR NEW.role IS DISTINCT FROM OLD.role OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'token % cannot be changed (revoke it and create another)', OLD.name USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
    RAISE EXCEPTION 'token % is revoked; revocation is final', OLD.name USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER api_tokens_guard BEFORE UPDATE OR DELETE ON archive.api_tokens
  FOR EACH ROW EXECUTE FUNCTION archive.guard_api_token();
--> statement-breakpoint
CREATE TRIGGER api_tokens_no_truncate BEFORE TRUNCATE ON archive.api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

-- job_runs: one row per run of a scheduled job by the service, on any replica.
-- outcome: running | succeeded | failed | skipped (another process held the job, or a CLI sync was
-- running) | aborted (stopped at the shutdown deadline, or its process died). figures: the job's
-- counts (for sync: the sync_runs id, units, versions added, API calls, windows at risk…).
CREATE VIEW public.job_runs AS
SELECT
  r.id AS job_run_id,
  r.job,
  r.instance,
  r.started_at,
  r.finished_at,
  r.finished_at - r.started_at AS duration,
  r.outcome,
  r.figures,
  r.error
FROM archive.job_runs r;
--> statement-breakpoint

-- api_tokens: who may use the HTTP API and with which role. The token hash is never shown.
CREATE VIEW public.api_tokens AS
SELECT t.id AS token_id, t.name, t.role, t.created_at, t.last_used_at, t.revoked_at
FROM archive.api_tokens t;
