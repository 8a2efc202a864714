import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/audit/audit-log.js';
import { auditContentSha256, proofField, proofTime } from '../../src/audit/chain.js';
import { appendHeadFile, loadChainHead, parseHeadArgument, readHeadFile } from '../../src/audit/head.js';
import { verifyAuditChain, type ChainVerification } from '../../src/audit/verify-chain.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { databasesClosedAfterAll, type TestDatabase } from '../helpers/database.js';
import { copyMigrationsInto } from '../helpers/migrations.js';
import { tempDirsRemovedAfterAll } from '../helpers/temp-dirs.js';
import { asDba } from './dba.js';

// The audit log's hash chain on a real PostgreSQL: computed by the database on insert, recomputed by
// `audit verify` with the program's own hashing, and broken on purpose the way a DBA could (triggers
// disabled, rows updated, deleted, inserted, renumbered). What is real: PostgreSQL, the migrations,
// the triggers; nothing is mocked.

const databases = databasesClosedAfterAll();
const freshDatabase = databases.fresh;
const tempDir = tempDirsRemovedAfterAll();

async function writeEntries(db: TestDatabase, n: number, prefix = 'test'): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      await recordAudit(db.pool, {
        actor: `cli:${prefix}`,
        action: `${prefix}.action`,
        subjectType: 'thing',
        subjectId: `${prefix}-${i}`,
        before: i % 3 === 0 ? null : { n: i },
        after: { n: i + 1, text: 'naïve café ☕ "quoted" \\ back\nslash', nested: { z: 1, a: [1, 2.50, '3'] } },
        details: i % 2 === 0 ? undefined : { big: Number.MAX_SAFE_INTEGER, tiny: 1e-7 },
      }),
    );
  }
  return ids;
}

const chainOf = async (db: TestDatabase) =>
  (await db.pool.query<{ id: number; chain_seq: number }>('SELECT id, chain_seq FROM archive.audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq')).rows;

function first(v: ChainVerification) {
  expect(v.ok).toBe(false);
  return v.findings[0];
}

describe('the chain as written', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase();
  });

  it('starts at the genesis row and gives every entry the next position, whatever the writer sends for the chain columns', async () => {
    const ids = await writeEntries(db, 5);
    await db.pool.query(
      `INSERT INTO archive.audit_log (actor, action, chain_seq, prev_hash, content_sha256, row_hash) VALUES ('cli:x', 'forged', 999, '\\x00', '\\x00', '\\x00')`,
    );
    const chain = await chainOf(db);
    expect(chain.map((r) => r.chain_seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(chain.slice(1, 6).map((r) => r.id)).toEqual(ids);
    const genesis = await db.pool.query<{ action: string; details: Record<string, unknown> }>('SELECT action, details FROM archive.audit_log WHERE chain_seq = 1');
    expect(genesis.rows[0]).toMatchObject({ action: 'audit.chain.genesis', details: { format: 'zca-audit-chain/1', legacy_rows: 0, legacy_max_id: 0 } });
    const v = await verifyAuditChain(db.pool);
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.rowsChecked).toBe(7);
    expect(v.head).toEqual(await loadChainHead(db.pool));
    expect(v.head?.chainSeq).toBe(7);
  });

  it('is computed by the database exactly as this program recomputes it (unicode, JSON numbers, NULLs, microseconds)', async () => {
    await db.pool.query(
      `INSERT INTO archive.audit_log (at, actor, action, subject_type, subject_id, before, after, details)
       VALUES ('2026-03-04T05:06:07.000009Z', 'api:ünïcødé 🚀', 'x.y', NULL, '', '{"b": 1, "a": [true, null, 1.50]}', 'null', '"\\u00e9\\t"')`,
    );
    const row = (
      await db.pool.query<{ content_sha256: Buffer; before: string; after: string; details: string; at_us: string }>(
        `SELECT content_sha256, before::text AS before, after::text AS after, details::text AS details, (extract(epoch FROM at) * 1000000)::bigint::text AS at_us
         FROM archive.audit_log WHERE action = 'x.y'`,
      )
    ).rows[0]!;
    expect(proofTime(row.at_us)).toBe('2026-03-04T05:06:07.000009Z');
    const recomputed = auditContentSha256({ atMicros: row.at_us, actor: 'api:ünïcødé 🚀', action: 'x.y', subjectType: null, subjectId: '', beforeText: row.before, afterText: row.after, detailsText: row.details });
    expect(recomputed.toString('hex')).toBe(row.content_sha256.toString('hex'));
    // NULL and the empty string are different fields.
    expect(proofField(null).equals(proofField(''))).toBe(false);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });

  it('still refuses UPDATE and DELETE from the application', async () => {
    await writeEntries(db, 2);
    await expect(db.pool.query(`UPDATE archive.audit_log SET actor = 'someone else' WHERE chain_seq = 2`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM archive.audit_log WHERE chain_seq = 2`)).rejects.toThrow(/append-only/);
  });
});

describe('concurrent writers', () => {
  it('get one order: positions dense and unique, every row linked to the one before, from plain inserts, transactions and multi-row statements at once', async () => {
    const db = await freshDatabase();
    const writers = Array.from({ length: 8 }, (_, w) => async () => {
      for (let i = 0; i < 15; i++) {
        if (i % 3 === 0) {
          // A transaction that writes two entries with other work between them.
          const client = await db.pool.connect();
          try {
            await client.query('BEGIN');
            await recordAudit(client, { actor: `w${w}`, action: 'tx.first', subjectId: String(i) });
            await client.query('SELECT pg_sleep(0.002)');
            await recordAudit(client, { actor: `w${w}`, action: 'tx.second', subjectId: String(i) });
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        } else if (i % 3 === 1) {
          await db.pool.query(`INSERT INTO archive.audit_log (actor, action) SELECT $1, 'multi.' || g FROM generate_series(1, 3) g`, [`w${w}`]);
        } else {
          await recordAudit(db.pool, { actor: `w${w}`, action: 'single', subjectId: String(i) });
        }
      }
    });
    await Promise.all(writers.map((w) => w()));
    const chain = await chainOf(db);
    const expectedRows = 1 + 8 * (5 * 2 + 5 * 3 + 5);
    expect(chain).toHaveLength(expectedRows);
    expect(chain.map((r) => r.chain_seq)).toEqual(Array.from({ length: expectedRows }, (_, i) => i + 1));
    const v = await verifyAuditChain(db.pool);
    expect(v.findings).toEqual([]);
    expect(v.rowsChecked).toBe(expectedRows);
  });
});

describe('tampering as a DBA could', () => {
  let db: TestDatabase;
  let ids: number[];
  beforeEach(async () => {
    db = await freshDatabase();
    ids = await writeEntries(db, 10);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
  });

  it('a row changed behind the application (triggers disabled) is named as changed', async () => {
    await asDba(db, ['archive.audit_log'], [`UPDATE archive.audit_log SET details = '{"n": 0}' WHERE id = ${ids[4]}`]);
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'changed', auditId: ids[4], chainSeq: 6 });
    expect(f?.message).toMatch(new RegExp(`audit row ${ids[4]} \\(chain position 6\\) was changed`));
  });

  it('a changed row whose hashes were recomputed is found at the next row, which no longer links to it', async () => {
    await asDba(db, ['archive.audit_log'], [
      `UPDATE archive.audit_log SET actor = 'cli:mallory' WHERE id = ${ids[4]}`,
      `UPDATE archive.audit_log SET content_sha256 = archive.audit_content_sha256(at, actor, action, subject_type, subject_id, before, after, details) WHERE id = ${ids[4]}`,
      `UPDATE archive.audit_log SET row_hash = archive.audit_row_sha256(prev_hash, chain_seq, id, content_sha256) WHERE id = ${ids[4]}`,
    ]);
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'rewritten', auditId: ids[5], chainSeq: 7 });
    expect(f?.message).toContain(`(audit row ${ids[4]})`);
  });

  it('a row removed is named by its missing position and its neighbours', async () => {
    await asDba(db, ['archive.audit_log'], [`DELETE FROM archive.audit_log WHERE id = ${ids[3]}`]);
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'removed', chainSeq: 5 });
    expect(f?.message).toContain(`between audit row ${ids[2]} and audit row ${ids[4]}`);
  });

  it('a row inserted with the chain trigger disabled is named as inserted', async () => {
    await asDba(db, ['archive.audit_log'], [`INSERT INTO archive.audit_log (actor, action) VALUES ('cli:mallory', 'legal_hold.matter.delete')`]);
    const inserted = (await db.pool.query<{ id: number }>(`SELECT id FROM archive.audit_log WHERE actor = 'cli:mallory'`)).rows[0]!.id;
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'inserted', auditId: inserted });
    expect(f?.message).toMatch(/inserted outside the chain/);
  });

  it('a row inserted into a position another row holds is named as inserted', async () => {
    await asDba(db, ['archive.audit_log'], [
      'DROP INDEX archive.audit_log_chain',
      `INSERT INTO archive.audit_log (actor, action, chain_seq, prev_hash, content_sha256, row_hash)
       SELECT 'cli:mallory', 'x', chain_seq, prev_hash, content_sha256, row_hash FROM archive.audit_log WHERE id = ${ids[6]}`,
    ]);
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'inserted', chainSeq: 8 });
  });

  it('two rows swapped in the chain order are named as moved', async () => {
    await asDba(db, ['archive.audit_log'], [
      `UPDATE archive.audit_log SET chain_seq = -chain_seq WHERE id IN (${ids[2]}, ${ids[3]})`,
      `UPDATE archive.audit_log SET chain_seq = CASE WHEN id = ${ids[2]} THEN 5 ELSE 4 END WHERE id IN (${ids[2]}, ${ids[3]})`,
    ]);
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'reordered', auditId: ids[3], chainSeq: 4 });
    expect(f?.message).toMatch(/moved: its content is intact/);
  });

  it('two rows whose ids were swapped are named as moved', async () => {
    await asDba(db, ['archive.audit_log'], [
      'ALTER TABLE archive.audit_log ALTER COLUMN id SET GENERATED BY DEFAULT',
      `UPDATE archive.audit_log SET id = -id WHERE id IN (${ids[6]}, ${ids[7]})`,
      `UPDATE archive.audit_log SET id = CASE WHEN id = -${ids[6]} THEN ${ids[7]} ELSE ${ids[6]} END WHERE id IN (-${ids[6]}, -${ids[7]})`,
    ]);
    const f = first(await verifyAuditChain(db.pool));
    expect(f).toMatchObject({ kind: 'reordered', chainSeq: 8, auditId: ids[7] });
  });

  it('the end of the chain cut off, or rewritten consistently, is found against a head published before', async () => {
    const head = (await loadChainHead(db.pool))!;
    const file = path.join(tempDir('zca-heads-'), 'heads.jsonl');
    await appendHeadFile(file, head, new Date('2026-11-21T00:00:00Z'));
    const published = await readHeadFile(file);
    expect(published).toEqual([{ chainSeq: head.chainSeq, rowHash: head.rowHash, auditId: head.auditId, at: head.at, publishedAt: '2026-11-21T00:00:00.000Z', source: `${file} line 1` }]);
    expect((await verifyAuditChain(db.pool, { heads: published })).ok).toBe(true);

    // Removing the newest rows leaves a chain that is valid on its own: only the published head tells.
    await asDba(db, ['archive.audit_log'], [`DELETE FROM archive.audit_log WHERE id IN (${ids[8]}, ${ids[9]})`]);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
    const cut = first(await verifyAuditChain(db.pool, { heads: published }));
    expect(cut).toMatchObject({ kind: 'head-missing', chainSeq: head.chainSeq });

    // Rewriting the tail consistently (new rows at the same positions): the head's hash differs.
    await writeEntries(db, 2, 'forged');
    const rewritten = first(await verifyAuditChain(db.pool, { heads: [parseHeadArgument(`${head.chainSeq}:${head.rowHash}`)] }));
    expect(rewritten).toMatchObject({ kind: 'head-mismatch', chainSeq: head.chainSeq });
    expect(rewritten?.message).toContain('rewritten after it was published');
  });
});

describe('rows written before the chain existed', () => {
  const copyMigrations = (keep: number): string => copyMigrationsInto(tempDir('zca-migrations-'), keep);

  it('are counted and digested by the genesis row; a change to one of them is found', async () => {
    const db = await databases.empty();
    const logger = createSilentLogger();
    await runMigrations(db.pool, logger, copyMigrations(8));
    await db.pool.query(`INSERT INTO archive.audit_log (actor, action, details) SELECT 'cli:old', 'legacy.' || g, jsonb_build_object('g', g) FROM generate_series(1, 4) g`);
    await runMigrations(db.pool, logger);
    const genesis = (await db.pool.query<{ id: number; details: Record<string, unknown> }>('SELECT id, details FROM archive.audit_log WHERE chain_seq = 1')).rows[0]!;
    expect(genesis.details).toMatchObject({ legacy_rows: 4, legacy_max_id: 4 });
    expect(genesis.id).toBe(5);
    await writeEntries(db, 3);
    const v = await verifyAuditChain(db.pool);
    expect(v.findings).toEqual([]);
    expect(v.legacyRows).toBe(4);

    await asDba(db, ['archive.audit_log'], [`UPDATE archive.audit_log SET details = '{"g": 99}' WHERE id = 2`]);
    expect(first(await verifyAuditChain(db.pool))).toMatchObject({ kind: 'legacy-changed' });
    await asDba(db, ['archive.audit_log'], [`UPDATE archive.audit_log SET details = '{"g": 2}' WHERE id = 2`]);
    expect((await verifyAuditChain(db.pool)).ok).toBe(true);
    await asDba(db, ['archive.audit_log'], [`DELETE FROM archive.audit_log WHERE id = 3`]);
    expect(first(await verifyAuditChain(db.pool))?.message).toMatch(/3 such row\(s\) now, some removed/);
  });
});
