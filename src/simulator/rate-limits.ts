import type { Clock } from '../util/clock.js';
import { DAY_MS } from './dataset.js';
import { zoomError, type RateLabel, type SimResponse } from './sim-response.js';

/**
 * Zoom's account-wide rate limits: a per-second budget per label (a token bucket holding at most one
 * second's worth, refilled continuously on the injected clock) and a daily cap shared by HEAVY and
 * RESOURCE-INTENSIVE calls that resets at 00:00 UTC. Rates are requests per second for every label,
 * RESOURCE-INTENSIVE included (10/min is 1/6); a bucket always holds at least one request.
 */

export type RateLimits = Partial<Record<RateLabel, number>>;

export const QPS_LIMIT_MESSAGE = 'You have reached the maximum per-second rate limit for this API. Try again later.';
export const DAILY_LIMIT_MESSAGE =
  'You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.';

const CATEGORY: Readonly<Record<RateLabel, string>> = {
  light: 'Light',
  medium: 'Medium',
  heavy: 'Heavy',
  'resource-intensive': 'Resource-intensive',
};

/** Pro-plan figures, only for headers of injected 429s when no limit is configured. */
const PRO_PLAN_LIMITS: Readonly<Record<RateLabel, number>> = { light: 30, medium: 20, heavy: 10, 'resource-intensive': 10 };
const PRO_PLAN_DAILY = 30_000;

export const DAILY_CAPPED: ReadonlySet<RateLabel> = new Set<RateLabel>(['heavy', 'resource-intensive']);

export type RateLimitType = 'qps' | 'daily';
export type RetryAfterStyle = 'seconds' | 'date' | 'none';

/** The next 00:00:00 UTC after `nowMs`, as Zoom writes an absolute `Retry-After`. */
export function nextUtcMidnight(nowMs: number): string {
  return new Date((Math.floor(nowMs / DAY_MS) + 1) * DAY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function rateLimitedResponse(type: RateLimitType, label: RateLabel, limit: number, retryAfter: RetryAfterStyle, nowMs: number): SimResponse {
  const headers: Record<string, string> = {
    'X-RateLimit-Category': CATEGORY[label],
    'X-RateLimit-Type': type === 'qps' ? 'QPS' : 'Daily-limit',
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': '0',
  };
  if (retryAfter === 'seconds') headers['Retry-After'] = '1';
  else if (retryAfter === 'date') headers['Retry-After'] = nextUtcMidnight(nowMs);
  return { ...zoomError(429, 429, type === 'qps' ? QPS_LIMIT_MESSAGE : DAILY_LIMIT_MESSAGE), headers };
}

interface Bucket {
  ratePerSecond: number;
  capacity: number;
  tokens: number;
  lastMs: number;
}

export type RateDecision = { allowed: true; headers: Record<string, string> } | { allowed: false; type: RateLimitType; response: SimResponse };

export class RateLimiter {
  private readonly buckets = new Map<RateLabel, Bucket>();
  private dailyDay = -1;
  private dailyUsed = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: RateLimits | null,
    private readonly dailyLimit: number | null,
  ) {
    for (const [label, rate] of Object.entries(limits ?? {}) as Array<[RateLabel, number | undefined]>) {
      if (rate === undefined) continue;
      if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate limit for ${label} must be a positive number of requests per second (got ${rate})`);
    }
    if (dailyLimit !== null && !(Number.isInteger(dailyLimit) && dailyLimit >= 0)) throw new RangeError(`dailyLimit must be a whole number >= 0 (got ${dailyLimit})`);
    this.reset();
  }

  /** The figure an injected 429 advertises for a label. */
  limitFor(label: RateLabel, type: RateLimitType): number {
    if (type === 'daily') return this.dailyLimit ?? PRO_PLAN_DAILY;
    return this.limits?.[label] ?? PRO_PLAN_LIMITS[label];
  }

  reset(): void {
    this.buckets.clear();
    const nowMs = this.clock.now().getTime();
    for (const [label, rate] of Object.entries(this.limits ?? {}) as Array<[RateLabel, number | undefined]>) {
      if (rate === undefined) continue;
      const capacity = Math.max(1, rate);
      this.buckets.set(label, { ratePerSecond: rate, capacity, tokens: capacity, lastMs: nowMs });
    }
    this.dailyDay = -1;
    this.dailyUsed = 0;
  }

  /** Spend one request of `label` if the budget allows it. */
  take(label: RateLabel): RateDecision {
    const nowMs = this.clock.now().getTime();
    const headers: Record<string, string> = {};
    const daily = this.dailyLimit !== null && DAILY_CAPPED.has(label);
    if (daily) {
      const day = Math.floor(nowMs / DAY_MS);
      if (day !== this.dailyDay) {
        this.dailyDay = day;
        this.dailyUsed = 0;
      }
      if (this.dailyUsed >= (this.dailyLimit ?? 0)) {
        return { allowed: false, type: 'daily', response: rateLimitedResponse('daily', label, this.dailyLimit ?? 0, 'date', nowMs) };
      }
    }
    const bucket = this.buckets.get(label);
    if (bucket) {
      // A clock that goes backwards refills nothing (and does not drain either).
      const elapsedMs = Math.max(0, nowMs - bucket.lastMs);
      bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (elapsedMs / 1000) * bucket.ratePerSecond);
      bucket.lastMs = nowMs;
      if (bucket.tokens < 1) {
        return { allowed: false, type: 'qps', response: rateLimitedResponse('qps', label, bucket.ratePerSecond, 'seconds', nowMs) };
      }
      bucket.tokens -= 1;
      headers['X-RateLimit-Category'] = CATEGORY[label];
      headers['X-RateLimit-Type'] = 'QPS';
      headers['X-RateLimit-Limit'] = String(bucket.ratePerSecond);
      headers['X-RateLimit-Remaining'] = String(Math.floor(bucket.tokens));
    }
    if (daily) {
      this.dailyUsed++;
      headers['X-RateLimit-Category'] = CATEGORY[label];
      headers['X-RateLimit-Type'] = 'Daily-limit';
      headers['X-RateLimit-Limit'] = String(this.dailyLimit);
      headers['X-RateLimit-Remaining'] = String(Math.max(0, (this.dailyLimit ?? 0) - this.dailyUsed));
    }
    return { allowed: true, headers };
  }
}
