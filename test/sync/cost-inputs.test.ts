import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishRun, startRun } from '../../src/archive/run-store.js';
import { emptyCallsByKind } from '../../src/sync/call-accounting.js';
import { loadCostPlanInputs } from '../../src/sync/cost-plan.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// What the cost plan measures from sync_runs (src/sync/cost-plan.ts, loadCostPlanInputs).

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-21T15:00:00Z');
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.close();
});

async function pass(startedAtMs: number, calls: Record<string, number>, reads: Record<string, number>, sessionsNew: number): Promise<void> {
  const id = await startRun(db.pool, { mode: 'incremental', horizonStart: '2026-05-21', horizonEnd: '2026-11-21', startedAt: new Date(startedAtMs) });
  await finishRun(db.pool, id, { outcome: 'complete', finishedAt: new Date(startedAtMs + 60_000), apiCalls: 0, calls, reads, sessionsNew, listingMisses: 0, unitsAttempted: 0, unitsFailed: 0, versionsSeen: 0, versionsAdded: 0, error: null });
}

describe('loadCostPlanInputs', () => {
  it('measures nothing on an archive without passes, one call per full read', async () => {
    expect(await loadCostPlanInputs(db.pool, NOW)).toEqual({ knownSessions: 0, measuredCalls: emptyCallsByKind(), measuredHours: 0, newSessionsPerDay: 0, callsPerFullRead: 1, backfillUnitsPending: 0 });
  });

  it('a young archive: the hours since its first pass, new sessions not counting the first backfill', async () => {
    await pass(NOW - 6 * HOUR, { listing: 7, backfill: 90 }, { backfill: 30 }, 10);
    await pass(NOW - 1 * HOUR, { listing: 1, activity: 2 }, { activity: 2 }, 3);
    expect(await loadCostPlanInputs(db.pool, NOW)).toEqual({
      knownSessions: 0,
      measuredCalls: { ...emptyCallsByKind(), listing: 8, activity: 2, backfill: 90 },
      measuredHours: 6,
      // 3 new sessions after the first pass, over at least one day.
      newSessionsPerDay: 3,
      callsPerFullRead: 3,
      backfillUnitsPending: 0,
    });
  });

  it('an older archive: the last 24 hours of calls, a week of growth, full reads over 35 days', async () => {
    // Two days on: the first passes are out of the day's window but still in the week's and the 35 days'.
    const later = NOW + 48 * HOUR;
    await pass(later - 2 * HOUR, { listing: 2, settled: 10 }, { settled: 10 }, 4);
    const inputs = await loadCostPlanInputs(db.pool, later);
    expect(inputs.measuredCalls).toEqual({ ...emptyCallsByKind(), listing: 2, settled: 10 });
    expect(inputs.measuredHours).toBe(24);
    // (3 + 4) new sessions over the 54 hours since the first pass.
    expect(inputs.newSessionsPerDay).toBeCloseTo(7 / (54 / 24), 10);
    // (90 + 10) calls for (30 + 10) full reads.
    expect(inputs.callsPerFullRead).toBe(2.5);
    // A pass in the future of the clock does not count yet.
    expect((await loadCostPlanInputs(db.pool, NOW - 7 * HOUR)).measuredCalls).toEqual(emptyCallsByKind());
  });
});
