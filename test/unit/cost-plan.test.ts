import { describe, expect, it } from 'vitest';
import { emptyCallsByKind } from '../../src/sync/call-accounting.js';
import { planCosts, type CostPlanInputs } from '../../src/sync/cost-plan.js';

const settings = { mediumRatePerSecond: 10, settledSweepDays: 3, interimSweepDays: 0, budgetWarnShare: 0.8, budgetWarnDays: 30 };

function inputs(patch: Partial<CostPlanInputs> = {}): CostPlanInputs {
  return {
    knownSessions: 100_000,
    measuredCalls: { ...emptyCallsByKind(), listing: 1_000, activity: 20_000 },
    measuredHours: 24,
    newSessionsPerDay: 0,
    callsPerFullRead: 1,
    backfillUnitsPending: 0,
    ...patch,
  };
}

describe('sync cost plan', () => {
  it('projects a day of recurring calls: measured listing and activity, the settled sweep from the known sessions', () => {
    const plan = planCosts(inputs(), settings);
    expect(plan.budgetPerDay).toBe(864_000);
    expect(plan.projected).toMatchObject({ listing: 1_000, activity: 20_000, backfill: 0, settledAverage: 3_285, settledPeak: 33_333, interimAverage: 0 });
    expect(plan.projected.recurringAverage).toBe(24_285);
    expect(plan.projected.recurringPeak).toBe(54_333);
    expect(plan.projected.peakShareOfBudget).toBeCloseTo(0.063, 3);
    expect(plan.warnings).toEqual([]);
    expect(plan.growth.daysUntilOverBudget).toBeNull();
  });

  it('scales a young archive up to a full day and counts new sessions as backfill over every window', () => {
    const plan = planCosts(inputs({ measuredHours: 6, newSessionsPerDay: 100, callsPerFullRead: 1.5 }), settings);
    expect(plan.projected.listing).toBe(4_000);
    expect(plan.projected.activity).toBe(80_000);
    expect(plan.projected.backfill).toBe(1_050);
    expect(plan.projected.settledPeak).toBe(50_000);
  });

  it('adds interim sweeps when configured', () => {
    const plan = planCosts(inputs(), { ...settings, interimSweepDays: 7 });
    expect(plan.projected.interimAverage).toBe(14_286);
    expect(plan.projected.interimPeak).toBe(33_333);
  });

  it('warns while still under budget: at the warn share, and when growth crosses the budget within the warning days', () => {
    const near = planCosts(inputs({ knownSessions: 2_100_000 }), settings);
    expect(near.projected.recurringPeak).toBeGreaterThan(0.8 * 864_000);
    expect(near.projected.recurringPeak).toBeLessThan(864_000);
    expect(near.warnings).toHaveLength(1);
    expect(near.warnings[0]).toMatch(/busiest day .* of the daily budget/);

    const growing = planCosts(inputs({ newSessionsPerDay: 40_000 }), settings);
    expect(growing.growth.daysUntilOverBudget).toBeGreaterThan(0);
    expect(growing.growth.daysUntilOverBudget).toBeLessThanOrEqual(30);
    expect(growing.warnings.some((w) => /exceeds the daily budget in about \d+ day/.test(w))).toBe(true);

    const slow = planCosts(inputs({ newSessionsPerDay: 100 }), settings);
    expect(slow.growth.daysUntilOverBudget).toBeGreaterThan(30);
    expect(slow.warnings).toEqual([]);
  });

  it('says the archive is falling behind when the average day is over budget', () => {
    const plan = planCosts(inputs({ measuredCalls: { ...emptyCallsByKind(), activity: 900_000 } }), settings);
    expect(plan.growth.daysUntilOverBudget).toBe(0);
    expect(plan.warnings[0]).toMatch(/^FALLING BEHIND/);
  });

  it('estimates how long a pending backfill takes at the full rate', () => {
    expect(planCosts(inputs({ backfillUnitsPending: 432_000 }), settings).backfill).toEqual({ unitsPending: 432_000, hoursAtBudget: 12 });
  });
});

describe('sync cost plan, figure by figure', () => {
  const base = { mediumRatePerSecond: 0.5, settledSweepDays: 4, interimSweepDays: 10, budgetWarnShare: 0.5, budgetWarnDays: 30 };

  it('computes every figure of a plan (several pages per read, a half-day measurement, interim sweeps, growth)', () => {
    const measuredCalls = { listing: 10, activity: 40, backfill: 7, settled: 3, interim: 2, resweep: 1 };
    const plan = planCosts({ knownSessions: 1_000, measuredCalls, measuredHours: 12.04, newSessionsPerDay: 3.04, callsPerFullRead: 2, backfillUnitsPending: 500 }, base);
    // budget 0.5/s × 86,400 = 43,200; a 12.04 h measurement counts 24/12.04 = 1.993… times.
    // listing 19.93, activity 79.73; backfill 3.04 × 7 windows × 2 = 42.56; settled 2,000 × 12/365.25 = 65.71
    // a day on average, 2,000 / 4 = 500 on a sweep day; interim 2,000 / 10 = 200 a day, 2,000 / min(4, 10) = 500 at peak.
    expect(plan).toEqual({
      knownSessions: 1_000,
      budgetPerDay: 43_200,
      measured: { hours: 12, callsByKind: measuredCalls, total: 63 },
      projected: {
        listing: 20,
        activity: 80,
        backfill: 43,
        settledAverage: 66,
        settledPeak: 500,
        interimAverage: 200,
        interimPeak: 500,
        recurringAverage: 408,
        recurringPeak: 1_142,
        peakShareOfBudget: 0.026,
      },
      // (43,200 / 1,142.2 × 1,000 − 1,000) / 3.04 new sessions a day
      growth: { newSessionsPerDay: 3, daysUntilOverBudget: 12_112 },
      // 500 × 2 calls / 43,200 a day × 24 h
      backfill: { unitsPending: 500, hoursAtBudget: 0.6 },
      warnings: [],
    });
  });

  it('a busiest day exactly at the budget is over it; an average exactly at it is not yet falling behind', () => {
    // 86,400 listing calls in 24 h against 1 call/s: the peak and the average both equal the budget.
    const plan = planCosts(
      { knownSessions: 0, measuredCalls: { ...emptyCallsByKind(), listing: 86_400 }, measuredHours: 24, newSessionsPerDay: 0, callsPerFullRead: 1, backfillUnitsPending: 0 },
      { ...base, mediumRatePerSecond: 1, interimSweepDays: 0 },
    );
    expect(plan.growth.daysUntilOverBudget).toBe(0);
    expect(plan.warnings).toEqual([
      'the busiest day of recurring report calls (a settled-month sweep day) is projected at 86400 calls, 100% of the daily budget of 86400: spread the settled-month sweep over more days (SYNC_SETTLED_SWEEP_DAYS), raise ZOOM_RATE_SHARE, or move to a plan with more MEDIUM calls',
    ]);
  });

  it('warns about growth on the last warning day, not the day after; never without growth or sessions', () => {
    // 100 sessions, one read each on the single sweep day = 100, plus 1 new session × 7 windows = 107 at
    // peak; the budget is 214 a day, reached at 200 sessions: in (200 − 100) / 1 = 100 days.
    const inputs = { knownSessions: 100, measuredCalls: emptyCallsByKind(), measuredHours: 24, newSessionsPerDay: 1, callsPerFullRead: 1, backfillUnitsPending: 0 };
    const settings = { mediumRatePerSecond: 214 / 86_400, settledSweepDays: 1, interimSweepDays: 0, budgetWarnShare: 0.9, budgetWarnDays: 100 };
    const atEdge = planCosts(inputs, settings);
    expect(atEdge.growth.daysUntilOverBudget).toBe(100);
    expect(atEdge.warnings).toEqual(['at the current growth (1.0 new sessions a day) the busiest day of recurring report calls exceeds the daily budget in about 100 day(s)']);
    expect(planCosts(inputs, { ...settings, budgetWarnDays: 99 }).warnings).toEqual([]);
    expect(planCosts({ ...inputs, newSessionsPerDay: 0 }, settings).growth.daysUntilOverBudget).toBeNull();
    expect(planCosts({ ...inputs, knownSessions: 0 }, settings).growth.daysUntilOverBudget).toBeNull();
  });

  it('a measurement of no hours projects no listing or activity, and no budget means no share and no backfill estimate', () => {
    const plan = planCosts(
      { knownSessions: 10, measuredCalls: { ...emptyCallsByKind(), listing: 50 }, measuredHours: 0, newSessionsPerDay: 0, callsPerFullRead: 0, backfillUnitsPending: 9 },
      { ...base, mediumRatePerSecond: 0 },
    );
    expect(plan.projected.listing).toBe(0);
    expect(plan.projected.peakShareOfBudget).toBe(0);
    expect(plan.backfill.hoursAtBudget).toBe(0);
    expect(plan.growth.daysUntilOverBudget).toBeNull();
    // Fewer than one call per read counts as one.
    expect(plan.projected.settledPeak).toBe(3); // 10 / 4 = 2.5 → 3
  });
});
