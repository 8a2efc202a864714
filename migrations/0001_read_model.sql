-- Hand-written: functions, append-only triggers, the full-text index and the public read model.
-- The views in schema public are a documented, stable interface (README, "SQL read model"): add
-- columns at the end, never rename or drop one without a major version.

-- Identity of a message version: sha256 of its canonical JSON (jsonb's text form sorts keys and
-- normalises whitespace, so a re-delivery that only reorders keys is not a new version), with each
-- file's download_url left out because Zoom signs it per request (a new JWT every time).
CREATE FUNCTION archive.version_identity(raw jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to((
    CASE WHEN jsonb_typeof(raw -> 'files') = 'array' THEN
      jsonb_set(raw, '{files}', (
        SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(f) = 'object' THEN f - 'download_url' ELSE f END ORDER BY ord), '[]'::jsonb)
        FROM jsonb_array_elements(raw -> 'files') WITH ORDINALITY AS t(f, ord)))
    ELSE raw END)::text, 'UTF8'))
$$;
--> statement-breakpoint

-- Identity of a session listing state: last_message_sent_time moves with every message, so it is
-- not part of what makes a new snapshot.
CREATE FUNCTION archive.session_identity(raw jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to((raw - 'last_message_sent_time')::text, 'UTF8'))
$$;
--> statement-breakpoint

-- The first UTC day on which day d is no longer inside Zoom's six-month report horizon, i.e. the
-- first t with (t - 6 months) > d. Month arithmetic clamps (Aug 31 - 6 months = Feb 28), so this is
-- searched rather than computed. Mirrors leavesHorizonOn() in src/sync/horizon.ts.
CREATE FUNCTION archive.leaves_horizon_on(d date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT min(t)::date
  FROM generate_series((d + interval '6 months')::date - 3, (d + interval '6 months')::date + 5, interval '1 day') AS t
  WHERE (t - interval '6 months')::date > d
$$;
--> statement-breakpoint

CREATE FUNCTION archive.reject_modification() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on %.% is not allowed: archived records are append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation',
          HINT = 'A retention job will get its own narrowly-scoped path; nothing else may change archived rows.';
END
$$;
--> statement-breakpoint

CREATE TRIGGER message_versions_append_only BEFORE UPDATE OR DELETE ON archive.message_versions
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER message_versions_no_truncate BEFORE TRUNCATE ON archive.message_versions
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER session_snapshots_append_only BEFORE UPDATE OR DELETE ON archive.session_snapshots
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER session_snapshots_no_truncate BEFORE TRUNCATE ON archive.session_snapshots
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

-- Full-text search over message bodies. 'simple' does no stemming and no stop words: compliance
-- searches look for the words people wrote, in any language. Bodies are capped at 100,000
-- characters for indexing because a tsvector cannot exceed 1 MB; the stored body is never cut.
CREATE FUNCTION public.chat_body_tsvector(body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('simple'::regconfig, left(coalesce(body, ''), 100000))
$$;
--> statement-breakpoint
CREATE INDEX message_versions_body_fts ON archive.message_versions USING gin (public.chat_body_tsvector(body));
--> statement-breakpoint

CREATE VIEW public.chat_sessions AS
SELECT
  s.session_id,
  s.type,
  s.name,
  s.channel_id,
  s.member_emails,
  s.status,
  s.has_external_member,
  s.last_message_sent_at,
  s.first_archived_at,
  s.last_archived_at
FROM archive.sessions s;
--> statement-breakpoint

CREATE VIEW public.chat_message_versions AS
SELECT
  v.session_id,
  v.message_id,
  v.kind,
  v.action_at,
  v.sent_at,
  v.sender,
  v.sender_member_id,
  v.sender_display_name,
  v.receiver,
  v.body,
  v.reply_main_message_id,
  v.files,
  v.raw,
  v.archived_at,
  v.id AS version_id,
  encode(v.content_sha256, 'hex') AS content_sha256
FROM archive.message_versions v;
--> statement-breakpoint

-- One row per message in its latest known state. Ties on action time resolve deleted > edited >
-- original, then the later archived row.
CREATE VIEW public.chat_messages AS
SELECT DISTINCT ON (v.session_id, v.message_id)
  v.session_id,
  v.message_id,
  coalesce(v.sent_at, min(v.sent_at) OVER w) AS sent_at,
  v.sender,
  v.sender_display_name,
  v.receiver,
  v.body,
  bool_or(v.kind = 'edited') OVER w AS is_edited,
  bool_or(v.kind = 'deleted') OVER w AS is_deleted,
  max(v.action_at) FILTER (WHERE v.kind = 'edited') OVER w AS edited_at,
  max(v.action_at) FILTER (WHERE v.kind = 'deleted') OVER w AS deleted_at,
  count(*) OVER w AS version_count,
  v.reply_main_message_id,
  v.files
FROM archive.message_versions v
WINDOW w AS (PARTITION BY v.session_id, v.message_id)
ORDER BY v.session_id, v.message_id, v.action_at DESC,
  CASE v.kind WHEN 'deleted' THEN 3 WHEN 'edited' THEN 2 ELSE 1 END DESC, v.id DESC;
--> statement-breakpoint

-- Per window (calendar month): its range inside today's horizon, state, and what was archived.
-- status: complete | open (the month is not over) | incomplete | expired (left the horizon
-- before it was complete: that data could not be archived).
CREATE VIEW public.sync_windows AS
WITH h AS (
  SELECT (now() AT TIME ZONE 'utc')::date AS today,
         ((now() AT TIME ZONE 'utc')::date - interval '6 months')::date AS horizon_start
)
SELECT
  w.month_start,
  w.month_end,
  greatest(w.month_start, h.horizon_start) AS range_from,
  least(w.month_end, h.today) AS range_to,
  CASE
    WHEN w.completed_at IS NOT NULL THEN 'complete'
    WHEN w.expired_at IS NOT NULL OR w.month_end < h.horizon_start THEN 'expired'
    WHEN w.month_end >= h.today THEN 'open'
    ELSE 'incomplete'
  END AS status,
  w.sessions_listed,
  coalesce(u.units, 0) AS units,
  coalesce(u.units_complete, 0) AS units_complete,
  coalesce(u.units_failing, 0) AS units_failing,
  coalesce(u.versions_archived, 0) AS versions_archived,
  w.listed_through,
  w.listed_at,
  u.last_swept_at,
  w.completed_at,
  CASE WHEN w.completed_at IS NULL AND w.month_end >= h.horizon_start
       THEN archive.leaves_horizon_on(greatest(w.month_start, h.horizon_start)) - h.today
  END AS days_until_expiry
FROM archive.sync_windows w
CROSS JOIN h
LEFT JOIN LATERAL (
  SELECT count(*) AS units,
         count(*) FILTER (WHERE su.completed_at IS NOT NULL) AS units_complete,
         count(*) FILTER (WHERE su.failures > 0) AS units_failing,
         sum(su.versions_added) AS versions_archived,
         max(su.swept_at) AS last_swept_at
  FROM archive.sync_units su
  WHERE su.month_start = w.month_start
) u ON true;
--> statement-breakpoint

CREATE VIEW public.sync_units AS
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
  su.last_error_at
FROM archive.sync_units su;
--> statement-breakpoint

CREATE VIEW public.sync_errors AS
SELECT
  e.id AS error_id,
  e.source,
  e.session_id,
  e.month_start,
  e.reason,
  e.raw_text,
  e.first_seen_at,
  e.last_seen_at,
  e.times_seen
FROM archive.item_errors e;
--> statement-breakpoint

CREATE VIEW public.sync_runs AS
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
  r.error
FROM archive.sync_runs r;
--> statement-breakpoint
-- The audit log is append-only, like archived versions.
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON archive.audit_log
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON archive.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE VIEW public.audit_log AS
SELECT a.id AS audit_id, a.at, a.actor, a.action, a.subject_type, a.subject_id, a.before, a.after, a.details
FROM archive.audit_log a;
