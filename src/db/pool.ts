import pg from 'pg';
import { DrizzleQueryError } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;
/** drizzle's query builder over one Queryable (see `runDrizzle`). */
export type Db = NodePgDatabase;

const DATE_OID = 1082;
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for our own SQL: a `date` stays `yyyy-mm-dd` (pg's default builds a Date at *local*
 * midnight, which shifts days), and int8 counts become numbers (ids and counts stay far below 2^53).
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === DATE_OID) return (value: string) => value;
    if (oid === INT8_OID) return (value: string) => Number(value);
    if (oid === NUMERIC_OID) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'zoom-chat-archiver',
    types,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // TCP keepalives: a peer that vanished (failover, a cut network path) is noticed by the kernel
    // even on a connection that sits idle holding an advisory lock, instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  guardAgainstConnectionLoss(pool);
  return pool;
}

/**
 * A client losing its connection (database restart, a terminated backend) emits 'error'; with no
 * listener that kills the process. Idle clients report through the pool, checked-out ones through
 * themselves: both are swallowed here, and the next query on that client fails where it can be
 * handled (and the pool discards the client).
 */
export function guardAgainstConnectionLoss(pool: pg.Pool): void {
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
}

const drizzles = new WeakMap<Queryable, Db>();

/** drizzle over a Queryable: one per Queryable, kept while it lives. drizzle only calls its `query`. */
function drizzleFor(db: Queryable): Db {
  let orm = drizzles.get(db);
  if (!orm) {
    orm = drizzle({ client: db as pg.Pool });
    drizzles.set(db, orm);
  }
  return orm;
}

/**
 * Runs one query built with drizzle's query builder on a pool, a client inside a transaction, or
 * any Queryable a store is handed (the sync's fenced writer included), so a store keeps taking what
 * its caller has. Transactions stay `withTransaction`'s; drizzle's own `transaction()` is not used.
 *
 * A failure is the driver's own error, as through `query`: drizzle wraps every error in a
 * DrizzleQueryError whose message carries the SQL and its parameters (values no log or terminal
 * should get) and which hides the SQLSTATE and the typed errors (LOCK_SUPERSEDED) callers branch on.
 *
 * Results are parsed by the schema's column types (timestamps to Date, dates as yyyy-mm-dd, int8
 * by `mode`); raw SQL (the hot paths) keeps going through `query` and the parsers above.
 */
export async function runDrizzle<T>(db: Queryable, build: (orm: Db) => PromiseLike<T>): Promise<T> {
  try {
    return await build(drizzleFor(db));
  } catch (err) {
    throw err instanceof DrizzleQueryError && err.cause !== undefined ? err.cause : err;
  }
}

/** One consistent, read-only state of the whole database for the length of a transaction. */
export const READ_ONLY_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/**
 * Runs `work` in a transaction on one client, committing on success and rolling back on error.
 * `begin` names the isolation: a verifier reads one consistent state with `READ_ONLY_SNAPSHOT`.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
