import { describe, expect, it } from 'vitest';
import { generateDataset, type SimDataset } from '../../src/simulator/dataset.js';
import type { RequestLogEntry } from '../../src/simulator/stats.js';
import { computeHorizon } from '../../src/sync/horizon.js';
import { SyncProgress } from '../../src/sync/progress.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { diffArchiveOverTime, type SyncHarness, harnessPerTest } from '../helpers/sync-harness.js';

// Activity-driven sync over simulated days: real PostgreSQL, the Zoom simulator over HTTP (its
// clock moved by the test, the dataset's later activity appearing as it moves), the real client.
const START = new Date('2026-11-21T15:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MESSAGES = 'report.chat.session_messages';
const LISTING = 'report.chat.sessions';

const start = harnessPerTest();

function requests(h: SyncHarness, endpoint: string): RequestLogEntry[] {
  return (h.sim.stats().requestLog ?? []).filter((r) => r.endpoint === endpoint);
}

/** Sessions with at least one send in (fromMs, toMs]. */
function sessionsSendingIn(ds: SimDataset, fromMs: number, toMs: number): Set<string> {
  const out = new Set<string>();
  for (const s of ds.sessions) {
    for (let m = s.firstMessage; m < s.firstMessage + s.messageCount; m++) {
      const sent = ds.messages.sentMs[m] ?? 0;
      if (sent > fromMs && sent <= toMs) {
        out.add(s.id);
        break;
      }
    }
  }
  return out;
}

async function unitRows(h: SyncHarness, sessionId: string) {
  return (
    await h.db.pool.query<{ month_start: string; sweeps: number; full_swept_at: Date | null; completed_at: Date | null }>(
      'SELECT month_start::text, sweeps, full_swept_at, completed_at FROM archive.sync_units WHERE session_id = $1 ORDER BY month_start',
      [sessionId],
    )
  ).rows;
}

/** Windows of the horizon that are complete now (what a history-aware exactness check may require). */
async function completeWindows(h: SyncHarness): Promise<Array<{ from: string; to: string }>> {
  const horizon = computeHorizon(h.clock.now(), { settleHours: 24, marginDays: 0 });
  const done = new Set((await h.db.pool.query<{ m: string }>('SELECT month_start::text AS m FROM archive.sync_windows WHERE completed_at IS NOT NULL')).rows.map((r) => r.m));
  return horizon.windows.filter((w) => done.has(w.monthStart)).map((w) => ({ from: w.from, to: w.to }));
}

describe('routine passes follow activity', () => {
  it('a pass where nothing happened costs the listing pages of the days since the last pass, and reads nothing', async () => {
    const harness = await start(START, { seed: 11, sessions: 25, totalMessages: 1200 }, { simulator: { recordRequests: true } });
    const { clock } = harness;
    const first = await harness.sync();
    expect(first.readsByKind.backfill).toBe(first.sessionsKnown * 7);
    expect(first.callsByKind.backfill).toBe(requests(harness, MESSAGES).length);

    clock.advance(HOUR);
    harness.sim.resetStats();
    const second = await harness.sync();
    expect(second.outcome).toBe('complete');
    expect(second.unitsAttempted).toBe(0);
    expect(second.versionsSeen).toBe(0);
    expect(requests(harness, MESSAGES)).toEqual([]);
    // Only the open month is listed, and only from the day before the last pass (the settle time).
    const listings = requests(harness, LISTING);
    expect(listings.map((r) => [r.query['from'], r.query['to']])).toEqual([['2026-11-20', '2026-11-21']]);
    expect(second.callsByKind).toEqual({ listing: 1, activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 0 });
    expect(second.apiCalls).toBe(1);
  });

  it('reads only the sessions a listing shows news for, over the days since their last read', async () => {
    const harness = await start(START, { seed: 21, now: new Date(START.getTime() + 2 * DAY), sessions: 60, totalMessages: 6000 }, { simulator: { recordRequests: true } });
    const { clock, dataset } = harness;
    await harness.sync();
    for (let hour = 1; hour <= 6; hour++) {
      const before = clock.now().getTime();
      clock.advance(HOUR);
      harness.sim.resetStats();
      const pass = await harness.sync();
      const active = sessionsSendingIn(dataset, before, clock.now().getTime());
      const read = new Set(requests(harness, MESSAGES).map((r) => decodeURIComponent(r.path.split('/').pop() ?? '')));
      expect(read).toEqual(active);
      expect(pass.readsByKind).toEqual({ activity: active.size, backfill: 0, settled: 0, interim: 0, resweep: 0 });
      expect(pass.callsByKind.activity).toBe(requests(harness, MESSAGES).length);
      // Each read covers the days since the session's last read, less the settle time.
      for (const r of requests(harness, MESSAGES)) expect([r.query['from'], r.query['to']]).toEqual(['2026-11-20', '2026-11-21']);
    }
    expect((await diffArchiveOverTime(harness, [])).unexpected).toEqual([]);
  });

  it('reads a session seen for the first time over every window of the horizon once', async () => {
    const dataset = generateDataset({ seed: 5, now: new Date(START.getTime() + 10 * DAY), sessions: 200, totalMessages: 8000, spanDays: 40 });
    const late = dataset.sessions.find((s) => (dataset.messages.sentMs[s.firstMessage] ?? 0) > START.getTime() + DAY);
    expect(late).toBeDefined();
    const harness = await start(START, dataset);
    const { clock } = harness;
    await harness.sync();
    expect(await unitRows(harness, late!.id)).toEqual([]);
    const firstSend = dataset.messages.sentMs[late!.firstMessage] ?? 0;
    clock.set(firstSend + HOUR);
    const pass = await harness.sync();
    expect(pass.sessionsNew).toBeGreaterThanOrEqual(1);
    expect(pass.readsByKind.backfill).toBe(pass.sessionsNew * 7);
    const units = await unitRows(harness, late!.id);
    expect(units.map((u) => u.month_start)).toEqual(['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01', '2026-11-01']);
    for (const u of units) {
      expect(u.sweeps).toBe(1);
      expect(u.full_swept_at).not.toBeNull();
    }
    // Settled months are complete with that one read; the open month waits for its settled sweep.
    expect(units.filter((u) => u.completed_at !== null).map((u) => u.month_start)).toEqual(units.slice(0, 6).map((u) => u.month_start));
  });
});

describe('settled-month sweep', () => {
  it('catches an edit in a session no listing shows, after the month settles, and counts it as a listing miss', async () => {
    const end = new Date('2026-12-07T00:00:00Z');
    const dataset = generateDataset({ seed: 9, now: end, sessions: 40, totalMessages: 3000 });
    // A quiet session: no sends after START (no listing shows it), but an old message edited in November.
    const quiet = dataset.sessions.find((s) => {
      if (s.profile !== 'quiet' || s.lastMessageSentMs > START.getTime()) return false;
      for (let i = s.firstModification; i < s.firstModification + s.modificationCount; i++) {
        const at = dataset.modifications.actionMs[i] ?? 0;
        if ((dataset.modifications.ordinal[i] ?? 0) > 0 && at > START.getTime() && at < Date.parse('2026-11-30T00:00:00Z')) return true;
      }
      return false;
    });
    expect(quiet).toBeDefined();
    const harness = await start(START, dataset, { env: { SYNC_SETTLED_SWEEP_DAYS: '2' } });
    const { clock } = harness;
    const editsOf = async () =>
      (await harness.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM archive.message_versions WHERE session_id = $1 AND kind = 'edited' AND action_at > $2", [quiet!.id, START])).rows[0]?.n;
    await harness.sync();
    const settledReadsPerPass: number[] = [];
    let missesSeen = 0;
    const logs = captureLogs('info');
    while (clock.now() < end) {
      clock.advance(6 * HOUR);
      const pass = await harness.sync('incremental', { logger: logs.logger });
      expect(pass.outcome).toBe('complete');
      if (pass.readsByKind.settled > 0) settledReadsPerPass.push(pass.readsByKind.settled);
      missesSeen += pass.listingMisses;
      if (clock.now() < new Date('2026-12-02T00:00:00Z')) expect(await editsOf()).toBe(0);
    }
    expect(await editsOf()).toBeGreaterThan(0);
    const misses = await harness.db.pool.query<{ kind: string; read_kind: string; month_start: string }>(
      'SELECT kind, read_kind, month_start::text FROM public.sync_listing_misses WHERE session_id = $1',
      [quiet!.id],
    );
    expect(misses.rows).toContainEqual({ kind: 'edited', read_kind: 'settled', month_start: '2026-11-01' });
    expect(missesSeen).toBeGreaterThan(0);
    // Each session a sweep caught a miss in is logged (the calibration an operator reads), and the
    // lines add up to the passes' counts.
    const missLines = logs.find(/^listing miss: /);
    expect(missLines.reduce((n, r) => n + Object.values(r.kinds as Record<string, number>).reduce((a, b) => a + b, 0), 0)).toBe(missesSeen);
    // Only reads that found a miss are logged (not every settled read, with nothing in it).
    expect(missLines.filter((r) => Object.keys(r.kinds as Record<string, number>).length === 0)).toEqual([]);
    expect(missLines).toContainEqual(expect.objectContaining({ level: LEVEL.info, job: 'sync', sessionId: quiet!.id, window: '2026-11-01', read: 'settled', kinds: expect.objectContaining({ edited: expect.any(Number) }) }));
    // Spread over the two days after settling (eight 6-hour passes), never one burst.
    const known = (await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.sessions')).rows[0]?.n ?? 0;
    expect(settledReadsPerPass.length).toBeGreaterThanOrEqual(7);
    expect(Math.max(...settledReadsPerPass)).toBeLessThanOrEqual(Math.ceil(known / 8) + 1);
    const windows = await harness.db.pool.query<{ completed_at: Date | null }>("SELECT completed_at FROM archive.sync_windows WHERE month_start = '2026-11-01'");
    expect(windows.rows[0]?.completed_at).not.toBeNull();
    expect(await diffArchiveOverTime(harness, await completeWindows(harness))).toEqual({ unexpected: [], duplicates: [], missing: [] });
  });

  it('resumes after a crash in the middle of the sweep without reading again what was done', async () => {
    const harness = await start(new Date('2026-11-28T12:00:00Z'), { seed: 14, sessions: 60, totalMessages: 3000 }, { simulator: { recordRequests: true, latencyMs: 5 }, env: { SYNC_SETTLED_SWEEP_DAYS: '0.01', SYNC_CONCURRENCY: '2' } });
    const { clock } = harness;
    await harness.sync();
    clock.set(new Date('2026-12-02T06:00:00Z'));
    harness.sim.resetStats();
    const crash = new AbortController();
    const stopAfter = 20;
    const progress = new SyncProgress(() => clock.now().getTime());
    const watch = setInterval(() => {
      if (progress.unitsDone >= stopAfter) crash.abort(new Error('simulated crash'));
    }, 1);
    const interrupted = harness.sync('incremental', { signal: crash.signal, progress });
    await expect(interrupted).rejects.toMatchObject({ code: 'ABORTED' });
    clearInterval(watch);
    const novemberReads = (log: RequestLogEntry[]) =>
      log.filter((r) => r.query['from'] === '2026-11-01' && r.query['to'] === '2026-11-30' && !r.query['next_page_token']).map((r) => r.path);
    const readBefore = novemberReads(requests(harness, MESSAGES));
    const doneBefore = (
      await harness.db.pool.query<{ session_id: string }>("SELECT session_id FROM archive.sync_units WHERE month_start = '2026-11-01' AND full_swept_at >= '2026-12-02T00:00:00Z'")
    ).rows.map((r) => r.session_id);
    expect(doneBefore.length).toBeGreaterThanOrEqual(stopAfter - 2);

    harness.sim.resetStats();
    const resumed = await harness.sync();
    expect(resumed.outcome).toBe('complete');
    const readAfter = novemberReads(requests(harness, MESSAGES));
    for (const id of doneBefore) expect(readAfter).not.toContain(`/v2/report/chat/sessions/${id}`);
    // Every session read once in all; only those in flight at the crash (at most the concurrency) twice.
    const known = resumed.sessionsKnown;
    expect(readBefore.length + readAfter.length).toBeLessThanOrEqual(known + 2);
    expect(new Set([...readBefore, ...readAfter]).size).toBe(known);
  });

  for (const sessionListing of ['every-active-window', 'last-activity-window'] as const) {
    it(`keeps the archive exact over five weeks of activity, edits, deletions and two month ends (${sessionListing})`, async () => {
      const end = new Date('2026-12-31T00:00:00Z');
      const harness = await start(START, { seed: 31, now: end, sessions: 30, totalMessages: 3000, editProbability: 0.2, deleteProbability: 0.05 }, { simulator: { sessionListing } });
      const { clock } = harness;
      await harness.sync();
      let days = 0;
      while (clock.now() < new Date('2027-01-06T00:00:00Z')) {
        clock.advance(8 * HOUR);
        const pass = await harness.sync();
        expect(pass.outcome).toBe('complete');
        if (++days % 9 === 0) {
          const diff = await diffArchiveOverTime(harness, await completeWindows(harness));
          expect(diff).toEqual({ unexpected: [], duplicates: [], missing: [] });
        }
      }
      // December settled and its sweep is done: every window but the open January is complete.
      const windows = await completeWindows(harness);
      expect(windows.length).toBe(6);
      expect(await diffArchiveOverTime(harness, windows)).toEqual({ unexpected: [], duplicates: [], missing: [] });
    });
  }
});

describe('sync --all', () => {
  it('reads every known session over every window again', async () => {
    const harness = await start(START, { seed: 4, sessions: 12, totalMessages: 600 });
    const { clock } = harness;
    const first = await harness.sync();
    clock.advance(HOUR);
    const all = await harness.sync('all');
    expect(all.readsByKind).toEqual({ activity: 0, backfill: 0, settled: 0, interim: 0, resweep: first.sessionsKnown * 7 });
    expect(all.versionsAdded).toBe(0);
    expect(all.callsByKind.listing).toBeGreaterThanOrEqual(7);
  });
});
