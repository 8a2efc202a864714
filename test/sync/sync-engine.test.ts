import { describe, expect, it } from 'vitest';
import { expectedMalformed, horizonFor, expectArchiveExact, harnessPerTest, canonicalJson, failOldestWindow } from '../helpers/sync-harness.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { computeHorizon } from '../../src/sync/horizon.js';

// The sync engine end to end: real PostgreSQL, the Zoom simulator over HTTP, the real client.
const NOW = new Date('2026-11-21T15:00:00Z');
const start = harnessPerTest();

describe('full backfill', () => {
  for (const variant of [
    { sessionListing: 'every-active-window', modificationsPaging: 'first-page' },
    { sessionListing: 'last-activity-window', modificationsPaging: 'every-page' },
  ] as const) {
    it(`archives every session, message and version exactly once (${variant.sessionListing}, ${variant.modificationsPaging})`, async () => {
      const harness = await start(NOW, { seed: 7, sessions: 40, totalMessages: 2500, quirks: 'all' }, { simulator: variant });
      const { clock, dataset } = harness;
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
    const harness = await start(NOW, { seed: 11, sessions: 25, totalMessages: 1200 });
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
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    const { clock } = harness;
    const { today, horizonStart } = horizonFor(clock);
    const settled = ['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01'];
    const noReads = { activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 0 };
    const requests = () => {
      const stats = harness.sim.stats().byEndpoint;
      return { listing: stats['report.chat.sessions']?.requests ?? 0, messages: stats['report.chat.session_messages']?.requests ?? 0 };
    };

    const logs = captureLogs();
    const first = await harness.sync('incremental', { logger: logs.logger });
    const versions = await expectArchiveExact(harness);
    // 8 sessions, each read over each of the 7 windows: 56 units, one page each; 7 listing pages.
    expect(requests()).toEqual({ listing: 7, messages: 56 });
    const { runId, durationMs, progress, ...summary } = first;
    expect(durationMs).toBe(0); // the manual clock did not move
    expect(progress.apiCalls).toBe(63);
    // The progress total is what the pass then read: a unit both flagged and in a round counts once.
    expect({ total: progress.unitsTotal, done: progress.unitsDone }).toEqual({ total: 56, done: 56 });
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

    // What an operator reads of the pass: it starting, each window listed, what it is about to read,
    // and the totals — every line bound to the job and the run, none a warning.
    const windows = computeHorizon(NOW, { settleHours: harness.config.sync.settleHours, marginDays: harness.config.sync.horizonMarginDays }).windows;
    const syncLines = logs.records().filter((r) => r.job === 'sync');
    expect(syncLines.map((r) => r.runId)).toEqual(syncLines.map(() => runId));
    expect(syncLines.filter((r) => r.level >= LEVEL.warn)).toEqual([]);
    expect(logs.find('sync pass starting')).toEqual([expect.objectContaining({ level: LEVEL.info, job: 'sync', runId, mode: 'incremental', horizonStart, today, windows: 7 })]);
    const listed = logs.find('window listed').sort((a, b) => String(a.window).localeCompare(String(b.window)));
    expect(listed.map(({ level, job, window, from, to }) => ({ level, job, window, from, to }))).toEqual(windows.map((w) => ({ level: LEVEL.debug, job: 'sync', window: w.monthStart, from: w.from, to: w.to })));
    expect(listed.reduce((n, r) => n + Number(r.withNews), 0)).toBe(6);
    expect(listed.reduce((n, r) => n + Number(r.listed), 0)).toBeGreaterThanOrEqual(8);
    expect(logs.find('reading session windows')).toEqual([
      expect.objectContaining({ level: LEVEL.info, units: 56, windowsListed: 7, sessionsNew: 8, sessionsWithNews: 6, rounds: summary.rounds }),
    ]);
    expect(logs.find('sync pass finished')).toEqual([
      expect.objectContaining({
        level: LEVEL.info,
        job: 'sync',
        runId,
        outcome: 'complete',
        unitsAttempted: 56,
        unitsFailed: 0,
        listingFailures: 0,
        sessionsNew: 8,
        readsByKind: summary.readsByKind,
        callsByKind: summary.callsByKind,
        listingMisses: 0,
        versionsSeen: versions,
        versionsAdded: versions,
        apiCalls: 63,
        windowsComplete: 6,
        windowsOpen: 1,
        windowsIncomplete: 0,
        atRisk: 0,
        durationMs: 0,
      }),
    ]);

    clock.advance(3 * 3_600_000);
    harness.sim.resetStats();
    logs.clear();
    const all = await harness.sync('all', { logger: logs.logger });
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
    expect(logs.find('sync pass starting')).toEqual([expect.objectContaining({ runId: all.runId, mode: 'all', windows: 7 })]);
    expect(logs.find('reading session windows')).toEqual([expect.objectContaining({ units: 56, windowsListed: 7, sessionsNew: 0, sessionsWithNews: 0, rounds: [] })]);
    expect(logs.find('sync pass finished')).toEqual([expect.objectContaining({ runId: all.runId, outcome: 'complete', readsByKind: all.readsByKind, versionsAdded: 0 })]);
  });
});

describe('faults', () => {
  it('a listing that fails leaves the pass incomplete and declares no window complete; the next pass completes them', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    failOldestWindow(harness, 'report.chat.sessions');
    const logs = captureLogs();
    const failed = await harness.sync('incremental', { logger: logs.logger });
    expect(failed.outcome).toBe('incomplete');
    expect(failed.listingFailures).toEqual([{ monthStart: '2026-05-01', error: expect.stringMatching(/\S/) }]);
    expect(failed.unitFailures).toEqual([]);
    // Any listing may reveal sessions every other window needs, so nothing is declared complete.
    expect(failed.windowsComplete).toEqual([]);
    expect(failed.windowsIncomplete).toEqual(['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01']);
    expect(failed.windowsOpen).toEqual(['2026-11-01']);
    const run = await harness.db.pool.query('SELECT outcome, error FROM archive.sync_runs WHERE id = $1', [failed.runId]);
    expect(run.rows).toEqual([{ outcome: 'incomplete', error: '1 listing(s) and 0 session window(s) failed' }]);
    // One error line for the window, with Zoom's answer in loggable form (no request body).
    expect(logs.find('listing sessions failed for this window; it stays incomplete and is retried next run')).toEqual([
      expect.objectContaining({ level: LEVEL.error, job: 'sync', runId: failed.runId, window: '2026-05-01', err: expect.objectContaining({ code: 'ZOOM_SERVER_ERROR', status: 500, endpoint: 'report.chat.sessions', method: 'GET', zoomCode: 500 }) }),
    ]);
    expect(logs.find('sync pass finished')).toEqual([expect.objectContaining({ outcome: 'incomplete', listingFailures: 1, unitsFailed: 0, windowsComplete: 0, windowsIncomplete: 6, windowsOpen: 1 })]);

    harness.sim.faults.clear();
    const retry = await harness.sync();
    expect(retry.outcome).toBe('complete');
    expect(retry.listingFailures).toEqual([]);
    expect(retry.windowsComplete).toEqual(['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01']);
    await expectArchiveExact(harness);
  });

  it('stays exact through 429s, 5xx, resets, slow pages and expired tokens', async () => {
    const harness = await start(NOW, { seed: 3, sessions: 20, totalMessages: 1500, quirks: 'all' }, { simulator: { modificationsPaging: 'every-page' } });
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
    const harness = await start(NOW, { seed: 4, sessions: 6, totalMessages: 2000 });
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', hasPageToken: true }, fault: { kind: 'expire-page-token' }, times: 3 });
    const summary = await harness.sync();
    expect(summary.outcome).toBe('complete');
    expect(summary.progress.pageRestarts).toBe(3);
    await expectArchiveExact(harness);
  });

  it('reports a window about to leave the horizon loudly when it cannot be completed', async () => {
    const harness = await start(NOW, { seed: 5, sessions: 8, totalMessages: 400 });
    failOldestWindow(harness, 'report.chat.session_messages');
    const logs = captureLogs();
    const summary = await harness.sync('incremental', { logger: logs.logger });
    expect(summary.outcome).toBe('incomplete');
    expect(summary.atRisk.map((r) => r.monthStart)).toEqual(['2026-05-01']);
    expect(summary.atRisk[0]?.daysUntilExpiry).toBe(1);
    expect(summary.unitFailures.length).toBeGreaterThan(0);
    // Loudly: one HORIZON RISK error (what alerting matches on) saying when the data is gone, and a
    // warning for each session window that failed, with Zoom's answer.
    const risk = summary.atRisk[0]!;
    expect(logs.find(/HORIZON RISK/)).toEqual([
      expect.objectContaining({
        level: LEVEL.error,
        job: 'sync',
        window: '2026-05-01',
        from: risk.from,
        daysUntilExpiry: 1,
        leavesHorizonOn: risk.leavesHorizonOn,
        msg: `HORIZON RISK: window 2026-05-01 is not complete and its oldest day leaves Zoom's six-month horizon in 1 day(s) (${risk.leavesHorizonOn}); after that its data is gone for good`,
      }),
    ]);
    const failedReads = logs.find("session window failed; its stored pages are kept and it is retried next run");
    expect(failedReads.map((r) => ({ level: r.level, sessionId: r.sessionId, window: r.window, read: r.read, code: (r.err as { code?: string }).code, status: (r.err as { status?: number }).status })).sort((a, b) => String(a.sessionId).localeCompare(String(b.sessionId)))).toEqual(
      summary.unitFailures.map((f) => ({ level: LEVEL.warn, sessionId: f.sessionId, window: '2026-05-01', read: 'backfill', code: 'ZOOM_SERVER_ERROR', status: 500 })).sort((a, b) => String(a.sessionId).localeCompare(String(b.sessionId))),
    );
    expect(logs.find('sync pass finished')).toEqual([expect.objectContaining({ outcome: 'incomplete', unitsFailed: summary.unitFailures.length, atRisk: 1, windowsIncomplete: 1 })]);
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
    const harness = await start(NOW, { seed: 12, sessions: 10, totalMessages: 500 }, { simulator: { latencyMs: 20 } });
    const first = harness.sync();
    await new Promise((r) => setTimeout(r, 150));
    await expect(harness.sync()).rejects.toMatchObject({ code: 'SYNC_ALREADY_RUNNING', message: expect.stringContaining('another sync pass is running against this database') });
    expect((await first).outcome).toBe('complete');
    await expectArchiveExact(harness);
  });

  it('a pass whose lock was taken over by another holder writes nothing more and stops (LOCK_SUPERSEDED)', async () => {
    const harness = await start(NOW, { seed: 12, sessions: 30, totalMessages: 3000 }, { simulator: { latencyMs: 15 }, env: { SYNC_CONCURRENCY: '2' } });
    const count = async () => (await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.message_versions')).rows[0]?.n ?? 0;
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
    // The next pass (the new holder) closes the stale run, says so, and completes the archive exactly.
    const logs = captureLogs();
    const next = await harness.sync('incremental', { logger: logs.logger });
    expect(next.outcome).toBe('complete');
    expect(logs.find('closed earlier sync runs whose process died mid-run; their stored progress is kept')).toEqual([
      expect.objectContaining({ level: LEVEL.warn, job: 'sync', runId: next.runId, abandoned: 1 }),
    ]);
    await expectArchiveExact(harness);
  });

  it('a pass whose lock connection dies stops at once (LOCK_LOST), keeping what it stored', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 30, totalMessages: 3000 }, { simulator: { latencyMs: 15 }, env: { SYNC_CONCURRENCY: '2' } });
    const logs = captureLogs();
    const pass = harness.sync('incremental', { logger: logs.logger });
    const holder = await waitUntil(async () => (await harness.db.pool.query<{ backend_pid: number }>(`SELECT backend_pid FROM public.lock_holders WHERE name = 'sync'`)).rows[0]);
    await harness.db.pool.query('SELECT pg_terminate_backend($1)', [holder.backend_pid]);
    await expect(pass).rejects.toMatchObject({ code: 'LOCK_LOST' });
    expect(logs.find('lost the sync lock: this pass stops now; what it stored is kept, and it writes nothing more')).toEqual([
      expect.objectContaining({ level: LEVEL.error, job: 'sync', err: expect.objectContaining({ code: 'LOCK_LOST' }) }),
    ]);
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
