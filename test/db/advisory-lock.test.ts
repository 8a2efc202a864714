import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { assertFences, fenceOf, tryAdvisoryLock, type HeldLock } from '../../src/db/advisory-lock.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { hasCode } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// Advisory locks against a real PostgreSQL: what happens when the lock's connection dies while the
// process lives on (pg_terminate_backend, the server's idle_session_timeout), and fencing tokens.
// What is real: PostgreSQL, node-postgres pools, the wall clock (heartbeats at 100 ms).

let db: TestDatabase;
const pools: Pool[] = [];
const held: HeldLock[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(held.splice(0).map((l) => l.release()));
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

afterAll(async () => {
  await db.close();
});

function pool(url = db.url, max = 4): Pool {
  const p = createPool({ connectionString: url, max });
  pools.push(p);
  return p;
}

async function take(p: Pool, name: string, heartbeatMs = 100): Promise<HeldLock | undefined> {
  const lock = await tryAdvisoryLock(p, name, { heartbeatMs, holder: 'test' });
  if (lock) held.push(lock);
  return lock;
}

function lostReason(lock: HeldLock): Promise<unknown> {
  if (lock.lost.aborted) return Promise.resolve(lock.lost.reason);
  return new Promise((resolve) => lock.lost.addEventListener('abort', () => resolve(lock.lost.reason), { once: true }));
}

async function admin<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: inject('testDb').adminUrl });
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

async function backendOf(name: string): Promise<number> {
  const res = await db.pool.query<{ backend_pid: number }>('SELECT backend_pid FROM public.lock_holders WHERE name = $1', [name]);
  const pid = res.rows[0]?.backend_pid;
  if (pid === undefined) throw new Error(`nobody holds ${name}`);
  return pid;
}

describe('advisory locks that notice their loss', () => {
  it('aborts `lost` with LOCK_LOST when the backend is terminated; the next holder gets a greater fence and the old one is refused', async () => {
    const a = (await take(pool(), 'job:test'))!;
    expect(a).toBeDefined();
    expect(a.lost.aborted).toBe(false);
    expect(BigInt(a.fence)).toBeGreaterThan(0n);
    // Held: nobody else gets it.
    expect(await take(pool(), 'job:test')).toBeUndefined();

    const pid = await backendOf('job:test');
    await admin('SELECT pg_terminate_backend($1)', [pid]);
    const reason = await lostReason(a);
    expect(hasCode(reason, 'LOCK_LOST')).toBe(true);
    expect((reason as Error).message).toMatch(/lost the lock "job:test"/);

    const b = (await take(pool(), 'job:test'))!;
    expect(b).toBeDefined();
    expect(BigInt(b.fence)).toBeGreaterThan(BigInt(a.fence));
    const holders = await db.pool.query<{ fence: string; holder: string }>('SELECT fence, holder FROM public.lock_holders WHERE name = $1', ['job:test']);
    expect(holders.rows).toEqual([{ fence: b.fence, holder: 'test' }]);

    // A write fenced with the superseded token fails and writes nothing; the current one passes.
    await db.pool.query('CREATE TABLE fenced_writes (writer text)');
    const write = (writer: string, lock: HeldLock) =>
      withTransaction(db.pool, async (client) => {
        await assertFences(client, [fenceOf(lock)]);
        await client.query('INSERT INTO fenced_writes VALUES ($1)', [writer]);
      });
    const refused = await write('a', a).catch((err: unknown) => err);
    expect(hasCode(refused, 'LOCK_SUPERSEDED')).toBe(true);
    expect((refused as Error).message).toMatch(/lock "job:test" was taken over/);
    await write('b', b);
    expect((await db.pool.query('SELECT writer FROM fenced_writes')).rows).toEqual([{ writer: 'b' }]);

    // Releasing a lost lock is quiet and gives nothing back that is not ours.
    await a.release();
    expect(await take(pool(), 'job:test')).toBeUndefined();
  });

  it('keeps the lock through the server\'s idle_session_timeout, and the connection goes back to the pool with the setting restored', async () => {
    const idle = await createTestDatabase();
    try {
      await admin(`ALTER DATABASE ${idle.name} SET idle_session_timeout = '1s'`);
      const p = pool(idle.url, 1);
      // A heartbeat slower than the timeout: only the lock session's own setting keeps it alive.
      const lock = (await take(p, 'job:idle', 5_000))!;
      expect(lock).toBeDefined();
      await new Promise((r) => setTimeout(r, 2_500));
      expect(lock.lost.aborted).toBe(false);
      const other = pool(idle.url, 1);
      expect(await take(other, 'job:idle')).toBeUndefined();
      await lock.release();
      held.splice(held.indexOf(lock), 1);
      const setting = await p.query<{ idle_session_timeout: string }>('SHOW idle_session_timeout');
      expect(setting.rows[0]?.idle_session_timeout).toBe('1s');
      expect(await take(other, 'job:idle')).toBeDefined();
    } finally {
      await Promise.all(held.splice(0).map((l) => l.release()));
      await Promise.all(pools.splice(0).map((x) => x.end()));
      await idle.close();
    }
  });

  it('fences are per name and strictly increase across holds', async () => {
    const p = pool();
    const tokens: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const lock = (await take(p, 'job:counted'))!;
      tokens.push(BigInt(lock.fence));
      await lock.release();
      held.splice(held.indexOf(lock), 1);
    }
    expect(tokens[1]! > tokens[0]! && tokens[2]! > tokens[1]!).toBe(true);
    const other = (await take(p, 'job:other'))!;
    expect(other.fence).toBe('1');
  });

  it('a fenced transaction in flight makes a new holder wait until it commits (so a superseded write can never land after the takeover)', async () => {
    const a = (await take(pool(), 'job:race'))!;
    const writer = await db.pool.connect();
    try {
      await writer.query('BEGIN');
      await assertFences(writer, [fenceOf(a)]);
      await admin('SELECT pg_terminate_backend($1)', [await backendOf('job:race')]);
      await lostReason(a);
      // The new holder's acquisition waits on the fence row the open transaction holds FOR SHARE.
      let acquired = false;
      const next = take(pool(), 'job:race').then((lock) => {
        acquired = true;
        return lock;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(acquired).toBe(false);
      await writer.query('COMMIT');
      const b = await next;
      expect(BigInt(b!.fence)).toBeGreaterThan(BigInt(a.fence));
    } finally {
      writer.release();
    }
  });
});
