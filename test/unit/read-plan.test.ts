import { describe, expect, it } from 'vitest';
import type { DueUnit, WindowState } from '../../src/archive/checkpoint-store.js';
import { computeHorizon, daysUntilExpiry, type SyncWindow } from '../../src/sync/horizon.js';
import { completesWindow, needsListing, planRead, roundTake, sweepRounds, RESUME_TOKEN_MAX_AGE_MS, type SweepRound } from '../../src/sync/read-plan.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const settings = { settledSweepDays: 3, interimSweepDays: 0, horizonRiskDays: 14, horizonMarginDays: 0 };

function state(monthStart: string, patch: Partial<WindowState> = {}): WindowState {
  return { monthStart, monthEnd: monthStart, listedThrough: null, listedAt: null, completedAt: null, expiredAt: null, unitsEnsuredAt: null, ...patch };
}

function unit(patch: Partial<DueUnit> = {}): DueUnit {
  return {
    monthStart: '2026-11-01',
    sessionId: 's1',
    coveredThrough: null,
    sweptAt: null,
    completedAt: null,
    resweepRequestedAt: null,
    sweepFrom: null,
    sweepTo: null,
    sweepStartedAt: null,
    resumeToken: null,
    resumeTokenAt: null,
    failures: 0,
    fullSweptAt: null,
    newsPendingSince: null,
    inRound: false,
    ...patch,
  };
}

describe('sweep rounds', () => {
  const now = new Date('2026-12-02T06:00:00Z');
  const horizon = computeHorizon(now, { settleHours: 24, marginDays: 0 });
  const complete = new Date('2026-11-01T00:00:00Z');

  it('starts a settled-month round for each settled window that is not complete, from the instant it settled', () => {
    const states = new Map(horizon.windows.map((w) => [w.monthStart, state(w.monthStart, w.monthStart < '2026-11-01' ? { completedAt: complete } : {})]));
    const rounds = sweepRounds(horizon, states, settings, now.getTime());
    expect(rounds).toEqual([{ monthStart: '2026-11-01', kind: 'settled', beganAtMs: Date.parse('2026-12-02T00:00:00Z'), spreadMs: 3 * DAY, urgent: false }]);
  });

  it('makes a round urgent when its window is about to leave the horizon, and skips expired windows', () => {
    const states = new Map(horizon.windows.map((w) => [w.monthStart, state(w.monthStart)]));
    states.set('2026-07-01', state('2026-07-01', { expiredAt: complete }));
    const rounds = sweepRounds(horizon, states, settings, now.getTime());
    expect(rounds.find((r) => r.monthStart === '2026-06-01')).toMatchObject({ urgent: true });
    expect(rounds.find((r) => r.monthStart === '2026-10-01')).toMatchObject({ urgent: false });
    expect(rounds.some((r) => r.monthStart === '2026-07-01')).toBe(false);
    // The open month has no round without SYNC_INTERIM_SWEEP_DAYS.
    expect(rounds.some((r) => r.monthStart === '2026-12-01')).toBe(false);
  });

  it('starts interim rounds of the open month every N days from its first day, when configured', () => {
    const at = new Date('2026-11-21T10:00:00Z');
    const h = computeHorizon(at, { settleHours: 24, marginDays: 0 });
    const states = new Map(h.windows.map((w) => [w.monthStart, state(w.monthStart, { completedAt: w.monthStart < '2026-11-01' ? complete : null })]));
    expect(sweepRounds(h, states, { ...settings, interimSweepDays: 7 }, at.getTime())).toEqual([
      { monthStart: '2026-11-01', kind: 'interim', beganAtMs: Date.parse('2026-11-15T00:00:00Z'), spreadMs: 3 * DAY, urgent: false },
    ]);
    // Before the first period has passed there is none.
    const early = new Date('2026-11-05T10:00:00Z');
    const h2 = computeHorizon(early, { settleHours: 24, marginDays: 0 });
    const s2 = new Map(h2.windows.map((w) => [w.monthStart, state(w.monthStart, { completedAt: w.monthStart < '2026-10-01' ? complete : null })]));
    expect(sweepRounds(h2, s2, { ...settings, interimSweepDays: 7 }, early.getTime()).filter((r) => r.kind === 'interim')).toEqual([]);
  });
});

describe('round take', () => {
  const round: SweepRound = { monthStart: '2026-11-01', kind: 'settled', beganAtMs: 0, spreadMs: 3 * DAY, urgent: false };

  it('keeps pace with the share of the spread that has passed', () => {
    expect(roundTake(round, { units: 7200, done: 0 }, 0)).toBe(0);
    expect(roundTake(round, { units: 7200, done: 0 }, 1)).toBe(1);
    expect(roundTake(round, { units: 7200, done: 0 }, HOUR)).toBe(100);
    expect(roundTake(round, { units: 7200, done: 100 }, 2 * HOUR)).toBe(100);
    expect(roundTake(round, { units: 7200, done: 250 }, 2 * HOUR)).toBe(0);
  });

  it('catches up after a pause, never takes more than is left, and takes everything when urgent or past the spread', () => {
    expect(roundTake(round, { units: 7200, done: 0 }, 1.5 * DAY)).toBe(3600);
    expect(roundTake(round, { units: 7200, done: 7000 }, 10 * DAY)).toBe(200);
    expect(roundTake({ ...round, urgent: true }, { units: 7200, done: 10 }, 1)).toBe(7190);
    expect(roundTake(round, { units: 10, done: 10 }, 10 * DAY)).toBe(0);
  });
});

describe('planning a read', () => {
  const now = new Date('2026-11-21T15:00:00Z');
  const window: SyncWindow = computeHorizon(now, { settleHours: 24, marginDays: 0 }).windows.at(-1)!;
  const october: SyncWindow = computeHorizon(now, { settleHours: 24, marginDays: 0 }).windows.at(-2)!;

  it('reads a new session over the whole window, as its backfill', () => {
    expect(planRead(unit({ resweepRequestedAt: now }), window, now, 24)).toMatchObject({ kind: 'backfill', from: '2026-11-01', to: '2026-11-21', full: true, completes: false, recordMissesAs: undefined });
    expect(planRead(unit({ monthStart: '2026-10-01', resweepRequestedAt: now }), october, now, 24)).toMatchObject({ kind: 'backfill', from: '2026-10-01', to: '2026-10-31', completes: true });
  });

  it('reads a session with news only over the days since its last read, less the settle time', () => {
    const plan = planRead(unit({ newsPendingSince: now, sweptAt: new Date('2026-11-18T09:00:00Z') }), window, now, 24);
    expect(plan).toMatchObject({ kind: 'activity', from: '2026-11-17', to: '2026-11-21', full: false, completes: false, recordMissesAs: undefined });
    // Never read in this window: from its first day.
    expect(planRead(unit({ newsPendingSince: now }), window, now, 24)).toMatchObject({ kind: 'activity', from: '2026-11-01', full: true });
  });

  it('reads a unit picked by a round in full, and counts what it finds as misses only when no listing showed news', () => {
    const swept = new Date('2026-11-03T00:00:00Z');
    expect(planRead(unit({ monthStart: '2026-10-01', inRound: true, sweptAt: swept }), october, now, 24)).toMatchObject({ kind: 'settled', from: '2026-10-01', full: true, completes: true, recordMissesAs: 'settled' });
    expect(planRead(unit({ monthStart: '2026-10-01', inRound: true, sweptAt: swept, newsPendingSince: now }), october, now, 24)).toMatchObject({ kind: 'settled', recordMissesAs: undefined });
    expect(planRead(unit({ inRound: true, sweptAt: swept }), window, now, 24)).toMatchObject({ kind: 'interim', from: '2026-11-01', full: true, completes: false, recordMissesAs: 'interim' });
    expect(planRead(unit({ resweepRequestedAt: now, sweptAt: swept, inRound: true }), window, now, 24)).toMatchObject({ kind: 'resweep', recordMissesAs: undefined });
  });

  it('resumes an interrupted read of the same range from its token while the token is fresh', () => {
    const started = new Date(now.getTime() - 5 * 60_000);
    const interrupted = unit({ resweepRequestedAt: now, sweepFrom: '2026-11-01', sweepTo: '2026-11-21', sweepStartedAt: started, resumeToken: 'tok', resumeTokenAt: new Date(now.getTime() - 60_000) });
    expect(planRead(interrupted, window, now, 24)).toMatchObject({ resumeToken: 'tok', startedAt: started });
    const stale = { ...interrupted, resumeTokenAt: new Date(now.getTime() - RESUME_TOKEN_MAX_AGE_MS) };
    expect(planRead(stale, window, now, 24)).toMatchObject({ resumeToken: undefined, startedAt: now });
    expect(planRead({ ...interrupted, sweepTo: '2026-11-20' }, window, now, 24).resumeToken).toBeUndefined();
  });
});

describe('planning a read: edges', () => {
  const now = new Date('2026-11-21T15:00:00Z');
  const horizon = computeHorizon(now, { settleHours: 24, marginDays: 0 });
  const window = horizon.windows.at(-1)!;
  const october = horizon.windows.at(-2)!;
  const started = new Date(now.getTime() - 5 * 60_000);
  const interrupted = unit({ resweepRequestedAt: now, sweepFrom: '2026-11-01', sweepTo: '2026-11-21', sweepStartedAt: started, resumeToken: 'tok', resumeTokenAt: new Date(now.getTime() - 60_000) });

  it('resumes only with a token, the same start day, a recorded start and a token time', () => {
    expect(planRead(interrupted, window, now, 24)).toMatchObject({ resumeToken: 'tok', startedAt: started });
    for (const patch of [{ resumeToken: null }, { sweepFrom: '2026-11-02' }, { sweepStartedAt: null }, { resumeTokenAt: null }]) {
      expect(planRead({ ...interrupted, ...patch }, window, now, 24), JSON.stringify(patch)).toMatchObject({ resumeToken: undefined, startedAt: now });
    }
    // One millisecond younger than the limit still resumes.
    expect(planRead({ ...interrupted, resumeTokenAt: new Date(now.getTime() - RESUME_TOKEN_MAX_AGE_MS + 1) }, window, now, 24).resumeToken).toBe('tok');
  });

  it('a full read of a settled month completes it only when it started after the month settled', () => {
    const base = unit({ monthStart: '2026-10-01', resweepRequestedAt: now });
    expect(planRead(base, october, new Date(october.settledAtMs), 24).completes).toBe(true);
    expect(planRead(base, october, new Date(october.settledAtMs - 1), 24).completes).toBe(false);
    // A resumed read counts from when it started.
    const resumed = { ...base, sweepFrom: '2026-10-01', sweepTo: '2026-10-31', sweepStartedAt: new Date(october.settledAtMs - 1), resumeToken: 't', resumeTokenAt: now };
    expect(planRead(resumed, october, now, 24)).toMatchObject({ resumeToken: 't', completes: false });
    // An activity read of the days since the last one is not a full read and completes nothing.
    const activity = unit({ monthStart: '2026-10-01', newsPendingSince: now, sweptAt: new Date('2026-10-30T00:00:00Z') });
    expect(planRead(activity, october, now, 24)).toMatchObject({ kind: 'activity', full: false, completes: false });
  });

  it('completesWindow: only a read through the month\'s last day, started once it settled', () => {
    const settled = new Date(october.settledAtMs);
    expect(completesWindow(october, '2026-10-31', settled)).toBe(true);
    expect(completesWindow(october, '2026-10-30', settled)).toBe(false);
    expect(completesWindow(october, '2026-10-31', new Date(october.settledAtMs - 1))).toBe(false);
  });
});

describe('sweep rounds: edges', () => {
  it('an interim round begins once a whole period has passed since the month began, not before', () => {
    const monthStartMs = Date.parse('2026-11-01T00:00:00Z');
    const roundsAt = (ms: number) => {
      const h = computeHorizon(new Date(ms), { settleHours: 24, marginDays: 0 });
      const states = new Map(h.windows.map((w) => [w.monthStart, state(w.monthStart, { completedAt: w.monthStart < '2026-11-01' ? new Date(0) : null })]));
      return sweepRounds(h, states, { ...settings, settledSweepDays: 10, interimSweepDays: 7 }, ms).filter((r) => r.kind === 'interim');
    };
    expect(roundsAt(monthStartMs + 7 * DAY - 1)).toEqual([]);
    // Spread over the shorter of the two sweeps.
    expect(roundsAt(monthStartMs + 7 * DAY)).toEqual([{ monthStart: '2026-11-01', kind: 'interim', beganAtMs: monthStartMs + 7 * DAY, spreadMs: 7 * DAY, urgent: false }]);
  });

  it('a round is urgent from the risk day on, not the day before', () => {
    const now = new Date('2026-12-02T06:00:00Z');
    const horizon = computeHorizon(now, { settleHours: 24, marginDays: 0 });
    const states = new Map(horizon.windows.map((w) => [w.monthStart, state(w.monthStart)]));
    const oldest = horizon.windows[0]!;
    const days = daysUntilExpiry(oldest, horizon.today, 0);
    expect(days).toBeGreaterThan(0);
    const urgentWith = (riskDays: number) => sweepRounds(horizon, states, { ...settings, horizonRiskDays: riskDays }, now.getTime()).find((r) => r.monthStart === oldest.monthStart)!.urgent;
    expect(urgentWith(days)).toBe(true);
    expect(urgentWith(days - 1)).toBe(false);
  });

  it('a round without a spread takes everything left at once', () => {
    const round: SweepRound = { monthStart: '2026-11-01', kind: 'settled', beganAtMs: 1_000, spreadMs: 0, urgent: false };
    expect(roundTake(round, { units: 50, done: 20 }, 1_000)).toBe(30);
    expect(roundTake({ ...round, spreadMs: -1 }, { units: 50, done: 20 }, 1_000)).toBe(30);
    // More done than counted (units added since): nothing, never a negative take.
    expect(roundTake({ ...round, spreadMs: DAY }, { units: 10, done: 12 }, 1_000 + DAY)).toBe(0);
  });
});

describe('which windows a routine pass lists', () => {
  const at = (iso: string) => computeHorizon(new Date(iso), { settleHours: 24, marginDays: 0 });
  const october = (iso: string) => at(iso).windows.find((w) => w.monthStart === '2026-10-01')!;
  const november = (iso: string) => at(iso).windows.find((w) => w.monthStart === '2026-11-01')!;
  const listed = (listedAt: string, listedThrough = '2026-10-31') => state('2026-10-01', { monthEnd: '2026-10-31', listedThrough, listedAt: new Date(listedAt) });

  it('lists the open month on every pass, a complete window never', () => {
    expect(needsListing(november('2026-11-21T10:00:00Z'), state('2026-11-01', { listedThrough: '2026-11-21', listedAt: new Date('2026-11-21T09:00:00Z') }))).toBe(true);
    expect(needsListing(october('2026-11-21T10:00:00Z'), listed('2026-11-21T09:00:00Z'))).toBe(false);
    expect(needsListing(october('2026-10-20T10:00:00Z'), state('2026-10-01', { completedAt: new Date() }))).toBe(false);
  });

  it('lists a month that ended once after its end, then not again until it settles', () => {
    expect(needsListing(october('2026-11-01T00:00:00Z'), listed('2026-10-31T23:00:00Z'))).toBe(true);
    expect(needsListing(october('2026-11-01T01:00:00Z'), listed('2026-11-01T00:00:00Z'))).toBe(false);
    expect(needsListing(october('2026-11-01T23:00:00Z'), listed('2026-11-01T00:00:00Z'))).toBe(false);
    // Never listed through its last day (a first sync, or a listing that failed): listed.
    expect(needsListing(october('2026-11-01T05:00:00Z'), undefined)).toBe(true);
    expect(needsListing(october('2026-11-01T05:00:00Z'), listed('2026-11-01T01:00:00Z', '2026-10-30'))).toBe(true);
  });

  it('lists a settled month once after it settled (the final listing), then never again', () => {
    expect(needsListing(october('2026-11-02T00:00:00Z'), listed('2026-11-01T00:00:00Z'))).toBe(true);
    expect(needsListing(october('2026-11-02T01:00:00Z'), listed('2026-11-02T00:00:00Z'))).toBe(false);
  });
});
