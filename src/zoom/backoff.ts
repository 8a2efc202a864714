/**
 * Retry delays. Full jitter (a uniform pick between 0 and the capped exponential) spreads the
 * retries of many workers that failed together, so they do not hit Zoom again in lock-step.
 */

export interface BackoffOptions {
  /** Delay ceiling of the first retry. */
  baseDelayMs?: number;
  /** No retry waits longer than this, however many came before it. */
  maxDelayMs?: number;
  /** Uniform [0, 1) source; injected so tests can pin the jitter. */
  random?: () => number;
}

export const DEFAULT_BASE_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/** Delay before retry number `retryIndex` (0 for the first retry). */
export function computeBackoffMs(retryIndex: number, options: BackoffOptions = {}): number {
  const baseMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const capMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  // 2^retryIndex overflows to Infinity long before it matters; min() keeps the result finite.
  const ceilingMs = Math.min(capMs, baseMs * 2 ** Math.max(0, retryIndex));
  return Math.round(clampUnit(random()) * ceilingMs);
}

/**
 * Backoff for a retry that may carry a `Retry-After` (a 503, a 429 from the token endpoint): the
 * server's wish is honoured as a minimum, but never beyond the backoff cap.
 */
export function computeRetryDelayMs(retryIndex: number, retryAfterMs: number | undefined, options: BackoffOptions = {}): number {
  const backoffMs = computeBackoffMs(retryIndex, options);
  if (retryAfterMs === undefined) return backoffMs;
  return Math.max(backoffMs, Math.min(retryAfterMs, options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS));
}

function clampUnit(n: number): number {
  if (!Number.isFinite(n) || n < 0) return 0;
  return n >= 1 ? 1 : n;
}

const DELTA_SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;
// ISO 8601 date or date-time; a date-time without an offset is taken as UTC, as Zoom documents its
// rate-limit reset times in UTC.
const ISO_DATE_TIME = /^\s*(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?\s*$/i;
// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms HTTP still allows all
// start with a day name.
const HTTP_DATE = /^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s/i;

/**
 * Milliseconds to wait according to a `Retry-After` header: delta-seconds, an HTTP-date, or an ISO
 * date-time (Zoom sends an absolute date for daily limits). A date in the past means "now" (0).
 * Undefined when the header is absent or unreadable, so the caller falls back to its own delay.
 */
export function parseRetryAfter(header: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;

  const delta = DELTA_SECONDS.exec(value);
  if (delta) return Math.round(Number(delta[1]) * 1000);

  let atMs: number | undefined;
  const iso = ISO_DATE_TIME.exec(value);
  if (iso) {
    const [, date, time, zone] = iso;
    const offset = zone === undefined ? 'Z' : normaliseOffset(zone);
    atMs = Date.parse(`${date}T${time ?? '00:00:00'}${offset}`);
  } else if (HTTP_DATE.test(value)) {
    atMs = Date.parse(value);
  }
  if (atMs === undefined || !Number.isFinite(atMs)) return undefined;
  return Math.max(0, atMs - nowMs);
}

function normaliseOffset(zone: string): string {
  if (zone.toUpperCase() === 'Z') return 'Z';
  return zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
}

/** Epoch milliseconds of the next 00:00 UTC strictly after `nowMs`: when Zoom's daily caps reset. */
export function nextUtcMidnightMs(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}
