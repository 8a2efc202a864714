-- Hand-written: fencing tokens for the advisory locks (src/db/advisory-lock.ts).
--
-- A session-level advisory lock ends with its connection, and the process that held it may not
-- notice at once (a terminated backend, a failover, a network cut): for a moment two processes can
-- both believe they hold the same lock. Every acquisition therefore also takes a new token for the
-- lock's name, strictly greater than every earlier one, and writes that must not come from a
-- superseded holder check their token in the same transaction (archive.assert_fence). The older
-- holder's write then fails instead of overwriting what the current holder wrote.

-- One row per lock name ever taken: the newest token, who took it and when.
CREATE TABLE archive.lock_fences (
  name text COLLATE "C" PRIMARY KEY,
  token bigint NOT NULL CHECK (token > 0),
  holder text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint

-- Called by the new holder right after pg_try_advisory_lock succeeded. Waits for writes that hold
-- the row FOR SHARE (assert_fence below) to commit, so a superseded holder's fenced write either
-- commits before the new token exists or sees it and fails: never after.
CREATE FUNCTION archive.take_fence(p_name text, p_holder text) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
  INSERT INTO archive.lock_fences AS f (name, token, holder, acquired_at)
  VALUES (p_name, 1, p_holder, now())
  ON CONFLICT (name) DO UPDATE SET token = f.token + 1, holder = EXCLUDED.holder, acquired_at = EXCLUDED.acquired_at
  RETURNING token
$$;
--> statement-breakpoint

-- True when p_token is still the newest token of the lock p_name; otherwise raises SQLSTATE ZC409
-- (mapped to the typed error LOCK_SUPERSEDED), which aborts the caller's transaction. The row is
-- locked FOR SHARE until the caller's transaction ends, which makes a concurrent take_fence wait.
CREATE FUNCTION archive.assert_fence(p_name text, p_token bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  newest bigint;
  newest_holder text;
BEGIN
  SELECT f.token, f.holder INTO newest, newest_holder FROM archive.lock_fences f WHERE f.name = p_name FOR SHARE;
  IF newest IS DISTINCT FROM p_token THEN
    RAISE EXCEPTION 'lock "%" was taken over: this holder has fence %, the newest is % (held by %)', p_name, p_token, coalesce(newest::text, 'none'), coalesce(newest_holder, 'nobody')
      USING ERRCODE = 'ZC409', HINT = 'the work that held the older fence must stop; the current holder''s writes stand';
  END IF;
  RETURN true;
END
$$;
--> statement-breakpoint

-- Which process holds which lock right now: the newest fence of each name whose advisory lock is
-- held (pg_locks shows a bigint key as classid = high half, objid = low half, objsubid = 1).
CREATE VIEW public.lock_holders AS
SELECT f.name, f.token::text AS fence, f.holder, f.acquired_at, l.pid AS backend_pid
FROM archive.lock_fences f
JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 AND ((l.classid::bigint << 32) | l.objid::bigint) = ('x' || substr(encode(sha256(convert_to('zoom-chat-archiver:' || f.name, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint;
