import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, migrationStatus, readMigrationFolder, runMigrations } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { hasCode } from '../../src/errors.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { runCli } from '../helpers/cli.js';
import { databasesClosedAfterAll, type TestDatabase } from '../helpers/database.js';
import { copyMigrationsInto } from '../helpers/migrations.js';
import { tempDirsRemovedAfterAll } from '../helpers/temp-dirs.js';

// The migrator over real, empty PostgreSQL databases: a fresh database migrates; a database the
// previous migrator (drizzle-orm's, which kept its own table) brought to 0000–0007, or to an older
// release's 0000–0005, upgrades to the ledger without running anything twice; edited and unlisted
// files are refused; a failing migration leaves nothing behind; replicas starting together migrate
// once. What is real: PostgreSQL, drizzle-orm's migrator (to build the old state), the CLI.

const logger = createSilentLogger();
const KNOWN = readMigrationFolder().length;
/** 0000–0007: what drizzle-orm's migrator applied before the ledger existed (src/db/migrate.ts, LEGACY_MIGRATIONS). */
const LEGACY = 8;
const databases = databasesClosedAfterAll();
const emptyDatabase = databases.empty;
const tempDir = tempDirsRemovedAfterAll();
const pools: Pool[] = [];

afterAll(async () => {
  for (const pool of pools) await pool.end();
});

/** A copy of migrations/ to change; `keep` drops the journal entries (and files) after the first `keep`. */
const copyMigrations = (keep = KNOWN): string => copyMigrationsInto(tempDir('zca-migrations-'), keep);

/** Adds a hand-written migration to a copied folder, as `drizzle-kit generate --custom` would list it. */
function addMigration(dir: string, tag: string, sql: string): void {
  const journalPath = path.join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ idx: number; version: string; when: number; tag: string; breakpoints: boolean }> };
  const last = journal.entries.at(-1);
  journal.entries.push({ idx: (last?.idx ?? -1) + 1, version: '7', when: (last?.when ?? 0) + 1000, tag, breakpoints: true });
  writeFileSync(journalPath, JSON.stringify(journal, null, 2));
  writeFileSync(path.join(dir, `${tag}.sql`), sql);
}

/** What the previous release's runMigrations did: drizzle-orm's migrator, its table in schema `drizzle`. */
async function migrateLikeBefore(db: TestDatabase, folder = MIGRATIONS_FOLDER): Promise<void> {
  const client = await db.pool.connect();
  try {
    await drizzleMigrate(drizzle({ client }), { migrationsFolder: folder, migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' });
  } finally {
    client.release();
  }
}

async function ledger(db: TestDatabase): Promise<Array<{ tag: string; adopted: boolean }>> {
  return (await db.pool.query<{ tag: string; adopted: boolean }>('SELECT tag, adopted FROM archive_migrations.applied ORDER BY tag')).rows;
}

const allTags = () => readMigrationFolder().map((m) => m.tag);

describe('a fresh database', () => {
  it('migrates, records every migration in the ledger, and finds nothing to do the second time', async () => {
    const db = await emptyDatabase();
    expect(await migrationStatus(db.pool)).toEqual({ applied: 0, known: KNOWN, pending: KNOWN });
    expect(await runMigrations(db.pool, logger)).toEqual({ applied: KNOWN, known: KNOWN, pending: 0 });
    expect(await ledger(db)).toEqual(allTags().map((tag) => ({ tag, adopted: false })));
    // drizzle's private table is neither created nor needed.
    expect((await db.pool.query<{ t: string | null }>(`SELECT to_regclass('drizzle.__drizzle_migrations')::text AS t`)).rows[0]?.t).toBeNull();
    expect(await runMigrations(db.pool, logger)).toEqual({ applied: KNOWN, known: KNOWN, pending: 0 });
    expect(await ledger(db)).toHaveLength(KNOWN);
  });

  it('migrates once when replicas start together', async () => {
    const db = await emptyDatabase();
    const replica = createPool({ connectionString: db.url, max: 2 });
    pools.push(replica);
    const results = await Promise.all([runMigrations(db.pool, logger), runMigrations(replica, logger), runMigrations(db.pool, logger)]);
    for (const r of results) expect(r).toEqual({ applied: KNOWN, known: KNOWN, pending: 0 });
    expect(await ledger(db)).toHaveLength(KNOWN);
  });
});

describe('a database the previous migrator (drizzle-orm) built', () => {
  it('upgrades in place: 0000–0007 adopted into the ledger, nothing run again, data kept, `migrate` reports it', async () => {
    const db = await emptyDatabase();
    await migrateLikeBefore(db, copyMigrations(LEGACY));
    await db.pool.query(`INSERT INTO archive.api_tokens (name, token_sha256, role) VALUES ('kept', '\\x00', 'reader')`);
    // Running 0000 again would fail (CREATE SCHEMA "archive"), so success means nothing ran twice.
    expect(await migrationStatus(db.pool)).toEqual({ applied: LEGACY, known: KNOWN, pending: KNOWN - LEGACY });
    expect(await runMigrations(db.pool, logger)).toEqual({ applied: KNOWN, known: KNOWN, pending: 0 });
    expect(await ledger(db)).toEqual(allTags().map((tag, i) => ({ tag, adopted: i < LEGACY })));
    expect((await db.pool.query('SELECT name FROM archive.api_tokens')).rows).toEqual([{ name: 'kept' }]);

    const cli = await runCli(['migrate'], { DATABASE_URL: db.url });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`: ${KNOWN} migration\\(s\\) applied, 0 pending\\n$`));
  });

  it("upgrades an older release's database (0000–0005): adopts those, applies 0006 and 0007", async () => {
    const db = await emptyDatabase();
    await migrateLikeBefore(db, copyMigrations(6));
    await db.pool.query(`INSERT INTO archive.sessions (session_id, raw, first_archived_at) VALUES ('s1', '{}', '2025-01-02T03:04:05Z')`);
    expect(await migrationStatus(db.pool)).toEqual({ applied: 6, known: KNOWN, pending: KNOWN - 6 });
    expect(await runMigrations(db.pool, logger)).toEqual({ applied: KNOWN, known: KNOWN, pending: 0 });
    expect(await ledger(db)).toEqual(allTags().map((tag, i) => ({ tag, adopted: i < 6 })));
    // 0006's backfill ran on the row the older release had archived.
    const row = await db.pool.query<{ units_created_at: Date }>(`SELECT units_created_at FROM archive.sessions WHERE session_id = 's1'`);
    expect(row.rows[0]?.units_created_at.toISOString()).toBe('2025-01-02T03:04:05.000Z');
  });

  it('refuses a database holding objects no prefix of the migrations builds', async () => {
    const db = await emptyDatabase();
    await db.pool.query('CREATE SCHEMA archive; CREATE TABLE archive.lock_fences (name text)');
    await expect(runMigrations(db.pool, logger)).rejects.toSatisfy((e: unknown) => hasCode(e, 'MIGRATION_FAILED') && /no sequence of migrations builds/.test((e as Error).message));
  });
});

describe('migrations are append-only', () => {
  it('refuses a file edited after it was applied, whether applied here or adopted', async () => {
    const fresh = await emptyDatabase();
    await runMigrations(fresh.pool, logger);
    const adopted = await emptyDatabase();
    await migrateLikeBefore(adopted, copyMigrations(LEGACY));
    await runMigrations(adopted.pool, logger);

    const edited = copyMigrations();
    appendFileSync(path.join(edited, '0003_exports.sql'), '\n-- a harmless-looking edit\n');
    for (const db of [fresh, adopted]) {
      const refused = (e: unknown) => hasCode(e, 'MIGRATION_FAILED') && /migration 0003_exports was changed after it was applied/.test((e as Error).message);
      await expect(migrationStatus(db.pool, edited)).rejects.toSatisfy(refused);
      await expect(runMigrations(db.pool, logger, edited)).rejects.toSatisfy(refused);
    }
  });

  it('refuses a .sql file the journal does not list', async () => {
    const dir = copyMigrations();
    writeFileSync(path.join(dir, '0099_by_hand.sql'), 'SELECT 1;');
    expect(() => readMigrationFolder(dir)).toThrow(/0099_by_hand\.sql .* is not in meta\/_journal\.json/);
  });
});

describe('a new migration', () => {
  it('is applied once, after the others, and recorded', async () => {
    const db = await emptyDatabase();
    await runMigrations(db.pool, logger);
    const dir = copyMigrations();
    addMigration(dir, '0900_test_view', 'CREATE VIEW public.test_view AS SELECT 1 AS one;\n--> statement-breakpoint\nCOMMENT ON VIEW public.test_view IS \'test\';');
    expect(await migrationStatus(db.pool, dir)).toEqual({ applied: KNOWN, known: KNOWN + 1, pending: 1 });
    expect(await runMigrations(db.pool, logger, dir)).toEqual({ applied: KNOWN + 1, known: KNOWN + 1, pending: 0 });
    expect((await db.pool.query('SELECT one FROM public.test_view')).rows).toEqual([{ one: 1 }]);
    expect((await ledger(db)).at(-1)).toEqual({ tag: '0900_test_view', adopted: false });
  });

  it('that fails leaves nothing applied: neither itself nor the ones before it in the same run', async () => {
    const db = await emptyDatabase();
    const dir = copyMigrations();
    addMigration(dir, '0900_broken', 'CREATE TABLE archive.half_done (id int);\n--> statement-breakpoint\nSELECT no_such_function();');
    await expect(runMigrations(db.pool, logger, dir)).rejects.toSatisfy((e: unknown) => hasCode(e, 'MIGRATION_FAILED') && /in migration 0900_broken; nothing was applied/.test((e as Error).message));
    expect((await db.pool.query<{ t: string | null }>(`SELECT to_regclass('archive.sync_runs')::text AS t`)).rows[0]?.t).toBeNull();
    expect(await migrationStatus(db.pool, dir)).toEqual({ applied: 0, known: KNOWN + 1, pending: KNOWN + 1 });
    // The files as shipped still migrate it.
    expect(await runMigrations(db.pool, logger)).toEqual({ applied: KNOWN, known: KNOWN, pending: 0 });
  });
});
