import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RateLabel } from '../../src/config/config.js';
import { ZoomApiError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';
import { RateLimiter, type RateLimiterOptions } from '../../src/zoom/rate-limiter.js';

// Pacing under controlled time: fake timers drive the limiter's timers and its monotonic clock, so
// every grant time is exact and nothing waits on the wall clock (which made this file flaky on a
// loaded machine). Real pacing against a server is measured by `npm run bench:sync` (paced scenario)
// and `test/bench/rate-limiter.bench.ts`.

function rates(overrides: Partial<Record<RateLabel, number>> = {}): Record<RateLabel, number> {
  return { light: 1000, medium: 1000, heavy: 1000, 'resource-intensive': 1000, ...overrides };
}

/** Monotonic ms under fake timers (Date is faked together with the timers). */
const now = () => Date.now();
let t0 = 0;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  t0 = now();
});

afterEach(() => {
  vi.useRealTimers();
});

function limiter(options: Omit<RateLimiterOptions, 'monotonicNow'>): RateLimiter {
  return new RateLimiter({ ...options, monotonicNow: now });
}

/** Starts `count` acquisitions at once and records, in grant order, which one was granted when (ms after t0). */
function acquireAll(l: RateLimiter, label: RateLabel, count: number): { granted: Array<{ i: number; atMs: number }>; done: Promise<unknown> } {
  const granted: Array<{ i: number; atMs: number }> = [];
  const done = Promise.all(Array.from({ length: count }, (_, i) => l.acquire(label).then(() => granted.push({ i, atMs: now() - t0 }))));
  return { granted, done };
}

describe('RateLimiter', () => {
  it('spaces calls strictly at 1/rate by default and serves them in arrival order', async () => {
    const l = limiter({ ratePerSecond: rates({ medium: 20 }) });
    const { granted, done } = acquireAll(l, 'medium', 6);
    await vi.advanceTimersByTimeAsync(1_000);
    await done;
    expect(granted).toEqual([0, 50, 100, 150, 200, 250].map((atMs, i) => ({ i, atMs })));
  });

  it('allows a configured burst, then spaces', async () => {
    const l = limiter({ ratePerSecond: rates({ light: 10 }), burstCapacity: 3 });
    const { granted, done } = acquireAll(l, 'light', 5);
    await vi.advanceTimersByTimeAsync(1_000);
    await done;
    expect(granted.map((g) => g.atMs)).toEqual([0, 0, 0, 100, 200]);
  });

  it('keeps labels independent', async () => {
    const l = limiter({ ratePerSecond: rates({ heavy: 1 }) });
    await l.acquire('heavy');
    const heavy = l.acquire('heavy');
    let lightAt: number | undefined;
    void l.acquire('light').then(() => (lightAt = now() - t0));
    await vi.advanceTimersByTimeAsync(0);
    expect(lightAt).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    await heavy;
  });

  it('drops an aborted waiter without spending its slot', async () => {
    const l = limiter({ ratePerSecond: rates({ heavy: 2 }) });
    await l.acquire('heavy');
    const controller = new AbortController();
    const waiting = l.acquire('heavy', { signal: controller.signal });
    const rejected = expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    await vi.advanceTimersByTimeAsync(50);
    controller.abort(new Error('user cancelled'));
    await rejected;
    // The next caller gets the slot the aborted one would have had (500 ms), not the one after it.
    let nextAt: number | undefined;
    void l.acquire('heavy').then(() => (nextAt = now() - t0));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(nextAt).toBe(500);
  });

  it('rejects at once when the signal has already fired', async () => {
    const l = limiter({ ratePerSecond: rates() });
    await expect(l.acquire('light', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('holds a label during a pause, then resumes without a burst; other labels go on', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const l = limiter({ ratePerSecond: rates({ medium: 20 }), burstCapacity: 5, clock });
    l.pause('medium', clock.now().getTime() + 200);
    expect(l.pauseOf('medium')).toMatchObject({ kind: 'qps', remainingMs: 200 });
    const { granted, done } = acquireAll(l, 'medium', 3);
    let lightAt: number | undefined;
    void l.acquire('light').then(() => (lightAt = now() - t0));
    await vi.advanceTimersByTimeAsync(1_000);
    await done;
    expect(granted.map((g) => g.atMs)).toEqual([200, 250, 300]);
    expect(lightAt).toBe(0);
  });

  it('fails fast on a long daily pause, for both labels sharing the daily cap, including queued waiters', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T21:00:00Z'));
    const l = limiter({ ratePerSecond: rates({ heavy: 1 }), clock, maxDailyWaitMs: 60_000 });
    await l.acquire('heavy');
    const queued = l.acquire('heavy', { endpoint: 'test.heavy', method: 'GET' });
    l.pause('heavy', Date.parse('2025-03-11T00:00:00Z'), 'daily');

    const queuedError = await queued.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(queuedError).toBeInstanceOf(ZoomApiError);
    expect(queuedError).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED', endpoint: 'test.heavy', retryAfterMs: 3 * 3600_000 });

    await expect(l.acquire('resource-intensive', { endpoint: 'legalhold.matters.list' })).rejects.toMatchObject({
      code: 'ZOOM_DAILY_LIMIT_REACHED',
      endpoint: 'legalhold.matters.list',
    });
    // LIGHT and MEDIUM have no daily cap.
    await l.acquire('medium');
  });

  it('fails fast on a per-second pause longer than maxDailyWaitMs too, as ZOOM_RATE_LIMITED', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const l = limiter({ ratePerSecond: rates(), clock, maxDailyWaitMs: 1000 });
    l.pause('light', clock.now().getTime() + 5000, 'qps');
    await expect(l.acquire('light')).rejects.toMatchObject({ code: 'ZOOM_RATE_LIMITED' });
    // Per-second pauses never spread to other labels.
    await l.acquire('heavy');
  });

  it('is not fooled by a wall clock that goes backwards during a pause', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const l = limiter({ ratePerSecond: rates(), clock });
    l.pause('medium', clock.now().getTime() + 150);
    clock.advance(-3600_000);
    let grantedAt: number | undefined;
    void l.acquire('medium').then(() => (grantedAt = now() - t0));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(grantedAt).toBe(150);
  });

  it('waits out a daily pause shorter than maxDailyWaitMs', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T23:59:59.800Z'));
    const l = limiter({ ratePerSecond: rates(), clock, maxDailyWaitMs: 60_000 });
    l.pause('resource-intensive', Date.parse('2025-03-11T00:00:00Z'), 'daily');
    let grantedAt: number | undefined;
    void l.acquire('heavy').then(() => (grantedAt = now() - t0));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(grantedAt).toBe(200);
  });
});
