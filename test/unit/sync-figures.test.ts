import { describe, expect, it } from 'vitest';
import type { IsoDate } from '../../src/domain/types.js';
import { CallTally, emptyCallsByKind } from '../../src/sync/call-accounting.js';
import { computeHorizon, daysUntilExpiry } from '../../src/sync/horizon.js';
import { assessHorizonRisk } from '../../src/sync/horizon-risk.js';
import { formatDuration, formatProgressLine, SyncProgress } from '../../src/sync/progress.js';
import type { ZoomCallEvent } from '../../src/zoom/client.js';

// The figures a sync pass reports: live progress, calls by purpose, windows at risk.

function clockAt(ms: number): { now: () => number; advance: (by: number) => void } {
  let t = ms;
  return { now: () => t, advance: (by) => (t += by) };
}

describe('SyncProgress', () => {
  it('counts every call, errors (network and HTTP >= 400) and 429s', () => {
    const p = new SyncProgress(() => 0);
    for (const status of [200, 204, 399, 400, 404, 429, 500, 'network'] as const) p.recordCall(status);
    expect(p.apiCalls).toBe(8);
    expect(p.apiErrors).toBe(5);
    expect(p.rateLimited).toBe(1);
  });

  it('measures elapsed time and calls per second from its start', () => {
    const clock = clockAt(10_000);
    const p = new SyncProgress(clock.now);
    expect(p.startedAtMs).toBe(10_000);
    expect(p.callsPerSecond()).toBe(0); // no time elapsed: no rate
    p.recordCall(200);
    p.recordCall(200);
    p.recordCall(200);
    clock.advance(2_000);
    expect(p.elapsedMs()).toBe(2_000);
    expect(p.callsPerSecond()).toBe(1.5);
  });

  it('estimates the time left only while sweeping with units done, from the rate so far', () => {
    const clock = clockAt(0);
    const p = new SyncProgress(clock.now);
    clock.advance(10_000);
    p.unitsTotal = 10;
    p.unitsDone = 2;
    expect(p.etaMs()).toBeUndefined(); // still 'starting'
    p.phase = 'sweeping';
    expect(p.etaMs()).toBe(40_000); // 5 s a unit, 8 to go
    p.unitsDone = 0;
    expect(p.etaMs()).toBeUndefined();
    p.unitsDone = 3;
    p.unitsTotal = 0;
    expect(p.etaMs()).toBeUndefined();
    p.unitsTotal = 2; // more done than planned (units added meanwhile): never negative
    expect(p.etaMs()).toBe(0);
    p.phase = 'finishing';
    expect(p.etaMs()).toBeUndefined();
  });

  it('takes a snapshot of the figures a display shows, the rate to one decimal', () => {
    const clock = clockAt(0);
    const p = new SyncProgress(clock.now);
    Object.assign(p, { phase: 'sweeping', windowsListed: 2, windowsTotal: 7, sessionsListed: 30, unitsDone: 4, unitsTotal: 9, unitsFailed: 1, versionsSeen: 100, versionsAdded: 60 });
    p.recordCall(200);
    p.recordCall(429);
    clock.advance(3_000);
    expect(p.snapshot()).toEqual({
      phase: 'sweeping',
      windowsListed: 2,
      windowsTotal: 7,
      sessionsListed: 30,
      unitsDone: 4,
      unitsTotal: 9,
      unitsFailed: 1,
      versionsSeen: 100,
      versionsAdded: 60,
      apiCalls: 2,
      callsPerSecond: 0.7,
      rateLimited: 1,
      elapsedMs: 3_000,
    });
  });
});

describe('formatDuration', () => {
  it('seconds under a minute, minutes and seconds under an hour, else hours and minutes', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1_499)).toBe('1s');
    expect(formatDuration(1_500)).toBe('2s');
    expect(formatDuration(59_000)).toBe('59s');
    expect(formatDuration(60_000)).toBe('1m00s');
    expect(formatDuration(605_000)).toBe('10m05s');
    expect(formatDuration(3_599_000)).toBe('59m59s');
    expect(formatDuration(3_600_000)).toBe('1h00m');
    expect(formatDuration(3_600_000 * 25 + 7 * 60_000)).toBe('25h07m');
  });
});

describe('formatProgressLine', () => {
  it('shows failures, 429s and the ETA only when there are some', () => {
    const clock = clockAt(0);
    const p = new SyncProgress(clock.now);
    Object.assign(p, { phase: 'listing', windowsListed: 1, windowsTotal: 7, sessionsListed: 12, unitsDone: 0, unitsTotal: 0, versionsSeen: 5, versionsAdded: 3 });
    p.recordCall(200);
    clock.advance(2_000);
    expect(formatProgressLine(p)).toBe('listing · windows 1/7 · sessions 12 · units 0/0 · versions 5 seen, 3 new · api 1 calls 0.5/s · elapsed 2s');

    Object.assign(p, { phase: 'sweeping', unitsDone: 2, unitsTotal: 4, unitsFailed: 1 });
    p.recordCall(429);
    expect(formatProgressLine(p)).toBe('sweeping · windows 1/7 · sessions 12 · units 2/4 (1 failed) · versions 5 seen, 3 new · api 2 calls 1.0/s 1×429 · elapsed 2s · eta 2s');
  });
});

describe('CallTally', () => {
  const event = { status: 200 } as unknown as ZoomCallEvent;

  it('counts the calls made inside run, however deep, by kind; ignores calls outside and those of another tally', async () => {
    const seen: string[] = [];
    const tally = new CallTally((_e, kind) => seen.push(kind));
    const other = new CallTally();
    const observe = (e: ZoomCallEvent) => {
      tally.observe(e);
      other.observe(e);
    };
    observe(event); // outside any run
    await tally.run('listing', async () => {
      observe(event);
      await new Promise((r) => setTimeout(r, 1));
      observe(event);
    });
    await tally.run('backfill', async () => {
      await Promise.all([1, 2, 3].map(async () => observe(event)));
      return other.run('settled', async () => observe(event));
    });
    expect(tally.byKind).toEqual({ ...emptyCallsByKind(), listing: 2, backfill: 3 });
    expect(tally.total).toBe(5);
    expect(seen).toEqual(['listing', 'listing', 'backfill', 'backfill', 'backfill']);
    expect(other.byKind).toEqual({ ...emptyCallsByKind(), settled: 1 });
    expect(other.total).toBe(1);
  });

  it('returns what the work returns, and passes its failure on', async () => {
    const tally = new CallTally();
    await expect(tally.run('activity', async () => 42)).resolves.toBe(42);
    await expect(tally.run('activity', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('starts every kind at zero', () => {
    expect(emptyCallsByKind()).toEqual({ listing: 0, activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 0 });
  });
});

describe('assessHorizonRisk', () => {
  const horizon = computeHorizon(new Date('2026-11-21T12:00:00Z'), { settleHours: 24, marginDays: 1 });
  const settings = { horizonRiskDays: 10, horizonMarginDays: 1 };
  const oldest = horizon.windows[0]!;
  const days = daysUntilExpiry(oldest, horizon.today, 1);

  it('reports windows that are not complete and leave the horizon within the risk days, with when', () => {
    const risks = assessHorizonRisk(horizon, new Map(), { ...settings, horizonRiskDays: days });
    expect(risks).toEqual([{ monthStart: oldest.monthStart, from: oldest.from, daysUntilExpiry: days, leavesHorizonOn: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) }]);
    const leaves = new Date(`${risks[0]!.leavesHorizonOn}T00:00:00Z`).getTime();
    expect(Math.round((leaves - new Date(`${horizon.today}T00:00:00Z`).getTime()) / 86_400_000)).toBe(days);
  });

  it('leaves out windows further than the risk days, and complete ones', () => {
    expect(assessHorizonRisk(horizon, new Map(), { ...settings, horizonRiskDays: days - 1 })).toEqual([]);
    const complete = new Map<IsoDate, { completedAt: Date | null }>([[oldest.monthStart, { completedAt: new Date() }]]);
    expect(assessHorizonRisk(horizon, complete, { ...settings, horizonRiskDays: days })).toEqual([]);
    const notComplete = new Map<IsoDate, { completedAt: Date | null }>([[oldest.monthStart, { completedAt: null }]]);
    expect(assessHorizonRisk(horizon, notComplete, { ...settings, horizonRiskDays: days })).toHaveLength(1);
  });

  it('reports every window at risk, oldest first', () => {
    const all = assessHorizonRisk(horizon, new Map(), { ...settings, horizonRiskDays: 10_000 });
    expect(all.map((r) => r.monthStart)).toEqual(horizon.windows.map((w) => w.monthStart));
    expect(all.map((r) => r.daysUntilExpiry)).toEqual([...all.map((r) => r.daysUntilExpiry)].sort((a, b) => a - b));
  });
});
