import { afterEach, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { expectedMalformed, horizonFor, startSyncHarness, type SyncHarness, expectArchiveExact } from '../helpers/sync-harness.js';
import { canonicalJson } from '../helpers/sync-harness.js';

// The sync engine end to end: real PostgreSQL, the Zoom simulator over HTTP, the real client.
const NOW = new Date('2026-11-21T15:00:00Z');
let harness: SyncHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('full backfill', () => {
  for (const variant of [
    { sessionListing: 'every-active-window', modificationsPaging: 'first-page' },
    { sessionListing: 'last-activity-window', modificationsPaging: 'every-page' },
  ] as const) {
    it(`archives every session, message and version exactly once (${variant.sessionListing}, ${variant.modificationsPaging})`, async () => {
      const clock = new ManualClock(NOW);
      const dataset = generateDataset({ seed: 7, now: NOW, sessions: 40, totalMessages: 2500, quirks: 'all' });
      harness = await startSyncHarness({ dataset, clock, simulator: variant });
      const summary = await harness.sync();
      expect(summary.outcome).toBe('complete');
      expect(summary.atRisk).toEqual([]);
      const versions = await expectArchiveExact(harness);
      expect(summary.versionsAdded).toBe(versions);
      expect(versions).toBeGreaterThan(2000);

      // Every session Zoom listed is in the read model; malformed items are kept, not dropped.
      const sessions = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM public.chat_sessions');
      expect(sessions.rows[0]?.n).toBe(summary.sessionsKnown);
      const errors = await harness.db.pool.query<{ raw_text: string }>('SELECT raw_text FROM public.sync_errors');
      const { today, horizonStart } = horizonFor(clock);
      expect(errors.rows.map((r) => canonicalJson(JSON.parse(r.raw_text))).sort()).toEqual(expectedMalformed(dataset, { today, horizonStart }).sort());
      // Every window before the current month is complete; the current month stays open.
      expect(summary.windowsIncomplete).toEqual([]);
      expect(summary.windowsOpen).toEqual(['2026-11-01']);
    });
  }

  it('adds nothing when run twice in a row: the second pass lists the open month and reads nothing', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 11, now: NOW, sessions: 25, totalMessages: 1200 });
    harness = await startSyncHarness({ dataset, clock });
    await harness.sync();
    harness.sim.resetStats();
    const second = await harness.sync();
    expect(second.outcome).toBe('complete');
    expect(second.versionsAdded).toBe(0);
    expect(second.unitsAttempted).toBe(0);
    await expectArchiveExact(harness);
    // Complete windows are not listed again: one listing page of the open month, nothing else.
    expect(harness.sim.stats().byEndpoint['report.chat.sessions']?.requests).toBe(1);
    expect(harness.sim.stats().byEndpoint['report.chat.session_messages']).toBeUndefined();
  });
});

describe('what a pass reports', () => {
  it('summarises a backfill and a `sync --all` exactly, and records the same totals in sync_runs', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 13, now: NOW, sessions: 8, totalMessages: 300 });
    harness = await startSyncHarness({ dataset, clock });
    const { today, horizonStart } = horizonFor(clock);
    const settled = ['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01'];
    const noReads = { activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 0 };
    const requests = () => {
      const stats = harness!.sim.stats().byEndpoint;
      return { listing: stats['report.chat.sessions']?.requests ?? 0, messages: stats['report.chat.session_messages']?.requests ?? 0 };
    };

    const first = await harness.sync();
    const versions = await expectArchiveExact(harness);
    // 8 sessions, each read over each of the 7 windows: 56 units, one page each; 7 listing pages.
    expect(requests()).toEqual({ listing: 7, messages: 56 });
    const { runId, durationMs, progress, ...summary } = first;
    expect(durationMs).toBe(0); // the manual clock did not move
    expect(progress.apiCalls).toBe(63);
    expect(summary).toEqual({
      mode: 'incremental',
      outcome: 'complete',
      horizon: { start: horizonStart, today, windows: 7 },
      windowsComplete: settled,
      windowsOpen: ['2026-11-01'],
      windowsIncomplete: [],
      windowsExpiredIncomplete: [],
      listingFailures: [],
      unitFailures: [],
      unitsAttempted: 56,
      unitsSucceeded: 56,
      sessionsKnown: 8,
      sessionsNew: 8,
      sessionsWithNews: 6,
      readsByKind: { ...noReads, backfill: 56 },
      callsByKind: { listing: 7, activity: 0, backfill: 56, settled: 0, interim: 0, resweep: 0 },
      // Every settled month's sweep round begins the day after the month ends (settle 24 h); a
      // backfill reads each of those sessions in full, so each round takes all 8 units at once.
      rounds: settled.map((monthStart) => {
        const next = new Date(`${monthStart}T00:00:00Z`);
        next.setUTCMonth(next.getUTCMonth() + 1, 2);
        return { monthStart, kind: 'settled', began: next.toISOString(), units: 8, doneBefore: 0, taken: 8 };
      }),
      listingMisses: 0,
      versionsSeen: versions,
      versionsAdded: versions,
      malformedItems: 0,
      apiCalls: 63,
      atRisk: [],
    });
    const runs = await harness.db.pool.query('SELECT id, mode, outcome, started_at, finished_at, horizon_start::text, horizon_end::text, api_calls, units_attempted, units_failed, versions_seen, versions_added, error, calls, reads, sessions_new, listing_misses FROM archive.sync_runs ORDER BY id');
    expect(runs.rows).toEqual([
      {
        id: runId,
        mode: 'incremental',
        outcome: 'complete',
        started_at: NOW,
        finished_at: NOW,
        horizon_start: horizonStart,
        horizon_end: today,
        api_calls: 63,
        units_attempted: 56,
        units_failed: 0,
        versions_seen: versions,
        versions_added: versions,
        error: null,
        calls: summary.callsByKind,
        reads: summary.readsByKind,
        sessions_new: 8,
        listing_misses: 0,
      },
    ]);

    clock.advance(3 * 3_600_000);
    harness.sim.resetStats();
    const all = await harness.sync('all');
    await expectArchiveExact(harness);
    expect(requests()).toEqual({ listing: 7, messages: 56 });
    expect(all).toMatchObject({
      mode: 'all',
      outcome: 'complete',
      windowsComplete: settled,
      unitsAttempted: 56,
      unitsSucceeded: 56,
      sessionsKnown: 8,
      sessionsNew: 0,
      sessionsWithNews: 0,
      readsByKind: { ...noReads, resweep: 56 },
      callsByKind: { listing: 7, activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 56 },
      rounds: [],
      versionsSeen: versions,
      versionsAdded: 0,
      apiCalls: 63,
      durationMs: 0,
    });
    expect(all.runId).toBeGreaterThan(runId);
    const second = await harness.db.pool.query('SELECT mode, outcome, api_calls, reads, versions_added, error FROM archive.sync_runs WHERE id = $1', [all.runId]);
    expect(second.rows).toEqual([{ mode: 'all', outcome: 'complete', api_calls: 63, reads: all.readsByKind, versions_added: 0, error: null }]);
  });
});

describe('faults', () => {
  it('a listing that fails leaves the pass incomplete and declares no window complete; the next pass completes them', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 13, now: NOW, sessions: 8, totalMessages: 300 });
    harness = await startSyncHarness({ dataset, clock });
    const { horizonStart } = horizonFor(clock);
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.sessions', queryIncludes: { from: horizonStart } }, fault: { kind: 'status', status: 500 }, times: Infinity });
    const failed = await harness.sync();
    expect(failed.outcome).toBe('incomplete');
    expect(failed.listingFailures).toEqual([{ monthStart: '2026-05-01', error: expect.stringMatching(/\S/) }]);
    expect(failed.unitFailures).toEqual([]);
    // Any listing may reveal sessions every other window needs, so nothing is declared complete.
    expect(failed.windowsComplete).toEqual([]);
    expect(failed.windowsIncomplete).toEqual(['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01']);
    expect(failed.windowsOpen).toEqual(['2026-11-01']);
    const run = await harness.db.pool.query('SELECT outcome, error FROM archive.sync_runs WHERE id = $1', [failed.runId]);
    expect(run.rows).toEqual([{ outcome: 'incomplete', error: '1 listing(s) and 0 session window(s) failed' }]);

    harness.sim.faults.clear();
    const retry = await harness.sync();
    expect(retry.outcome).toBe('complete');
    expect(retry.listingFailures).toEqual([]);
    expect(retry.windowsComplete).toEqual(['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01']);
    await expectArchiveExact(harness);
  });

  it('stays exact through 429s, 5xx, resets, slow pages and expired tokens', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 3, now: NOW, sessions: 20, totalMessages: 1500, quirks: 'all' });
    harness = await startSyncHarness({ dataset, clock, simulator: { modificationsPaging: 'every-page' } });
    harness.sim.faults.chaos({
      probability: 0.12,
      seed: 5,
      kinds: [
        { kind: 'status', status: 500 },
        { kind: 'status', status: 503 },
        { kind: 'rate-limit', type: 'qps', retryAfter: 'seconds' },
        { kind: 'reset' },
        { kind: 'reset-mid-body' },
        { kind: 'slow', delayMs: 30 },
        { kind: 'expire-page-token' },
        { kind: 'expire-oauth-token' },
      ],
    });
    // Faults may exhaust a unit's retries (the pass ends incomplete) or, when two token expiries
    // hit one request back to back, stop the pass as an authentication failure. Either way nothing
    // stored is wrong, and the next pass finishes the job.
    const first = await harness.sync().catch((err: { code?: string }) => {
      expect(err.code).toMatch(/^ZOOM_/);
      return undefined;
    });
    if (first?.outcome !== 'complete') {
      harness.sim.faults.clear();
      const second = await harness.sync();
      expect(second.outcome).toBe('complete');
    }
    await expectArchiveExact(harness);
  });

  it('restarts a session window from page 1 when its page token expires, without duplicates', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 4, now: NOW, sessions: 6, totalMessages: 2000 });
    harness = await startSyncHarness({ dataset, clock });
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', hasPageToken: true }, fault: { kind: 'expire-page-token' }, times: 3 });
    const summary = await harness.sync();
    expect(summary.outcome).toBe('complete');
    expect(summary.progress.pageRestarts).toBe(3);
    await expectArchiveExact(harness);
  });

  it('reports a window about to leave the horizon loudly when it cannot be completed', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 5, now: NOW, sessions: 8, totalMessages: 400 });
    harness = await startSyncHarness({ dataset, clock });
    const { horizonStart } = horizonFor(clock);
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', queryIncludes: { from: horizonStart } }, fault: { kind: 'status', status: 500 }, times: Infinity });
    const summary = await harness.sync();
    expect(summary.outcome).toBe('incomplete');
    expect(summary.atRisk.map((r) => r.monthStart)).toEqual(['2026-05-01']);
    expect(summary.atRisk[0]?.daysUntilExpiry).toBe(1);
    expect(summary.unitFailures.length).toBeGreaterThan(0);
    // Everything else is archived and the failed window is retried (and completed) next time.
    harness.sim.faults.clear();
    const retry = await harness.sync();
    expect(retry.outcome).toBe('complete');
    expect(retry.atRisk).toEqual([]);
    await expectArchiveExact(harness);
  });
});

describe('concurrency', () => {
  it('refuses a second pass while one is running, losing nothing', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 12, now: NOW, sessions: 10, totalMessages: 500 });
    harness = await startSyncHarness({ dataset, clock, simulator: { latencyMs: 20 } });
    const first = harness.sync();
    await new Promise((r) => setTimeout(r, 150));
    await expect(harness.sync()).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING' });
    expect((await first).outcome).toBe('complete');
    await expectArchiveExact(harness);
  });

  it('a pass whose lock was taken over by another holder writes nothing more and stops (LOCK_SUPERSEDED)', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 12, now: NOW, sessions: 30, totalMessages: 3000 });
    harness = await startSyncHarness({ dataset, clock, simulator: { latencyMs: 15 }, env: { SYNC_CONCURRENCY: '2' } });
    const count = async () => (await harness!.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.message_versions')).rows[0]?.n ?? 0;
    const pass = harness.sync();
    await waitUntil(async () => (await count()) > 200);
    // What a second process does when it takes the lock after ours was lost: a newer fence.
    await harness.db.pool.query(`SELECT archive.take_fence('sync', 'another process')`);
    const taken = await count();
    await expect(pass).rejects.toMatchObject({ code: 'LOCK_SUPERSEDED' });
    // At most the pages already in flight when the fence moved (one per lane) were still written.
    expect((await count()) - taken).toBeLessThanOrEqual(2 * 100);
    const runs = await harness.db.pool.query<{ outcome: string }>('SELECT outcome FROM archive.sync_runs');
    expect(runs.rows.map((r) => r.outcome)).toEqual(['running']);
    // The next pass (the new holder) closes the stale run and completes the archive exactly.
    const next = await harness.sync();
    expect(next.outcome).toBe('complete');
    await expectArchiveExact(harness);
  });

  it('a pass whose lock connection dies stops at once (LOCK_LOST), keeping what it stored', async () => {
    const clock = new ManualClock(NOW);
    const dataset = generateDataset({ seed: 13, now: NOW, sessions: 30, totalMessages: 3000 });
    harness = await startSyncHarness({ dataset, clock, simulator: { latencyMs: 15 }, env: { SYNC_CONCURRENCY: '2' } });
    const pass = harness.sync();
    const holder = await waitUntil(async () => (await harness!.db.pool.query<{ backend_pid: number }>(`SELECT backend_pid FROM public.lock_holders WHERE name = 'sync'`)).rows[0]);
    await harness.db.pool.query('SELECT pg_terminate_backend($1)', [holder.backend_pid]);
    await expect(pass).rejects.toMatchObject({ code: 'LOCK_LOST' });
    const next = await harness.sync();
    expect(next.outcome).toBe('complete');
    await expectArchiveExact(harness);
  });
});

async function waitUntil<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
