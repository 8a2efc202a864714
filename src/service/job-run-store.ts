import { assertFences, type Fence } from '../db/advisory-lock.js';
import { withTransaction, type Pool, type Queryable } from '../db/pool.js';

/**
 * archive.job_runs: one row per run of a scheduled job (public view `job_runs`). A run starts as
 * `running` and ends `succeeded`, `failed` or `aborted`; a tick that found the job's lock held by
 * another process is recorded as `skipped` (started and finished at once). Finished rows never
 * change (a trigger in migrations/0004_service.sql enforces it).
 */

export type JobOutcome = 'running' | 'succeeded' | 'failed' | 'skipped' | 'aborted';
export type FinishedJobOutcome = Exclude<JobOutcome, 'running'>;

/** What a job reports about its run: counts and identifiers, never message content. */
export type JobFigures = Record<string, unknown>;

export async function startJobRun(pool: Pool, run: { job: string; instance: string; fence: Fence }): Promise<number> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, [run.fence]);
    const res = await client.query<{ id: number }>(`INSERT INTO archive.job_runs (job, instance) VALUES ($1, $2) RETURNING id`, [run.job, run.instance]);
    const id = res.rows[0]?.id;
    if (id === undefined) throw new Error('job_runs insert returned no id');
    return id;
  });
}

/**
 * Records how the run ended. False when the row was no longer `running` (nothing written); throws
 * LockSupersededError when another process holds the job's lock now (it closes this row itself).
 */
export async function finishJobRun(
  pool: Pool,
  runId: number,
  result: { outcome: FinishedJobOutcome; figures: JobFigures | null; error: string | null },
  fence: Fence,
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, [fence]);
    const res = await client.query(
      `UPDATE archive.job_runs SET finished_at = now(), outcome = $2, figures = $3::jsonb, error = $4
       WHERE id = $1 AND outcome = 'running'`,
      [runId, result.outcome, result.figures === null ? null : JSON.stringify(result.figures), result.error],
    );
    return (res.rowCount ?? 0) > 0;
  });
}

/** A tick that did not run because another process held the job: recorded so the trail shows who ran what. */
export async function recordSkippedRun(db: Queryable, run: { job: string; instance: string; reason: string; figures?: JobFigures }): Promise<number> {
  const res = await db.query<{ id: number }>(
    `INSERT INTO archive.job_runs (job, instance, finished_at, outcome, figures, error)
     VALUES ($1, $2, now(), 'skipped', $3::jsonb, $4) RETURNING id`,
    [run.job, run.instance, run.figures === undefined ? null : JSON.stringify(run.figures), run.reason],
  );
  return res.rows[0]?.id ?? 0;
}

/**
 * Called while holding the job's lock: a row of this job still `running` belongs to a process that
 * died or lost its lock (its connection, and with it the lock, is gone), so it is closed as aborted.
 * Fenced: only the newest holder may do this.
 */
export async function closeAbandonedJobRuns(pool: Pool, job: string, fence: Fence): Promise<number> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, [fence]);
    const res = await client.query(
      `UPDATE archive.job_runs SET outcome = 'aborted', finished_at = now(),
              error = coalesce(error, 'the process ended or lost the job''s lock before the run finished (killed, crashed, or its database connection was cut); what it stored is kept')
       WHERE job = $1 AND outcome = 'running'`,
      [job],
    );
    return res.rowCount ?? 0;
  });
}

export interface JobRunRecord {
  id: number;
  job: string;
  instance: string;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: JobOutcome;
  figures: JobFigures | null;
  error: string | null;
}

interface JobRunRow {
  id: number;
  job: string;
  instance: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: JobOutcome;
  figures: JobFigures | null;
  error: string | null;
}

function toRecord(r: JobRunRow): JobRunRecord {
  return { id: r.id, job: r.job, instance: r.instance, startedAt: r.started_at, finishedAt: r.finished_at, outcome: r.outcome, figures: r.figures, error: r.error };
}

/** The latest run of each job that actually ran (skipped ticks left out), newest first per job. */
export async function loadLatestRuns(db: Queryable, jobs: readonly string[]): Promise<Map<string, JobRunRecord>> {
  const res = await db.query<JobRunRow>(
    `SELECT r.* FROM unnest($1::text[]) AS j(job)
     CROSS JOIN LATERAL (
       SELECT id, job, instance, started_at, finished_at, outcome, figures, error FROM archive.job_runs
       WHERE job = j.job AND outcome <> 'skipped' ORDER BY started_at DESC LIMIT 1
     ) r`,
    [jobs],
  );
  return new Map(res.rows.map((r) => [r.job, toRecord(r)]));
}

/** When each job last succeeded (index job_runs_job_succeeded: one index probe per job). */
export async function loadLastSuccesses(db: Queryable, jobs: readonly string[]): Promise<Map<string, Date>> {
  const res = await db.query<{ job: string; finished_at: Date | null }>(
    `SELECT j.job, (SELECT max(finished_at) FROM archive.job_runs r WHERE r.job = j.job AND r.outcome = 'succeeded') AS finished_at
     FROM unnest($1::text[]) AS j(job)`,
    [jobs],
  );
  const out = new Map<string, Date>();
  for (const r of res.rows) if (r.finished_at) out.set(r.job, r.finished_at);
  return out;
}

/** Recent runs, newest first, optionally of one job; keyset-paged by id. */
export async function listJobRuns(db: Queryable, options: { job?: string | undefined; beforeId?: number | undefined; limit: number }): Promise<JobRunRecord[]> {
  const res = await db.query<JobRunRow>(
    `SELECT id, job, instance, started_at, finished_at, outcome, figures, error FROM archive.job_runs
     WHERE ($1::text IS NULL OR job = $1) AND ($2::bigint IS NULL OR id < $2)
     ORDER BY id DESC LIMIT $3`,
    [options.job ?? null, options.beforeId ?? null, options.limit],
  );
  return res.rows.map(toRecord);
}
