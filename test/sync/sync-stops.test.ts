import { describe, expect, it } from 'vitest';
import { SyncProgress } from '../../src/sync/progress.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { archivedVersions, diffArchive, expectArchiveExact, expectedArchive, horizonFor, type SyncHarness, harnessPerTest, failOldestWindow } from '../helpers/sync-harness.js';

// How a sync pass ends when it cannot finish: stopped by its caller, a session Zoom no longer
// knows, a failure that stops every lane, a read Zoom refuses. Real PostgreSQL and the simulator.
const NOW = new Date('2026-11-21T15:00:00Z');
const SETTLED = ['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01'];
const MISSING_SCOPES = { code: 4711, message: 'Invalid access token, does not contain scopes:[report:read:admin].' };
const start = harnessPerTest();

const run = async (h: SyncHarness, runId?: number) =>
  (
    await h.db.pool.query<{ outcome: string; error: string | null; finished: boolean; units_attempted: number; units_failed: number }>(
      'SELECT outcome, error, finished_at IS NOT NULL AS finished, units_attempted, units_failed FROM archive.sync_runs' + (runId === undefined ? ' ORDER BY id DESC LIMIT 1' : ' WHERE id = $1'),
      runId === undefined ? [] : [runId],
    )
  ).rows[0];
const completedWindows = async (h: SyncHarness) =>
  (await h.db.pool.query<{ m: string }>('SELECT month_start::text AS m FROM archive.sync_windows WHERE completed_at IS NOT NULL ORDER BY 1')).rows.map((r) => r.m);
const messageRequests = (h: SyncHarness) => h.sim.stats().byEndpoint['report.chat.session_messages']?.requests ?? 0;
const listingRequests = (h: SyncHarness) => h.sim.stats().byEndpoint['report.chat.sessions']?.requests ?? 0;

describe("stopped by the caller's signal", () => {
  it('a pass aborted mid-read ends as aborted in sync_runs, keeps its units resumable, and the next pass reads only what was left', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 }, { simulator: { latencyMs: 10 }, env: { SYNC_CONCURRENCY: '2' } });
    const { clock } = harness;
    const stop = new AbortController();
    const progress = new SyncProgress(() => clock.now().getTime());
    const watch = setInterval(() => {
      if (progress.unitsDone >= 6) stop.abort(new Error('operator pressed Ctrl-C'));
    }, 1);
    const pass = harness.sync('incremental', { signal: stop.signal, progress });
    await expect(pass).rejects.toMatchObject({ code: 'ABORTED', message: 'sync pass stopped before it finished', cause: expect.objectContaining({ message: 'operator pressed Ctrl-C' }) });
    clearInterval(watch);

    const aborted = await run(harness);
    expect(aborted).toMatchObject({ outcome: 'aborted', finished: true, units_failed: 0 });
    expect(aborted?.error).toMatch(/^ABORTED: /);
    expect(aborted?.units_attempted).toBeGreaterThanOrEqual(6);
    expect(aborted?.units_attempted).toBeLessThan(56);
    expect(progress.phase).toBe('done');
    // Nothing declared complete; the units not read in full are still due.
    expect(await completedWindows(harness)).toEqual([]);
    const done = (await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.sync_units WHERE full_swept_at IS NOT NULL')).rows[0]!.n;
    expect(done).toBeGreaterThanOrEqual(6);
    expect(done).toBeLessThan(56);

    // The next pass reads exactly the units the aborted one left unfinished, and completes them.
    const next = await harness.sync();
    expect(next.outcome).toBe('complete');
    expect(next.unitsAttempted).toBe(56 - done);
    expect(next.windowsComplete).toEqual(SETTLED);
    await expectArchiveExact(harness);
  });

  it('a pass whose signal is already aborted asks Zoom nothing and records an aborted run', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    const { clock } = harness;
    const progress = new SyncProgress(() => clock.now().getTime());
    await expect(harness.sync('incremental', { signal: AbortSignal.abort(new Error('shutting down')), progress })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(listingRequests(harness) + messageRequests(harness)).toBe(0);
    expect(progress.unitsDone).toBe(0);
    expect(await run(harness)).toMatchObject({ outcome: 'aborted', finished: true, units_attempted: 0 });
    const next = await harness.sync();
    expect(next.outcome).toBe('complete');
    await expectArchiveExact(harness);
  });
});

describe('a Zoom call in flight when the pass is stopped', () => {
  // The signal reaches the HTTP request itself: the pass ends without waiting for Zoom's answer
  // (here one that would take ten minutes, far past the test's limit).
  it.each([
    ['a listing', 'report.chat.sessions'],
    ['a read', 'report.chat.session_messages'],
  ])('%s is cancelled, not waited for', async (_what, endpoint) => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    harness.sim.faults.inject({ match: { endpoint }, fault: { kind: 'slow', delayMs: 600_000 }, times: Infinity });
    const stop = new AbortController();
    const pass = harness.sync('incremental', { signal: stop.signal });
    const settled = pass.then(() => 'finished', () => 'rejected');
    // The simulator counts a request once answered; the rule counts it as it starts waiting.
    while ((harness.sim.faults.pending()[0]?.applied ?? 0) === 0) await new Promise((r) => setTimeout(r, 5));
    stop.abort(new Error('shutting down'));
    await expect(pass).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await settled).toBe('rejected');
    expect(await run(harness)).toMatchObject({ outcome: 'aborted', finished: true });
  });
});

describe('a read cut short after its first page', () => {
  it('resumes from its saved page token in the next pass, never asking for the first page again', async () => {
    // Two sessions with a few hundred messages a month: every read takes several pages.
    const harness = await start(NOW, { seed: 13, sessions: 2, totalMessages: 3000 });
    const session = harness.dataset.sessions[0]!.id;
    const month = { sessionId: session, queryIncludes: { from: '2026-09-01' } };
    // Not code 300 on a page-token request: that is an expired token, which restarts the read from page 1.
    const refusal = { kind: 'status' as const, status: 400, body: { code: 3000, message: 'Cannot access chat messages.' } };
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', ...month, hasPageToken: true }, fault: refusal, times: 1 });
    const logs = captureLogs('debug');
    const first = await harness.sync('incremental', { logger: logs.logger });
    expect(first.outcome).toBe('incomplete');
    expect(first.unitFailures.map((f) => [f.sessionId, f.monthStart])).toEqual([[session, '2026-09-01']]);
    // No read of the first pass (every one from its first page) says it resumed.
    expect(logs.find('resuming an interrupted read from its saved page token')).toEqual([]);
    const saved = await harness.db.pool.query<{ resume_token: string | null; failures: number }>(
      `SELECT resume_token, failures FROM archive.sync_units WHERE session_id = $1 AND month_start = '2026-09-01'`,
      [session],
    );
    expect(saved.rows[0]).toMatchObject({ resume_token: expect.any(String), failures: 1 });

    // From now on the first page of that read is refused: only a read that resumes can finish.
    harness.sim.faults.clear();
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', ...month, hasPageToken: false }, fault: refusal, times: Infinity });
    logs.clear();
    const next = await harness.sync('incremental', { logger: logs.logger });
    expect(next.unitFailures).toEqual([]);
    expect(next.outcome).toBe('complete');
    await expectArchiveExact(harness);
    // Only that read resumed, and it says so (with the range it resumed).
    expect(logs.find('resuming an interrupted read from its saved page token')).toEqual([
      expect.objectContaining({ level: LEVEL.debug, sessionId: session, from: '2026-09-01', to: '2026-09-30' }),
    ]);
  });
});

describe('a session Zoom answers 404 for', () => {
  it('is recorded as gone in every window, not as a failure; every other session is archived and the windows complete', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    const { clock, dataset } = harness;
    const gone = dataset.sessions[2]!.id;
    harness.sim.faults.inject({
      match: { endpoint: 'report.chat.session_messages', sessionId: gone },
      fault: { kind: 'status', status: 404, body: { code: 3001, message: 'Session does not exist.' } },
      times: Infinity,
    });
    const logs = captureLogs();
    const summary = await harness.sync('incremental', { logger: logs.logger });
    expect(summary).toMatchObject({ outcome: 'complete', unitFailures: [], listingFailures: [], unitsAttempted: 56, unitsSucceeded: 56, windowsComplete: SETTLED, windowsIncomplete: [] });
    expect(summary.progress.unitsFailed).toBe(0);
    expect(await run(harness, summary.runId)).toMatchObject({ outcome: 'complete', error: null, units_failed: 0 });
    // A warning per window says why nothing more is fetched for it; no read is logged as failed.
    const goneLines = logs.find("Zoom reports this session does not exist (404); nothing left to fetch for it in this window");
    expect(goneLines.map((r) => ({ level: r.level, job: r.job, sessionId: r.sessionId, window: r.window })).sort((a, b) => String(a.window).localeCompare(String(b.window)))).toEqual(
      [...SETTLED, '2026-11-01'].map((window) => ({ level: LEVEL.warn, job: 'sync', sessionId: gone, window })),
    );
    expect(logs.find(/session window failed/)).toEqual([]);

    const units = await harness.db.pool.query<{ month_start: string; outcome: string; complete: boolean; failures: number }>(
      'SELECT month_start::text, outcome, completed_at IS NOT NULL AS complete, failures FROM archive.sync_units WHERE session_id = $1 ORDER BY month_start',
      [gone],
    );
    // Settled months are done for good; the open month's read is recorded but not complete.
    expect(units.rows).toEqual([...SETTLED, '2026-11-01'].map((m) => ({ month_start: m, outcome: 'not_found', complete: m !== '2026-11-01', failures: 0 })));

    const { today, horizonStart } = horizonFor(clock);
    const expected = expectedArchive(dataset, { today, horizonStart }).filter((v) => v.sessionId !== gone);
    expect(expected.length).toBeGreaterThan(100);
    expect(diffArchive(await archivedVersions(harness.db), expected)).toEqual({ missing: [], unexpected: [], duplicates: [] });
  });
});

describe('a failure that stops the pass', () => {
  it('missing scopes in the middle of the reads: the pass fails, is recorded as failed, completes no window, and the next pass finishes exactly', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 }, { env: { SYNC_CONCURRENCY: '2' } });
    const { clock } = harness;
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages' }, fault: { kind: 'status', status: 403, body: MISSING_SCOPES }, afterMatches: 10, times: Infinity });
    const progress = new SyncProgress(() => clock.now().getTime());
    await expect(harness.sync('incremental', { progress })).rejects.toMatchObject({ code: 'ZOOM_MISSING_SCOPES' });
    // The lanes stop: at most the one read in flight in the other lane is still asked for.
    expect(messageRequests(harness)).toBeLessThanOrEqual(12);
    expect(progress.unitsFailed).toBe(0);
    expect(progress.phase).toBe('done');
    const failed = await run(harness);
    expect(failed).toMatchObject({ outcome: 'failed', finished: true, units_failed: 0 });
    expect(failed?.error).toMatch(/^ZOOM_MISSING_SCOPES: /);
    expect(failed?.units_attempted).toBeGreaterThanOrEqual(11);
    expect(await completedWindows(harness)).toEqual([]);
    const failures = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.sync_units WHERE failures > 0');
    expect(failures.rows[0]?.n).toBe(0);

    harness.sim.faults.clear();
    const next = await harness.sync();
    expect(next.outcome).toBe('complete');
    expect(next.windowsComplete).toEqual(SETTLED);
    await expectArchiveExact(harness);
  });

  it('missing scopes on the listing: the pass fails before reading any session and completes no window', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.sessions' }, fault: { kind: 'status', status: 403, body: MISSING_SCOPES }, afterMatches: 2, times: Infinity });
    await expect(harness.sync()).rejects.toMatchObject({ code: 'ZOOM_MISSING_SCOPES' });
    expect(messageRequests(harness)).toBe(0);
    const failed = await run(harness);
    expect(failed).toMatchObject({ outcome: 'failed', finished: true, units_attempted: 0 });
    expect(failed?.error).toMatch(/^ZOOM_MISSING_SCOPES: /);
    expect(await completedWindows(harness)).toEqual([]);
    harness.sim.faults.clear();
    expect((await harness.sync()).outcome).toBe('complete');
    await expectArchiveExact(harness);
  });
});

describe('a read Zoom refuses (4xx, not retried)', () => {
  it("fails only that session's windows, records the error on each unit and in sync_runs, and the others complete", async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    const { dataset } = harness;
    const refused = dataset.sessions[5]!.id;
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', sessionId: refused }, fault: { kind: 'status', status: 400, body: { code: 300, message: 'Bad request.' } }, times: Infinity });
    const logs = captureLogs();
    const summary = await harness.sync('incremental', { logger: logs.logger });
    expect(summary.outcome).toBe('incomplete');
    expect(summary.unitsAttempted).toBe(56);
    expect(summary.unitsSucceeded).toBe(49);
    expect(summary.progress.unitsFailed).toBe(7);
    expect(summary.listingFailures).toEqual([]);
    expect([...summary.unitFailures].sort((a, b) => a.monthStart.localeCompare(b.monthStart))).toEqual(
      [...SETTLED, '2026-11-01'].map((monthStart) => ({ monthStart, sessionId: refused, error: expect.stringMatching(/^ZOOM_BAD_REQUEST: .*400/) })),
    );
    // A settled window with a failed unit is not complete.
    expect(summary.windowsComplete).toEqual([]);
    expect(summary.windowsIncomplete).toEqual(SETTLED);
    expect(await run(harness, summary.runId)).toMatchObject({ outcome: 'incomplete', error: '0 listing(s) and 7 session window(s) failed', units_attempted: 56, units_failed: 7 });
    // Each unit keeps the error its read got (the same one the summary names for that window).
    const units = await harness.db.pool.query<{ month_start: string; failures: number; last_error: string; at: boolean }>(
      'SELECT month_start::text, failures, last_error, last_error_at IS NOT NULL AS at FROM archive.sync_units WHERE session_id = $1 ORDER BY month_start',
      [refused],
    );
    const errorOf = new Map(summary.unitFailures.map((f) => [f.monthStart, f.error]));
    expect(units.rows).toEqual([...SETTLED, '2026-11-01'].map((m) => ({ month_start: m, failures: 1, last_error: errorOf.get(m), at: true })));
    // One warning per failed window with Zoom's answer (its code and message, not a request body).
    const failedLines = logs.find('session window failed; its stored pages are kept and it is retried next run');
    expect(failedLines.map((r) => ({ level: r.level, sessionId: r.sessionId, window: r.window, read: r.read, err: r.err })).sort((a, b) => String(a.window).localeCompare(String(b.window)))).toEqual(
      [...SETTLED, '2026-11-01'].map((window) => ({
        level: LEVEL.warn,
        sessionId: refused,
        window,
        read: 'backfill',
        // The error's own log form: no stack, no request or response body.
        err: { code: 'ZOOM_BAD_REQUEST', status: 400, zoomCode: 300, zoomMessage: 'Bad request.', endpoint: 'report.chat.session_messages', method: 'GET', trackingId: expect.any(String) },
      })),
    );

    harness.sim.faults.clear();
    const retry = await harness.sync();
    expect(retry).toMatchObject({ outcome: 'complete', unitsAttempted: 7, unitFailures: [], windowsComplete: SETTLED });
    await expectArchiveExact(harness);
  });
});

describe('a window that leaves the horizon incomplete', () => {
  it('is not confused with one that leaves complete: that one expires quietly', async () => {
    const harness = await start(NOW, { seed: 5, sessions: 8, totalMessages: 400 });
    expect((await harness.sync()).windowsComplete).toContain('2026-05-01');
    harness.clock.advance(12 * 24 * 3_600_000);
    const logs = captureLogs();
    const later = await harness.sync('incremental', { logger: logs.logger });
    expect(later.windowsExpiredIncomplete).toEqual([]);
    expect(logs.find(/left Zoom's six-month horizon/)).toEqual([]);
    const may = await harness.db.pool.query<{ expired: boolean; complete: boolean }>(
      `SELECT expired_at IS NOT NULL AS expired, completed_at IS NOT NULL AS complete FROM archive.sync_windows WHERE month_start = '2026-05-01'`,
    );
    expect(may.rows).toEqual([{ expired: true, complete: true }]);
  });

  it('is reported once, as data lost, by the pass in which it expires', async () => {
    const harness = await start(NOW, { seed: 5, sessions: 8, totalMessages: 400 });
    const { clock } = harness;
    failOldestWindow(harness, 'report.chat.session_messages');
    const first = await harness.sync();
    expect(first.outcome).toBe('incomplete');
    expect(first.windowsExpiredIncomplete).toEqual([]);
    expect(first.atRisk.map((r) => r.monthStart)).toEqual(['2026-05-01']);

    // Twelve days on, May's last day has left Zoom's horizon: what was not archived is gone.
    clock.advance(12 * 24 * 3_600_000);
    const logs = captureLogs();
    const expired = await harness.sync('incremental', { logger: logs.logger });
    expect(expired.windowsExpiredIncomplete).toEqual(['2026-05-01']);
    expect(logs.find(/left Zoom's six-month horizon/)).toEqual([
      expect.objectContaining({
        level: LEVEL.error,
        job: 'sync',
        window: '2026-05-01',
        msg: "window 2026-05-01 left Zoom's six-month horizon before it was complete: what was not archived by now can no longer be fetched",
      }),
    ]);
    expect(expired.horizon.start > '2026-05-31').toBe(true);
    expect([...expired.windowsComplete, ...expired.windowsOpen, ...expired.windowsIncomplete]).not.toContain('2026-05-01');
    clock.advance(3_600_000);
    logs.clear();
    expect((await harness.sync('incremental', { logger: logs.logger })).windowsExpiredIncomplete).toEqual([]);
    expect(logs.find(/left Zoom's six-month horizon/)).toEqual([]);
  });
});
