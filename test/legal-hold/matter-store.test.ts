import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import {
  findVanishedMatters,
  loadMatter,
  loadMatters,
  recordCreatedMatter,
  recordDeletedHere,
  recordDeletedInZoom,
  recordRenamedMatter,
  touchListedMatters,
} from '../../src/legal-hold/matter-store.js';
import { createTestDatabase, useTestDatabase } from '../helpers/database.js';
import { auditOf, custodianRows, insertMatter, LATER, listed, matterRow, T0, whileRowLocked } from './matter-fixtures.js';

// The mirror's writes called directly against a fresh database (fixtures inserted by SQL): what
// each one stores, what it audits, and which rows it locks. The listing side is in
// matter-listing.test.ts; the whole refresh through the simulator in matter-mirror.test.ts.

const db = useTestDatabase();

describe('loading matters', () => {
  it('locks the row only when asked to (forUpdate), until the transaction ends', async () => {
    await insertMatter(db.pool, 'lock-1');
    const nowait = 'SELECT 1 FROM archive.legal_hold_matters WHERE matter_id = $1 FOR UPDATE NOWAIT';
    await withTransaction(db.pool, async (client) => {
      expect(await loadMatter(client, 'lock-1')).toMatchObject({ matterId: 'lock-1' });
      await expect(db.pool.query(nowait, ['lock-1'])).resolves.toMatchObject({ rowCount: 1 });
      expect(await loadMatter(client, 'lock-1', { forUpdate: true })).toMatchObject({ matterId: 'lock-1' });
      await expect(db.pool.query(nowait, ['lock-1'])).rejects.toMatchObject({ code: '55P03' });
    });
  });

  it('filters by matter id when one is given', async () => {
    await insertMatter(db.pool, 'filter-1');
    await insertMatter(db.pool, 'filter-2');
    expect((await loadMatters(db.pool, { matterId: 'filter-2' })).map((x) => x.matterId)).toEqual(['filter-2']);
  });
});

describe('recording what this project did in Zoom', () => {
  it('records a created matter: an email identifier holds by email, any other by user id, audited with the identifiers', async () => {
    const record = await recordCreatedMatter(db.pool, { matterId: 'create-1', name: 'Created', identifiers: ['a@example.com', 'U2'], startDate: '2026-06-01', endDate: null }, 'cli:alice', T0, { why: 'test' });
    expect(record).toMatchObject({ matterId: 'create-1', state: 'active', createdHereAt: T0, updatedAt: T0 });
    expect(await custodianRows(db.pool, 'create-1')).toEqual([
      ['U2', null, 'U2'],
      ['a@example.com', 'a@example.com', null],
    ]);
    expect(await auditOf(db.pool, 'create-1')).toEqual([
      {
        actor: 'cli:alice',
        action: 'legal_hold.matter.create',
        subject_type: 'legal_hold_matter',
        before: null,
        after: { matterId: 'create-1', name: 'Created', state: 'active', startDate: '2026-06-01', endDate: null, creationDate: null, custodians: ['U2', 'a@example.com'] },
        details: { why: 'test' },
      },
    ]);
  });

  it('claims a matter a concurrent listing mirrored first: created_here_at is set once, the listed row is kept', async () => {
    await insertMatter(db.pool, 'create-2', { name: 'As listed' });
    const record = await recordCreatedMatter(db.pool, { matterId: 'create-2', name: 'As typed', identifiers: ['b@example.com'], startDate: null, endDate: null }, 'cli:x', LATER, {});
    expect(record).toMatchObject({ matterName: 'As listed', firstSeenAt: T0, createdHereAt: LATER, updatedAt: LATER });
    expect(await matterRow(db.pool, 'create-2')).toMatchObject({ created_here_at: LATER, updated_at: LATER });

    // Already claimed: the first claim's time stays.
    await insertMatter(db.pool, 'create-3', { createdHereAt: T0 });
    await recordCreatedMatter(db.pool, { matterId: 'create-3', name: 'M', identifiers: ['c@example.com'], startDate: null, endDate: null }, 'cli:x', LATER, {});
    expect(await matterRow(db.pool, 'create-3')).toMatchObject({ created_here_at: T0, updated_at: LATER });
  });

  it('audits a rename and a deletion here against the matter, before and after', async () => {
    await insertMatter(db.pool, 'rename-1', { name: 'Old', custodians: [['a@example.com', 'a@example.com', null]] });
    await recordRenamedMatter(db.pool, 'rename-1', 'New', 'cli:bob', LATER, { n: 1 });
    await recordDeletedHere(db.pool, 'rename-1', 'cli:carol', LATER, { n: 2 });
    expect(await matterRow(db.pool, 'rename-1')).toMatchObject({ matter_name: 'New', state: 'deleted_here', deleted_at: LATER, updated_at: LATER });
    expect(await auditOf(db.pool, 'rename-1')).toEqual([
      expect.objectContaining({ actor: 'cli:bob', action: 'legal_hold.matter.rename', subject_type: 'legal_hold_matter', before: expect.objectContaining({ name: 'Old' }), after: expect.objectContaining({ name: 'New' }), details: { n: 1 } }),
      expect.objectContaining({
        actor: 'cli:carol',
        action: 'legal_hold.matter.delete',
        subject_type: 'legal_hold_matter',
        before: expect.objectContaining({ state: 'active', custodians: ['a@example.com'] }),
        after: expect.objectContaining({ state: 'deleted_here' }),
        details: { n: 2 },
      }),
    ]);
  });

  it('refuses to rename or delete a matter the mirror does not have (a bug in the caller), recording nothing', async () => {
    const expected = { code: 'INTERNAL_ERROR', message: 'legal-hold matter nowhere-1 is not in the local mirror' };
    await expect(recordRenamedMatter(db.pool, 'nowhere-1', 'x', 'cli:x', T0, {})).rejects.toMatchObject(expected);
    await expect(recordDeletedHere(db.pool, 'nowhere-1', 'cli:x', T0, {})).rejects.toMatchObject(expected);
    expect(await auditOf(db.pool, 'nowhere-1')).toEqual([]);
  });

  it('reads the matter locked before a rename: a change committed meanwhile is the audited "before"', async () => {
    await insertMatter(db.pool, 'rename-2', { name: 'First' });
    await whileRowLocked(db.pool, 'rename-2', `UPDATE archive.legal_hold_matters SET matter_name = 'Second' WHERE matter_id = $1`, () =>
      recordRenamedMatter(db.pool, 'rename-2', 'Third', 'cli:x', LATER, {}),
    );
    const [entry] = await auditOf(db.pool, 'rename-2');
    expect(entry).toMatchObject({ before: { name: 'Second' }, after: { name: 'Third' } });
  });
});

describe('a matter Zoom no longer has', () => {
  it('marks an active matter deleted_in_zoom (actor zoom), on a pool or inside the caller’s transaction', async () => {
    await insertMatter(db.pool, 'gone-1', { custodians: [['a@example.com', 'a@example.com', null]] });
    await insertMatter(db.pool, 'gone-2');
    expect(await recordDeletedInZoom(db.pool, 'gone-1', LATER, { reason: 'r' })).toMatchObject({ state: 'deleted_in_zoom', deletedAt: LATER, updatedAt: LATER });
    expect(await withTransaction(db.pool, (client) => recordDeletedInZoom(client, 'gone-2', LATER, {}))).toMatchObject({ state: 'deleted_in_zoom' });
    expect(await auditOf(db.pool, 'gone-1')).toEqual([
      {
        actor: 'zoom',
        action: 'legal_hold.matter.deleted_in_zoom',
        subject_type: 'legal_hold_matter',
        before: expect.objectContaining({ state: 'active', custodians: ['a@example.com'] }),
        after: expect.objectContaining({ state: 'deleted_in_zoom' }),
        details: { reason: 'r' },
      },
    ]);
  });

  it('leaves an unknown matter, and one no longer active, as they are (returns undefined, audits nothing)', async () => {
    await insertMatter(db.pool, 'gone-3', { state: 'deleted_here', deletedAt: T0 });
    expect(await recordDeletedInZoom(db.pool, 'nowhere-2', LATER, {})).toBeUndefined();
    expect(await recordDeletedInZoom(db.pool, 'gone-3', LATER, {})).toBeUndefined();
    expect(await matterRow(db.pool, 'gone-3')).toMatchObject({ state: 'deleted_here', deleted_at: T0, updated_at: T0 });
    expect(await auditOf(db.pool, 'gone-3')).toEqual([]);
  });

  it('decides on the locked row: a matter deleted here while it waited is not also marked deleted in Zoom', async () => {
    await insertMatter(db.pool, 'gone-4');
    const result = await whileRowLocked(db.pool, 'gone-4', `UPDATE archive.legal_hold_matters SET state = 'deleted_here', deleted_at = now() WHERE matter_id = $1`, () =>
      recordDeletedInZoom(db.pool, 'gone-4', LATER, {}),
    );
    expect(result).toBeUndefined();
    expect(await matterRow(db.pool, 'gone-4')).toMatchObject({ state: 'deleted_here' });
    expect(await auditOf(db.pool, 'gone-4')).toEqual([]);
  });
});

describe('a listing that repeats what the mirror holds', () => {
  it('touches only the active matters named: last seen now, raw replaced, updated_at moved only when raw changed', async () => {
    await insertMatter(db.pool, 'touch-1', { raw: '{"matter_id":"touch-1"}' });
    await insertMatter(db.pool, 'touch-2', { raw: '{"matter_id":"touch-2"}' });
    await insertMatter(db.pool, 'touch-3', { state: 'deleted_in_zoom', deletedAt: T0, raw: '{"matter_id":"touch-3"}' });
    await insertMatter(db.pool, 'touch-4', { raw: '{"matter_id":"touch-4"}' });
    await touchListedMatters(db.pool, [listed('touch-1'), listed('touch-2', { rawJson: '{"matter_id":"touch-2","zm_new":1}' }), listed('touch-3', { rawJson: '{"x":1}' })], LATER);
    expect(await matterRow(db.pool, 'touch-1')).toMatchObject({ last_seen_at: LATER, updated_at: T0, raw: { matter_id: 'touch-1' } });
    expect(await matterRow(db.pool, 'touch-2')).toMatchObject({ last_seen_at: LATER, updated_at: LATER, raw: { matter_id: 'touch-2', zm_new: 1 } });
    expect(await matterRow(db.pool, 'touch-3')).toMatchObject({ last_seen_at: T0, updated_at: T0, raw: { matter_id: 'touch-3' } });
    expect(await matterRow(db.pool, 'touch-4')).toMatchObject({ last_seen_at: T0, updated_at: T0 });
  });
});

describe('matters a complete listing lacks', () => {
  it('are the active ones not listed, last seen before the listing began, and not created here in the last ten minutes', async () => {
    // Its own database: every active matter in it is a candidate.
    const own = await createTestDatabase();
    try {
      const start = LATER;
      const minute = 60_000;
      await insertMatter(own.pool, 'v-listed');
      await insertMatter(own.pool, 'v-missing-b');
      await insertMatter(own.pool, 'v-missing-a');
      await insertMatter(own.pool, 'v-seen-at-start', { lastSeenAt: start });
      await insertMatter(own.pool, 'v-deleted', { state: 'deleted_here', deletedAt: T0 });
      await insertMatter(own.pool, 'v-created-recently', { createdHereAt: new Date(start.getTime() - 10 * minute) });
      await insertMatter(own.pool, 'v-created-long-ago', { createdHereAt: new Date(start.getTime() - 10 * minute - 1) });
      expect(await findVanishedMatters(own.pool, ['v-listed'], start)).toEqual(['v-created-long-ago', 'v-missing-a', 'v-missing-b']);
    } finally {
      await own.close();
    }
  });
});
