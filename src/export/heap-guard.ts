import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps an export's memory flat whatever its size. The live data of an export is small (one batch
 * of rows, one message's versions, a few 64 KB chunks), but it allocates garbage at the rate it
 * writes — hundreds of MB/s — and V8 grows its old generation rather than collect it, so peak RSS
 * would climb to 250 MB+ on a large export. After each batch the guard looks at the heap and, past
 * a threshold, asks V8 for a full collection (~10 ms with a small live set). `gc` is not exposed
 * to scripts by default; enabling the flag at run time exposes it in a fresh context, the main
 * context is untouched. Where that is impossible the guard does nothing.
 */
export interface HeapGuard {
  /** Collects garbage when the heap has grown past the threshold. Cheap otherwise. */
  check(): void;
  /** Full collections triggered so far. */
  readonly collections: number;
  /** Stops the background check (the guard also checks every 100 ms while it runs, for long entries). */
  stop(): void;
}

const DEFAULT_THRESHOLD_BYTES = 64 * 1024 * 1024;
const CHECK_INTERVAL_MS = 100;

function obtainGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

let cachedGc: (() => void) | undefined | null = null;

export function createHeapGuard(thresholdBytes = DEFAULT_THRESHOLD_BYTES): HeapGuard {
  if (cachedGc === null) cachedGc = obtainGc();
  const gc = cachedGc;
  let collections = 0;
  const guard: HeapGuard = {
    check() {
      if (!gc) return;
      // Buffers count too: a chunk's bytes live outside the heap until its wrapper is collected.
      const stats = v8.getHeapStatistics();
      if (stats.used_heap_size + stats.external_memory < thresholdBytes) return;
      gc();
      collections++;
    },
    get collections() {
      return collections;
    },
    stop() {
      clearInterval(timer);
    },
  };
  const timer = setInterval(() => guard.check(), CHECK_INTERVAL_MS);
  timer.unref();
  return guard;
}
