/**
 * Background work the service has started and must account for at shutdown: scheduled job runs and
 * exports started over HTTP. Each piece has its own AbortController, so shutdown can first let
 * everything finish and then, at the deadline, abort what is left.
 */

export interface InFlightEntry {
  kind: 'job' | 'export';
  name: string;
  startedAtMs: number;
}

interface Tracked extends InFlightEntry {
  controller: AbortController;
  done: Promise<void>;
}

export class InFlightWork {
  private readonly entries = new Set<Tracked>();
  private accepting = true;

  /** False once shutdown began: callers must not start new work. */
  get isAccepting(): boolean {
    return this.accepting;
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  /**
   * Runs `work` with a fresh AbortSignal and tracks it until it settles. The returned promise is
   * the work's own (it may reject); tracking never rejects.
   */
  track<T>(entry: Omit<InFlightEntry, 'startedAtMs'>, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const promise = work(controller.signal);
    const tracked: Tracked = {
      ...entry,
      startedAtMs: Date.now(),
      controller,
      done: promise.then(
        () => undefined,
        () => undefined,
      ),
    };
    this.entries.add(tracked);
    void tracked.done.then(() => this.entries.delete(tracked));
    return promise;
  }

  list(): InFlightEntry[] {
    return [...this.entries].map(({ kind, name, startedAtMs }) => ({ kind, name, startedAtMs }));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Resolves true when everything tracked has settled, false when `timeoutMs` passed first. */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.entries.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const all = (async () => {
      // Work started while waiting (none should be, once stopAccepting() ran) is waited for too.
      while (this.entries.size > 0) await Promise.all([...this.entries].map((e) => e.done));
      return true as const;
    })();
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  abortAll(reason: Error): void {
    for (const e of this.entries) e.controller.abort(reason);
  }
}
