import { completeSweep, type DueUnit } from '../archive/checkpoint-store.js';
import { writeMessagePage } from '../archive/version-store.js';
import type { Fence } from '../db/advisory-lock.js';
import type { Pool, Queryable } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import type { SyncWindow } from './horizon.js';
import type { SyncProgress } from './progress.js';
import { completesWindow, type PlannedRead } from './read-plan.js';
import type { ReportSource } from './report-source.js';

/** What the listing and the unit reads of one pass share. */
export interface SweepContext {
  pool: Pool;
  /** Bookkeeping writes, each checked against the pass's lock fence (db/fenced-writer.ts). */
  writer: Queryable;
  /** The pass's hold of the `sync` lock: page writes of a superseded pass are refused. */
  fence: Fence | undefined;
  reports: ReportSource;
  clock: Clock;
  logger: Logger;
  progress: SyncProgress;
  syncRunId: number;
  settleHours: number;
  signal: AbortSignal;
}

export interface UnitResult {
  /** Versions recorded as listing misses, by kind (the pass's own totals are in SyncProgress). */
  misses: Record<string, number>;
}

/**
 * Reads one (window, session) unit as planned, page by page: this is where a Zoom page becomes
 * archived rows. Each page is stored atomically with the unit's checkpoint — the read's range and
 * start on every page, its completion on the last one — so a one-page read costs one statement
 * and a read stopped anywhere resumes or starts over without duplicating anything.
 */
export async function archiveUnit(ctx: SweepContext, unit: DueUnit, window: SyncWindow, plan: PlannedRead): Promise<UnitResult> {
  const log = ctx.logger.child({ sessionId: unit.sessionId, window: unit.monthStart });
  if (plan.resumeToken !== undefined) log.debug({ from: plan.from, to: plan.to }, 'resuming an interrupted read from its saved page token');
  const finish = { complete: plan.completes, full: plan.full };

  const result: UnitResult = { misses: {} };
  const pages = ctx.reports.fetchMessages(unit.sessionId, { from: plan.from, to: plan.to, resumeToken: plan.resumeToken }, ctx.signal);
  for await (const page of pages) {
    const stored = await writeMessagePage(ctx.pool, {
      sessionId: unit.sessionId,
      monthStart: unit.monthStart,
      syncRunId: ctx.syncRunId,
      versions: page.versions,
      malformed: page.malformed,
      nextPageToken: page.nextPageToken,
      sweep: { from: plan.from, to: plan.to, startedAt: plan.startedAt },
      finish: page.nextPageToken === '' ? finish : undefined,
      recordMissesAs: plan.recordMissesAs,
      fence: ctx.fence,
    });
    for (const kind of stored.misses) result.misses[kind] = (result.misses[kind] ?? 0) + 1;
    // Counted once stored. The pager logs a restart; pages that come again are simply not duplicated.
    ctx.progress.recordPage(page);
    ctx.progress.pagesStored++;
    ctx.progress.versionsSeen += page.versions.length;
    ctx.progress.versionsAdded += stored.versionsAdded;
    ctx.progress.listingMisses += stored.misses.length;
    if (page.malformed.length > 0) {
      log.warn({ malformed: page.malformed.length, reasons: [...new Set(page.malformed.map((m) => m.reason))] }, 'Zoom sent items that could not be keyed; kept verbatim in sync_errors');
    }
  }
  return result;
}

/** Zoom no longer knows the session: there is nothing left to fetch for it in this window. */
export async function recordSessionGone(ctx: SweepContext, unit: DueUnit, window: SyncWindow, plan: PlannedRead): Promise<void> {
  await completeSweep(ctx.writer, {
    monthStart: unit.monthStart,
    sessionId: unit.sessionId,
    to: window.to,
    startedAt: plan.startedAt,
    // Zoom has nothing of the session at all: as good as a full read of the window.
    complete: completesWindow(window, window.to, plan.startedAt),
    full: true,
    outcome: 'not_found',
  });
}
