import { performance } from 'node:perf_hooks';
import type { RateLabel } from '../../src/config/config.js';
import { RateLimiter } from '../../src/zoom/rate-limiter.js';

/**
 * `npm run bench:rate-limiter`: the limiter's pacing on the real event loop, where timers fire
 * late under load. The unit tests check the schedule exactly with fake timers; this prints how
 * close the wall-clock spacing comes to it (a late timer delays a call, it never bunches calls:
 * the next slot is at least one interval after the previous grant).
 *
 * BENCH_RATE (requests per second, default 20) and BENCH_CALLS (default 200) set the run.
 */

const rate = Number(process.env['BENCH_RATE'] ?? 20);
const calls = Number(process.env['BENCH_CALLS'] ?? 200);
const label: RateLabel = 'medium';

const limiter = new RateLimiter({ ratePerSecond: { light: rate, medium: rate, heavy: rate, 'resource-intensive': rate } });
const grants: number[] = [];
const started = performance.now();
await Promise.all(Array.from({ length: calls }, () => limiter.acquire(label).then(() => grants.push(performance.now()))));
const elapsedS = (performance.now() - started) / 1000;

const intervalMs = 1000 / rate;
const gaps = grants.slice(1).map((t, i) => t - grants[i]!).sort((a, b) => a - b);
const pick = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))]!;
// Calls granted within any one-second window: what a server counting per second would see.
let maxPerSecond = 0;
for (let i = 0, j = 0; i < grants.length; i++) {
  while (grants[i]! - grants[j]! >= 1000) j++;
  maxPerSecond = Math.max(maxPerSecond, i - j + 1);
}
console.log(
  JSON.stringify({
    rate,
    calls,
    achievedPerSecond: Number(((calls - 1) / ((grants.at(-1)! - grants[0]!) / 1000)).toFixed(2)),
    elapsedS: Number(elapsedS.toFixed(2)),
    intervalMs,
    gapMs: { min: Number(pick(0).toFixed(2)), p50: Number(pick(0.5).toFixed(2)), p99: Number(pick(0.99).toFixed(2)), max: Number(gaps.at(-1)!.toFixed(2)) },
    gapsShorterThanInterval: gaps.filter((g) => g < intervalMs - 1).length,
    maxCallsInAnyOneSecond: maxPerSecond,
  }),
);
