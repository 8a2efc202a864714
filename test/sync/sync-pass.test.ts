import { describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logging/logger.js';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import type { CallKind } from '../../src/sync/call-accounting.js';
import { runSyncPass } from '../../src/sync/sync-pass.js';
import { ZoomClient, type ZoomCallEvent } from '../../src/zoom/client.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { SyncProgress } from '../../src/sync/progress.js';
import { expectArchiveExact, expectedMalformed, horizonFor, harnessPerTest } from '../helpers/sync-harness.js';

// runSyncPass's own wiring (the caller's call hook, the counters a pass reports) against the
// simulator and PostgreSQL.
const NOW = new Date('2026-11-21T15:00:00Z');
const start = harnessPerTest();

describe('runSyncPass', () => {
  it("tells the caller's onCall about every Zoom call with what it was for, retries included", async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 });
    const { clock } = harness;
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages' }, fault: { kind: 'status', status: 503 }, afterMatches: 3, times: 1 });
    const zoom = new ZoomClient({
      config: harness.config.zoom,
      credentials: SIM_CREDENTIALS,
      clock,
      logger: createSilentLogger(),
      retry: { baseDelayMs: 5, maxDelayMs: 40, qpsRetryDelayMs: 20 },
    });
    const events: Array<{ event: ZoomCallEvent; kind: CallKind; phase: string }> = [];
    const progress = new SyncProgress(() => clock.now().getTime());
    try {
      const summary = await runSyncPass(
        { sync: harness.config.sync, pool: harness.db.pool, zoom, clock, logger: createSilentLogger(), progress, onCall: (event, kind) => events.push({ event, kind, phase: progress.phase }) },
        'incremental',
      );
      expect(summary.outcome).toBe('complete');
      // 7 listing pages, 56 reads, and the one read retried after its 503.
      expect(summary.callsByKind).toEqual({ listing: 7, activity: 0, backfill: 57, settled: 0, interim: 0, resweep: 0 });
      expect(summary.apiCalls).toBe(64);
      const count = (kind: CallKind) => events.filter((e) => e.kind === kind).length;
      expect({ listing: count('listing'), backfill: count('backfill'), all: events.length }).toEqual({ listing: 7, backfill: 57, all: 64 });
      expect(events.filter((e) => e.event.status !== 200).map((e) => ({ status: e.event.status, attempt: e.event.attempt, kind: e.kind }))).toEqual([{ status: 503, attempt: 1, kind: 'backfill' }]);
      expect(events.filter((e) => e.kind === 'listing').every((e) => e.event.endpoint === 'report.chat.sessions')).toBe(true);
      // What a progress display shows while the calls are made: listing, then reading the sessions.
      expect([...new Set(events.map((e) => `${e.kind}:${e.phase}`))]).toEqual(['listing:listing', 'backfill:sweeping']);
      expect(progress.phase).toBe('done');
    } finally {
      await zoom.close();
    }
  });

  it('counts malformed items, listed sessions and stored pages in the summary and progress', async () => {
    const harness = await start(NOW, { seed: 7, sessions: 12, totalMessages: 600, quirks: 'all' });
    const { clock, dataset } = harness;
    const logs = captureLogs();
    const summary = await harness.sync('incremental', { logger: logs.logger });
    expect(summary.outcome).toBe('complete');
    await expectArchiveExact(harness);
    const { today, horizonStart } = horizonFor(clock);
    const malformed = expectedMalformed(dataset, { today, horizonStart });
    expect(malformed.length).toBeGreaterThan(0);
    // Each page with items that could not be keyed is a warning naming the session, the window, how
    // many and why; together they count what the message pages held.
    const warned = logs.find("Zoom sent items that could not be keyed; kept verbatim in sync_errors");
    expect(warned.length).toBeGreaterThan(0);
    for (const line of warned) {
      expect(line).toMatchObject({ level: LEVEL.warn, job: 'sync', sessionId: expect.any(String), window: expect.stringMatching(/^2026-\d\d-01$/), malformed: expect.any(Number), reasons: expect.any(Array) });
      expect((line.reasons as string[]).length).toBeGreaterThan(0);
      expect(new Set(line.reasons as string[]).size).toBe((line.reasons as string[]).length);
    }
    const seen = (await harness.db.pool.query<{ n: number }>('SELECT coalesce(sum(times_seen), 0)::int AS n FROM archive.item_errors')).rows[0]!.n;
    expect(summary.malformedItems).toBe(seen);
    expect(summary.progress.malformedItems).toBe(seen);
    const stats = harness.sim.stats().byEndpoint;
    expect(summary.progress.pagesStored).toBe(stats['report.chat.session_messages']?.requests);
    expect(summary.progress.sessionsListed).toBeGreaterThanOrEqual(summary.sessionsKnown);
    expect(summary.progress.sessionsNew).toBe(summary.sessionsKnown);
    // A progress display's totals: every window listed, every due unit done.
    expect({ windowsTotal: summary.progress.windowsTotal, windowsListed: summary.progress.windowsListed, windowsComplete: summary.progress.windowsComplete }).toEqual({
      windowsTotal: 7,
      windowsListed: 7,
      windowsComplete: 6,
    });
    expect({ done: summary.progress.unitsDone, phase: summary.progress.phase }).toEqual({ done: summary.unitsAttempted, phase: 'done' });
  });

  it('a routine pass lists only the days since the last listing less the settle time; `sync --all` lists every window from its first day', async () => {
    const harness = await start(NOW, { seed: 13, sessions: 8, totalMessages: 300 }, { simulator: { recordRequests: true } });
    const { clock } = harness;
    const listings = () =>
      (harness.sim.stats().requestLog ?? []).filter((r) => r.endpoint === 'report.chat.sessions').map((r) => `${r.query['from']}..${r.query['to']}`).sort();
    await harness.sync();
    expect(listings()).toHaveLength(7);

    // Listed at 2026-11-21T15:00Z, settle 24 h: the next pass starts from 2026-11-20.
    clock.set(new Date('2026-11-24T15:00:00Z'));
    harness.sim.resetStats();
    expect((await harness.sync()).outcome).toBe('complete');
    expect(listings()).toEqual(['2026-11-20..2026-11-24']);

    clock.advance(3_600_000);
    harness.sim.resetStats();
    expect((await harness.sync('all')).outcome).toBe('complete');
    const all = listings();
    expect(all).toHaveLength(7);
    expect(all).toContain('2026-11-01..2026-11-24');
    expect(all).toContain('2026-06-01..2026-06-30');
  });
});
