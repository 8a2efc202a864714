import { AsyncLocalStorage } from 'node:async_hooks';
import type { ZoomCallEvent } from '../zoom/client.js';

/**
 * What each report call of a sync pass was for, so the cost of keeping the archive current can be
 * seen (status, metrics, sync_runs.calls) and planned against Zoom's rate budget:
 * - `listing`:  pages of GET /report/chat/sessions;
 * - `activity`: reads of sessions a listing showed news for, over the days since their last read;
 * - `backfill`: reads of every window for a session seen for the first time;
 * - `settled`:  the once-a-month read of every known session over a month after it settled;
 * - `interim`:  the optional reads of every known session over the open month (SYNC_INTERIM_SWEEP_DAYS);
 * - `resweep`:  `sync --all`.
 * Every HTTP attempt counts (retries included): that is what Zoom's budget counts.
 */
export const CALL_KINDS = ['listing', 'activity', 'backfill', 'settled', 'interim', 'resweep'] as const;
export type CallKind = (typeof CALL_KINDS)[number];
export type CallsByKind = Record<CallKind, number>;

export function emptyCallsByKind(): CallsByKind {
  return { listing: 0, activity: 0, backfill: 0, settled: 0, interim: 0, resweep: 0 };
}

/** The calls of one pass. Calls made outside `tally.run` (another job on the same client) are not its own. */
export class CallTally {
  readonly byKind: CallsByKind = emptyCallsByKind();
  total = 0;

  constructor(private readonly onOwnCall?: (event: ZoomCallEvent, kind: CallKind) => void) {}

  /** Runs `work` so that every Zoom call it makes, however deep, is counted as `kind`. */
  run<T>(kind: CallKind, work: () => Promise<T>): Promise<T> {
    return context.run({ tally: this, kind }, work);
  }

  /** A ZoomClient call observer: counts the calls made inside this tally's `run`, ignores the rest. */
  readonly observe = (event: ZoomCallEvent): void => {
    const current = context.getStore();
    if (current?.tally !== this) return;
    this.byKind[current.kind]++;
    this.total++;
    this.onOwnCall?.(event, current.kind);
  };
}

const context = new AsyncLocalStorage<{ tally: CallTally; kind: CallKind }>();
