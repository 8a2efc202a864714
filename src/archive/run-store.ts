import { eq, sql } from 'drizzle-orm';
import type { IsoDate } from '../domain/types.js';
import { runDrizzle, type Queryable } from '../db/pool.js';
import { syncRuns } from '../db/schema.js';
import { InternalError } from '../errors.js';

/** sync_runs: one row per pass, the provenance every archived version points to. */

export type SyncMode = (typeof syncRuns.$inferSelect)['mode'];
export type RunOutcome = (typeof syncRuns.$inferSelect)['outcome'];

/** Run times come from the engine's clock, like every other sync time, so cost figures per day follow it. */
export async function startRun(db: Queryable, run: { mode: SyncMode; horizonStart: IsoDate; horizonEnd: IsoDate; startedAt: Date }): Promise<number> {
  const [row] = await runDrizzle(db, (orm) =>
    orm
      .insert(syncRuns)
      .values({ mode: run.mode, horizonStart: run.horizonStart, horizonEnd: run.horizonEnd, startedAt: run.startedAt })
      .returning({ id: syncRuns.id }),
  );
  const id = row?.id;
  if (id === undefined) throw new InternalError('sync_runs insert returned no id');
  return id;
}

const ABANDONED = 'the process ended before the run finished (killed or crashed); its progress was kept';

/**
 * Called while holding the sync lock: any run still marked running belongs to a process that died
 * (killed, crashed, host lost), so it is closed as aborted.
 */
export async function closeAbandonedRuns(db: Queryable): Promise<number> {
  const res = await runDrizzle(db, (orm) =>
    orm
      .update(syncRuns)
      .set({ outcome: 'aborted', finishedAt: sql`now()`, error: sql`coalesce(${syncRuns.error}, ${ABANDONED})` })
      .where(eq(syncRuns.outcome, 'running')),
  );
  return res.rowCount ?? 0;
}

export interface RunTotals {
  outcome: Exclude<RunOutcome, 'running'>;
  finishedAt: Date;
  apiCalls: number;
  /** Report calls (HTTP attempts) by what they were for: listing, activity, backfill, settled, interim, resweep. */
  calls: Readonly<Record<string, number>>;
  /** Unit reads by why they were due: activity, backfill, settled, interim, resweep. */
  reads: Readonly<Record<string, number>>;
  sessionsNew: number;
  listingMisses: number;
  unitsAttempted: number;
  unitsFailed: number;
  versionsSeen: number;
  versionsAdded: number;
  error: string | null;
}

export async function finishRun(db: Queryable, runId: number, totals: RunTotals): Promise<void> {
  await runDrizzle(db, (orm) =>
    orm
      .update(syncRuns)
      .set({
        finishedAt: totals.finishedAt,
        outcome: totals.outcome,
        apiCalls: totals.apiCalls,
        unitsAttempted: totals.unitsAttempted,
        unitsFailed: totals.unitsFailed,
        versionsSeen: totals.versionsSeen,
        versionsAdded: totals.versionsAdded,
        error: totals.error,
        calls: totals.calls,
        reads: totals.reads,
        sessionsNew: totals.sessionsNew,
        listingMisses: totals.listingMisses,
      })
      .where(eq(syncRuns.id, runId)),
  );
}
