import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { assertFences, type Fence } from '../db/advisory-lock.js';
import { runDrizzle, withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { jobRuns } from '../db/schema.js';
import { InternalError } from '../errors.js';

/**
 * archive.job_runs: one row per run of a scheduled job (public view `job_runs`). A run starts as
 * `running` and ends `succeeded`, `failed` or `aborted`; a tick that found the job's lock held by
 * another process is recorded as `skipped` (started and finished at once). Finished rows never
 * change (a trigger in migrations/0004_service.sql enforces it).
 */

export type JobOutcome = JobRunRecord['outcome'];
export type FinishedJobOutcome = Exclude<JobOutcome, 'running'>;

/** What a job reports about its run: counts and identifiers, never message content. */
export type JobFigures = Record<string, unknown>;

export async function startJobRun(pool: Pool, run: { job: string; instance: string; fence: Fence }): Promise<number> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, [run.fence]);
    const [row] = await runDrizzle(client, (orm) => orm.insert(jobRuns).values({ job: run.job, instance: run.instance }).returning({ id: jobRuns.id }));
    const id = row?.id;
    if (id === undefined) throw new InternalError('job_runs insert returned no id');
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
    const res = await runDrizzle(client, (orm) =>
      orm
        .update(jobRuns)
        .set({ finishedAt: sql`now()`, outcome: result.outcome, figures: result.figures, error: result.error })
        .where(and(eq(jobRuns.id, runId), eq(jobRuns.outcome, 'running'))),
    );
    return (res.rowCount ?? 0) > 0;
  });
}

/** A tick that did not run because another process held the job: recorded so the trail shows who ran what. */
export async function recordSkippedRun(db: Queryable, run: { job: string; instance: string; reason: string; figures?: JobFigures }): Promise<number> {
  const [row] = await runDrizzle(db, (orm) =>
    orm
      .insert(jobRuns)
      .values({ job: run.job, instance: run.instance, finishedAt: sql`now()`, outcome: 'skipped', figures: run.figures ?? null, error: run.reason })
      .returning({ id: jobRuns.id }),
  );
  return row?.id ?? 0;
}

const ABANDONED = "the process ended or lost the job's lock before the run finished (killed, crashed, or its database connection was cut); what it stored is kept";

/**
 * Called while holding the job's lock: a row of this job still `running` belongs to a process that
 * died or lost its lock (its connection, and with it the lock, is gone), so it is closed as aborted.
 * Fenced: only the newest holder may do this.
 */
export async function closeAbandonedJobRuns(pool: Pool, job: string, fence: Fence): Promise<number> {
  return withTransaction(pool, async (client) => {
    await assertFences(client, [fence]);
    const res = await runDrizzle(client, (orm) =>
      orm
        .update(jobRuns)
        .set({ outcome: 'aborted', finishedAt: sql`now()`, error: sql`coalesce(${jobRuns.error}, ${ABANDONED})` })
        .where(and(eq(jobRuns.job, job), eq(jobRuns.outcome, 'running'))),
    );
    return res.rowCount ?? 0;
  });
}

export type JobRunRecord = typeof jobRuns.$inferSelect;

/** A row of archive.job_runs by its schema.ts names, for the two queries below that stay SQL. */
const RECORD_COLUMNS = `id, job, instance, started_at AS "startedAt", finished_at AS "finishedAt", outcome, figures, error`;

/**
 * The latest run of each job that actually ran (skipped ticks left out), newest first per job. SQL:
 * one probe of job_runs_job_started per job (a LATERAL over the jobs), which drizzle's builder
 * cannot say over an unnest.
 */
export async function loadLatestRuns(db: Queryable, jobs: readonly string[]): Promise<Map<string, JobRunRecord>> {
  const res = await db.query<JobRunRecord>(
    `SELECT r.* FROM unnest($1::text[]) AS j(job)
     CROSS JOIN LATERAL (
       SELECT ${RECORD_COLUMNS} FROM archive.job_runs
       WHERE job = j.job AND outcome <> 'skipped' ORDER BY started_at DESC LIMIT 1
     ) r`,
    [jobs],
  );
  return new Map(res.rows.map((r) => [r.job, r]));
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
  return runDrizzle(db, (orm) =>
    orm
      .select()
      .from(jobRuns)
      .where(and(options.job === undefined ? undefined : eq(jobRuns.job, options.job), options.beforeId === undefined ? undefined : lt(jobRuns.id, options.beforeId)))
      .orderBy(desc(jobRuns.id))
      .limit(options.limit),
  );
}
