-- Hand-written: the same version identity, computed without a per-row SQL-function call.
--
-- 0001's archive.version_identity holds a subquery (to drop each file's download_url), and
-- PostgreSQL cannot inline a SQL function that holds one: every page write parsed and planned its
-- body again and ran a nested executor for every row (measured: 14% of PostgreSQL's CPU during a
-- backfill). The subquery now lives in a helper that only rows carrying a files array reach, and
-- the outer function is a plain expression the planner inlines into the page-write statement. It is
-- declared STABLE because convert_to() is: PostgreSQL refuses to inline an IMMUTABLE function whose
-- body calls a STABLE one. Nothing indexes on it, so IMMUTABLE bought nothing.
-- The result is byte-for-byte what 0001 computed (test/archive/version-identity.test.ts), so rows
-- archived before this migration keep matching their re-deliveries.

CREATE FUNCTION archive.without_file_download_urls(raw jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT jsonb_set(raw, '{files}', (
    SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(f) = 'object' THEN f - 'download_url' ELSE f END ORDER BY ord), '[]'::jsonb)
    FROM jsonb_array_elements(raw -> 'files') WITH ORDINALITY AS t(f, ord)))
$$;
--> statement-breakpoint

CREATE OR REPLACE FUNCTION archive.version_identity(raw jsonb) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT sha256(convert_to((
    CASE WHEN jsonb_typeof(raw -> 'files') = 'array' THEN archive.without_file_download_urls(raw) ELSE raw END
  )::text, 'UTF8'))
$$;
--> statement-breakpoint

-- Same reason, same result: session snapshots are written on every listing page.
ALTER FUNCTION archive.session_identity(jsonb) STABLE;
