/**
 * Runs `worker` over every item with at most `concurrency` in flight, in order of the items; stops
 * taking new items once `signal` fires. Items may come from an async source (e.g. database batches):
 * the lanes share one iterator, so a source read in batches keeps memory flat and no lane waits
 * for a batch boundary while others still have work.
 */
export async function runConcurrently<T>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const iterator: Iterator<T> | AsyncIterator<T> = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let exhausted = false;
  const lanes = Array.from({ length: Math.max(1, concurrency) }, async () => {
    while (!signal?.aborted && !exhausted) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      await worker(next.value);
    }
  });
  try {
    await Promise.all(lanes);
  } finally {
    // An abandoned async source (aborted, or a worker threw) is closed, releasing what it holds.
    if (!exhausted) await iterator.return?.();
  }
}
