import { tryAdvisoryLock, type HeldLock } from '../db/advisory-lock.js';
import type { Pool } from '../db/pool.js';

/**
 * Single-leader jobs across replicas. Each run of a job first takes the session-level advisory lock
 * `job:<name>` on a connection it keeps for the whole run: whoever holds it runs the job, everyone
 * else skips that tick. A replica that dies mid-job loses its connection, and PostgreSQL releases the
 * lock with it, so the next tick on any replica can take over — no lease to expire, no clock to trust.
 */

export function jobLockName(job: string): string {
  return `job:${job}`;
}

/** The job's lock if it is free; undefined when another process (or connection) holds it. */
export function tryTakeJobLock(pool: Pool, job: string): Promise<HeldLock | undefined> {
  return tryAdvisoryLock(pool, jobLockName(job));
}
