import { AbortError } from '../errors.js';

/** The one source of "now": injected everywhere so tests control time instead of waiting for it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stays where it is told; for tests and deterministic data generation. */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: Date | number) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  set(to: Date | number): void {
    this.ms = typeof to === 'number' ? to : to.getTime();
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Resolves after `ms`, or rejects when the signal fires (with the signal's reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new AbortError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new AbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
