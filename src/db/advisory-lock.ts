import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from './pool.js';

/**
 * Session-level advisory locks: held by one connection, released when it ends, so a process that
 * dies mid-job releases its lock with its connection. Keys are derived from a readable name.
 */
export function advisoryLockKey(name: string): bigint {
  return createHash('sha256').update(`zoom-chat-archiver:${name}`).digest().readBigInt64BE(0);
}

export interface HeldLock {
  readonly name: string;
  release(): Promise<void>;
}

async function holdWith(client: PoolClient, name: string, key: bigint): Promise<HeldLock> {
  let released = false;
  return {
    name,
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query('SELECT pg_advisory_unlock($1)', [key.toString()]);
        client.release();
      } catch (err) {
        // A broken connection already dropped the lock; discard the client instead of reusing it.
        client.release(err instanceof Error ? err : true);
      }
    },
  };
}

/** Takes the lock if it is free; undefined when another session holds it. */
export async function tryAdvisoryLock(pool: Pool, name: string): Promise<HeldLock | undefined> {
  const key = advisoryLockKey(name);
  const client = await pool.connect();
  let got = false;
  try {
    const res = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key.toString()]);
    got = res.rows[0]?.locked === true;
  } catch (err) {
    client.release(err instanceof Error ? err : true);
    throw err;
  }
  if (!got) {
    client.release();
    return undefined;
  }
  return holdWith(client, name, key);
}

/**
 * Runs `work` on the very connection that holds the lock, so the work needs no second connection
 * (a pool of one cannot deadlock on itself) and the lock ends with it.
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
