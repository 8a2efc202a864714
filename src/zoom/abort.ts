import { AbortError } from '../errors.js';
import { sleep } from '../util/clock.js';

/** The error every Zoom-client wait rejects with once its signal fires, whatever the signal's reason. */
export function abortErrorFor(signal: AbortSignal | undefined): AbortError {
  return new AbortError('Zoom call aborted', { cause: signal?.reason });
}

/** `sleep` that rejects with an `AbortError` (code ABORTED) rather than the signal's raw reason. */
export async function sleepOrAbort(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw abortErrorFor(signal);
  if (ms <= 0) return;
  try {
    await sleep(ms, signal);
  } catch (err) {
    if (signal?.aborted) throw abortErrorFor(signal);
    throw err;
  }
}

/**
 * Waits for a shared promise but stops waiting when this caller's signal fires. The shared work
 * goes on for the other callers; its eventual rejection is still observed, so it is never unhandled.
 */
export function raceWithAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortErrorFor(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortErrorFor(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
