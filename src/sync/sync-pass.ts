import type { SyncMode } from '../archive/run-store.js';
import type { SyncConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import type { ZoomCallEvent, ZoomClient } from '../zoom/client.js';
import { fetchSessionMessagePages, listChatSessionPages } from '../zoom/reports.js';
import { CallTally, type CallKind } from './call-accounting.js';
import { SyncProgress } from './progress.js';
import type { ReportSource } from './report-source.js';
import { runSync, type SyncSummary } from './sync-engine.js';

/**
 * The one entry point of a sync pass, for the CLI, the service and tests alike. It takes the
 * process's Zoom client — one rate limiter and one OAuth token per process; with Zoom's S2S apps a
 * second token can invalidate the first — and counts this pass's calls on it by kind.
 */
export interface SyncPassDependencies {
  sync: Readonly<SyncConfig>;
  pool: Pool;
  zoom: ZoomClient;
  logger: Logger;
  clock: Clock;
  signal?: AbortSignal;
  /** Live figures for a progress display (default: a fresh one). */
  progress?: SyncProgress;
  /** Told about each of this pass's Zoom calls, with what it was for (the service's metrics). */
  onCall?: (event: ZoomCallEvent, kind: CallKind) => void;
}

export async function runSyncPass(deps: SyncPassDependencies, mode: SyncMode = 'incremental'): Promise<SyncSummary> {
  const progress = deps.progress ?? new SyncProgress(() => deps.clock.now().getTime());
  const calls = new CallTally((event, kind) => {
    progress.recordCall(event.status);
    deps.onCall?.(event, kind);
  });
  const stopObserving = deps.zoom.observeCalls(calls.observe);
  try {
    return await runSync(
      {
        pool: deps.pool,
        reports: zoomReportSource(deps.zoom),
        clock: deps.clock,
        logger: deps.logger,
        settings: deps.sync,
        progress,
        calls,
        ...(deps.signal ? { signal: deps.signal } : {}),
      },
      mode,
    );
  } finally {
    stopObserving();
  }
}

/** The sync engine's view of Zoom: the two chat report endpoints as page iterators. */
export function zoomReportSource(client: ZoomClient): ReportSource {
  return {
    listSessions: (range, signal) => listChatSessionPages(client, { from: range.from, to: range.to, ...(signal ? { signal } : {}) }),
    fetchMessages: (sessionId, range, signal) =>
      fetchSessionMessagePages(client, sessionId, {
        from: range.from,
        to: range.to,
        ...(range.resumeToken !== undefined ? { resumeToken: range.resumeToken } : {}),
        ...(signal ? { signal } : {}),
      }),
  };
}
