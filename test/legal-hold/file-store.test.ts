import { describe, expect, it } from 'vitest';
import type { Fence } from '../../src/db/advisory-lock.js';
import { InternalError } from '../../src/errors.js';
import {
  claimFile,
  countUnstoredFiles,
  fileSubject,
  loadFile,
  recordAttemptFailure,
  recordListedFiles,
  recordStored,
  releaseFile,
} from '../../src/legal-hold/file-store.js';
import type { ZoomLegalHoldFile } from '../../src/zoom/legal-hold.js';
import { useTestDatabase } from '../helpers/database.js';

// The file store on its own (src/legal-hold/file-store.ts): direct calls against a fresh database
// with fixture rows inserted by SQL. Every test uses its own matter id, so tests share the database
// without seeing each other's rows or audit entries.

const db = useTestDatabase();

const NOW = new Date('2026-11-21T15:00:00.000Z');
const LATER = new Date('2026-11-21T16:30:00.000Z');

async function insertMatter(matterId: string): Promise<void> {
  await db.pool.query(`INSERT INTO archive.legal_hold_matters (matter_id, matter_name) VALUES ($1, $2)`, [matterId, `Matter ${matterId}`]);
}

/** A file row in `state`; a stored one gets the copy the trigger demands. */
async function insertFile(matterId: string, custodian: string, fileKey: string, state: string): Promise<void> {
  const stored = state === 'stored';
  await db.pool.query(
    `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state, stored_path, stored_bytes, sha256, stored_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [matterId, custodian, fileKey, state, stored ? `legal-hold/${fileKey}.zip` : null, stored ? 10 : null, stored ? 'ab'.repeat(32) : null, stored ? NOW : null],
  );
}

async function rowOf(matterId: string, fileKey: string): Promise<Record<string, unknown>> {
  const res = await db.pool.query(`SELECT * FROM archive.legal_hold_files WHERE matter_id = $1 AND file_key = $2`, [matterId, fileKey]);
  return res.rows[0] as Record<string, unknown>;
}

/** The audit entries about a matter's files, oldest first. */
async function auditOf(matterId: string): Promise<Array<Record<string, unknown>>> {
  const res = await db.pool.query(
    `SELECT actor, action, subject_type, subject_id, before, after, details FROM public.audit_log WHERE subject_id LIKE $1 || '/%' ORDER BY audit_id`,
    [matterId],
  );
  return res.rows as Array<Record<string, unknown>>;
}

function zoomFile(fileKey: string, overrides: Partial<ZoomLegalHoldFile> = {}): ZoomLegalHoldFile {
  const item = { fileKey, fileCount: 3, fileStartDate: '2026-01-01', fileEndDate: '2026-01-31', readyForDownload: false, totalFileSize: 1234, ...overrides };
  return { ...item, rawJson: JSON.stringify({ file_key: item.fileKey, file_count: item.fileCount }), ...overrides };
}

/** A fence of `name` that a newer hold has superseded. */
async function supersededFence(name: string): Promise<Fence> {
  await db.pool.query(`INSERT INTO archive.lock_fences (name, token, holder) VALUES ($1, 2, 'another process')`, [name]);
  return { name, token: '1' };
}

describe('reading files', () => {
  it('loads the one row of a key, without raw, and nothing for a key it does not have', async () => {
    await insertMatter('m-load');
    await insertFile('m-load', 'a@example.com', 'k1', 'ready');
    await insertFile('m-load', 'b@example.com', 'k1', 'failed');
    const row = await loadFile(db.pool, { matterId: 'm-load', custodian: 'b@example.com', fileKey: 'k1' });
    expect(row).toMatchObject({ matterId: 'm-load', custodian: 'b@example.com', fileKey: 'k1', state: 'failed', attempts: 0 });
    expect(row).not.toHaveProperty('raw');
    expect(await loadFile(db.pool, { matterId: 'm-load', custodian: 'c@example.com', fileKey: 'k1' })).toBeUndefined();
  });

  it('counts every file of the matter that is not stored, and only that matter', async () => {
    await insertMatter('m-count');
    await insertMatter('m-count-other');
    for (const [i, state] of ['pending', 'ready', 'downloading', 'failed', 'stored', 'stored'].entries()) await insertFile('m-count', 'a@example.com', `k${i}`, state);
    await insertFile('m-count-other', 'a@example.com', 'k0', 'pending');
    expect(await countUnstoredFiles(db.pool, 'm-count')).toBe(4);
    expect(await countUnstoredFiles(db.pool, 'm-unknown')).toBe(0);
  });

  it('names a file in the audit log as matter/custodian/key', () => {
    expect(fileSubject({ matterId: 'm1', custodian: 'a@example.com', fileKey: 'k/1' })).toBe('m1/a@example.com/k/1');
  });
});

describe('recording a listed page', () => {
  it('records an empty page as nothing, without touching the database (not even the fences)', async () => {
    // A superseded fence would fail any transaction; an empty page never opens one.
    const fence = await supersededFence('job:empty-page');
    expect(await recordListedFiles(db.pool, 'm-empty', 'a@example.com', [], NOW, [fence])).toEqual({ added: [], becameReady: [], seen: 0 });
    expect(await recordListedFiles(db.pool, 'm-empty', 'a@example.com', [], NOW)).toEqual({ added: [], becameReady: [], seen: 0 });
  });

  it('refuses a page under a superseded fence and writes nothing', async () => {
    await insertMatter('m-fenced');
    const fence = await supersededFence('job:fenced-page');
    const err = await recordListedFiles(db.pool, 'm-fenced', 'a@example.com', [zoomFile('k1')], NOW, [fence]).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('LOCK_SUPERSEDED');
    expect(await rowOf('m-fenced', 'k1')).toBeUndefined();
    expect(await auditOf('m-fenced')).toEqual([]);
  });

  it('stores new files with Zoom’s metadata, returns who they are and audits each discovery', async () => {
    await insertMatter('m-new');
    const outcome = await recordListedFiles(
      db.pool,
      'm-new',
      'a@example.com',
      [zoomFile('k1', { readyForDownload: true }), zoomFile('k2', { fileStartDate: '2026-02-01', fileEndDate: '2026-02-28', fileCount: null, totalFileSize: null }), zoomFile('k1', { readyForDownload: true })],
      NOW,
    );
    // k1 came twice: one row, counted once.
    expect(outcome).toEqual({
      added: [
        { matterId: 'm-new', custodian: 'a@example.com', fileKey: 'k1' },
        { matterId: 'm-new', custodian: 'a@example.com', fileKey: 'k2' },
      ],
      becameReady: [],
      seen: 2,
    });
    expect(await rowOf('m-new', 'k1')).toMatchObject({
      custodian: 'a@example.com',
      file_start_date: '2026-01-01',
      file_end_date: '2026-01-31',
      file_count: 3,
      announced_bytes: 1234,
      state: 'ready',
      ready_at: NOW,
      first_seen_at: NOW,
      last_seen_at: NOW,
      raw: { file_key: 'k1', file_count: 3 },
    });
    expect(await rowOf('m-new', 'k2')).toMatchObject({ file_start_date: '2026-02-01', file_end_date: '2026-02-28', file_count: null, announced_bytes: null, state: 'pending', ready_at: null });
    expect(await auditOf('m-new')).toEqual([
      {
        actor: 'zoom',
        action: 'legal_hold.file.discovered',
        subject_type: 'legal_hold_file',
        subject_id: 'm-new/a@example.com/k1',
        before: null,
        after: { fileStartDate: '2026-01-01', fileEndDate: '2026-01-31', fileCount: 3, announcedBytes: 1234, readyForDownload: true, state: 'ready' },
        details: null,
      },
      {
        actor: 'zoom',
        action: 'legal_hold.file.discovered',
        subject_type: 'legal_hold_file',
        subject_id: 'm-new/a@example.com/k2',
        before: null,
        after: { fileStartDate: '2026-02-01', fileEndDate: '2026-02-28', fileCount: null, announcedBytes: null, readyForDownload: false, state: 'pending' },
        details: null,
      },
    ]);
  });

  it('keeps a file count up to the int4 limit in its column; a larger one only in raw', async () => {
    await insertMatter('m-count-limit');
    await recordListedFiles(db.pool, 'm-count-limit', 'a@example.com', [zoomFile('max', { fileCount: 2_147_483_647 }), zoomFile('over', { fileCount: 2_147_483_648 })], NOW);
    expect(await rowOf('m-count-limit', 'max')).toMatchObject({ file_count: 2_147_483_647 });
    expect(await rowOf('m-count-limit', 'over')).toMatchObject({ file_count: null, raw: { file_key: 'over', file_count: 2_147_483_648 } });
    // The audit keeps what Zoom said.
    expect((await auditOf('m-count-limit')).map((a) => (a.after as { fileCount: number }).fileCount)).toEqual([2_147_483_647, 2_147_483_648]);
  });

  it('moves a pending file to ready once, auditing that, and never sets a later state back', async () => {
    await insertMatter('m-ready');
    await recordListedFiles(db.pool, 'm-ready', 'a@example.com', [zoomFile('p1'), zoomFile('r1', { readyForDownload: true }), zoomFile('s1')], NOW);
    await db.pool.query(`UPDATE archive.legal_hold_files SET state = 'failed' WHERE matter_id = 'm-ready' AND file_key = 's1'`);
    const listedAgain = [zoomFile('p1', { readyForDownload: true, fileStartDate: null, fileEndDate: null, fileCount: 7 }), zoomFile('r1', { readyForDownload: true }), zoomFile('s1', { readyForDownload: true })];
    const outcome = await recordListedFiles(db.pool, 'm-ready', 'a@example.com', listedAgain, LATER);
    expect(outcome).toEqual({ added: [], becameReady: [{ matterId: 'm-ready', custodian: 'a@example.com', fileKey: 'p1' }], seen: 3 });
    // A date Zoom no longer sends keeps the one it sent before.
    expect(await rowOf('m-ready', 'p1')).toMatchObject({ state: 'ready', ready_at: LATER, first_seen_at: NOW, last_seen_at: LATER, file_start_date: '2026-01-01', file_end_date: '2026-01-31', file_count: 7 });
    expect(await rowOf('m-ready', 'r1')).toMatchObject({ state: 'ready', ready_at: NOW, last_seen_at: LATER });
    expect(await rowOf('m-ready', 's1')).toMatchObject({ state: 'failed', ready_at: null });
    const ready = (await auditOf('m-ready')).filter((a) => a.action === 'legal_hold.file.ready');
    expect(ready).toEqual([
      {
        actor: 'zoom',
        action: 'legal_hold.file.ready',
        subject_type: 'legal_hold_file',
        subject_id: 'm-ready/a@example.com/p1',
        before: { state: 'pending' },
        after: { fileStartDate: null, fileEndDate: null, fileCount: 7, announcedBytes: 1234, readyForDownload: true, state: 'ready' },
        details: null,
      },
    ]);
  });
});

describe('a download’s state changes', () => {
  const file = (matterId: string, fileKey = 'k1') => ({ matterId, custodian: 'a@example.com', fileKey });
  const copy = { storedPath: 'legal-hold/m/a/k1.zip', bytes: 4096, sha256: 'cd'.repeat(32), zipEntries: 3, storedAt: LATER };

  it('claims a ready or failed file, and nothing stored or pending', async () => {
    await insertMatter('m-claim');
    for (const state of ['ready', 'failed', 'stored', 'pending']) await insertFile('m-claim', 'a@example.com', state, state);
    expect(await claimFile(db.pool, file('m-claim', 'ready'), NOW)).toMatchObject({ fileKey: 'ready', state: 'downloading' });
    expect(await claimFile(db.pool, file('m-claim', 'failed'), NOW)).toMatchObject({ fileKey: 'failed', state: 'downloading' });
    expect(await claimFile(db.pool, file('m-claim', 'stored'), NOW)).toBeUndefined();
    expect(await claimFile(db.pool, file('m-claim', 'pending'), NOW)).toBeUndefined();
    expect(await rowOf('m-claim', 'pending')).toMatchObject({ state: 'pending' });
  });

  it('records a stored copy on the row and in the audit log, with the caller’s actor and details', async () => {
    await insertMatter('m-stored');
    await insertFile('m-stored', 'a@example.com', 'k1', 'downloading');
    const row = await recordStored(db.pool, file('m-stored'), copy, 'cli:officer', { attempt: 1 });
    expect(row).toMatchObject({ state: 'stored', storedPath: copy.storedPath, storedBytes: 4096, sha256: copy.sha256, zipEntries: 3, storedAt: LATER, attempts: 1, lastError: null });
    expect(await auditOf('m-stored')).toEqual([
      {
        actor: 'cli:officer',
        action: 'legal_hold.file.stored',
        subject_type: 'legal_hold_file',
        subject_id: 'm-stored/a@example.com/k1',
        before: null,
        after: { storedPath: copy.storedPath, bytes: 4096, sha256: copy.sha256, zipEntries: 3, storedAt: '2026-11-21T16:30:00.000Z' },
        details: { attempt: 1 },
      },
    ]);
  });

  it('refuses to record a copy of a file that is not being downloaded, and audits nothing', async () => {
    await insertMatter('m-not-claimed');
    await insertFile('m-not-claimed', 'a@example.com', 'k1', 'ready');
    const err = await recordStored(db.pool, file('m-not-claimed'), copy, 'cli:officer', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalError);
    expect(err).toMatchObject({ code: 'INTERNAL_ERROR', message: 'legal-hold file m-not-claimed/a@example.com/k1 was not in state downloading when its copy was recorded' });
    expect(await rowOf('m-not-claimed', 'k1')).toMatchObject({ state: 'ready', stored_path: null });
    expect(await auditOf('m-not-claimed')).toEqual([]);
  });

  it('counts a failed attempt on a claimed file and keeps it claimed; an unclaimed file is left alone', async () => {
    await insertMatter('m-attempt');
    await insertFile('m-attempt', 'a@example.com', 'k1', 'downloading');
    await insertFile('m-attempt', 'a@example.com', 'k2', 'ready');
    await recordAttemptFailure(db.pool, file('m-attempt'), 'HTTP 503', NOW);
    await recordAttemptFailure(db.pool, file('m-attempt'), 'socket hang up', LATER);
    await recordAttemptFailure(db.pool, file('m-attempt', 'k2'), 'HTTP 503', NOW);
    expect(await rowOf('m-attempt', 'k1')).toMatchObject({ state: 'downloading', attempts: 2, last_error: 'socket hang up', last_error_at: LATER });
    expect(await rowOf('m-attempt', 'k2')).toMatchObject({ state: 'ready', attempts: 0, last_error: null });
  });

  it('releases a claim as failed with an audit entry of the attempts and last error', async () => {
    await insertMatter('m-release-failed');
    await insertFile('m-release-failed', 'a@example.com', 'k1', 'downloading');
    await recordAttemptFailure(db.pool, file('m-release-failed'), 'HTTP 503', NOW);
    await releaseFile(db.pool, file('m-release-failed'), 'failed', 'system:legal-hold', LATER, { gaveUpAfter: 1 });
    expect(await rowOf('m-release-failed', 'k1')).toMatchObject({ state: 'failed', attempts: 1, last_error: 'HTTP 503', updated_at: LATER });
    expect(await auditOf('m-release-failed')).toEqual([
      {
        actor: 'system:legal-hold',
        action: 'legal_hold.file.download_failed',
        subject_type: 'legal_hold_file',
        subject_id: 'm-release-failed/a@example.com/k1',
        before: { state: 'downloading' },
        after: { state: 'failed', attempts: 1, lastError: 'HTTP 503' },
        details: { gaveUpAfter: 1 },
      },
    ]);
  });

  it('releases an interrupted claim back to ready without an audit entry', async () => {
    await insertMatter('m-release-ready');
    await insertFile('m-release-ready', 'a@example.com', 'k1', 'downloading');
    await releaseFile(db.pool, file('m-release-ready'), 'ready', 'system:legal-hold', LATER, {});
    expect(await rowOf('m-release-ready', 'k1')).toMatchObject({ state: 'ready' });
    expect(await auditOf('m-release-ready')).toEqual([]);
  });

  it('releases nothing and audits nothing for a file that is not claimed', async () => {
    await insertMatter('m-release-none');
    await insertFile('m-release-none', 'a@example.com', 'k1', 'ready');
    await insertFile('m-release-none', 'a@example.com', 'k2', 'stored');
    await releaseFile(db.pool, file('m-release-none', 'k1'), 'failed', 'system:legal-hold', LATER, {});
    await releaseFile(db.pool, file('m-release-none', 'k2'), 'failed', 'system:legal-hold', LATER, {});
    expect(await rowOf('m-release-none', 'k1')).toMatchObject({ state: 'ready' });
    expect(await rowOf('m-release-none', 'k2')).toMatchObject({ state: 'stored' });
    expect(await auditOf('m-release-none')).toEqual([]);
  });
});
