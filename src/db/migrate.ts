import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseError, ArchiverError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { withAdvisoryLock } from './advisory-lock.js';
import type { Pool, PoolClient, Queryable } from './pool.js';

/**
 * Applies migrations/ and says which are applied. Our own, small migrator over drizzle-kit's folder
 * format (README, "Migrations"):
 *
 * - `migrations/meta/_journal.json` (written by drizzle-kit) gives the order; each `<tag>.sql` is
 *   split at drizzle-kit's `--> statement-breakpoint` marks.
 * - What is applied is recorded in our own ledger, `archive_migrations.applied` (tag, sha256 of the
 *   file, when), never in drizzle's private `drizzle.__drizzle_migrations`, which we neither read
 *   nor write. A migration is identified by its tag (`0006_activity_sync`), not by a timestamp.
 * - Every pending migration is applied in journal order, all in one transaction with their ledger
 *   rows, under an advisory lock, after checking the server version.
 * - A file whose sha256 differs from the one recorded when it was applied is refused: migrations
 *   are append-only.
 *
 * Databases migrated by drizzle-orm's migrator (0000–0007, before this ledger existed) are adopted
 * once: the ledger is created and those migrations recorded as applied, found by what each one built
 * (`LEGACY_MIGRATIONS`), with the sha256 each file had when it shipped.
 */

/** migrations/ sits two levels above this file both in src/db (tsx) and in dist/db (built). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

const MIN_SERVER_VERSION_NUM = 140000;
const BREAKPOINT = '--> statement-breakpoint';

/** The ledger: its own schema, outside `archive` (which migration 0000 creates) and drizzle-kit's schema filter. */
const LEDGER = 'archive_migrations.applied';
const CREATE_LEDGER = `
CREATE SCHEMA IF NOT EXISTS archive_migrations;
CREATE TABLE IF NOT EXISTS archive_migrations.applied (
  tag text COLLATE "C" PRIMARY KEY,
  sha256 text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  adopted boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE archive_migrations.applied IS
  'Migrations of zoom-chat-archiver applied to this database (migrations/, src/db/migrate.ts). adopted: applied by drizzle-orm''s migrator before this ledger existed, recorded when it was created.'`;

/**
 * The migrations drizzle-orm's migrator applied before the ledger existed, each with the sha256 its
 * file shipped with and an object it built. The migrator ran all pending files in one transaction,
 * so such a database holds a prefix of this list.
 */
const LEGACY_MIGRATIONS: ReadonlyArray<{ tag: string; sha256: string; built: string }> = [
  { tag: '0000_archive_core', sha256: '1b6d99ae36c9c71c86d4390e5bd631dd3541361242b79e352945938b094eff11', built: `to_regclass('archive.sync_runs')` },
  { tag: '0001_read_model', sha256: '5898cbe372b35c5bc36a3c96d8ffb38afa57530db0d103fff307a0b4c0cd1c29', built: `to_regclass('public.chat_message_versions')` },
  { tag: '0002_legal_hold', sha256: 'ddd82b7ac167f17c71aab4dc7fc1719de1961d339d7f392b3829a347e7424893', built: `to_regclass('public.held_messages')` },
  { tag: '0003_exports', sha256: 'eaf316554b5006f51fffdce2ef0c665f025a9d3af2b9655ae615a8137eda2d48', built: `to_regclass('public.export_bundles')` },
  { tag: '0004_service', sha256: '0ea9021c795a3a611ddb280c750861cdebc6c7ca8fcff33a08ff1c830e140b92', built: `to_regclass('public.job_runs')` },
  { tag: '0005_inline_identity', sha256: 'f5bbbff4a714a00f5d34ccac1f3aa37ee129d923ee437b1595e2026f548549da', built: `to_regprocedure('archive.without_file_download_urls(jsonb)')` },
  { tag: '0006_activity_sync', sha256: 'f398b60196cb9faea5a5e7925d1062088dd50015c8c82e56c87abebe1aaf8aaf', built: `to_regclass('archive.listing_misses')` },
  { tag: '0007_lock_fences', sha256: 'ee3d58852b2ffad6967f64b2702ae683668cf0890b28d43e75ead50758c5748d', built: `to_regclass('archive.lock_fences')` },
];

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

/** One migration file, in journal order. */
export interface MigrationFile {
  /** The file name without `.sql`, e.g. `0006_activity_sync`. */
  tag: string;
  /** Lower-case hex SHA-256 of the file's bytes. */
  sha256: string;
  statements: string[];
}

/**
 * The migrations in `folder`, in journal order. A `.sql` file the journal does not list is refused:
 * it would never be applied, and drizzle-kit would not know the tables it changes.
 */
export function readMigrationFolder(folder = MIGRATIONS_FOLDER): MigrationFile[] {
  let journal: { entries: Array<{ tag: string }> };
  try {
    journal = JSON.parse(readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8')) as typeof journal;
  } catch (err) {
    throw new ArchiverError('MIGRATION_FAILED', `cannot read the migration journal ${path.join(folder, 'meta', '_journal.json')}: ${(err as Error).message}`, { cause: err });
  }
  const listed = new Set(journal.entries.map((e) => e.tag));
  const unlisted = readdirSync(folder).filter((f) => f.endsWith('.sql') && !listed.has(f.slice(0, -'.sql'.length)));
  if (unlisted.length > 0) {
    throw new ArchiverError(
      'MIGRATION_FAILED',
      `${unlisted.join(', ')} in ${folder} ${unlisted.length === 1 ? 'is' : 'are'} not in meta/_journal.json: create migrations with \`npm run db:generate\` (table changes) or \`npx drizzle-kit generate --custom --name <what>\` (views, triggers, functions)`,
    );
  }
  return journal.entries.map(({ tag }) => {
    const text = readFileSync(path.join(folder, `${tag}.sql`), 'utf8');
    return {
      tag,
      sha256: createHash('sha256').update(text).digest('hex'),
      statements: text.split(BREAKPOINT).filter((s) => s.trim() !== ''),
    };
  });
}

export interface MigrationStatus {
  applied: number;
  known: number;
  pending: number;
}

interface AppliedMigration {
  tag: string;
  sha256: string;
}

interface DatabaseState {
  applied: AppliedMigration[];
  /** False on a database migrated before the ledger existed (or never migrated): the next run creates it. */
  ledger: boolean;
}

async function readState(db: Queryable): Promise<DatabaseState> {
  const present = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [LEDGER]);
  if (present.rows[0]?.present) {
    const res = await db.query<AppliedMigration>(`SELECT tag, sha256 FROM ${LEDGER} ORDER BY tag`);
    return { applied: res.rows, ledger: true };
  }
  return { applied: await findLegacyMigrations(db), ledger: false };
}

/** The legacy migrations this database holds (none on an empty one), from what they built. */
async function findLegacyMigrations(db: Queryable): Promise<AppliedMigration[]> {
  const res = await db.query<Record<string, boolean>>(`SELECT ${LEGACY_MIGRATIONS.map((m, i) => `${m.built} IS NOT NULL AS m${i}`).join(', ')}`);
  const built = LEGACY_MIGRATIONS.map((_, i) => res.rows[0]?.[`m${i}`] === true);
  const count = built.indexOf(false) === -1 ? built.length : built.indexOf(false);
  if (built.slice(count).some(Boolean)) {
    throw new ArchiverError(
      'MIGRATION_FAILED',
      `the database holds part of the archive schema that no sequence of migrations builds (built: ${LEGACY_MIGRATIONS.filter((_, i) => built[i]).map((m) => m.tag).join(', ')}); restore it from a backup or migrate it by hand`,
    );
  }
  return LEGACY_MIGRATIONS.slice(0, count).map(({ tag, sha256 }) => ({ tag, sha256 }));
}

function compare(files: readonly MigrationFile[], state: DatabaseState): { status: MigrationStatus; pending: MigrationFile[]; unknown: string[] } {
  const byTag = new Map(files.map((f) => [f.tag, f]));
  for (const row of state.applied) {
    const file = byTag.get(row.tag);
    if (file && file.sha256 !== row.sha256) {
      throw new ArchiverError(
        'MIGRATION_FAILED',
        `migration ${row.tag} was changed after it was applied (sha256 ${file.sha256}, applied as ${row.sha256}); migrations are append-only — restore the original file and add a new migration instead`,
      );
    }
  }
  const applied = new Set(state.applied.map((r) => r.tag));
  const pending = files.filter((f) => !applied.has(f.tag));
  const unknown = state.applied.filter((r) => !byTag.has(r.tag)).map((r) => r.tag);
  return { status: { applied: state.applied.length, known: files.length, pending: pending.length }, pending, unknown };
}

/**
 * Compares the database with migrations/: a migration file edited after it was applied is refused
 * (migrations are append-only), and pending ones are counted.
 */
export async function migrationStatus(db: Queryable, folder = MIGRATIONS_FOLDER): Promise<MigrationStatus> {
  return compare(readMigrationFolder(folder), await readState(db)).status;
}

/**
 * Applies pending migrations under an advisory lock, so replicas starting together (a rolling
 * deploy) migrate once and the others wait, then find nothing to do.
 */
export async function runMigrations(pool: Pool, logger: Logger, folder = MIGRATIONS_FOLDER): Promise<MigrationStatus> {
  try {
    return await withAdvisoryLock(pool, 'migrate', async (client) => {
      const version = await checkServerVersion(client);
      const files = readMigrationFolder(folder);
      const state = await readState(client);
      const { status, pending, unknown } = compare(files, state);
      if (unknown.length > 0) {
        logger.warn({ unknown }, 'the database has migrations this version does not know (a newer version migrated it); starting anyway');
      }
      if (pending.length === 0 && state.ledger) {
        logger.debug({ applied: status.applied, serverVersion: version }, 'database schema is current');
        return status;
      }
      logger.info({ pending: pending.map((m) => m.tag), applied: status.applied, serverVersion: version }, 'applying database migrations');
      await applyInTransaction(client, state, pending);
      if (!state.ledger && state.applied.length > 0) {
        logger.info({ adopted: state.applied.map((m) => m.tag), ledger: LEDGER }, "recorded the migrations drizzle-orm's migrator had applied in the migration ledger (once, on upgrade)");
      }
      const after = compare(files, await readState(client)).status;
      logger.info({ applied: after.applied }, 'database migrations applied');
      return after;
    });
  } catch (err) {
    if (err instanceof ArchiverError) throw err;
    throw new DatabaseError('DATABASE_UNAVAILABLE', `cannot migrate the database: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the ledger (adopting legacy migrations) and applies `pending`: all or nothing. */
async function applyInTransaction(client: PoolClient, state: DatabaseState, pending: readonly MigrationFile[]): Promise<void> {
  let current = 'the migration ledger';
  try {
    await client.query('BEGIN');
    if (!state.ledger) {
      await client.query(CREATE_LEDGER);
      if (state.applied.length > 0) {
        await client.query(`INSERT INTO ${LEDGER} (tag, sha256, adopted) SELECT tag, sha256, true FROM unnest($1::text[], $2::text[]) AS m(tag, sha256)`, [
          state.applied.map((m) => m.tag),
          state.applied.map((m) => m.sha256),
        ]);
      }
    }
    for (const migration of pending) {
      current = `migration ${migration.tag}`;
      for (const statement of migration.statements) await client.query(statement);
      await client.query(`INSERT INTO ${LEDGER} (tag, sha256) VALUES ($1, $2)`, [migration.tag, migration.sha256]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new ArchiverError('MIGRATION_FAILED', `database migration failed in ${current}; nothing was applied: ${(err as Error).message}`, { cause: err });
  }
}
