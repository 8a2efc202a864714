import type { IsoDate } from '../domain/types.js';
import { addDays, addMonths, daysBetween, endOfMonth, maxDate, minDate, startOfDayMs, startOfMonth, utcToday } from '../util/dates.js';

/**
 * Zoom serves chat reports for the last six months, at most one month per call. The horizon is cut
 * into calendar-month windows (UTC), clipped to the horizon: stable identities (a window is its
 * month) whose range shrinks at the old end as days leave the horizon and grows at the new end
 * until the month is over.
 */

export const HORIZON_MONTHS = 6;
const HOUR_MS = 3_600_000;

export interface HorizonSettings {
  /** Hours after a month ends before its data is considered final (Zoom's reports may lag). */
  settleHours: number;
  /** Days to keep away from the six-month edge, in case Zoom counts it more strictly than we do. */
  marginDays: number;
}

export interface SyncWindow {
  /** First day of the calendar month: the window's identity. */
  monthStart: IsoDate;
  monthEnd: IsoDate;
  /** The range a report call asks for today: the month clipped to the horizon. */
  from: IsoDate;
  to: IsoDate;
  /** The month is over (today is after its last day). */
  closed: boolean;
  /** The instant after which the month's data is considered final. */
  settledAtMs: number;
  settled: boolean;
}

export interface Horizon {
  today: IsoDate;
  /** The oldest day Zoom still serves (plus the configured margin). */
  start: IsoDate;
  windows: SyncWindow[];
}

export function horizonStart(today: IsoDate, marginDays: number): IsoDate {
  return addDays(addMonths(today, -HORIZON_MONTHS), marginDays);
}

export function computeHorizon(now: Date, settings: HorizonSettings): Horizon {
  const today = utcToday(now);
  const start = horizonStart(today, settings.marginDays);
  const windows: SyncWindow[] = [];
  for (let month = startOfMonth(start); month <= today; month = addMonths(month, 1)) {
    const monthEnd = endOfMonth(month);
    const settledAtMs = startOfDayMs(addDays(monthEnd, 1)) + settings.settleHours * HOUR_MS;
    windows.push({
      monthStart: month,
      monthEnd,
      from: maxDate(month, start),
      to: minDate(monthEnd, today),
      closed: monthEnd < today,
      settledAtMs,
      settled: now.getTime() >= settledAtMs,
    });
  }
  return { today, start, windows };
}

/**
 * The first day on which `day` is no longer inside the horizon: the first t with
 * horizonStart(t) > day. Searched, because month arithmetic clamps (Aug 31 - 6 months = Feb 28).
 * Mirrors archive.leaves_horizon_on() in migrations/0001_read_model.sql (there with margin 0).
 */
export function leavesHorizonOn(day: IsoDate, marginDays = 0): IsoDate {
  let t = addDays(addMonths(day, HORIZON_MONTHS), -3 - marginDays);
  while (horizonStart(t, marginDays) <= day) t = addDays(t, 1);
  return t;
}

/**
 * Days until the window's oldest day leaves the horizon: 1 means it is served today for the last
 * time. Same as sync_windows.days_until_expiry.
 */
export function daysUntilExpiry(window: Pick<SyncWindow, 'from'>, today: IsoDate, marginDays = 0): number {
  return daysBetween(today, leavesHorizonOn(window.from, marginDays));
}

/**
 * The day to resume a sweep from: everything fetched before (sweep start − settle) is final, so an
 * incremental sweep re-reads only the days that may still have been filling up.
 */
export function incrementalFrom(window: Pick<SyncWindow, 'from' | 'to'>, lastSweepStartedAtMs: number, settleHours: number): IsoDate {
  const settledDay = utcToday(new Date(lastSweepStartedAtMs - settleHours * HOUR_MS));
  return minDate(maxDate(window.from, settledDay), window.to);
}
