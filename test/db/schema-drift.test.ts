import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.js';
import { ROOT } from '../helpers/cli.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../helpers/database.js';

// src/db/schema.ts is the one description of the tables, and three things must agree with it:
// drizzle-kit's snapshots (else `npm run db:generate` writes a wrong migration or none), the journal
// (else a migration is never applied), and the database the migrations actually build (else a
// hand-written migration changed a table behind schema.ts's back, or schema.ts declares something
// no migration creates). Each test below fails on one of these. What is real: drizzle-kit's CLI,
// PostgreSQL (the migrated template, and a database built from schema.ts alone).

const run = promisify(execFile);
const DRIZZLE_KIT = path.join(ROOT, 'node_modules', 'drizzle-kit', 'bin.cjs');
const SCHEMA = path.join(ROOT, 'src', 'db', 'schema.ts');

async function drizzleKit(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    // stdin closed: a question (drizzle-kit asks whether a column was renamed) fails instead of waiting.
    const { stdout, stderr } = await run(process.execPath, [DRIZZLE_KIT, ...args], { cwd, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}${e.message}` };
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('drizzle-kit', () => {
  it('check: the journal and the snapshots are consistent (one chain, no collisions, journal times increasing)', async () => {
    const r = await drizzleKit(['check', '--dialect', 'postgresql', '--out', path.relative(ROOT, MIGRATIONS_FOLDER)], ROOT);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain("Everything's fine");
    expect(r.output).not.toMatch(/warning|malformed|collision/i);
  });

  it('generate: finds nothing to migrate, so the newest snapshot is schema.ts', async () => {
    // Into a copy: drizzle-kit writes the migration it would need there, never into migrations/.
    const dir = mkdtempSync(path.join(tmpdir(), 'zca-drift-'));
    dirs.push(dir);
    cpSync(MIGRATIONS_FOLDER, path.join(dir, 'migrations'), { recursive: true });
    const before = readdirSync(path.join(dir, 'migrations')).sort();
    // --out relative to cwd: drizzle-kit 0.31 reads snapshots as `./<out>/meta/...`.
    const r = await drizzleKit(['generate', '--dialect', 'postgresql', '--schema', SCHEMA, '--out', 'migrations'], dir);
    const written = readdirSync(path.join(dir, 'migrations')).filter((f) => !before.includes(f));
    const sql = written.map((f) => readFileSync(path.join(dir, 'migrations', f), 'utf8')).join('\n');
    expect(written, `schema.ts has changes no migration holds; \`npm run db:generate\` would write:\n${sql}\n${r.output}`).toEqual([]);
    expect(r.output, r.output).toContain('No schema changes, nothing to migrate');
  });
});

describe('migrations/meta', () => {
  it('has, for every journal entry, its SQL file and a snapshot whose parent is the previous one', () => {
    const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string }> };
    let parent = '00000000-0000-0000-0000-000000000000';
    for (const entry of journal.entries) {
      expect(existsSync(path.join(MIGRATIONS_FOLDER, `${entry.tag}.sql`)), entry.tag).toBe(true);
      const snapshotPath = path.join(MIGRATIONS_FOLDER, 'meta', `${entry.tag.slice(0, 4)}_snapshot.json`);
      expect(existsSync(snapshotPath), `${entry.tag} has no snapshot`).toBe(true);
      const snapshot = JSON.parse(readFileSync(snapshotPath, 'utf8')) as { id: string; prevId: string };
      expect(snapshot.prevId, entry.tag).toBe(parent);
      parent = snapshot.id;
    }
  });
});

/**
 * Every table, column (type, collation, NOT NULL, default, identity), constraint, index and identity
 * sequence in schema `archive`, one sorted line each, as PostgreSQL itself prints them, so two
 * databases compare line by line whatever SQL built them.
 */
const DESCRIBE_ARCHIVE = `
SELECT line FROM (
  SELECT format('table %s', c.relname) AS line
  FROM pg_class c WHERE c.relnamespace = 'archive'::regnamespace AND c.relkind IN ('r', 'p')
  UNION ALL
  SELECT format('column %s.%s %s%s%s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                CASE WHEN a.attcollation NOT IN (0, t.typcollation) THEN ' COLLATE ' || quote_ident(co.collname) ELSE '' END,
                CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''),
                CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END)
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relnamespace = 'archive'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
  WHERE c.relnamespace = 'archive'::regnamespace
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
  FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  WHERE c.relnamespace = 'archive'::regnamespace
  UNION ALL
  SELECT format('sequence %s start %s increment %s min %s max %s cache %s cycle %s', c.relname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
  WHERE c.relnamespace = 'archive'::regnamespace
) x ORDER BY line COLLATE "C"`;

async function describeArchive(db: TestDatabase): Promise<string[]> {
  return (await db.pool.query<{ line: string }>(DESCRIBE_ARCHIVE)).rows.map((r) => r.line);
}

describe('the database the migrations build', () => {
  let migrated: TestDatabase;
  let fromSchema: TestDatabase;

  beforeAll(async () => {
    migrated = await createTestDatabase();
    fromSchema = await createEmptyDatabase();
  });
  afterAll(async () => {
    await migrated?.close();
    await fromSchema?.close();
  });

  it('is the one schema.ts describes: same tables, columns, defaults, collations, keys, CHECKs and indexes', async () => {
    // Indexes may call functions of the read model (public.chat_body_tsvector): those come from the
    // migrated database, as the migrations define them.
    const functions = await migrated.pool.query<{ def: string }>(`SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace`);
    for (const f of functions.rows) await fromSchema.pool.query(f.def);
    const exported = await drizzleKit(['export', '--dialect', 'postgresql', '--schema', SCHEMA], ROOT);
    expect(exported.code, exported.output).toBe(0);
    await fromSchema.pool.query(exported.output);

    const built = await describeArchive(migrated);
    const declared = await describeArchive(fromSchema);
    expect(built.length).toBeGreaterThan(100);
    // Lines only the migrations build: declare them in schema.ts. Lines only schema.ts declares:
    // `npm run db:generate` (a migration that generate found nothing for was written by hand).
    expect({ onlyBuiltByMigrations: built.filter((l) => !declared.includes(l)), onlyDeclaredInSchemaTs: declared.filter((l) => !built.includes(l)) }).toEqual({
      onlyBuiltByMigrations: [],
      onlyDeclaredInSchemaTs: [],
    });
  });
});
