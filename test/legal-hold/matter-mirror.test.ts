import { describe, expect, it } from 'vitest';
import { createMatter, syncMatters } from '../../src/legal-hold/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { NOW, harnessPerTest } from './harness.js';
import { insertMatter, matterRow, whileRowLocked } from './matter-fixtures.js';

// The refresh of the mirror (syncMatters) through the simulator over HTTP and a real PostgreSQL:
// what it reports, what it writes for a listing that repeats the mirror, and what it logs.

const harness = harnessPerTest();

const emptySummary = { listed: 0, discovered: [], changed: [], reappeared: [], deletedInZoom: [], malformed: [], absenceChecked: true, apiPages: 1 };

describe('a listing that repeats the mirror', () => {
  it('only touches the matter (last seen now, updated_at kept), reports nothing and logs no per-matter line', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const portal = t.sim.legalHold.addMatter({ name: 'Steady', identifiers: [t.users[0]!.email] });
    expect(await syncMatters(t.deps)).toEqual({ ...emptySummary, listed: 1, discovered: [portal.matterId] });
    t.clock.advance(60_000);
    logs.clear();
    expect(await syncMatters(t.deps)).toEqual({ ...emptySummary, listed: 1 });
    expect(await matterRow(t.db.pool, portal.matterId)).toMatchObject({ state: 'active', last_seen_at: t.clock.now(), updated_at: NOW });
    expect(logs.find(/in Zoom's listing; mirror updated and audited$/)).toEqual([]);
    // Every line of the refresh says which job and step wrote it.
    expect(logs.find('legal-hold matters refreshed from Zoom')).toEqual([
      expect.objectContaining({ level: LEVEL.info, job: 'legal-hold', step: 'sync-matters', listed: 1, discovered: 0, changed: 0, deletedInZoom: 0, apiPages: 1 }),
    ]);
  });

  it('confirms a matter created here without reporting it: what Zoom adds is learnt, not a change', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const created = await createMatter(t.deps, { name: 'Ours', custodians: [t.users[0]!.email] }, 'cli:x');
    logs.clear();
    expect(await syncMatters(t.deps)).toEqual({ ...emptySummary, listed: 1 });
    expect(await matterRow(t.db.pool, created.matterId)).toMatchObject({ last_seen_at: NOW });
    expect(logs.find(/in Zoom's listing; mirror updated and audited$/)).toEqual([]);
  });
});

describe('what a refresh reports and logs', () => {
  it('stops before any call when its signal is already aborted', async () => {
    const t = await harness();
    t.sim.legalHold.addMatter({ name: 'Never listed', identifiers: [t.users[0]!.email] });
    await expect(syncMatters({ ...t.deps, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(t.apiCalls('legalhold.matters.list')).toBe(0);
    expect(await t.audit()).toEqual([]);
  });

  it('warns of each item without a usable id, with the reason and its size', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    const item = { matter_name: 'No id at all', matter_users: [] };
    t.sim.faults.inject({ match: { endpoint: 'legalhold.matters.list' }, fault: { kind: 'status', status: 200, body: { legal_hold_matters: [item], next_page_token: '' } } });
    expect(await syncMatters(t.deps)).toMatchObject({ listed: 0, absenceChecked: false });
    expect(logs.find('Zoom listed a matter without a usable id; it is reported, and no matter is marked deleted this time')).toEqual([
      expect.objectContaining({ level: LEVEL.warn, job: 'legal-hold', step: 'sync-matters', reason: 'missing or unusable matter_id', bytes: JSON.stringify(item).length }),
    ]);
  });

  it('audits why a matter was marked deleted_in_zoom: absent from a complete listing of that many matters', async () => {
    const t = await harness();
    t.sim.legalHold.addMatter({ name: 'Listed', identifiers: [t.users[0]!.email] });
    await insertMatter(t.db.pool, 'gone-from-zoom');
    t.clock.advance(60_000);
    expect(await syncMatters(t.deps)).toMatchObject({ listed: 1, deletedInZoom: ['gone-from-zoom'] });
    expect(await t.audit('legal_hold.matter.deleted_in_zoom')).toEqual([
      expect.objectContaining({ actor: 'zoom', subject_id: 'gone-from-zoom', details: { reason: 'absent from a complete listing of matters', listedMatters: 1 } }),
    ]);
  });

  it('does not report a missing matter that was deleted here while the refresh waited for it', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    await insertMatter(t.db.pool, 'deleted-meanwhile');
    t.clock.advance(60_000);
    const summary = await whileRowLocked(t.db.pool, 'deleted-meanwhile', `UPDATE archive.legal_hold_matters SET state = 'deleted_here', deleted_at = now() WHERE matter_id = $1`, () => syncMatters(t.deps));
    expect(summary).toEqual({ ...emptySummary });
    expect(await matterRow(t.db.pool, 'deleted-meanwhile')).toMatchObject({ state: 'deleted_here' });
    expect(logs.find(/^matter is gone from Zoom/)).toEqual([]);
    expect(await t.audit()).toEqual([]);
  });
});
