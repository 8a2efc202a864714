import type { Queryable } from '../db/pool.js';

/** Sync passes (`sync_runs` view): the latest of a kind, for `status` and /readyz/strict. */

export interface SyncPassRow {
  run_id: number;
  mode: string;
  outcome: string;
  started_at: Date;
  finished_at: Date | null;
  error: string | null;
}

const LATEST = {
  /** A pass still running (the newest, if several). */
  running: `finished_at IS NULL ORDER BY run_id DESC`,
  /** The newest pass that finished, whatever its outcome. */
  finished: `finished_at IS NOT NULL ORDER BY run_id DESC`,
  /** The newest pass that finished complete: what "archive up to date as of" means. */
  complete: `finished_at IS NOT NULL AND outcome = 'complete' ORDER BY run_id DESC`,
  /** The pass that finished last, one stopped by a signal not counted: how the archive's last sync went. */
  judged: `finished_at IS NOT NULL AND outcome <> 'aborted' ORDER BY finished_at DESC`,
} as const;

export async function findLatestSyncPass(db: Queryable, which: keyof typeof LATEST): Promise<SyncPassRow | undefined> {
  const res = await db.query<SyncPassRow>(`SELECT run_id, mode, outcome, started_at, finished_at, error FROM public.sync_runs WHERE ${LATEST[which]} LIMIT 1`);
  return res.rows[0];
}
