import { describe, expect, it } from 'vitest';
import { computeHorizon, daysUntilExpiry, incrementalFrom, leavesHorizonOn, horizonStart } from '../../src/sync/horizon.js';
import { addDays, addMonths, endOfMonth } from '../../src/util/dates.js';

const settings = { settleHours: 24, marginDays: 0 };

describe('horizon', () => {
  it('cuts the last six months into calendar-month windows clipped to the horizon', () => {
    const h = computeHorizon(new Date('2026-11-21T10:00:00Z'), settings);
    expect(h.today).toBe('2026-11-21');
    expect(h.start).toBe('2026-05-21');
    expect(h.windows.map((w) => [w.monthStart, w.from, w.to, w.closed])).toEqual([
      ['2026-05-01', '2026-05-21', '2026-05-31', true],
      ['2026-06-01', '2026-06-01', '2026-06-30', true],
      ['2026-07-01', '2026-07-01', '2026-07-31', true],
      ['2026-08-01', '2026-08-01', '2026-08-31', true],
      ['2026-09-01', '2026-09-01', '2026-09-30', true],
      ['2026-10-01', '2026-10-01', '2026-10-31', true],
      ['2026-11-01', '2026-11-01', '2026-11-21', false],
    ]);
    // Every window fits Zoom's one-month rule.
    for (const w of h.windows) expect(w.to <= addMonths(w.from, 1)).toBe(true);
  });

  it('settles a month only after the settle period past its last day', () => {
    const justAfter = computeHorizon(new Date('2026-11-01T12:00:00Z'), settings);
    const october = justAfter.windows.find((w) => w.monthStart === '2026-10-01');
    expect(october).toMatchObject({ closed: true, settled: false });
    const later = computeHorizon(new Date('2026-11-02T00:00:00Z'), settings);
    expect(later.windows.find((w) => w.monthStart === '2026-10-01')?.settled).toBe(true);
  });

  it('clamps month arithmetic at month ends like PostgreSQL', () => {
    expect(horizonStart('2026-08-31', 0)).toBe('2026-02-28');
    expect(horizonStart('2028-08-31', 0)).toBe('2028-02-29');
    expect(endOfMonth('2028-02-10')).toBe('2028-02-29');
  });

  it('knows the first day a day is no longer served, and counts down to it', () => {
    expect(leavesHorizonOn('2026-05-21')).toBe('2026-11-22');
    // Feb 28 is served while t - 6 months <= Feb 28, i.e. through Aug 31 (clamping).
    expect(leavesHorizonOn('2026-02-28')).toBe('2026-09-01');
    const h = computeHorizon(new Date('2026-11-21T10:00:00Z'), settings);
    const [oldest, second] = h.windows;
    expect(daysUntilExpiry(oldest!, h.today)).toBe(1);
    expect(leavesHorizonOn('2026-06-01')).toBe('2026-12-02');
    expect(daysUntilExpiry(second!, h.today)).toBe(11);
  });

  it('resumes sweeps from the last day that may not have settled', () => {
    const window = { from: '2026-11-01', to: '2026-11-21' };
    expect(incrementalFrom(window, Date.parse('2026-11-15T10:00:00Z'), 24)).toBe('2026-11-14');
    expect(incrementalFrom(window, Date.parse('2026-11-15T10:00:00Z'), 0)).toBe('2026-11-15');
    expect(incrementalFrom(window, Date.parse('2026-11-01T03:00:00Z'), 24)).toBe('2026-11-01');
    // Never past the window's end (a closed month revisited long after).
    expect(incrementalFrom({ from: '2026-05-21', to: '2026-05-31' }, Date.parse('2026-11-20T03:00:00Z'), 24)).toBe('2026-05-31');
  });

  it('covers every day of the horizon exactly once across windows, every day of a year', () => {
    for (let day = '2026-01-01'; day <= '2026-12-31'; day = addDays(day, 1)) {
      const h = computeHorizon(new Date(`${day}T12:00:00Z`), settings);
      let expected = h.start;
      for (const w of h.windows) {
        expect(w.from).toBe(expected);
        expected = addDays(w.to, 1);
      }
      expect(expected).toBe(addDays(day, 1));
    }
  });
});
