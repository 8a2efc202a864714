import { performance } from 'node:perf_hooks';
import type { RateLabel } from '../domain/zoom-endpoints.js';
import { ZoomApiError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { abortErrorFor } from './abort.js';

/**
 * Paces calls per Zoom rate-limit label. Zoom counts requests per account and per second, so one
 * limiter must be shared by all concurrent work in the process.
 *
 * Each label is a token bucket kept as a theoretical arrival time (the GCRA form of a token bucket):
 * a call may go when `tat - (capacity - 1) * interval <= now`, and then `tat = max(tat, now) + interval`.
 * With the default capacity 1 that is strict spacing: next slot = max(now, previous slot + 1/rate),
 * so a server counting per second never sees more than the configured rate from this process.
 *
 * Waiters are served strictly in arrival order (FIFO), one label at a time, and a waiter that aborts
 * leaves the queue without using a slot. Scheduling uses the monotonic clock, so a wall clock that
 * jumps (NTP, a VM resume) neither stalls nor bursts the queue; the injected Clock is only used to
 * turn an absolute "paused until" time into a duration.
 */

export type PauseKind = 'qps' | 'daily';

export const RATE_LABELS: readonly RateLabel[] = ['light', 'medium', 'heavy', 'resource-intensive'];

/** Zoom's daily cap is shared by these two labels: reaching it on one stops both. */
const DAILY_SHARED_LABELS: readonly RateLabel[] = ['heavy', 'resource-intensive'];

export const DEFAULT_MAX_DAILY_WAIT_MS = 60_000;

export interface RateLimiterOptions {
  /** Requests per second per label (`ZoomConfig.ratePerSecond`). */
  ratePerSecond: Readonly<Record<RateLabel, number>>;
  /** Calls that may go back to back after an idle spell. Default 1: strict spacing. */
  burstCapacity?: number;
  /**
   * A daily-limit pause longer than this makes calls fail at once with ZOOM_DAILY_LIMIT_REACHED
   * (carrying `retryAfterMs`) instead of sleeping for hours. Default 60 s. A per-second pause that
   * long (an odd Retry-After) fails the same way, with ZOOM_RATE_LIMITED.
   */
  maxDailyWaitMs?: number;
  clock?: Clock;
  /**
   * Monotonic milliseconds; default `performance.now()`. Tests hand in a fake together with fake
   * timers, so pacing is checked exactly without waiting (timing itself belongs in benchmarks).
   */
  monotonicNow?: () => number;
}

export interface AcquireOptions {
  signal?: AbortSignal | undefined;
  /** Named in the error when the call fails fast on a daily limit. */
  endpoint?: string;
  method?: string;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  endpoint: string;
  method: string;
}

interface LabelState {
  readonly label: RateLabel;
  readonly intervalMs: number;
  /** Theoretical arrival time of the next call, monotonic ms. */
  tatMs: number;
  /** Monotonic ms before which no call on this label may start. */
  pausedUntilMs: number;
  pauseKind: PauseKind | undefined;
  readonly queue: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

export interface LabelPause {
  kind: PauseKind;
  remainingMs: number;
}

export class RateLimiter {
  readonly maxDailyWaitMs: number;
  private readonly burstCapacity: number;
  private readonly clock: Clock;
  private readonly monotonicNow: () => number;
  private readonly states: Map<RateLabel, LabelState>;

  constructor(options: RateLimiterOptions) {
    this.burstCapacity = Math.max(1, Math.floor(options.burstCapacity ?? 1));
    this.maxDailyWaitMs = options.maxDailyWaitMs ?? DEFAULT_MAX_DAILY_WAIT_MS;
    this.clock = options.clock ?? systemClock;
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.states = new Map(
      RATE_LABELS.map((label) => {
        const rate = options.ratePerSecond[label];
        if (!(rate > 0)) throw new RangeError(`rate for ${label} must be a positive number of requests per second, got ${rate}`);
        const state: LabelState = {
          label,
          intervalMs: 1000 / rate,
          tatMs: Number.NEGATIVE_INFINITY,
          pausedUntilMs: Number.NEGATIVE_INFINITY,
          pauseKind: undefined,
          queue: [],
          timer: undefined,
        };
        return [label, state];
      }),
    );
  }

  /** Resolves when this call may be sent; rejects with AbortError or ZOOM_DAILY_LIMIT_REACHED. */
  acquire(label: RateLabel, options: AcquireOptions = {}): Promise<void> {
    const state = this.stateOf(label);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortErrorFor(signal));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
        endpoint: options.endpoint ?? `${label} call`,
        method: options.method ?? 'GET',
      };
      if (signal) {
        waiter.onAbort = () => {
          const index = state.queue.indexOf(waiter);
          if (index >= 0) state.queue.splice(index, 1);
          reject(abortErrorFor(signal));
          // The head may have changed, and with it the time the timer should fire.
          this.pump(state);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      state.queue.push(waiter);
      this.pump(state);
    });
  }

  /**
   * Stops calls on `label` until `untilMs` (epoch ms on the injected clock), e.g. after a 429.
   * A daily pause on HEAVY or RESOURCE-INTENSIVE stops both, as they share Zoom's daily cap.
   * An earlier pause never shortens a later one.
   */
  pause(label: RateLabel, untilMs: number, kind: PauseKind = 'qps'): void {
    const delayMs = Math.max(0, untilMs - this.clock.now().getTime());
    const untilMonoMs = this.monotonicNow() + delayMs;
    const labels = kind === 'daily' && DAILY_SHARED_LABELS.includes(label) ? DAILY_SHARED_LABELS : [label];
    for (const each of labels) {
      const state = this.stateOf(each);
      if (untilMonoMs > state.pausedUntilMs) {
        state.pausedUntilMs = untilMonoMs;
        state.pauseKind = kind;
      }
      // No burst when the pause ends: the first call goes at the end of the pause, the next one a
      // full interval later, as a bucket emptied by the pause would allow.
      state.tatMs = Math.max(state.tatMs, state.pausedUntilMs + (this.burstCapacity - 1) * state.intervalMs);
      this.pump(state);
    }
  }

  /** The pause in force on `label`, if any. */
  pauseOf(label: RateLabel): LabelPause | undefined {
    const state = this.stateOf(label);
    const remainingMs = state.pausedUntilMs - this.monotonicNow();
    if (remainingMs <= 0 || state.pauseKind === undefined) return undefined;
    return { kind: state.pauseKind, remainingMs: Math.ceil(remainingMs) };
  }

  private stateOf(label: RateLabel): LabelState {
    const state = this.states.get(label);
    if (!state) throw new RangeError(`unknown rate label ${String(label)}`);
    return state;
  }

  /** Grants every waiter whose slot has come, in order, and arms a timer for the next one. */
  private pump(state: LabelState): void {
    if (state.timer !== undefined) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
    while (state.queue.length > 0) {
      const nowMs = this.monotonicNow();
      if (state.pausedUntilMs > nowMs) {
        const remainingMs = state.pausedUntilMs - nowMs;
        if (remainingMs > this.maxDailyWaitMs) {
          this.failFast(state, remainingMs);
          return;
        }
        this.arm(state, remainingMs);
        return;
      }
      const allowedAtMs = state.tatMs - (this.burstCapacity - 1) * state.intervalMs;
      if (allowedAtMs > nowMs) {
        this.arm(state, allowedAtMs - nowMs);
        return;
      }
      state.tatMs = Math.max(state.tatMs, nowMs) + state.intervalMs;
      const waiter = state.queue.shift() as Waiter;
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
  }

  private arm(state: LabelState, delayMs: number): void {
    // A timer may fire a little early; pump() then finds the slot still ahead and re-arms.
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.pump(state);
    }, Math.max(1, Math.ceil(delayMs)));
  }

  private failFast(state: LabelState, remainingMs: number): void {
    const retryAfterMs = Math.ceil(remainingMs);
    const resumesAt = new Date(this.clock.now().getTime() + retryAfterMs).toISOString();
    const daily = state.pauseKind === 'daily';
    const what = daily ? `Zoom's daily rate limit for ${state.label.toUpperCase()} calls is reached` : `Zoom asked for a long pause of ${state.label.toUpperCase()} calls`;
    for (const waiter of state.queue.splice(0)) {
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(
        new ZoomApiError(
          daily ? 'ZOOM_DAILY_LIMIT_REACHED' : 'ZOOM_RATE_LIMITED',
          `${what}; ${waiter.method} ${waiter.endpoint} was not sent. Calls resume at ${resumesAt} (in ${formatDuration(retryAfterMs)}).`,
          { endpoint: waiter.endpoint, method: waiter.method, retryAfterMs },
        ),
      );
    }
  }
}

export function formatDuration(ms: number): string {
  const totalSeconds = Math.ceil(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${seconds} s`;
  return `${seconds} s`;
}
