CREATE TABLE "archive"."alerts" (
	"key" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"state" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"notified_at" timestamp with time zone,
	"reminded_at" timestamp with time zone,
	"resolved_notified_at" timestamp with time zone,
	"notifications" integer DEFAULT 0 NOT NULL,
	"message" text NOT NULL,
	"facts" jsonb,
	CONSTRAINT "alerts_state_check" CHECK ("archive"."alerts"."state" in ('firing', 'resolved', 'pending', 'sent'))
);
--> statement-breakpoint
CREATE TABLE "archive"."seal_queue" (
	"version_id" bigint PRIMARY KEY NOT NULL,
	"month_start" date NOT NULL,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "archive"."sealed_versions" (
	"month_start" date NOT NULL,
	"version_id" bigint NOT NULL,
	"leaf" "bytea" NOT NULL,
	"seal_audit_id" bigint NOT NULL,
	CONSTRAINT "sealed_versions_month_start_version_id_pk" PRIMARY KEY("month_start","version_id")
);
--> statement-breakpoint
ALTER TABLE "archive"."audit_log" ADD COLUMN "chain_seq" bigint;--> statement-breakpoint
ALTER TABLE "archive"."audit_log" ADD COLUMN "prev_hash" "bytea";--> statement-breakpoint
ALTER TABLE "archive"."audit_log" ADD COLUMN "content_sha256" "bytea";--> statement-breakpoint
ALTER TABLE "archive"."audit_log" ADD COLUMN "row_hash" "bytea";--> statement-breakpoint
CREATE INDEX "alerts_open" ON "archive"."alerts" USING btree ("kind") WHERE "archive"."alerts"."state" IN ('firing', 'pending');--> statement-breakpoint
CREATE INDEX "seal_queue_month" ON "archive"."seal_queue" USING btree ("month_start");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_chain" ON "archive"."audit_log" USING btree ("chain_seq");--> statement-breakpoint
ALTER TABLE "archive"."audit_log" ADD CONSTRAINT "audit_log_chain_check" CHECK (("archive"."audit_log"."chain_seq" IS NULL AND "archive"."audit_log"."prev_hash" IS NULL AND "archive"."audit_log"."content_sha256" IS NULL AND "archive"."audit_log"."row_hash" IS NULL) OR ("archive"."audit_log"."chain_seq" IS NOT NULL AND "archive"."audit_log"."prev_hash" IS NOT NULL AND "archive"."audit_log"."content_sha256" IS NOT NULL AND "archive"."audit_log"."row_hash" IS NOT NULL));--> statement-breakpoint

-- ---------------------------------------------------------------------------------------------
-- Hand-written below: the hash chain of the audit log, window seals, retention's one disposal path.
-- The encodings are documented in README ("Tamper evidence") and mirrored in src/audit/chain.ts,
-- whose verifier recomputes them independently of these functions.

-- One field of a hashed record: 0x00 for NULL, else 0x01, its UTF-8 length (4 bytes, big-endian)
-- and its UTF-8 bytes. Length-prefixed, so no two different records encode to the same bytes.
CREATE FUNCTION archive.proof_field(t text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN t IS NULL THEN '\x00'::bytea
         ELSE '\x01'::bytea || int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') END
$$;
--> statement-breakpoint

-- A time as hashed: UTC, microseconds, e.g. 2026-11-21T15:00:00.123456Z (whatever the session's
-- TimeZone or DateStyle).
CREATE FUNCTION archive.proof_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
--> statement-breakpoint

-- The window (calendar month, UTC) a version belongs to: the month of its action time.
CREATE FUNCTION archive.month_of(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT date_trunc('month', t AT TIME ZONE 'UTC')::date
$$;
--> statement-breakpoint

-- SHA-256 of an audit row's content: when, who, what, on what, before, after, details (jsonb in
-- PostgreSQL's canonical text form).
CREATE FUNCTION archive.audit_content_sha256(p_at timestamptz, p_actor text, p_action text, p_subject_type text, p_subject_id text, p_before jsonb, p_after jsonb, p_details jsonb) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to('zca-audit-content/1', 'UTF8')
    || archive.proof_field(archive.proof_time(p_at)) || archive.proof_field(p_actor) || archive.proof_field(p_action)
    || archive.proof_field(p_subject_type) || archive.proof_field(p_subject_id)
    || archive.proof_field(p_before::text) || archive.proof_field(p_after::text) || archive.proof_field(p_details::text))
$$;
--> statement-breakpoint

-- SHA-256 linking a row to the one before it: the previous row's hash, this row's position and id,
-- and its content hash. A row moved (another id or position) breaks this while its content hash holds.
CREATE FUNCTION archive.audit_row_sha256(p_prev bytea, p_seq bigint, p_id bigint, p_content bytea) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to('zca-audit-row/1', 'UTF8') || p_prev || int8send(p_seq) || int8send(p_id) || p_content)
$$;
--> statement-breakpoint

-- Every audit row joins the chain as it is inserted, whoever inserts it and whatever it sends for
-- the chain columns. The advisory lock (key of 'audit-chain', as src/db/advisory-lock.ts derives it)
-- is held to the end of the inserting transaction, so writers extend the chain one at a time, each
-- from the head the previous one committed: one order, no fork. Under READ COMMITTED (the default)
-- each statement here sees the latest commit; a REPEATABLE READ writer that lost the race fails on
-- the unique index audit_log_chain rather than forking the chain.
CREATE FUNCTION archive.chain_audit_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(-3279582530749350442);
  SELECT a.chain_seq, a.row_hash INTO head_seq, head_hash
  FROM archive.audit_log a WHERE a.chain_seq IS NOT NULL ORDER BY a.chain_seq DESC LIMIT 1;
  NEW.chain_seq := coalesce(head_seq, 0) + 1;
  NEW.prev_hash := coalesce(head_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.content_sha256 := archive.audit_content_sha256(NEW.at, NEW.actor, NEW.action, NEW.subject_type, NEW.subject_id, NEW.before, NEW.after, NEW.details);
  NEW.row_hash := archive.audit_row_sha256(NEW.prev_hash, NEW.chain_seq, NEW.id, NEW.content_sha256);
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_chain BEFORE INSERT ON archive.audit_log
  FOR EACH ROW EXECUTE FUNCTION archive.chain_audit_row();
--> statement-breakpoint

-- The genesis row: position 1 of the chain. Rows written before this migration were never hashed;
-- the genesis row records how many there are, the highest id among them and a digest of their
-- contents (SHA-256 of their content hashes in id order), so `audit verify` can tell if any of
-- them changes, goes or is added later.
INSERT INTO archive.audit_log (actor, action, subject_type, subject_id, details)
SELECT 'system:migration', 'audit.chain.genesis', 'audit_chain', 'genesis',
       jsonb_build_object(
         'format', 'zca-audit-chain/1',
         'legacy_rows', count(*),
         'legacy_max_id', coalesce(max(a.id), 0),
         'legacy_sha256', encode(sha256(coalesce(string_agg(archive.audit_content_sha256(a.at, a.actor, a.action, a.subject_type, a.subject_id, a.before, a.after, a.details), ''::bytea ORDER BY a.id), ''::bytea)), 'hex'))
FROM archive.audit_log a;
--> statement-breakpoint

-- A version's leaf in its window's seal: its id, session, message, kind, action and send times,
-- and the SHA-256 of its raw item (content_sha256).
CREATE FUNCTION archive.version_leaf(p_id bigint, p_session_id text, p_message_id text, p_kind text, p_action_at timestamptz, p_sent_at timestamptz, p_content_sha256 bytea) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to('zca-version-leaf/1', 'UTF8') || int8send(p_id)
    || archive.proof_field(p_session_id) || archive.proof_field(p_message_id) || archive.proof_field(p_kind)
    || archive.proof_field(archive.proof_time(p_action_at)) || archive.proof_field(archive.proof_time(p_sent_at))
    || p_content_sha256)
$$;
--> statement-breakpoint

-- The root of a window's seal: the window, how many leaves, and the leaves in version-id order.
CREATE FUNCTION archive.window_root(p_month date) RETURNS TABLE (versions bigint, max_version_id bigint, root bytea)
LANGUAGE sql STABLE AS $$
  SELECT count(*), max(s.version_id),
         sha256(convert_to('zca-window-seal/1', 'UTF8') || archive.proof_field(to_char(p_month, 'YYYY-MM-DD')) || int8send(count(*))
                || coalesce(string_agg(s.leaf, ''::bytea ORDER BY s.version_id), ''::bytea))
  FROM archive.sealed_versions s WHERE s.month_start = p_month
$$;
--> statement-breakpoint

-- Seals windows: the first seal of a window covers every version stored for it; a later one adds the
-- versions queued since (archive.seal_queue) and is written only when there are any. Each seal is an
-- audit event (`archive.window.seal`, subject sync_window/<month>) with the root over every version
-- the window's seals have covered, so it is chained with everything else. Never rewrites a seal.
-- Writers of versions wait (SHARE lock) while a seal is computed, so no version commits unseen with
-- an id below the seal's highest.
CREATE FUNCTION archive.seal_windows(p_months date[], p_reason text, p_actor text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  months date[];
  firsts date[] := '{}';
  first_ids bigint[] := '{}';
  m date;
  seal_id bigint;
  is_first boolean;
  added bigint;
  written integer := 0;
  r record;
  prev record;
BEGIN
  SELECT array_agg(DISTINCT x ORDER BY x) INTO months FROM unnest(p_months) AS x WHERE x IS NOT NULL;
  IF months IS NULL THEN RETURN 0; END IF;
  PERFORM pg_advisory_xact_lock(-8592202621149244150);
  LOCK TABLE archive.message_versions IN SHARE MODE;

  FOREACH m IN ARRAY months LOOP
    IF NOT EXISTS (SELECT 1 FROM archive.audit_log a WHERE a.subject_type = 'sync_window' AND a.subject_id = to_char(m, 'YYYY-MM-DD') AND a.action = 'archive.window.seal') THEN
      firsts := firsts || m;
      first_ids := first_ids || nextval(pg_get_serial_sequence('archive.audit_log', 'id'));
    END IF;
  END LOOP;
  -- First seals: one scan of the versions for every window sealed for the first time.
  IF cardinality(firsts) > 0 THEN
    INSERT INTO archive.sealed_versions (month_start, version_id, leaf, seal_audit_id)
    SELECT f.m, v.id, archive.version_leaf(v.id, v.session_id, v.message_id, v.kind, v.action_at, v.sent_at, v.content_sha256), f.seal_id
    FROM archive.message_versions v
    JOIN unnest(firsts, first_ids) AS f(m, seal_id) ON f.m = archive.month_of(v.action_at)
    ON CONFLICT DO NOTHING;
  END IF;

  FOREACH m IN ARRAY months LOOP
    is_first := m = ANY(firsts);
    IF is_first THEN
      seal_id := first_ids[array_position(firsts, m)];
      added := (SELECT count(*) FROM archive.sealed_versions s WHERE s.month_start = m);
    ELSE
      seal_id := nextval(pg_get_serial_sequence('archive.audit_log', 'id'));
      INSERT INTO archive.sealed_versions (month_start, version_id, leaf, seal_audit_id)
      SELECT m, v.id, archive.version_leaf(v.id, v.session_id, v.message_id, v.kind, v.action_at, v.sent_at, v.content_sha256), seal_id
      FROM archive.seal_queue q JOIN archive.message_versions v ON v.id = q.version_id
      WHERE q.month_start = m AND archive.month_of(v.action_at) = m
      ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS added = ROW_COUNT;
    END IF;
    DELETE FROM archive.seal_queue q WHERE q.month_start = m;
    CONTINUE WHEN NOT is_first AND added = 0;

    SELECT a.id, a.details INTO prev FROM archive.audit_log a
    WHERE a.subject_type = 'sync_window' AND a.subject_id = to_char(m, 'YYYY-MM-DD') AND a.action = 'archive.window.seal'
    ORDER BY a.chain_seq DESC LIMIT 1;
    SELECT * INTO r FROM archive.window_root(m);
    INSERT INTO archive.audit_log (id, actor, action, subject_type, subject_id, details) OVERRIDING SYSTEM VALUE
    VALUES (seal_id, p_actor, 'archive.window.seal', 'sync_window', to_char(m, 'YYYY-MM-DD'), jsonb_build_object(
      'format', 'zca-window-seal/1',
      'window', to_char(m, 'YYYY-MM-DD'),
      'reason', p_reason,
      'root', encode(r.root, 'hex'),
      'versions', r.versions,
      'added', added,
      'max_version_id', r.max_version_id,
      'previous_seal_audit_id', prev.id,
      'previous_root', prev.details ->> 'root'));
    written := written + 1;
  END LOOP;
  RETURN written;
END
$$;
--> statement-breakpoint

-- What is waiting for a seal: windows with queued late versions, and complete windows never sealed
-- (completed before 0008).
CREATE FUNCTION archive.seal_pending(p_reason text, p_actor text) RETURNS integer
LANGUAGE sql AS $$
  SELECT archive.seal_windows(array(
    SELECT q.month_start FROM archive.seal_queue q
    UNION
    SELECT w.month_start FROM archive.sync_windows w
    WHERE w.completed_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM archive.audit_log a WHERE a.subject_type = 'sync_window' AND a.subject_id = to_char(w.month_start, 'YYYY-MM-DD') AND a.action = 'archive.window.seal')
  ), p_reason, p_actor)
$$;
--> statement-breakpoint

-- A window becoming complete is sealed in the same transaction: a complete window always has a seal.
CREATE FUNCTION archive.seal_completed_windows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM archive.seal_windows(array(
    SELECT n.month_start FROM new_windows n JOIN old_windows o ON o.month_start = n.month_start
    WHERE o.completed_at IS NULL AND n.completed_at IS NOT NULL), 'window complete', 'system:seal');
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER sync_windows_seal AFTER UPDATE ON archive.sync_windows
  REFERENCING OLD TABLE AS old_windows NEW TABLE AS new_windows
  FOR EACH STATEMENT EXECUTE FUNCTION archive.seal_completed_windows();
--> statement-breakpoint

-- A version stored for a window that is sealed already (a re-sweep finding what Zoom reported late)
-- is queued for the window's next seal. One statement per page: a probe of the audit index per
-- distinct month on the page, nothing per row unless the month is sealed.
CREATE FUNCTION archive.queue_late_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO archive.seal_queue (version_id, month_start)
  SELECT n.id, sealed.m
  FROM (SELECT DISTINCT archive.month_of(x.action_at) AS m FROM new_versions x) sealed
  JOIN new_versions n ON archive.month_of(n.action_at) = sealed.m
  WHERE EXISTS (SELECT 1 FROM archive.audit_log a WHERE a.subject_type = 'sync_window' AND a.subject_id = to_char(sealed.m, 'YYYY-MM-DD') AND a.action = 'archive.window.seal')
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER message_versions_seal_queue AFTER INSERT ON archive.message_versions
  REFERENCING NEW TABLE AS new_versions
  FOR EACH STATEMENT EXECUTE FUNCTION archive.queue_late_versions();
--> statement-breakpoint

-- At the end of every sync pass, what is waiting is sealed: late versions get their new seal
-- within the pass that stored them. A failure is reported and leaves the queue for the next pass.
CREATE FUNCTION archive.seal_after_sync_run() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM archive.seal_pending('sync pass end', 'system:seal');
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'sealing at the end of sync run % failed (%); the next pass or `archive seal` retries', NEW.id, SQLERRM;
  END;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER sync_runs_seal AFTER UPDATE OF finished_at ON archive.sync_runs
  FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)
  EXECUTE FUNCTION archive.seal_after_sync_run();
--> statement-breakpoint

-- Seal records are append-only.
CREATE TRIGGER sealed_versions_append_only BEFORE UPDATE OR DELETE ON archive.sealed_versions
  FOR EACH ROW EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint
CREATE TRIGGER sealed_versions_no_truncate BEFORE TRUNCATE ON archive.sealed_versions
  FOR EACH STATEMENT EXECUTE FUNCTION archive.reject_modification();
--> statement-breakpoint

-- Archived versions stay append-only, with one exception: archive.dispose_versions, retention's one
-- path, which sets zca.disposal for its own DELETE only (and never for a held version).
CREATE FUNCTION archive.guard_version_modification() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('zca.disposal', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% on %.% is not allowed: archived records are append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation',
          HINT = 'Only retention (archive.dispose_versions, `retention apply`) may delete archived versions, never held ones, and it records each in the audit log.';
END
$$;
--> statement-breakpoint
DROP TRIGGER message_versions_append_only ON archive.message_versions;
--> statement-breakpoint
CREATE TRIGGER message_versions_append_only BEFORE UPDATE OR DELETE ON archive.message_versions
  FOR EACH ROW EXECUTE FUNCTION archive.guard_version_modification();
--> statement-breakpoint

-- Retention's one path for disposing of archived versions. Whole messages only, never one covered by
-- a legal-hold matter that still holds (held_messages) nor one a custodian of such a matter sent or
-- received (checked here under locks that keep matters, custodians, sessions and versions from
-- changing until the transaction ends), and each version that
-- goes is listed with its identity and content hash in `retention.dispose` audit events (2,000 a
-- row), followed by one `retention.apply` event with the totals. Raises (and disposes of nothing)
-- when the plan no longer matches the archive: ZC409 stale plan, ZC423 held data.
CREATE FUNCTION archive.dispose_versions(p_version_ids bigint[], p_plan jsonb, p_actor text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  wanted bigint;
  present bigint;
  held record;
  batches integer;
  plan_id text := p_plan ->> 'plan_id';
  summary jsonb;
  digest text;
BEGIN
  IF plan_id IS NULL THEN
    RAISE EXCEPTION 'a disposal needs a plan id' USING ERRCODE = 'ZC409';
  END IF;
  -- Lock order as in seal_windows (retention, then seals, then tables, then the chain): a disposal
  -- and a seal wait for each other instead of deadlocking.
  PERFORM pg_advisory_xact_lock(-630991247733364860);
  PERFORM pg_advisory_xact_lock(-8592202621149244150);
  LOCK TABLE archive.legal_hold_matters, archive.legal_hold_custodians, archive.sessions, archive.message_versions IN SHARE MODE;

  CREATE TEMP TABLE zca_disposal ON COMMIT DROP AS
  SELECT v.id, v.session_id, v.message_id, v.kind, v.action_at, v.sent_at, v.content_sha256
  FROM archive.message_versions v WHERE v.id = ANY(p_version_ids);
  wanted := (SELECT count(DISTINCT x) FROM unnest(p_version_ids) AS x);
  present := (SELECT count(*) FROM zca_disposal);
  IF present <> wanted THEN
    RAISE EXCEPTION 'plan % is stale: % of its % versions are no longer archived', plan_id, wanted - present, wanted USING ERRCODE = 'ZC409';
  END IF;
  IF EXISTS (
    SELECT 1 FROM archive.message_versions v
    JOIN (SELECT DISTINCT d.session_id, d.message_id FROM zca_disposal d) m ON m.session_id = v.session_id AND m.message_id = v.message_id
    WHERE NOT EXISTS (SELECT 1 FROM zca_disposal d WHERE d.id = v.id)) THEN
    RAISE EXCEPTION 'plan % is stale: a message it disposes of has a version the plan does not list', plan_id USING ERRCODE = 'ZC409';
  END IF;
  -- Held: what held_messages returns, and every message a custodian of a holding matter sent or
  -- received (those are what tie a session to the custodian; without them the session, and what the
  -- matter holds in it, would drop out of held_messages).
  SELECT x.matter_id, x.session_id, x.message_id INTO held
  FROM (
    SELECT h.matter_id, h.session_id, h.message_id FROM public.held_messages h
    UNION ALL
    SELECT c.matter_id, v.session_id, v.message_id FROM archive.legal_hold_matters lm
    JOIN archive.legal_hold_custodians c ON c.matter_id = lm.matter_id
    JOIN archive.message_versions v ON lower(v.sender) = lower(c.email)
    WHERE lm.state IN ('active', 'deleted_in_zoom')
    UNION ALL
    SELECT c.matter_id, v.session_id, v.message_id FROM archive.legal_hold_matters lm
    JOIN archive.legal_hold_custodians c ON c.matter_id = lm.matter_id
    JOIN archive.message_versions v ON lower(v.receiver) = lower(c.email)
    WHERE lm.state IN ('active', 'deleted_in_zoom')
  ) x
  JOIN (SELECT DISTINCT d.session_id, d.message_id FROM zca_disposal d) m ON m.session_id = x.session_id AND m.message_id = x.message_id
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'plan % would dispose of data held by legal-hold matter %: nothing was disposed of', plan_id, held.matter_id USING ERRCODE = 'ZC423';
  END IF;

  batches := ceil(present / 2000.0)::integer;
  INSERT INTO archive.audit_log (actor, action, subject_type, subject_id, details)
  SELECT p_actor, 'retention.dispose', 'retention_plan', plan_id, jsonb_build_object(
           'plan_id', plan_id, 'batch', b.batch, 'batches', batches,
           'versions', b.versions)
  FROM (
    SELECT (n - 1) / 2000 + 1 AS batch,
           jsonb_agg(jsonb_build_array(id, session_id, message_id, kind, archive.proof_time(action_at), archive.proof_time(sent_at), encode(content_sha256, 'hex')) ORDER BY id) AS versions
    FROM (SELECT d.*, row_number() OVER (ORDER BY d.id) AS n FROM zca_disposal d) numbered
    GROUP BY (n - 1) / 2000
  ) b ORDER BY b.batch;
  digest := encode(sha256(coalesce((SELECT string_agg(int8send(d.id) || d.content_sha256, ''::bytea ORDER BY d.id) FROM zca_disposal d), ''::bytea)), 'hex');

  PERFORM set_config('zca.disposal', 'on', true);
  DELETE FROM archive.message_versions v USING zca_disposal d WHERE v.id = d.id;
  PERFORM set_config('zca.disposal', 'off', true);
  DELETE FROM archive.seal_queue q USING zca_disposal d WHERE q.version_id = d.id;

  summary := p_plan || jsonb_build_object(
    'versions', present,
    'messages', (SELECT count(*) FROM (SELECT DISTINCT session_id, message_id FROM zca_disposal) x),
    'sessions', (SELECT count(DISTINCT session_id) FROM zca_disposal),
    'batches', batches,
    'disposed_sha256', digest);
  INSERT INTO archive.audit_log (actor, action, subject_type, subject_id, details)
  VALUES (p_actor, 'retention.apply', 'retention_plan', plan_id, summary);
  DROP TABLE zca_disposal;
  RETURN summary;
END
$$;
--> statement-breakpoint

-- The read model gains the chain (columns added at the end, as the views promise): an auditor can
-- read every row's position and hashes with SQL and recompute them (README, "Tamper evidence").
CREATE OR REPLACE VIEW public.audit_log AS
SELECT a.id AS audit_id, a.at, a.actor, a.action, a.subject_type, a.subject_id, a.before, a.after, a.details,
       a.chain_seq, encode(a.prev_hash, 'hex') AS prev_hash, encode(a.content_sha256, 'hex') AS content_sha256, encode(a.row_hash, 'hex') AS row_hash
FROM archive.audit_log a;
--> statement-breakpoint

-- window_seals: every seal of every window, oldest first (seal = its number for the window).
CREATE VIEW public.window_seals AS
SELECT (a.subject_id)::date AS month_start,
       row_number() OVER (PARTITION BY a.subject_id ORDER BY a.chain_seq) AS seal,
       a.id AS audit_id, a.chain_seq, a.at AS sealed_at, a.actor,
       a.details ->> 'reason' AS reason,
       (a.details ->> 'versions')::bigint AS versions,
       (a.details ->> 'added')::bigint AS added,
       a.details ->> 'root' AS root,
       encode(a.row_hash, 'hex') AS row_hash
FROM archive.audit_log a
WHERE a.subject_type = 'sync_window' AND a.action = 'archive.window.seal';
