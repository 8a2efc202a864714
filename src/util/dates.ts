import type { IsoDate } from '../domain/types.js';

/**
 * Calendar arithmetic on UTC days as `yyyy-mm-dd` strings. Month arithmetic clamps to the last day
 * of the month exactly as PostgreSQL's `date - interval '6 months'` does, so SQL views and code agree
 * on where the horizon starts.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
export const DAY_MS = 86_400_000;

export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [, y, mo, d] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  return date.toISOString().slice(0, 10) === value;
}

export function toIsoDate(date: Date): IsoDate {
  return date.toISOString().slice(0, 10);
}

export function utcToday(now: Date): IsoDate {
  return toIsoDate(now);
}

/** Midnight UTC at the start of the day. */
export function startOfDayMs(day: IsoDate): number {
  return Date.parse(`${day}T00:00:00.000Z`);
}

export function addDays(day: IsoDate, days: number): IsoDate {
  return toIsoDate(new Date(startOfDayMs(day) + days * DAY_MS));
}

export function addMonths(day: IsoDate, months: number): IsoDate {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const targetMonthIndex = y * 12 + (m - 1) + months;
  const ty = Math.floor(targetMonthIndex / 12);
  const tm = targetMonthIndex - ty * 12;
  const lastDay = new Date(Date.UTC(ty, tm + 1, 0)).getUTCDate();
  return toIsoDate(new Date(Date.UTC(ty, tm, Math.min(d, lastDay))));
}

export function startOfMonth(day: IsoDate): IsoDate {
  return `${day.slice(0, 7)}-01`;
}

export function endOfMonth(day: IsoDate): IsoDate {
  const [y, m] = day.split('-').map(Number) as [number, number];
  return toIsoDate(new Date(Date.UTC(y, m, 0)));
}

/** Whole days from `a` to `b` (negative when `b` is earlier). */
export function daysBetween(a: IsoDate, b: IsoDate): number {
  return Math.round((startOfDayMs(b) - startOfDayMs(a)) / DAY_MS);
}

export function minDate(a: IsoDate, b: IsoDate): IsoDate {
  return a < b ? a : b;
}

export function maxDate(a: IsoDate, b: IsoDate): IsoDate {
  return a > b ? a : b;
}

/** The UTC day an epoch-millisecond instant falls on. */
export function dayOfMs(ms: number): IsoDate {
  return toIsoDate(new Date(ms));
}
