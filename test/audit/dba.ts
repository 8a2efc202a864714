import type { TestDatabase } from '../helpers/database.js';

/**
 * What a database administrator can do that the application cannot: run statements with every user
 * trigger of the given tables disabled (the append-only guards and the chain trigger included), in
 * one transaction, then put the triggers back. The tests that use it play the attacker the proofs
 * are for.
 */
export async function asDba(db: TestDatabase, tables: readonly string[], statements: readonly string[]): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    for (const t of tables) await client.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
    for (const s of statements) await client.query(s);
    for (const t of tables) await client.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
