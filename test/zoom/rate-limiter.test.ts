import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { RateLabel } from '../../src/config/config.js';
import { ZoomApiError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';
import { RateLimiter } from '../../src/zoom/rate-limiter.js';

function rates(overrides: Partial<Record<RateLabel, number>> = {}): Record<RateLabel, number> {
  return { light: 1000, medium: 1000, heavy: 1000, 'resource-intensive': 1000, ...overrides };
}

async function grantTimes(limiter: RateLimiter, label: RateLabel, count: number): Promise<Array<{ i: number; atMs: number }>> {
  const granted: Array<{ i: number; atMs: number }> = [];
  await Promise.all(
    Array.from({ length: count }, (_, i) => limiter.acquire(label).then(() => granted.push({ i, atMs: performance.now() }))),
  );
  return granted;
}

describe('RateLimiter', () => {
  it('spaces calls strictly at 1/rate by default and serves them in arrival order', async () => {
    const limiter = new RateLimiter({ ratePerSecond: rates({ medium: 20 }) });
    const granted = await grantTimes(limiter, 'medium', 6);
    expect(granted.map((g) => g.i)).toEqual([0, 1, 2, 3, 4, 5]);
    for (let k = 1; k < granted.length; k++) {
      const gap = (granted[k]?.atMs ?? 0) - (granted[k - 1]?.atMs ?? 0);
      expect(gap).toBeGreaterThanOrEqual(49);
    }
  });

  it('allows a configured burst, then spaces', async () => {
    const limiter = new RateLimiter({ ratePerSecond: rates({ light: 10 }), burstCapacity: 3 });
    const start = performance.now();
    const granted = await grantTimes(limiter, 'light', 5);
    const offsets = granted.map((g) => g.atMs - start);
    expect(offsets.slice(0, 3).every((t) => t < 40)).toBe(true);
    expect(offsets[3]).toBeGreaterThanOrEqual(95);
    expect(offsets[4]).toBeGreaterThanOrEqual(195);
  });

  it('keeps labels independent', async () => {
    const limiter = new RateLimiter({ ratePerSecond: rates({ heavy: 1 }) });
    await limiter.acquire('heavy');
    const start = performance.now();
    await limiter.acquire('light');
    expect(performance.now() - start).toBeLessThan(50);
  });

  it('drops an aborted waiter promptly without spending its slot', async () => {
    const limiter = new RateLimiter({ ratePerSecond: rates({ heavy: 2 }) });
    await limiter.acquire('heavy');
    const firstAt = performance.now();
    const controller = new AbortController();
    const waiting = limiter.acquire('heavy', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 50);
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    expect(performance.now() - firstAt).toBeLessThan(300);
    // The next caller gets the slot the aborted one would have had (≈500 ms), not the one after it.
    await limiter.acquire('heavy');
    expect(performance.now() - firstAt).toBeLessThan(800);
  });

  it('rejects at once when the signal has already fired', async () => {
    const limiter = new RateLimiter({ ratePerSecond: rates() });
    await expect(limiter.acquire('light', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('holds a label during a pause, then resumes without a burst', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const limiter = new RateLimiter({ ratePerSecond: rates({ medium: 20 }), burstCapacity: 5, clock });
    const start = performance.now();
    limiter.pause('medium', clock.now().getTime() + 200);
    expect(limiter.pauseOf('medium')).toMatchObject({ kind: 'qps' });
    const granted = await grantTimes(limiter, 'medium', 3);
    expect((granted[0]?.atMs ?? 0) - start).toBeGreaterThanOrEqual(195);
    expect((granted[2]?.atMs ?? 0) - (granted[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(95);
    // Another label is not held.
    const lightStart = performance.now();
    limiter.pause('medium', clock.now().getTime() + 10_000);
    await limiter.acquire('light');
    expect(performance.now() - lightStart).toBeLessThan(50);
  });

  it('fails fast on a long daily pause, for both labels sharing the daily cap, including queued waiters', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T21:00:00Z'));
    const limiter = new RateLimiter({ ratePerSecond: rates({ heavy: 1 }), clock, maxDailyWaitMs: 60_000 });
    await limiter.acquire('heavy');
    const queued = limiter.acquire('heavy', { endpoint: 'test.heavy', method: 'GET' });
    limiter.pause('heavy', Date.parse('2025-03-11T00:00:00Z'), 'daily');

    const queuedError = await queued.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(queuedError).toBeInstanceOf(ZoomApiError);
    expect(queuedError).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED', endpoint: 'test.heavy' });
    expect((queuedError as ZoomApiError).retryAfterMs).toBeGreaterThan(3 * 3600_000 - 1000);

    await expect(limiter.acquire('resource-intensive', { endpoint: 'legalhold.matters.list' })).rejects.toMatchObject({
      code: 'ZOOM_DAILY_LIMIT_REACHED',
      endpoint: 'legalhold.matters.list',
    });
    // LIGHT and MEDIUM have no daily cap.
    await limiter.acquire('medium');
  });

  it('fails fast on a per-second pause longer than maxDailyWaitMs too, as ZOOM_RATE_LIMITED', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const limiter = new RateLimiter({ ratePerSecond: rates(), clock, maxDailyWaitMs: 1000 });
    limiter.pause('light', clock.now().getTime() + 5000, 'qps');
    await expect(limiter.acquire('light')).rejects.toMatchObject({ code: 'ZOOM_RATE_LIMITED' });
    // Per-second pauses never spread to other labels.
    await limiter.acquire('heavy');
  });

  it('is not fooled by a wall clock that goes backwards during a pause', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const limiter = new RateLimiter({ ratePerSecond: rates(), clock });
    const start = performance.now();
    limiter.pause('medium', clock.now().getTime() + 150);
    clock.advance(-3600_000);
    await limiter.acquire('medium');
    const waitedMs = performance.now() - start;
    expect(waitedMs).toBeGreaterThanOrEqual(145);
    expect(waitedMs).toBeLessThan(500);
  });

  it('waits out a daily pause shorter than maxDailyWaitMs', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T23:59:59.800Z'));
    const limiter = new RateLimiter({ ratePerSecond: rates(), clock, maxDailyWaitMs: 60_000 });
    const start = performance.now();
    limiter.pause('resource-intensive', Date.parse('2025-03-11T00:00:00Z'), 'daily');
    await limiter.acquire('heavy');
    expect(performance.now() - start).toBeGreaterThanOrEqual(190);
  });
});
