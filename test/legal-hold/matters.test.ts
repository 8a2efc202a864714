import { describe, expect, it } from 'vitest';
import { createMatter, deleteMatter, loadMatter, loadMatters, renameMatter, resolveMatter, syncMatters } from '../../src/legal-hold/index.js';
import { createPool } from '../../src/db/pool.js';
import { NOW, harnessPerTest, startLegalHoldHarness } from './harness.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';

// Matters end to end: the simulator over HTTP, a real PostgreSQL, the real client. No mocks.

const harness = harnessPerTest();

describe('create, rename, delete', () => {
  it('round-trips through Zoom and the mirror, auditing each change in the same transaction', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const [a, b] = t.users;
    const created = await createMatter(t.deps, { name: 'Acme v. Initech', custodians: [a!.email, b!.userId], from: '2026-06-01', to: '2026-09-30' }, 'cli:alice');
    expect(logs.find(/^Zoom created the legal-hold matter; recording it/)).toEqual([
      expect.objectContaining({ level: LEVEL.info, matterId: created.matterId, custodians: 2, trackingId: expect.stringMatching(/^v=2\.0;clid=sim/) }),
    ]);
    const inZoom = t.sim.legalHold.matters();
    expect(inZoom).toHaveLength(1);
    expect(inZoom[0]).toMatchObject({ matterId: created.matterId, name: 'Acme v. Initech', startDate: '2026-06-01', endDate: '2026-09-30' });
    expect(created).toMatchObject({ state: 'active', startDate: '2026-06-01', endDate: '2026-09-30', createdHereAt: NOW });
    expect(created.custodians.map((c) => c.identifier).sort()).toEqual([a!.email, b!.userId].sort());

    // A listing confirms the matter and fills in what only Zoom knows, without calling it a change.
    await syncMatters(t.deps);
    const confirmed = await loadMatter(t.db.pool, created.matterId);
    expect(confirmed?.creationDate).toBe('2026-11-21');
    expect(confirmed?.custodians).toEqual(
      expect.arrayContaining([
        { identifier: a!.email, email: a!.email, userId: a!.userId },
        { identifier: b!.userId, email: b!.email, userId: b!.userId },
      ]),
    );
    expect(confirmed?.custodians).toHaveLength(2);
    expect(await t.audit('legal_hold.matter.changed_in_zoom')).toEqual([]);

    const renamed = await renameMatter(t.deps, { matter: 'Acme v. Initech', name: 'Acme v. Initech (2026)' }, 'cli:bob');
    expect(renamed.changed).toBe(true);
    expect(t.sim.legalHold.matters()[0]?.name).toBe('Acme v. Initech (2026)');
    expect((await renameMatter(t.deps, { matter: created.matterId, name: 'Acme v. Initech (2026)' }, 'cli:bob')).changed).toBe(false);

    expect(logs.find('matter renamed in Zoom and here')).toEqual([expect.objectContaining({ level: LEVEL.info, job: 'legal-hold', matterId: created.matterId })]);
    const deleted = await deleteMatter(t.deps, { matter: created.matterId }, 'cli:carol');
    expect(logs.find('matter deleted in Zoom; kept here as deleted_here with its stored files')).toEqual([expect.objectContaining({ level: LEVEL.info, job: 'legal-hold', matterId: created.matterId })]);
    expect(deleted).toMatchObject({ state: 'deleted_here', deletedAt: NOW });
    expect(t.sim.legalHold.matters()).toEqual([]);
    // The row stays, and a later listing does not forget or resurrect it.
    await syncMatters(t.deps);
    expect((await loadMatter(t.db.pool, created.matterId))?.state).toBe('deleted_here');

    const audit = await t.audit();
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ['cli:alice', 'legal_hold.matter.create'],
      ['cli:bob', 'legal_hold.matter.rename'],
      ['cli:carol', 'legal_hold.matter.delete'],
    ]);
    expect(audit[1]).toMatchObject({ subject_id: created.matterId, before: { name: 'Acme v. Initech' }, after: { name: 'Acme v. Initech (2026)' } });
    expect(audit[2]).toMatchObject({ before: { state: 'active' }, after: { state: 'deleted_here' } });
    expect((audit[0]?.details as { zoomTrackingId: string }).zoomTrackingId).toMatch(/^v=2\.0;clid=sim/);
  });

  it('rejects bad input before any call to Zoom (not even a token)', async () => {
    const t = await harness();
    const email = t.users[0]!.email;
    const bad: Array<Parameters<typeof createMatter>[1]> = [
      { name: '', custodians: [email] },
      { name: 'x'.repeat(129), custodians: [email] },
      { name: 'line\nbreak', custodians: [email] },
      { name: 'M', custodians: [] },
      { name: 'M', custodians: Array.from({ length: 21 }, (_, i) => `person${i}@example.com`) },
      { name: 'M', custodians: [email, email.toUpperCase()] },
      { name: 'M', custodians: ['not an email'] },
      { name: 'M', custodians: [email], from: '2026-02-30' },
      { name: 'M', custodians: [email], from: '2026/01/01' },
      { name: 'M', custodians: [email], from: '2026-03-01', to: '2026-02-01' },
    ];
    for (const input of bad) await expect(createMatter(t.deps, input, 'cli:x'), JSON.stringify(input)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(renameMatter(t.deps, { matter: 'whatever', name: '' }, 'cli:x')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(resolveMatter(t.deps, '   ')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect(t.sim.stats().requests).toBe(0);
    expect(t.sim.stats().accessTokensIssued).toBe(0);
    expect(await t.audit()).toEqual([]);
    // 20 custodians is the limit, not over it.
    const twenty = t.users.slice(0, 20).map((u) => u.email);
    expect(twenty.length).toBeGreaterThan(1);
    await expect(createMatter(t.deps, { name: 'M', custodians: twenty }, 'cli:x')).resolves.toMatchObject({ state: 'active' });
  });

  it("turns Zoom's refusals into clear errors and records nothing: unknown user, no permission, missing scopes", async () => {
    const t = await harness();
    const email = t.users[0]!.email;
    await expect(createMatter(t.deps, { name: 'M', custodians: [email, 'ghost@example.com'] }, 'cli:x')).rejects.toMatchObject({
      code: 'ZOOM_NOT_FOUND',
      message: expect.stringContaining('a custodian is not a user of this Zoom account: "User does not exist: ghost@example.com."'),
    });
    t.sim.legalHold.permission = false;
    await expect(createMatter(t.deps, { name: 'M', custodians: [email] }, 'cli:x')).rejects.toMatchObject({
      code: 'ZOOM_FORBIDDEN',
      message: expect.stringContaining('no permission to manage legal holds'),
    });
    t.sim.legalHold.permission = true;
    expect(await loadMatters(t.db.pool)).toEqual([]);
    expect(await t.audit()).toEqual([]);

    const scoped = await startLegalHoldHarness({ simulator: { grantedScopes: ['chat_history_legal_hold:read:admin'] } });
    try {
      await expect(createMatter(scoped.deps, { name: 'M', custodians: [scoped.users[0]!.email] }, 'cli:x')).rejects.toMatchObject({
        code: 'ZOOM_MISSING_SCOPES',
        missingScopes: ['team_chat:write:legal_hold_matter:admin'],
        message: expect.stringContaining('team_chat:write:legal_hold_matter:admin'),
      });
    } finally {
      await scoped.close();
    }
  });

  it('refuses to create a matter in Zoom when the database is down (it could not be recorded)', async () => {
    const t = await harness();
    const down = createPool({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere' });
    try {
      await expect(createMatter({ ...t.deps, pool: down }, { name: 'M', custodians: [t.users[0]!.email] }, 'cli:x')).rejects.toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
        message: expect.stringContaining('nothing was sent to Zoom'),
      });
    } finally {
      await down.end();
    }
    expect(t.sim.stats().requests).toBe(0);
  });

  it('reports a huge response from Zoom clearly instead of reading it', async () => {
    const t = await harness({ env: { ZOOM_MAX_RESPONSE_BYTES: '65536' } });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list' }, fault: { kind: 'huge-body', bytes: 1_000_000 } });
    await expect(syncMatters(t.deps)).rejects.toMatchObject({ code: 'ZOOM_RESPONSE_TOO_LARGE' });
    expect(await loadMatters(t.db.pool)).toEqual([]);
  });

  it('reports the daily limit of RESOURCE-INTENSIVE calls (429 with daily-limit headers) instead of waiting for hours', async () => {
    const t = await harness();
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list' }, fault: { kind: 'rate-limit', type: 'daily', retryAfter: 'date' } });
    await expect(syncMatters(t.deps)).rejects.toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED', message: expect.stringContaining('RESOURCE-INTENSIVE') });
  });

  it('refuses to delete a matter whose files are not all stored, unless forced', async () => {
    const t = await harness({ legalHold: { fileReadyAfterListings: 5 } });
    const { refreshFiles } = await import('../../src/legal-hold/index.js');
    const created = await createMatter(t.deps, { name: 'Pending files', custodians: [t.users[0]!.email] }, 'cli:x');
    await refreshFiles(t.deps);
    await expect(deleteMatter(t.deps, { matter: created.matterId }, 'cli:x')).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('1 zip file(s)') });
    expect(t.sim.legalHold.matters()).toHaveLength(1);
    await expect(deleteMatter(t.deps, { matter: created.matterId, force: true }, 'cli:x')).resolves.toMatchObject({ state: 'deleted_here' });
    const [entry] = await t.audit('legal_hold.matter.delete');
    expect(entry?.details).toMatchObject({ unstoredFilesGivenUp: 1 });
  });
});

describe('the mirror: listing, paging, changes noticed in Zoom', () => {
  it('pages through 230 matters (page_size 100) and discovers each once, audited as noticed in Zoom', async () => {
    const t = await harness();
    const custodian = t.users[1]!.email;
    for (let i = 0; i < 230; i++) t.sim.legalHold.addMatter({ name: `Matter ${i}`, identifiers: [custodian] });
    const first = await syncMatters(t.deps);
    expect(first).toMatchObject({ listed: 230, apiPages: 3, absenceChecked: true });
    expect(first.discovered).toHaveLength(230);
    expect(t.apiCalls('legalhold.matters.list')).toBe(3);
    expect(t.sim.stats().requestLog).toBeUndefined();
    const again = await syncMatters(t.deps);
    expect(again).toMatchObject({ listed: 230, discovered: [], changed: [], deletedInZoom: [] });
    expect(await loadMatters(t.db.pool, { states: ['active'] })).toHaveLength(230);
    const discovered = await t.audit('legal_hold.matter.discovered');
    expect(discovered).toHaveLength(230);
    expect(new Set(discovered.map((e) => e.actor))).toEqual(new Set(['zoom']));
  });

  it('keeps a matter deleted in Zoom, marks it deleted_in_zoom (actor zoom), and records a rename made in Zoom', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const kept = await createMatter(t.deps, { name: 'Kept', custodians: [t.users[0]!.email] }, 'cli:x');
    const gone = await createMatter(t.deps, { name: 'Gone', custodians: [t.users[1]!.email] }, 'cli:x');
    t.clock.advance(11 * 60_000);
    t.sim.legalHold.deleteMatter(gone.matterId);
    t.sim.legalHold.renameMatter(kept.matterId, 'Kept (renamed in Zoom)');
    logs.clear();
    const summary = await syncMatters(t.deps);
    // What the refresh logs: the change, the deletion (a warning: Zoom no longer holds it), the totals.
    expect(logs.find("matter changed in Zoom's listing; mirror updated and audited")).toEqual([expect.objectContaining({ level: LEVEL.info, matterId: kept.matterId, outcome: 'changed' })]);
    expect(logs.find('matter is gone from Zoom; marked deleted_in_zoom: what it held stays held and its stored files are kept')).toEqual([
      expect.objectContaining({ level: LEVEL.warn, matterId: gone.matterId }),
    ]);
    expect(logs.find('legal-hold matters refreshed from Zoom')).toEqual([expect.objectContaining({ level: LEVEL.info, listed: 1, discovered: 0, changed: 1, deletedInZoom: 1, apiPages: 1 })]);
    expect(summary.deletedInZoom).toEqual([gone.matterId]);
    expect(summary.changed).toEqual([kept.matterId]);
    const goneRow = await loadMatter(t.db.pool, gone.matterId);
    expect(goneRow).toMatchObject({ state: 'deleted_in_zoom', matterName: 'Gone' });
    expect(goneRow?.custodians).toHaveLength(1);
    expect((await loadMatter(t.db.pool, kept.matterId))?.matterName).toBe('Kept (renamed in Zoom)');
    const [deletion] = await t.audit('legal_hold.matter.deleted_in_zoom');
    expect(deletion).toMatchObject({ actor: 'zoom', subject_id: gone.matterId, before: { state: 'active' }, after: { state: 'deleted_in_zoom' } });
    const [change] = await t.audit('legal_hold.matter.changed_in_zoom');
    expect(change).toMatchObject({ actor: 'zoom', before: { name: 'Kept' }, after: { name: 'Kept (renamed in Zoom)' } });
    // It cannot be renamed or deleted any more, and it is not forgotten by later listings.
    await expect(renameMatter(t.deps, { matter: gone.matterId, name: 'x' }, 'cli:x')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await syncMatters(t.deps);
    expect((await loadMatter(t.db.pool, gone.matterId))?.state).toBe('deleted_in_zoom');
    expect(await t.audit('legal_hold.matter.deleted_in_zoom')).toHaveLength(1);
  });

  it('gives a matter created here ten minutes before calling it missing (Zoom’s list may lag its POST)', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Fresh', custodians: [t.users[0]!.email] }, 'cli:x');
    t.sim.legalHold.deleteMatter(matter.matterId);
    t.clock.advance(5 * 60_000);
    expect((await syncMatters(t.deps)).deletedInZoom).toEqual([]);
    t.clock.advance(6 * 60_000);
    expect((await syncMatters(t.deps)).deletedInZoom).toEqual([matter.matterId]);
  });

  it('brings back a matter that reappears in Zoom’s list, audited', async () => {
    const t = await harness();
    const portal = t.sim.legalHold.addMatter({ name: 'Flaky', identifiers: [t.users[0]!.email] });
    await syncMatters(t.deps);
    t.clock.advance(60_000);
    // One complete, clean listing that lacks it (as if Zoom had lost it for a moment)…
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list' }, fault: { kind: 'status', status: 200, body: { legal_hold_matters: [], next_page_token: '' } } });
    expect((await syncMatters(t.deps)).deletedInZoom).toEqual([portal.matterId]);
    t.clock.advance(60_000);
    // …and the next one shows it again.
    expect((await syncMatters(t.deps)).reappeared).toEqual([portal.matterId]);
    expect(await loadMatter(t.db.pool, portal.matterId)).toMatchObject({ state: 'active', deletedAt: null });
    expect((await t.audit()).map((e) => `${e.actor} ${e.action}`)).toEqual([
      'zoom legal_hold.matter.discovered',
      'zoom legal_hold.matter.deleted_in_zoom',
      'zoom legal_hold.matter.reappeared_in_zoom',
    ]);
  });

  it('marks nothing deleted when the listing fails part-way', async () => {
    const t = await harness();
    const custodian = t.users[0]!.email;
    for (let i = 0; i < 150; i++) t.sim.legalHold.addMatter({ name: `M${i}`, identifiers: [custodian] });
    await syncMatters(t.deps);
    t.clock.advance(11 * 60_000);
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list', hasPageToken: true }, fault: { kind: 'status', status: 500 }, times: 10 });
    await expect(syncMatters(t.deps)).rejects.toMatchObject({ code: 'ZOOM_SERVER_ERROR' });
    expect(await loadMatters(t.db.pool, { states: ['deleted_in_zoom'] })).toEqual([]);
  });

  it('notices a rename or delete Zoom answers with "does not exist", and resolves matters by name or id, asking Zoom once when unknown', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Vanishing', custodians: [t.users[0]!.email] }, 'cli:x');
    t.sim.legalHold.deleteMatter(matter.matterId);
    await expect(renameMatter(t.deps, { matter: 'Vanishing', name: 'New' }, 'cli:x')).rejects.toMatchObject({
      code: 'ZOOM_NOT_FOUND',
      message: expect.stringContaining('no longer exists in Zoom'),
    });
    expect((await loadMatter(t.db.pool, matter.matterId))?.state).toBe('deleted_in_zoom');

    const portal = t.sim.legalHold.addMatter({ name: 'Made in the portal', identifiers: [t.users[2]!.email] });
    const listingsBefore = t.apiCalls('legalhold.matters.list');
    await expect(resolveMatter(t.deps, 'Made in the portal')).resolves.toMatchObject({ matterId: portal.matterId, state: 'active' });
    expect(t.apiCalls('legalhold.matters.list')).toBe(listingsBefore + 1);
    await expect(resolveMatter(t.deps, portal.matterId)).resolves.toMatchObject({ matterName: 'Made in the portal' });
    expect(t.apiCalls('legalhold.matters.list')).toBe(listingsBefore + 1);
    await expect(resolveMatter(t.deps, 'no such matter')).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('neither here nor in Zoom') });
    t.sim.legalHold.addMatter({ name: 'Made in the portal', identifiers: [t.users[2]!.email] });
    await syncMatters(t.deps);
    await expect(resolveMatter(t.deps, 'Made in the portal')).rejects.toMatchObject({ code: 'INPUT_INVALID', message: expect.stringContaining('2 matters are named') });
  });

  it('keeps odd items from Zoom: numbers as strings and unknown fields in raw, and a matter without a usable id blocks deletion marking', async () => {
    const t = await harness();
    const created = await createMatter(t.deps, { name: 'Normal', custodians: [t.users[0]!.email] }, 'cli:x');
    t.clock.advance(11 * 60_000);
    const body = {
      legal_hold_matters: [
        { matter_id: 12345, matter_name: 'Numeric id', matter_creation_date: '2026-11-20T10:00:00Z', matter_users: [{ user_id: 42, email: t.users[1]!.email }], zm_new: { a: 1 } },
        { matter_name: 'No id at all', matter_users: [] },
      ],
      next_page_token: '',
    };
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list' }, fault: { kind: 'status', status: 200, body } });
    const summary = await syncMatters(t.deps);
    expect(summary).toMatchObject({ listed: 1, discovered: ['12345'], absenceChecked: false });
    expect(summary.malformed[0]?.reason).toBe('missing or unusable matter_id');
    const numeric = await loadMatter(t.db.pool, '12345');
    expect(numeric).toMatchObject({ creationDate: '2026-11-20', custodians: [{ identifier: t.users[1]!.email, email: t.users[1]!.email, userId: '42' }] });
    const raw = await t.db.pool.query<{ raw: Record<string, unknown> }>(`SELECT raw FROM archive.legal_hold_matters WHERE matter_id = '12345'`);
    expect(raw.rows[0]?.raw).toMatchObject({ matter_id: 12345, zm_new: { a: 1 } });
    // "Normal" is absent from that listing, but the listing was not clean: it stays active.
    expect((await loadMatter(t.db.pool, created.matterId))?.state).toBe('active');
  });
});

describe('append-only records', () => {
  it('rejects UPDATE and DELETE on the audit log, and DELETE of matters and custodians', async () => {
    const t = await harness();
    const matter = await createMatter(t.deps, { name: 'Forever', custodians: [t.users[0]!.email] }, 'cli:x');
    await expect(t.db.pool.query(`UPDATE archive.audit_log SET actor = 'someone else'`)).rejects.toThrow(/not allowed/);
    await expect(t.db.pool.query('DELETE FROM archive.audit_log')).rejects.toThrow(/not allowed/);
    await expect(t.db.pool.query('TRUNCATE archive.audit_log')).rejects.toThrow(/not allowed/);
    await expect(t.db.pool.query('DELETE FROM archive.legal_hold_matters WHERE matter_id = $1', [matter.matterId])).rejects.toThrow(/never forgotten/);
    await expect(t.db.pool.query('DELETE FROM archive.legal_hold_custodians')).rejects.toThrow(/never forgotten/);
    await expect(t.db.pool.query(`UPDATE archive.legal_hold_matters SET matter_id = 'other' WHERE matter_id = $1`, [matter.matterId])).rejects.toThrow(/cannot change/);
    await expect(t.db.pool.query(`UPDATE archive.legal_hold_custodians SET identifier = 'other'`)).rejects.toThrow(/re-keyed/);
    expect(await t.audit()).toHaveLength(1);
  });
});
