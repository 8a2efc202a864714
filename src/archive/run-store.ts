import type { IsoDate } from '../domain/types.js';
import type { Queryable } from '../db/pool.js';

/** sync_runs: one row per pass, the provenance every archived version points to. */

export type SyncMode = 'incremental' | 'all';
export type RunOutcome = 'running' | 'complete' | 'incomplete' | 'failed' | 'aborted';

/** Run times come from the engine's clock, like every other sync time, so cost figures per day follow it. */
export async function startRun(db: Queryable, run: { mode: SyncMode; horizonStart: IsoDate; horizonEnd: IsoDate; startedAt: Date }): Promise<number> {
  const res = await db.query<{ id: number }>(
    `INSERT INTO archive.sync_runs (mode, horizon_start, horizon_end, started_at) VALUES ($1, $2::date, $3::date, $4) RETURNING id`,
    [run.mode, run.horizonStart, run.horizonEnd, run.startedAt],
  );
  const id = res.rows[0]?.id;
  if (id === undefined) throw new Error('sync_runs insert returned no id');
  return id;
}

/**
 * Called while holding the sync lock: any run still marked running belongs to a process that died
 * (killed, crashed, host lost), so it is closed as aborted.
 */
export async function closeAbandonedRuns(db: Queryable): Promise<number> {
  const res = await db.query(
    `UPDATE archive.sync_runs SET outcome = 'aborted', finished_at = now(),
            error = coalesce(error, 'the process ended before the run finished (killed or crashed); its progress was kept')
     WHERE outcome = 'running'`,
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
  await db.query(
    `UPDATE archive.sync_runs
     SET finished_at = $12, outcome = $2, api_calls = $3, units_attempted = $4, units_failed = $5,
         versions_seen = $6, versions_added = $7, error = $8, calls = $9::jsonb, sessions_new = $10, listing_misses = $11, reads = $13::jsonb
     WHERE id = $1`,
    [
      runId,
      totals.outcome,
      totals.apiCalls,
      totals.unitsAttempted,
      totals.unitsFailed,
      totals.versionsSeen,
      totals.versionsAdded,
      totals.error,
      JSON.stringify(totals.calls),
      totals.sessionsNew,
      totals.listingMisses,
      totals.finishedAt,
      JSON.stringify(totals.reads),
    ],
  );
}
