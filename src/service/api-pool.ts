import pg from 'pg';
import { guardAgainstConnectionLoss, type Pool } from '../db/pool.js';

/**
 * The HTTP API's own pool, to the same database as the jobs' pool: API load can never take the
 * connections a sync needs (or the other way round), and every API connection carries a statement
 * timeout, so a runaway search is cancelled (503 QUERY_TIMEOUT) without a transaction around each
 * read just to scope a SET LOCAL.
 */
export function createApiPool(base: Pool, options: { max: number; statementTimeoutMs: number }): Pool {
  const pool = new pg.Pool({
    ...base.options,
    max: options.max,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'zoom-chat-archiver-api',
  });
  guardAgainstConnectionLoss(pool);
  return pool;
}
