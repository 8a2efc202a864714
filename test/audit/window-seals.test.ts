import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLatestSeals, verifyArchive, type ArchiveVerification } from '../../src/audit/seals.js';
import { verifyAuditChain } from '../../src/audit/verify-chain.js';
import { writeMessagePage } from '../../src/archive/version-store.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';
import { asDba } from './dba.js';

// Window seals on a real PostgreSQL filled by real sync passes against the Zoom simulator over
// HTTP: a window that becomes complete is sealed in the same transaction; a version arriving later
// through the archive's insert path gets a new seal at the end of the pass (the old one stays); and
// a DBA's change, removal or insertion behind the seal is named by `archive verify`. Each tampering
// test undoes itself and checks that the archive verifies again, so verification is shown to be
// exact in both directions.

const START = new Date('2026-11-21T15:00:00Z');
const VERSIONS = 'archive.message_versions';
let h: SyncHarness;
let clock: ManualClock;

beforeAll(async () => {
  clock = new ManualClock(START);
  const dataset = generateDataset({ seed: 16, now: START, sessions: 30, totalMessages: 2500 });
  h = await startSyncHarness({ dataset, clock });
  const pass = await h.sync();
  expect(pass.outcome).toBe('complete');
});

afterAll(async () => {
  await h?.close();
});

const q = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await h.db.pool.query<T>(sql, values)).rows;

async function aVersionIn(window: string): Promise<{ id: number; session_id: string; message_id: string; body: string | null }> {
  const [row] = await q<{ id: number; session_id: string; message_id: string; body: string | null }>(
    `SELECT id, session_id, message_id, body FROM archive.message_versions WHERE archive.month_of(action_at) = $1::date AND body IS NOT NULL ORDER BY id LIMIT 1 OFFSET 3`,
    [window],
  );
  return row!;
}

function onlyFinding(v: ArchiveVerification) {
  expect(v.ok).toBe(false);
  expect(v.findings).toHaveLength(1);
  return v.findings[0]!;
}

describe('sealing', () => {
  it('seals every window in the pass that completes it, once, over every version stored for it', async () => {
    const complete = (await q<{ m: string }>(`SELECT to_char(month_start, 'YYYY-MM-DD') AS m FROM archive.sync_windows WHERE completed_at IS NOT NULL ORDER BY 1`)).map((r) => r.m);
    expect(complete).toEqual(['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01']);
    const seals = await loadLatestSeals(h.db.pool);
    expect(seals.map((s) => s.window)).toEqual(complete);
    const perMonth = new Map(
      (await q<{ m: string; n: number }>(`SELECT to_char(archive.month_of(action_at), 'YYYY-MM-DD') AS m, count(*)::int AS n FROM archive.message_versions GROUP BY 1`)).map((r) => [r.m, r.n]),
    );
    for (const seal of seals) {
      expect(seal.seals).toBe(1);
      expect(seal.versions).toBe(perMonth.get(seal.window) ?? 0);
      expect(seal.root).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(seals.reduce((n, s) => n + s.versions, 0)).toBeGreaterThan(500);
    // The read model shows them: public.window_seals, and the chain columns of public.audit_log.
    const view = await q<{ month_start: string; seal: number; audit_id: number; root: string; row_hash: string }>(
      `SELECT to_char(month_start, 'YYYY-MM-DD') AS month_start, seal::int, audit_id, root, row_hash FROM public.window_seals ORDER BY month_start`,
    );
    expect(view).toEqual(seals.map((s) => ({ month_start: s.window, seal: 1, audit_id: s.auditId, root: s.root, row_hash: s.rowHash })));
    const chained = await q<{ row_hash: string }>('SELECT row_hash FROM public.audit_log WHERE audit_id = $1', [seals[0]!.auditId]);
    expect(chained).toEqual([{ row_hash: seals[0]!.rowHash }]);

    const v = await verifyArchive(h.db.pool);
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.windows).toHaveLength(6);
    expect(v.versionsChecked).toBe(seals.reduce((n, s) => n + s.versions, 0));
    // The open month is not sealed: reported, not checked.
    expect(v.unsealed.map((u) => u.window)).toContain('2026-11-01');
    expect((await verifyAuditChain(h.db.pool)).ok).toBe(true);
  });

  it('a late version for a sealed window gets a new seal at the end of the pass; the earlier seal is never rewritten', async () => {
    const window = '2026-08-01';
    const [before] = await loadLatestSeals(h.db.pool, [window]);
    const firstRow = await q(`SELECT id, details, encode(row_hash, 'hex') AS h FROM archive.audit_log WHERE id = $1`, [before!.auditId]);
    const session = (await aVersionIn(window)).session_id;
    const run = (await q<{ id: number }>('SELECT max(id)::int AS id FROM archive.sync_runs'))[0]!.id;
    const actionMs = Date.parse('2026-08-14T09:30:00.123Z');
    // Through the archive's own insert path, as a re-sweep that finds what Zoom reported late.
    const page = await writeMessagePage(h.db.pool, {
      sessionId: session,
      monthStart: window,
      syncRunId: run,
      versions: [{ messageId: 'late-message-1', kind: 'original', actionMs, sentMs: actionMs, rawJson: JSON.stringify({ id: 'late-message-1', message: 'reported late', timestamp: actionMs }) }],
      malformed: [],
      nextPageToken: '',
      sweep: { from: '2026-08-01', to: '2026-08-31', startedAt: clock.now() },
    });
    expect(page.versionsAdded).toBe(1);

    // Until the pass ends it is queued, not an alarm.
    const waiting = await verifyArchive(h.db.pool, { window });
    expect(waiting.ok).toBe(true);
    expect(waiting.windows[0]).toMatchObject({ queued: 1, seal: { auditId: before!.auditId } });

    clock.advance(3_600_000);
    await h.sync();
    const [after] = await loadLatestSeals(h.db.pool, [window]);
    expect(after!.seals).toBe(2);
    expect(after!.auditId).not.toBe(before!.auditId);
    expect(after!.versions).toBe(before!.versions + 1);
    const details = (await q<{ details: Record<string, unknown> }>('SELECT details FROM archive.audit_log WHERE id = $1', [after!.auditId]))[0]!.details;
    expect(details).toMatchObject({ reason: 'sync pass end', added: 1, previous_seal_audit_id: before!.auditId, previous_root: before!.root });
    expect(await q(`SELECT id, details, encode(row_hash, 'hex') AS h FROM archive.audit_log WHERE id = $1`, [before!.auditId])).toEqual(firstRow);
    const v = await verifyArchive(h.db.pool);
    expect(v.findings).toEqual([]);
    expect(v.windows.find((w) => w.window === window)).toMatchObject({ queued: 0, ok: true });

    // A pass with nothing new writes no seal.
    clock.advance(3_600_000);
    await h.sync();
    expect((await loadLatestSeals(h.db.pool, [window]))[0]!.auditId).toBe(after!.auditId);
    expect((await verifyAuditChain(h.db.pool)).ok).toBe(true);
  });

  it('sealed records are append-only for the application', async () => {
    await expect(h.db.pool.query('UPDATE archive.sealed_versions SET leaf = leaf')).rejects.toThrow(/append-only/);
    await expect(h.db.pool.query('DELETE FROM archive.sealed_versions')).rejects.toThrow(/append-only/);
    await expect(h.db.pool.query('DELETE FROM archive.message_versions WHERE id = 1')).rejects.toThrow(/append-only/);
  });
});

describe('archive verify against a DBA', () => {
  const window = '2026-07-01';

  it('names a version whose body was changed', async () => {
    const v = await aVersionIn(window);
    await asDba(h.db, [VERSIONS], [`UPDATE archive.message_versions SET body = 'nothing to see here' WHERE id = ${v.id}`]);
    const f = onlyFinding(await verifyArchive(h.db.pool));
    expect(f).toMatchObject({ kind: 'changed', window, versionId: v.id });
    expect(f.message).toContain(`version ${v.id} (session ${v.session_id}, message ${v.message_id})`);
    expect(f.message).toMatch(/columns no longer match its raw item/);
    await asDba(h.db, [VERSIONS], [`UPDATE archive.message_versions SET body = raw ->> 'message' WHERE id = ${v.id}`]);
    expect((await verifyArchive(h.db.pool)).ok).toBe(true);
  });

  it('names a version whose raw item and body were changed together', async () => {
    const v = await aVersionIn(window);
    const edit = `raw = jsonb_set(raw, '{message}', '"edited by a DBA"'), body = 'edited by a DBA'`;
    await asDba(h.db, [VERSIONS], [`CREATE TABLE public.saved AS SELECT * FROM archive.message_versions WHERE id = ${v.id}`, `UPDATE archive.message_versions SET ${edit} WHERE id = ${v.id}`]);
    expect(onlyFinding(await verifyArchive(h.db.pool))).toMatchObject({ kind: 'changed', versionId: v.id, message: expect.stringMatching(/raw item no longer matches its content hash/) });
    // …and with the content hash recomputed too: the identity is not the one that was sealed.
    await asDba(h.db, [VERSIONS], [`UPDATE archive.message_versions SET content_sha256 = archive.version_identity(raw) WHERE id = ${v.id}`]);
    expect(onlyFinding(await verifyArchive(h.db.pool))).toMatchObject({ kind: 'changed', versionId: v.id, message: expect.stringMatching(/not the one its seal covered/) });
    await asDba(h.db, [VERSIONS], [
      `UPDATE archive.message_versions m SET raw = s.raw, body = s.body, content_sha256 = s.content_sha256 FROM public.saved s WHERE m.id = s.id`,
      'DROP TABLE public.saved',
    ]);
    expect((await verifyArchive(h.db.pool)).ok).toBe(true);
  });

  it('names a version moved to another window', async () => {
    const v = await aVersionIn(window);
    await asDba(h.db, [VERSIONS], [`UPDATE archive.message_versions SET action_at = action_at + interval '1 month' WHERE id = ${v.id}`]);
    const f = onlyFinding(await verifyArchive(h.db.pool));
    expect(f).toMatchObject({ kind: 'changed', window, versionId: v.id });
    expect(f.message).toMatch(/now puts it in window 2026-08-01/);
    await asDba(h.db, [VERSIONS], [`UPDATE archive.message_versions SET action_at = action_at - interval '1 month' WHERE id = ${v.id}`]);
    expect((await verifyArchive(h.db.pool)).ok).toBe(true);
  });

  it('names a version removed', async () => {
    const v = await aVersionIn(window);
    await asDba(h.db, [VERSIONS], [
      `CREATE TABLE public.saved AS SELECT * FROM archive.message_versions WHERE id = ${v.id}`,
      `DELETE FROM archive.message_versions WHERE id = ${v.id}`,
    ]);
    const f = onlyFinding(await verifyArchive(h.db.pool, { window }));
    expect(f).toMatchObject({ kind: 'removed', window, versionId: v.id });
    expect(f.message).toMatch(/no retention disposal lists it/);
    await asDba(h.db, [VERSIONS], ['INSERT INTO archive.message_versions OVERRIDING SYSTEM VALUE SELECT * FROM public.saved', 'DROP TABLE public.saved']);
    expect((await verifyArchive(h.db.pool)).ok).toBe(true);
  });

  it('names a version inserted behind the seal', async () => {
    const v = await aVersionIn(window);
    await asDba(h.db, [VERSIONS], [
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, body, raw, content_sha256)
       SELECT session_id, 'planted', kind, action_at, sent_at, 'planted', jsonb_set(raw, '{message}', '"planted"') - 'sender' - 'sender_member_id' - 'sender_display_name' - 'receiver' - 'reply_main_message_id' - 'files',
              archive.version_identity(jsonb_set(raw, '{message}', '"planted"') - 'sender' - 'sender_member_id' - 'sender_display_name' - 'receiver' - 'reply_main_message_id' - 'files')
       FROM archive.message_versions WHERE id = ${v.id}`,
    ]);
    const planted = (await q<{ id: number }>(`SELECT id FROM archive.message_versions WHERE message_id = 'planted'`))[0]!.id;
    const f = onlyFinding(await verifyArchive(h.db.pool));
    expect(f).toMatchObject({ kind: 'added', window, versionId: planted });
    expect(f.message).toMatch(/behind its seal/);
    await asDba(h.db, [VERSIONS], [`DELETE FROM archive.message_versions WHERE id = ${planted}`]);
    expect((await verifyArchive(h.db.pool)).ok).toBe(true);
  });

  it('finds a database function it relies on replaced (one that would vouch for any row)', async () => {
    const original = (await q<{ def: string }>(`SELECT pg_get_functiondef('archive.version_leaf(bigint,text,text,text,timestamptz,timestamptz,bytea)'::regprocedure) AS def`))[0]!.def;
    await h.db.pool.query(
      `CREATE OR REPLACE FUNCTION archive.version_leaf(p_id bigint, p_session_id text, p_message_id text, p_kind text, p_action_at timestamptz, p_sent_at timestamptz, p_content_sha256 bytea)
       RETURNS bytea LANGUAGE sql STABLE AS $$ SELECT leaf FROM archive.sealed_versions WHERE version_id = p_id $$`,
    );
    const found = await verifyArchive(h.db.pool, { window });
    expect(found.findings[0]).toMatchObject({ kind: 'function-replaced', message: expect.stringContaining('archive.version_leaf is not the one the migrations created') });
    await h.db.pool.query(original);
    expect((await verifyArchive(h.db.pool, { window })).ok).toBe(true);
  });

  it('finds the record of what a seal covered changed, and a seal row changed', async () => {
    const v = await aVersionIn(window);
    await asDba(h.db, ['archive.sealed_versions'], [`UPDATE archive.sealed_versions SET leaf = sha256(leaf) WHERE version_id = ${v.id}`]);
    const found = await verifyArchive(h.db.pool, { window });
    expect(found.ok).toBe(false);
    expect(found.findings.map((f) => f.kind)).toEqual(['seal-record-changed', 'changed']);
    expect(found.findings[1]).toMatchObject({ versionId: v.id });
    await asDba(h.db, ['archive.sealed_versions'], [
      `UPDATE archive.sealed_versions SET leaf = archive.version_leaf(m.id, m.session_id, m.message_id, m.kind, m.action_at, m.sent_at, m.content_sha256)
       FROM archive.message_versions m WHERE m.id = version_id AND version_id = ${v.id}`,
    ]);
    expect((await verifyArchive(h.db.pool)).ok).toBe(true);

    const [seal] = await loadLatestSeals(h.db.pool, [window]);
    await asDba(h.db, ['archive.audit_log'], [`UPDATE archive.audit_log SET details = details || '{"versions": 1}' WHERE id = ${seal!.auditId}`]);
    const kinds = (await verifyArchive(h.db.pool, { window })).findings.map((f) => f.kind);
    expect(kinds).toEqual(['seal-changed', 'seal-record-changed']);
    expect((await verifyAuditChain(h.db.pool)).findings[0]).toMatchObject({ kind: 'changed', auditId: seal!.auditId });
  });
});
