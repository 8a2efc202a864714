import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { DatabaseError, ArchiverError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { withAdvisoryLock } from './advisory-lock.js';
import type { Pool, Queryable } from './pool.js';

/** migrations/ sits two levels above this file both in src/db (tsx) and in dist/db (built). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

const MIN_SERVER_VERSION_NUM = 140000;
const MIGRATIONS_SCHEMA = 'drizzle';
const MIGRATIONS_TABLE = '__drizzle_migrations';

export async function checkServerVersion(db: Queryable): Promise<string> {
  const res = await db.query<{ num: string; version: string }>(
    "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version",
  );
  const row = res.rows[0];
  if (!row || Number(row.num) < MIN_SERVER_VERSION_NUM) {
    throw new ArchiverError(
      'DATABASE_VERSION_UNSUPPORTED',
      `PostgreSQL ${row?.version ?? 'of unknown version'} is too old: zoom-chat-archiver needs PostgreSQL 14 or newer`,
    );
  }
  return row.version;
}

interface AppliedMigration {
  hash: string;
  created_at: string;
}

async function readApplied(db: Queryable): Promise<AppliedMigration[] | undefined> {
  const exists = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    `${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`,
  ]);
  if (!exists.rows[0]?.present) return undefined;
  const res = await db.query<AppliedMigration>(
    `SELECT hash, created_at::text AS created_at FROM ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE} ORDER BY created_at`,
  );
  return res.rows;
}

export interface MigrationStatus {
  applied: number;
  known: number;
  pending: number;
}

/**
 * Compares the database with migrations/: a migration file edited after it was applied is refused
 * (migrations are append-only), and pending ones are counted.
 */
export async function migrationStatus(db: Queryable, folder = MIGRATIONS_FOLDER): Promise<MigrationStatus> {
  const files = readMigrationFiles({ migrationsFolder: folder });
  const applied = (await readApplied(db)) ?? [];
  for (const row of applied) {
    const file = files.find((f) => String(f.folderMillis) === row.created_at);
    if (file && file.hash !== row.hash) {
      throw new ArchiverError(
        'MIGRATION_FAILED',
        `migration created at ${row.created_at} was changed after it was applied; migrations are append-only — restore the original file and add a new migration instead`,
      );
    }
  }
  const lastApplied = applied.length > 0 ? Number(applied[applied.length - 1]?.created_at) : -Infinity;
  const pending = files.filter((f) => f.folderMillis > lastApplied).length;
  return { applied: applied.length, known: files.length, pending };
}

/**
 * Applies pending migrations under an advisory lock, so replicas starting together (a rolling
 * deploy) migrate once and the others wait, then find nothing to do.
 */
export async function runMigrations(pool: Pool, logger: Logger, folder = MIGRATIONS_FOLDER): Promise<MigrationStatus> {
  try {
    return await withAdvisoryLock(pool, 'migrate', async (client) => {
      const version = await checkServerVersion(client);
      const before = await migrationStatus(client, folder);
      if (before.pending === 0) {
        logger.debug({ applied: before.applied, serverVersion: version }, 'database schema is current');
        return before;
      }
      logger.info({ pending: before.pending, applied: before.applied, serverVersion: version }, 'applying database migrations');
      try {
        await migrate(drizzle(client), { migrationsFolder: folder, migrationsSchema: MIGRATIONS_SCHEMA, migrationsTable: MIGRATIONS_TABLE });
      } catch (err) {
        throw new ArchiverError('MIGRATION_FAILED', `database migration failed: ${(err as Error).message}`, { cause: err });
      }
      const after = await migrationStatus(client, folder);
      logger.info({ applied: after.applied }, 'database migrations applied');
      return after;
    });
  } catch (err) {
    if (err instanceof ArchiverError) throw err;
    throw new DatabaseError('DATABASE_UNAVAILABLE', `cannot migrate the database: ${(err as Error).message}`, { cause: err });
  }
}
