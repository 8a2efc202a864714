import { describe, expect, it } from 'vitest';
import { computeBackoffMs, computeRetryDelayMs, nextUtcMidnightMs, parseRetryAfter } from '../../src/zoom/backoff.js';

const NOW_MS = Date.parse('2025-03-10T22:15:30.000Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('1', NOW_MS)).toBe(1000);
    expect(parseRetryAfter(' 120 ', NOW_MS)).toBe(120_000);
    expect(parseRetryAfter('0', NOW_MS)).toBe(0);
    expect(parseRetryAfter('1.5', NOW_MS)).toBe(1500);
  });

  it('reads an HTTP-date', () => {
    expect(parseRetryAfter('Tue, 11 Mar 2025 00:00:00 GMT', NOW_MS)).toBe(Date.parse('2025-03-11T00:00:00Z') - NOW_MS);
  });

  it('reads ISO date-times, taking one without an offset as UTC', () => {
    const expected = Date.parse('2025-03-11T00:00:00Z') - NOW_MS;
    expect(parseRetryAfter('2025-03-11T00:00:00Z', NOW_MS)).toBe(expected);
    expect(parseRetryAfter('2025-03-11T00:00:00', NOW_MS)).toBe(expected);
    expect(parseRetryAfter('2025-03-11 00:00:00', NOW_MS)).toBe(expected);
    expect(parseRetryAfter('2025-03-11T01:00:00+0100', NOW_MS)).toBe(expected);
    expect(parseRetryAfter('2025-03-11T00:00:00.000Z', NOW_MS)).toBe(expected);
    expect(parseRetryAfter('2025-03-11', NOW_MS)).toBe(expected);
  });

  it('treats a date in the past as "now" and rejects garbage', () => {
    expect(parseRetryAfter('2020-01-01T00:00:00Z', NOW_MS)).toBe(0);
    expect(parseRetryAfter(undefined, NOW_MS)).toBeUndefined();
    expect(parseRetryAfter('', NOW_MS)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW_MS)).toBeUndefined();
    expect(parseRetryAfter('-5', NOW_MS)).toBeUndefined();
    expect(parseRetryAfter('2025-13-45T99:00:00Z', NOW_MS)).toBeUndefined();
  });

  it('uses the first value of a repeated header', () => {
    expect(parseRetryAfter(['2', '30'], NOW_MS)).toBe(2000);
  });
});

describe('computeBackoffMs', () => {
  it('is full-jitter exponential, capped', () => {
    const top = { baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.999999 };
    expect(computeBackoffMs(0, top)).toBe(500);
    expect(computeBackoffMs(1, top)).toBe(1000);
    expect(computeBackoffMs(3, top)).toBe(4000);
    expect(computeBackoffMs(10, top)).toBe(30_000);
    expect(computeBackoffMs(5000, top)).toBe(30_000);
    expect(computeBackoffMs(3, { ...top, random: () => 0 })).toBe(0);
    expect(computeBackoffMs(3, { ...top, random: () => 0.5 })).toBe(2000);
  });

  it('honours Retry-After as a minimum, never beyond the cap', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 5000, random: () => 0.5 };
    expect(computeRetryDelayMs(0, undefined, options)).toBe(50);
    expect(computeRetryDelayMs(0, 2000, options)).toBe(2000);
    expect(computeRetryDelayMs(0, 3_600_000, options)).toBe(5000);
  });
});

describe('nextUtcMidnightMs', () => {
  it('is the next 00:00 UTC, including across month and year ends', () => {
    expect(nextUtcMidnightMs(NOW_MS)).toBe(Date.parse('2025-03-11T00:00:00Z'));
    expect(nextUtcMidnightMs(Date.parse('2025-12-31T23:59:59Z'))).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(nextUtcMidnightMs(Date.parse('2025-03-11T00:00:00Z'))).toBe(Date.parse('2025-03-12T00:00:00Z'));
  });
});
