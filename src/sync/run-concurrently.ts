/**
 * Runs `worker` over `items` with at most `concurrency` in flight. The Zoom rate limiter sets the
 * actual pace; this bound only caps memory and open connections. Once `signal` fires, no new item
 * starts; items in flight finish (or abort through the same signal).
 */
export async function runConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (!signal?.aborted) {
      const index = next++;
      if (index >= items.length) return;
      await worker(items[index] as T);
    }
  });
  await Promise.all(lanes);
}
