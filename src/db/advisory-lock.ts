import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { ArchiverError, LockSupersededError, InternalError } from '../errors.js';
import type { Pool, PoolClient, Queryable } from './pool.js';

/**
 * Session-level advisory locks that notice when they are lost, with fencing tokens.
 *
 * A session-level advisory lock is held by one connection and ends with it, so a process that dies
 * mid-job releases its lock with its connection. The other side of that coin: when the connection
 * dies while the process lives on (server `idle_session_timeout`, a restart or failover, a proxy's
 * or firewall's idle cut, `pg_terminate_backend`), the lock is gone and the process does not know.
 * Three things close that gap:
 *
 * 1. **Watching.** The holder listens for its connection's `error` and `end` events and runs a
 *    heartbeat on it (a `pg_locks` probe every `heartbeatMs`, default 2 s) that also proves the
 *    lock is still held by *this* backend — which fails at once behind a pooler in transaction mode,
 *    where each statement may land on another server connection. Whatever ends the hold aborts
 *    `lost` with a LOCK_LOST error; work passes that signal on and stops.
 * 2. **Not being cut for idleness.** The lock connection switches `idle_session_timeout` off for
 *    itself (the server would otherwise end it while the work runs on other connections); the
 *    heartbeat also keeps NAT and proxy idle timers from firing. If it is ended anyway, (1) notices.
 * 3. **Fencing.** Noticing takes up to one heartbeat, and the work may be mid-write. Every
 *    acquisition takes a new token for the lock's name in archive.lock_fences (migration 0007),
 *    strictly greater than every earlier one; writes that matter run `archive.assert_fence(name,
 *    token)` in the same transaction (`assertFences`), so a superseded holder's write fails with
 *    LOCK_SUPERSEDED instead of overwriting the current holder's.
 *
 * Keys are derived from a readable name (and public.lock_holders shows who holds what).
 */

export function advisoryLockKey(name: string): bigint {
  return createHash('sha256').update(`zoom-chat-archiver:${name}`).digest().readBigInt64BE(0);
}

/** A lock and the token of one hold of it, for writes that must not come from a superseded holder. */
export interface Fence {
  readonly name: string;
  /** A bigint in decimal. */
  readonly token: string;
}

export interface HeldLock {
  readonly name: string;
  /** Aborts (reason: a typed ArchiverError, code 'LOCK_LOST') when the lock is lost: its connection errored/ended or a heartbeat on it failed. */
  readonly lost: AbortSignal;
  /** Fencing token for this hold: strictly greater than every earlier hold of the same name (text, a bigint in decimal). */
  readonly fence: string;
  release(): Promise<void>;
}

export interface AdvisoryLockSettings {
  /** How often the holder probes its connection and lock. */
  heartbeatMs: number;
  /** A probe that has not answered after this long counts as a lost connection. */
  heartbeatTimeoutMs: number;
  /** Recorded with each fence (archive.lock_fences.holder); default `<hostname>:<pid>`. */
  holder: string;
}

export const DEFAULT_LOCK_HEARTBEAT_MS = 2_000;

const defaults = (): AdvisoryLockSettings => ({
  heartbeatMs: DEFAULT_LOCK_HEARTBEAT_MS,
  heartbeatTimeoutMs: heartbeatTimeoutFor(DEFAULT_LOCK_HEARTBEAT_MS),
  holder: `${hostname()}:${process.pid}`,
});

/** Long enough for a busy server, short enough that a silent network cut is noticed within seconds. */
function heartbeatTimeoutFor(heartbeatMs: number): number {
  return Math.max(10_000, heartbeatMs * 3);
}

const settingsByPool = new WeakMap<Pool, AdvisoryLockSettings>();

/**
 * Settings for every lock taken on `pool` (the composition root calls this once with the
 * configuration), so callers deep inside — the sync engine, legal-hold downloads — need only the pool.
 */
export function configureAdvisoryLocks(pool: Pool, settings: Partial<AdvisoryLockSettings>): void {
  const merged = { ...defaults(), ...settingsByPool.get(pool), ...settings };
  if (settings.heartbeatMs !== undefined && settings.heartbeatTimeoutMs === undefined) merged.heartbeatTimeoutMs = heartbeatTimeoutFor(settings.heartbeatMs);
  settingsByPool.set(pool, merged);
}

export function lockLostError(name: string, why: string, cause?: unknown): ArchiverError {
  return new ArchiverError(
    'LOCK_LOST',
    `lost the lock "${name}" (${why}); another process may take it over now, so this work stops and what it stored is kept`,
    cause === undefined ? undefined : { cause },
  );
}

/** pg_locks shows a bigint key as classid (high 32 bits) and objid (low 32 bits), both unsigned. */
function keyParts(key: bigint): [string, string] {
  const unsigned = BigInt.asUintN(64, key);
  return [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()];
}

const HEARTBEAT_SQL = `SELECT EXISTS (
  SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
    AND classid = $1::oid AND objid = $2::oid AND objsubid = 1) AS held`;

async function holdWith(client: PoolClient, name: string, key: bigint, fence: string, settings: AdvisoryLockSettings): Promise<HeldLock> {
  const controller = new AbortController();
  const [classid, objid] = keyParts(key);
  let released = false;
  let clientGone = false;
  let heartbeat: Promise<void> | undefined;

  const stopWatching = () => {
    clearInterval(timer);
    client.off('error', onError);
    client.off('end', onEnd);
  };
  const lose = (why: string, cause?: unknown) => {
    if (controller.signal.aborted || released) return;
    stopWatching();
    controller.abort(lockLostError(name, why, cause));
  };
  const onError = (err: Error) => {
    clientGone = true;
    lose(`its database connection failed: ${err.message}`, err);
  };
  const onEnd = () => {
    clientGone = true;
    lose('its database connection ended');
  };

  const beat = async () => {
    let deadline: NodeJS.Timeout | undefined;
    try {
      const probe = client.query<{ held: boolean }>(HEARTBEAT_SQL, [classid, objid]);
      const timeout = new Promise<'timeout'>((resolve) => {
        deadline = setTimeout(() => resolve('timeout'), settings.heartbeatTimeoutMs);
        deadline.unref();
      });
      const result = await Promise.race([probe, timeout]);
      if (result === 'timeout') {
        probe.catch(() => undefined);
        lose(`the heartbeat on its connection got no answer within ${settings.heartbeatTimeoutMs} ms`);
      } else if (result.rows[0]?.held !== true) {
        lose('the heartbeat found the lock no longer held by its connection (a connection pooler in transaction mode hands each statement to another server connection; see deploy/README.md)');
      }
    } catch (err) {
      lose(`the heartbeat on its connection failed: ${(err as Error).message}`, err);
    } finally {
      clearTimeout(deadline);
    }
  };
  // unref: a held lock never keeps the process alive on its own.
  const timer = setInterval(() => {
    if (heartbeat !== undefined || released || controller.signal.aborted) return;
    heartbeat = beat().finally(() => {
      heartbeat = undefined;
    });
  }, settings.heartbeatMs);
  timer.unref();
  client.on('error', onError);
  client.on('end', onEnd);

  return {
    name,
    lost: controller.signal,
    fence,
    async release() {
      if (released) return;
      released = true;
      stopWatching();
      await heartbeat;
      if (controller.signal.aborted || clientGone) {
        // The lock went with its connection (or is no longer provably ours): discard the client.
        client.release(lockLostError(name, 'its connection was released as broken'));
        return;
      }
      try {
        // The key is a number we computed, never input: safe to inline, and one round trip.
        await client.query(`SELECT pg_advisory_unlock(${key.toString()}); RESET idle_session_timeout`);
        client.release();
      } catch (err) {
        // A broken connection already dropped the lock; discard the client instead of reusing it.
        client.release(err instanceof Error ? err : true);
      }
    },
  };
}

/**
 * Takes the lock if it is free; undefined when another session holds it. The returned hold carries
 * a fence token and a `lost` signal (see above). Needs migration 0007 (archive.lock_fences).
 */
export async function tryAdvisoryLock(pool: Pool, name: string, options: Partial<AdvisoryLockSettings> = {}): Promise<HeldLock | undefined> {
  const settings = { ...defaults(), ...settingsByPool.get(pool), ...options };
  if (options.heartbeatMs !== undefined && options.heartbeatTimeoutMs === undefined) settings.heartbeatTimeoutMs = heartbeatTimeoutFor(options.heartbeatMs);
  const key = advisoryLockKey(name);
  const client = await pool.connect();
  let got = false;
  try {
    const res = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key.toString()]);
    got = res.rows[0]?.locked === true;
    if (!got) {
      client.release();
      return undefined;
    }
    // idle_session_timeout off for this session only: the lock's connection is idle by design.
    const fenced = await client.query<{ token: string }>(
      `SELECT set_config('idle_session_timeout', '0', false) AS idle_off, archive.take_fence($1, $2)::text AS token`,
      [name, settings.holder],
    );
    const token = fenced.rows[0]?.token;
    if (token === undefined) throw new InternalError(`taking a fence for lock ${name} returned nothing`);
    return await holdWith(client, name, key, token, settings);
  } catch (err) {
    // Whatever failed, this connection must not go back to the pool holding the lock.
    if (got) await client.query(`SELECT pg_advisory_unlock(${key.toString()})`).catch(() => undefined);
    client.release(err instanceof Error ? err : true);
    throw err;
  }
}

export function fenceOf(lock: Pick<HeldLock, 'name' | 'fence'>): Fence {
  return { name: lock.name, token: lock.fence };
}

/**
 * Checks, inside the caller's transaction, that every fence is still the newest hold of its lock;
 * throws LockSupersededError otherwise (and the transaction must be rolled back). Run it first in a
 * transaction whose writes must not come from a superseded holder: the fence rows stay locked FOR
 * SHARE until the transaction ends, so a new holder's acquisition waits for it.
 */
export async function assertFences(db: Queryable, fences: readonly Fence[]): Promise<void> {
  if (fences.length === 0) return;
  try {
    await db.query(`SELECT archive.assert_fence(f.name, f.token) FROM unnest($1::text[], $2::bigint[]) AS f(name, token)`, [
      fences.map((f) => f.name),
      fences.map((f) => f.token),
    ]);
  } catch (err) {
    throw asLockSuperseded(err);
  }
}

/** The SQLSTATE archive.assert_fence raises when a newer holder exists. */
export const LOCK_SUPERSEDED_SQLSTATE = 'ZC409';

/** Turns archive.assert_fence's SQLSTATE into the typed error; anything else is returned as it is. */
export function asLockSuperseded(err: unknown): unknown {
  if (err instanceof Error && (err as { code?: unknown }).code === LOCK_SUPERSEDED_SQLSTATE) return new LockSupersededError(err.message, { cause: err });
  return err;
}

/**
 * Runs `work` on the very connection that holds the lock, so the work needs no second connection
 * (a pool of one cannot deadlock on itself) and the lock ends with it. For short work only (the
 * migrations): it is not watched and takes no fence.
 */
export async function withAdvisoryLock<T>(pool: Pool, name: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const key = advisoryLockKey(name);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key.toString()]);
    try {
      return await work(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key.toString()]).catch((err: Error) => {
        broken = err;
      });
    }
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A client whose connection failed is discarded rather than returned to the pool.
    client.release(broken);
  }
}
