import { recordListing, type WindowState } from '../archive/checkpoint-store.js';
import { writeSessionPage } from '../archive/session-store.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import { incrementalFrom, type SyncWindow } from './horizon.js';
import type { SyncProgress } from './progress.js';
import type { ReportSource } from './report-source.js';

export interface DiscoveryContext {
  pool: Pool;
  reports: ReportSource;
  clock: Clock;
  logger: Logger;
  progress: SyncProgress;
  syncRunId: number;
  settleHours: number;
  signal: AbortSignal;
}

/**
 * Lists a window's sessions page by page. Listing only discovers sessions: whichever windows Zoom
 * lists a session in, the engine then fetches it over every window of the horizon. After a first
 * full listing, later ones re-read only the days that may not have settled.
 */
export async function listWindowSessions(ctx: DiscoveryContext, window: SyncWindow, state: WindowState | undefined, full: boolean): Promise<number> {
  const startedAt = ctx.clock.now();
  const from = full || !state?.listedAt ? window.from : incrementalFrom(window, state.listedAt.getTime(), ctx.settleHours);
  let listed = 0;
  for await (const page of ctx.reports.listSessions({ from, to: window.to }, ctx.signal)) {
    if (page.restartedFromFirstPage && page.pageIndex === 0) ctx.progress.pageRestarts++;
    const stored = await writeSessionPage(ctx.pool, {
      monthStart: window.monthStart,
      syncRunId: ctx.syncRunId,
      sessions: page.sessions,
      malformed: page.malformed,
    });
    listed += stored.sessionsListed;
    ctx.progress.sessionsListed += stored.sessionsListed;
    ctx.progress.sessionsNew += stored.sessionsNew;
    ctx.progress.malformedItems += page.malformed.length;
  }
  await recordListing(ctx.pool, { monthStart: window.monthStart, listedThrough: window.to, listedAt: startedAt, sessionsListed: listed });
  return listed;
}
