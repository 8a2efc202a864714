import type { Queryable } from '../db/pool.js';

/** The cheapest round trip that proves the database answers queries (/readyz's first check). */
export async function pingDatabase(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
