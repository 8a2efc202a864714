import { completeSweep, type UnitState } from '../archive/checkpoint-store.js';
import { writeMessagePage } from '../archive/version-store.js';
import type { Pool } from '../db/pool.js';
import type { IsoDate } from '../domain/types.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import { incrementalFrom, type SyncWindow } from './horizon.js';
import type { SyncProgress } from './progress.js';
import type { ReportSource } from './report-source.js';

/** Zoom's page tokens live 15 minutes; a checkpointed token older than this is not worth trying. */
export const RESUME_TOKEN_MAX_AGE_MS = 14 * 60_000;

export interface SweepContext {
  pool: Pool;
  reports: ReportSource;
  clock: Clock;
  logger: Logger;
  progress: SyncProgress;
  syncRunId: number;
  settleHours: number;
  signal: AbortSignal;
}

export interface SweepPlan {
  from: IsoDate;
  to: IsoDate;
  /** Resume the checkpointed sweep from its saved page token. */
  resumeToken: string | undefined;
  startedAt: Date;
}

/**
 * Which range to fetch for a unit. A first sweep or a requested re-sweep reads the whole window;
 * later sweeps re-read only from the day that may not have settled at the previous sweep. A sweep
 * interrupted less than ~15 minutes ago with the same range resumes from its saved page token.
 */
export function planSweep(unit: UnitState, window: SyncWindow, now: Date, settleHours: number): SweepPlan {
  const full = unit.sweptAt === null || unit.resweepRequestedAt !== null;
  const from = full || unit.sweptAt === null ? window.from : incrementalFrom(window, unit.sweptAt.getTime(), settleHours);
  const to = window.to;
  const canResume =
    unit.resumeToken !== null &&
    unit.sweepFrom === from &&
    unit.sweepTo === to &&
    unit.sweepStartedAt !== null &&
    unit.resumeTokenAt !== null &&
    now.getTime() - unit.resumeTokenAt.getTime() < RESUME_TOKEN_MAX_AGE_MS;
  return {
    from,
    to,
    resumeToken: canResume ? (unit.resumeToken ?? undefined) : undefined,
    startedAt: canResume && unit.sweepStartedAt ? unit.sweepStartedAt : now,
  };
}

export interface SweepResult {
  pages: number;
  versionsSeen: number;
  versionsAdded: number;
  complete: boolean;
}

/**
 * Fetches every page of one (window, session) unit and stores each page atomically. The pages
 * carry the checkpoint themselves: the sweep's range and start on every page, its completion on
 * the last one, so a one-page unit costs one statement.
 */
export async function sweepUnit(ctx: SweepContext, unit: UnitState, window: SyncWindow): Promise<SweepResult> {
  const plan = planSweep(unit, window, ctx.clock.now(), ctx.settleHours);
  const log = ctx.logger.child({ sessionId: unit.sessionId, window: unit.monthStart });
  if (plan.resumeToken !== undefined) log.debug({ from: plan.from, to: plan.to }, 'resuming an interrupted sweep from its saved page token');
  const complete = plan.to === window.monthEnd && plan.startedAt.getTime() >= window.settledAtMs;
  const finish = { complete, full: plan.from === window.from };

  const result: SweepResult = { pages: 0, versionsSeen: 0, versionsAdded: 0, complete: false };
  const pages = ctx.reports.fetchMessages(unit.sessionId, { from: plan.from, to: plan.to, resumeToken: plan.resumeToken }, ctx.signal);
  for await (const page of pages) {
    // The pager logs a restart; pages that come again are simply not duplicated.
    if (page.restartedFromFirstPage && page.pageIndex === 0) ctx.progress.pageRestarts++;
    const stored = await writeMessagePage(ctx.pool, {
      sessionId: unit.sessionId,
      monthStart: unit.monthStart,
      syncRunId: ctx.syncRunId,
      versions: page.versions,
      malformed: page.malformed,
      nextPageToken: page.nextPageToken,
      sweep: { from: plan.from, to: plan.to, startedAt: plan.startedAt },
      finish: page.nextPageToken === '' ? finish : undefined,
    });
    result.pages++;
    result.versionsSeen += page.versions.length;
    result.versionsAdded += stored.versionsAdded;
    ctx.progress.pagesStored++;
    ctx.progress.versionsSeen += page.versions.length;
    ctx.progress.versionsAdded += stored.versionsAdded;
    ctx.progress.malformedItems += page.malformed.length;
    if (page.malformed.length > 0) {
      log.warn({ malformed: page.malformed.length, reasons: [...new Set(page.malformed.map((m) => m.reason))] }, 'Zoom sent items that could not be keyed; kept verbatim in sync_errors');
    }
  }
  result.complete = complete;
  return result;
}

/** Zoom no longer knows the session: there is nothing left to fetch for it in this window. */
export async function recordSessionGone(ctx: SweepContext, unit: UnitState, window: SyncWindow): Promise<void> {
  const now = ctx.clock.now();
  await completeSweep(ctx.pool, {
    monthStart: unit.monthStart,
    sessionId: unit.sessionId,
    to: window.to,
    startedAt: now,
    complete: window.to === window.monthEnd && now.getTime() >= window.settledAtMs,
    full: true,
    outcome: 'not_found',
  });
}
