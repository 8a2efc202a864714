import { assertFences, asLockSuperseded, type Fence } from './advisory-lock.js';
import type { Pool, Queryable } from './pool.js';

/**
 * A Queryable for the writes of work that holds a lock: each statement runs in its own transaction
 * right after the holder's fences are checked (archive.assert_fence, whose row lock makes a new
 * holder's acquisition wait for the transaction). The writes of a run that lost its lock then fail
 * with LOCK_SUPERSEDED instead of overwriting what the current holder wrote.
 *
 * For a pass's bookkeeping (runs, windows, units), a few statements a pass; the hot page writes
 * carry the same check inside their own single statement (see archive/version-store.ts).
 */
export function fencedWriter(pool: Pool, fences: readonly Fence[]): Queryable {
  const query = async (text: string, values?: unknown[]) => {
    const client = await pool.connect();
    let broken: unknown;
    try {
      await client.query('BEGIN');
      await assertFences(client, fences);
      const result = await client.query(text, values);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => (broken = rollbackErr));
      throw asLockSuperseded(err);
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  };
  // Only the (text, values) form is used for these writes; pg's other overloads are not.
  return { query } as unknown as Queryable;
}

/** The SQL that checks one optional fence inside a single statement: `true`, or it raises ZC409. */
export function fenceCheckSql(namePlaceholder: string, tokenPlaceholder: string): string {
  return `CASE WHEN ${namePlaceholder}::text IS NULL THEN true ELSE archive.assert_fence(${namePlaceholder}::text, ${tokenPlaceholder}::bigint) END`;
}
