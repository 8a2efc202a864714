import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { applyListedMatter, listingChangesMatter, loadMatter, type MatterRecord } from '../../src/legal-hold/matter-store.js';
import type { ZoomMatter } from '../../src/zoom/legal-hold.js';
import { useTestDatabase } from '../helpers/database.js';
import { auditOf, custodianRows, insertMatter, LATER, listed, matterRow, T0, whileRowLocked } from './matter-fixtures.js';

// One matter of a Zoom listing applied to the mirror (applyListedMatter, called directly in a
// transaction against a fresh database), and the quick test that decides whether it needs to be
// (listingChangesMatter). What is learnt silently, what is audited as a change, and how a user Zoom
// lists is matched to a custodian we hold.

const db = useTestDatabase();

const apply = (zoom: ZoomMatter, now = LATER, listingStartedAt = LATER) => withTransaction(db.pool, (client) => applyListedMatter(client, zoom, now, listingStartedAt));

describe('a matter seen for the first time', () => {
  it('is inserted with its custodians (by email, else by user id) and audited as discovered', async () => {
    const zoom = listed('d-1', {
      matterName: 'Found',
      startDate: '2026-01-01',
      endDate: '2026-12-31',
      creationDate: '2025-12-30',
      users: [
        { userId: 'U1', email: 'a@example.com' },
        { userId: 'U2', email: null },
      ],
      rawJson: '{"matter_id":"d-1","zm_new":1}',
    });
    expect(await apply(zoom)).toBe('discovered');
    expect(await matterRow(db.pool, 'd-1')).toMatchObject({ state: 'active', first_seen_at: LATER, last_seen_at: LATER, created_here_at: null, raw: { matter_id: 'd-1', zm_new: 1 } });
    expect(await custodianRows(db.pool, 'd-1')).toEqual([
      ['U2', null, 'U2'],
      ['a@example.com', 'a@example.com', 'U1'],
    ]);
    expect(await auditOf(db.pool, 'd-1')).toEqual([
      {
        actor: 'zoom',
        action: 'legal_hold.matter.discovered',
        subject_type: 'legal_hold_matter',
        before: null,
        after: { matterId: 'd-1', name: 'Found', state: 'active', startDate: '2026-01-01', endDate: '2026-12-31', creationDate: '2025-12-30', custodians: ['U2', 'a@example.com'] },
        details: null,
      },
    ]);
  });
});

describe('a matter no longer active here', () => {
  it('is left alone when it was deleted at or after the listing began (Zoom’s list lags)', async () => {
    await insertMatter(db.pool, 'skip-1', { name: 'Kept', state: 'deleted_here', deletedAt: LATER });
    expect(await apply(listed('skip-1', { matterName: 'Zoom lags' }), new Date(LATER.getTime() + 60_000), LATER)).toBe('unchanged');
    expect(await matterRow(db.pool, 'skip-1')).toMatchObject({ matter_name: 'Kept', state: 'deleted_here', deleted_at: LATER, updated_at: T0 });
    expect(await auditOf(db.pool, 'skip-1')).toEqual([]);
  });

  it('comes back when it was deleted before the listing began, audited as reappeared', async () => {
    await insertMatter(db.pool, 'back-1', { state: 'deleted_in_zoom', deletedAt: T0 });
    expect(await apply(listed('back-1'))).toBe('reappeared');
    expect(await matterRow(db.pool, 'back-1')).toMatchObject({ state: 'active', deleted_at: null, last_seen_at: LATER });
    expect(await auditOf(db.pool, 'back-1')).toEqual([
      expect.objectContaining({ actor: 'zoom', action: 'legal_hold.matter.reappeared_in_zoom', subject_type: 'legal_hold_matter', before: expect.objectContaining({ state: 'deleted_in_zoom' }), after: expect.objectContaining({ state: 'active' }) }),
    ]);
  });

  it('is judged on the locked row: a deletion here committed while the listing waited is not undone', async () => {
    await insertMatter(db.pool, 'race-1');
    const outcome = await whileRowLocked(db.pool, 'race-1', `UPDATE archive.legal_hold_matters SET state = 'deleted_here', deleted_at = '2026-11-21T16:00:00Z' WHERE matter_id = $1`, () =>
      apply(listed('race-1', { matterName: 'Renamed' }), LATER, T0),
    );
    expect(outcome).toBe('unchanged');
    expect(await matterRow(db.pool, 'race-1')).toMatchObject({ state: 'deleted_here', matter_name: 'Matter' });
  });
});

describe('a matter already mirrored', () => {
  it('learns values it did not know silently (start and creation dates, a custodian’s user id)', async () => {
    await insertMatter(db.pool, 'learn-1', { custodians: [['a@example.com', 'a@example.com', null]] });
    const outcome = await apply(listed('learn-1', { startDate: '2026-02-01', creationDate: '2026-01-15', users: [{ userId: 'UA', email: 'a@example.com' }] }));
    expect(outcome).toBe('unchanged');
    expect(await loadMatter(db.pool, 'learn-1')).toMatchObject({ startDate: '2026-02-01', creationDate: '2026-01-15', lastSeenAt: LATER, updatedAt: LATER });
    expect(await custodianRows(db.pool, 'learn-1')).toEqual([['a@example.com', 'a@example.com', 'UA']]);
    expect(await auditOf(db.pool, 'learn-1')).toEqual([]);
  });

  it('keeps the name and dates Zoom leaves out, but an end date Zoom drops makes it open-ended (a change)', async () => {
    await insertMatter(db.pool, 'omit-1', { name: 'Known', startDate: '2026-01-01', endDate: '2026-12-31', creationDate: '2025-12-01' });
    expect(await apply(listed('omit-1', { matterName: '' }))).toBe('changed');
    expect(await loadMatter(db.pool, 'omit-1')).toMatchObject({ matterName: 'Known', startDate: '2026-01-01', endDate: null, creationDate: '2025-12-01' });
    expect(await auditOf(db.pool, 'omit-1')).toEqual([
      expect.objectContaining({ action: 'legal_hold.matter.changed_in_zoom', subject_type: 'legal_hold_matter', before: expect.objectContaining({ endDate: '2026-12-31' }), after: expect.objectContaining({ endDate: null }) }),
    ]);
  });

  it('calls a listing that repeats it unchanged, whether or not it names the custodians', async () => {
    const fixture = { name: 'Same', startDate: '2026-01-01', creationDate: '2025-12-01', custodians: [['a@example.com', 'a@example.com', 'UA']] as Array<[string, string | null, string | null]> };
    await insertMatter(db.pool, 'same-1', fixture);
    await insertMatter(db.pool, 'same-2', fixture);
    const zoom = { matterName: 'Same', startDate: '2026-01-01', creationDate: '2025-12-01' };
    expect(await apply(listed('same-1', { ...zoom, users: [{ userId: 'UA', email: 'a@example.com' }] }))).toBe('unchanged');
    expect(await apply(listed('same-2', { ...zoom, users: [] }))).toBe('unchanged');
    expect(await auditOf(db.pool, 'same-1')).toEqual([]);
    expect(await auditOf(db.pool, 'same-2')).toEqual([]);
  });

  it('audits a start or creation date Zoom changed', async () => {
    await insertMatter(db.pool, 'dates-1', { startDate: '2026-01-01', creationDate: '2025-12-01' });
    await insertMatter(db.pool, 'dates-2', { startDate: '2026-01-01', creationDate: '2025-12-01' });
    expect(await apply(listed('dates-1', { startDate: '2026-03-01', creationDate: '2025-12-01' }))).toBe('changed');
    expect(await apply(listed('dates-2', { startDate: '2026-01-01', creationDate: '2025-12-02' }))).toBe('changed');
    expect((await auditOf(db.pool, 'dates-1'))[0]).toMatchObject({ before: { startDate: '2026-01-01' }, after: { startDate: '2026-03-01' } });
    expect((await auditOf(db.pool, 'dates-2'))[0]).toMatchObject({ before: { creationDate: '2025-12-01' }, after: { creationDate: '2025-12-02' } });
  });

  it('audits a custodian Zoom added, and one of ours Zoom no longer lists (the row stays)', async () => {
    await insertMatter(db.pool, 'cust-1', { custodians: [['a@example.com', 'a@example.com', null]] });
    await insertMatter(db.pool, 'cust-2', { custodians: [['a@example.com', 'a@example.com', null], ['b@example.com', 'b@example.com', null]] });
    expect(await apply(listed('cust-1', { users: [{ userId: null, email: 'a@example.com' }, { userId: 'UB', email: 'b@example.com' }] }))).toBe('changed');
    expect(await custodianRows(db.pool, 'cust-1')).toEqual([
      ['a@example.com', 'a@example.com', null],
      ['b@example.com', 'b@example.com', 'UB'],
    ]);
    expect((await auditOf(db.pool, 'cust-1'))[0]).toMatchObject({ before: { custodians: ['a@example.com'] }, after: { custodians: ['a@example.com', 'b@example.com'] } });
    expect(await apply(listed('cust-2', { users: [{ userId: null, email: 'b@example.com' }] }))).toBe('changed');
    expect(await custodianRows(db.pool, 'cust-2')).toHaveLength(2);
    expect(await auditOf(db.pool, 'cust-2')).toEqual([expect.objectContaining({ action: 'legal_hold.matter.changed_in_zoom' })]);
  });
});

describe('matching a listed user to a custodian we hold', () => {
  type Row = [string, string | null, string | null];
  const cases: Array<{ why: string; ours: Row; user: { userId: string | null; email: string | null }; outcome: string; rows: Row[] }> = [
    { why: 'by the identifier being the email', ours: ['a@example.com', null, 'U1'], user: { userId: null, email: 'a@example.com' }, outcome: 'unchanged', rows: [['a@example.com', 'a@example.com', 'U1']] },
    { why: 'by the email column, ignoring case', ours: ['U1', 'a@example.com', 'U1'], user: { userId: null, email: 'A@Example.com' }, outcome: 'unchanged', rows: [['U1', 'A@Example.com', 'U1']] },
    { why: 'by the identifier being the user id', ours: ['U1', null, null], user: { userId: 'U1', email: null }, outcome: 'unchanged', rows: [['U1', null, 'U1']] },
    { why: 'by the user id column', ours: ['a@example.com', 'a@example.com', 'U1'], user: { userId: 'U1', email: null }, outcome: 'unchanged', rows: [['a@example.com', 'a@example.com', 'U1']] },
    { why: 'not by two missing emails', ours: ['U1', null, 'U1'], user: { userId: 'U2', email: null }, outcome: 'changed', rows: [['U1', null, 'U1'], ['U2', null, 'U2']] },
    { why: 'not by two missing user ids', ours: ['a@example.com', 'a@example.com', null], user: { userId: null, email: 'b@example.com' }, outcome: 'changed', rows: [['a@example.com', 'a@example.com', null], ['b@example.com', 'b@example.com', null]] },
  ];
  for (const [i, c] of cases.entries()) {
    it(`matches ${c.why}`, async () => {
      await insertMatter(db.pool, `id-${i}`, { custodians: [c.ours] });
      expect(await apply(listed(`id-${i}`, { users: [c.user] }))).toBe(c.outcome);
      expect(await custodianRows(db.pool, `id-${i}`)).toEqual(c.rows);
    });
  }
});

describe('whether a listed matter needs applying at all', () => {
  const local: MatterRecord = {
    matterId: 'L',
    matterName: 'Name',
    startDate: '2026-01-01',
    endDate: '2026-12-31',
    creationDate: '2025-12-01',
    state: 'active',
    firstSeenAt: T0,
    lastSeenAt: T0,
    createdHereAt: null,
    deletedAt: null,
    updatedAt: T0,
    custodians: [{ identifier: 'a@example.com', email: 'a@example.com', userId: 'UA' }],
  };
  const same = listed('L', { matterName: 'Name', startDate: '2026-01-01', endDate: '2026-12-31', creationDate: '2025-12-01', users: [{ userId: 'UA', email: 'a@example.com' }] });
  const cases: Array<[why: string, local: MatterRecord, zoom: ZoomMatter, expected: boolean]> = [
    ['the same matter: no', local, same, false],
    ['a matter no longer active here: yes', { ...local, state: 'deleted_in_zoom' }, same, true],
    ['no name listed: no', local, { ...same, matterName: '' }, false],
    ['another name: yes', local, { ...same, matterName: 'Other' }, true],
    ['no start date listed: no', local, { ...same, startDate: null }, false],
    ['another start date: yes', local, { ...same, startDate: '2026-02-01' }, true],
    ['the end date dropped: yes', local, { ...same, endDate: null }, true],
    ['no creation date listed: no', local, { ...same, creationDate: null }, false],
    ['another creation date: yes', local, { ...same, creationDate: '2025-12-02' }, true],
    ['no users listed: no', local, { ...same, users: [] }, false],
    ['a user we do not hold: yes', local, { ...same, users: [{ userId: 'UB', email: 'b@example.com' }] }, true],
    ['a custodian’s email learnt: yes', { ...local, custodians: [{ identifier: 'UA', email: null, userId: 'UA' }] }, same, true],
    ['a custodian’s user id learnt: yes', { ...local, custodians: [{ identifier: 'a@example.com', email: 'a@example.com', userId: null }] }, same, true],
    ['a user listed without email: no', local, { ...same, users: [{ userId: 'UA', email: null }] }, false],
    ['a user listed without user id: no', local, { ...same, users: [{ userId: null, email: 'a@example.com' }] }, false],
  ];
  for (const [why, l, zoom, expected] of cases) {
    it(why, () => {
      expect(listingChangesMatter(l, zoom)).toBe(expected);
    });
  }
});
