import type { Pool, PoolClient } from '../db/pool.js';

/**
 * Runs `work` in one transaction with a statement timeout that ends with it (SET LOCAL), so one slow
 * API query or scrape can never hold a pooled connection for long, and the timeout never leaks to
 * whoever uses the connection next. Commits on success, rolls back on error; a connection whose
 * rollback failed is discarded rather than returned to the pool.
 */
export async function inBoundedTransaction<T>(
  pool: Pool,
  options: { statementTimeoutMs: number; readOnly?: boolean },
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const timeoutMs = Math.max(1, Math.floor(options.statementTimeoutMs));
    // One round trip: the simple-query protocol runs both statements.
    await client.query(`BEGIN${options.readOnly ? ' READ ONLY' : ''}; SET LOCAL statement_timeout = ${timeoutMs}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
