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
