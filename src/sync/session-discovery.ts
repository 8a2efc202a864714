import { recordListing, type WindowState } from '../archive/checkpoint-store.js';
import { writeSessionPage } from '../archive/session-store.js';
import { incrementalFrom, type SyncWindow } from './horizon.js';
import type { SweepContext } from './archive-unit.js';

export interface ListingResult {
  listed: number;
  withNews: number;
}

/**
 * Lists a window's sessions page by page. A first listing (and `sync --all`) covers the whole
 * window; later ones only the days since the previous listing started, less the settle time — so a
 * routine pass asks Zoom only about what happened since the last one. Each page marks the listed
 * sessions that have news in this window (see archive/session-store.ts) unless `flagNews` is off
 * (a settled month, whose sweep reads every session anyway); sessions seen for the first time are
 * then given every window of the horizon by the engine.
 */
export async function listWindowSessions(ctx: SweepContext, window: SyncWindow, state: WindowState | undefined, options: { full: boolean; flagNews: boolean }): Promise<ListingResult> {
  const startedAt = ctx.clock.now();
  const from = options.full || !state?.listedAt ? window.from : incrementalFrom(window, state.listedAt.getTime(), ctx.settleHours);
  const result: ListingResult = { listed: 0, withNews: 0 };
  for await (const page of ctx.reports.listSessions({ from, to: window.to }, ctx.signal)) {
    const stored = await writeSessionPage(ctx.pool, {
      monthStart: window.monthStart,
      syncRunId: ctx.syncRunId,
      sessions: page.sessions,
      malformed: page.malformed,
      listing: { from, to: window.to, startedAt, flagNews: options.flagNews },
      fence: ctx.fence,
    });
    result.listed += stored.sessionsListed;
    result.withNews += stored.sessionsWithNews;
    ctx.progress.recordPage(page);
    ctx.progress.sessionsListed += stored.sessionsListed;
    ctx.progress.sessionsNew += stored.sessionsNew;
  }
  await recordListing(ctx.writer, { monthStart: window.monthStart, listedThrough: window.to, listedAt: startedAt, sessionsListed: result.listed });
  return result;
}
