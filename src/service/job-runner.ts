import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fenceOf, tryAdvisoryLock, type HeldLock } from '../db/advisory-lock.js';
import type { Pool } from '../db/pool.js';
import { AbortError, hasCode, isArchiverError, throwIfAborted } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { asTypedError } from '../util/failure.js';
import { sleep } from '../util/clock.js';
import type { InFlightWork } from './in-flight-work.js';
import { closeAbandonedJobRuns, finishJobRun, loadLastSuccesses, recordSkippedRun, startJobRun, type FinishedJobOutcome, type JobFigures } from './job-run-store.js';
import type { JobDefinition, JobResult } from './jobs.js';
import { jobLockName, tryTakeJobLock } from './leader-lock.js';
import type { ServiceMetrics } from './metrics.js';

/**
 * Runs one tick of a job with the guarantees every job gets:
 *
 * 1. In this process a job never overlaps itself: a tick that arrives while the previous run is
 *    still going is dropped (logged, counted in zca_job_ticks_overlapped_total, not recorded), and
 *    node-cron's `noOverlap` drops it before it even gets here.
 * 2. Across processes the job runs on one replica at a time: the run holds the session-level
 *    advisory lock `job:<name>` for its whole length. A tick that finds the lock taken is recorded
 *    in job_runs as `skipped` and does nothing. A replica that dies mid-run releases the lock with
 *    its connection; the next replica to take the lock closes the dead run's row as `aborted`.
 * 3. Jobs that call Zoom also take turns on the `zoom` lock (waiting for it, not skipping), so one
 *    account's rate budget and OAuth token are used by one job at a time across all replicas.
 * 4. Every run that takes the lock is recorded: `running` at start, then `succeeded`, `failed`
 *    (with the error), `skipped` (the job found its work being done elsewhere, e.g. a CLI sync) or
 *    `aborted` (shutdown deadline), with the job's figures. A failure is logged and recorded, never
 *    thrown: the next tick simply runs again, and every job keeps its progress in the database, so
 *    nothing done before the failure is lost.
 */

/** Lock held by whichever job is calling Zoom; see JobDefinition.usesZoom. */
export const ZOOM_TURN_LOCK = 'zoom';
const ZOOM_TURN_POLL_MS = 1_000;

export type RunTrigger = 'schedule' | 'catch-up' | 'manual' | 'follow-up';

export interface JobRunReport {
  job: string;
  outcome: FinishedJobOutcome | 'overlapped' | 'not-started';
  jobRunId?: number;
  error?: string;
}

export interface JobRunnerDeps {
  pool: Pool;
  logger: Logger;
  metrics: ServiceMetrics;
  inFlight: InFlightWork;
  /** Written to job_runs.instance; default `<hostname>:<pid>`. */
  instance?: string;
  /** Told about every run that was started (whatever its outcome); the service starts follow-up jobs here. */
  onFinished?: (job: JobDefinition, report: JobRunReport) => void;
}

export class JobRunner {
  private readonly running = new Set<string>();
  readonly instance: string;

  constructor(private readonly deps: JobRunnerDeps) {
    this.instance = deps.instance ?? `${hostname()}:${process.pid}`;
  }

  isRunning(job: string): boolean {
    return this.running.has(job);
  }

  /** Never rejects: whatever happens is logged, counted and (when the lock was taken) recorded. */
  async run(job: JobDefinition, trigger: RunTrigger): Promise<JobRunReport> {
    const { logger, metrics, inFlight } = this.deps;
    if (!inFlight.isAccepting) return { job: job.name, outcome: 'not-started', error: 'the service is shutting down' };
    if (this.running.has(job.name)) {
      metrics.ticksOverlapped.inc({ job: job.name });
      logger.warn({ job: job.name, trigger }, 'previous run of this job is still going in this process; this tick is dropped');
      return { job: job.name, outcome: 'overlapped' };
    }
    this.running.add(job.name);
    let report: JobRunReport | undefined;
    try {
      report = await inFlight.track({ kind: 'job', name: job.name }, (signal) => this.runLocked(job, trigger, signal));
      return report;
    } catch (err) {
      // Only the database can fail here (the lock, job_runs): the run could not start or be recorded.
      logger.error({ err, job: job.name, trigger }, 'job run could not be started or recorded (database unavailable?); the next tick tries again');
      return { job: job.name, outcome: 'not-started', error: errorMessage(err) };
    } finally {
      this.running.delete(job.name);
      if (report !== undefined) this.deps.onFinished?.(job, report);
    }
  }

  private async runLocked(job: JobDefinition, trigger: RunTrigger, shutdownSignal: AbortSignal): Promise<JobRunReport> {
    const { pool, logger, metrics } = this.deps;
    const lock = await tryTakeJobLock(pool, job.name);
    if (!lock) {
      const reason = 'another process holds this job (it is running on another replica)';
      const jobRunId = await recordSkippedRun(pool, { job: job.name, instance: this.instance, reason, figures: { trigger } });
      metrics.recordJobRun(job.name, 'skipped', undefined);
      logger.info({ job: job.name, trigger, jobRunId }, 'job is running elsewhere; this tick is skipped');
      return { job: job.name, outcome: 'skipped', jobRunId, error: reason };
    }
    const fence = fenceOf(lock);
    // The run stops when the service stops (at the shutdown deadline) or when a lock it runs under
    // is lost: then another replica may already be running it, and nothing more may be done here.
    const run = new AbortController();
    const stop = (reason: unknown) => {
      if (!run.signal.aborted) run.abort(reason);
    };
    const watch = (held: HeldLock) => {
      const onLost = () => {
        metrics.locksLost.inc({ lock: held.name });
        logger.error({ job: job.name, lock: held.name, fence: held.fence, err: held.lost.reason as unknown }, 'lost a lock this job run holds; stopping the run before it does more work');
        stop(held.lost.reason);
      };
      if (held.lost.aborted) onLost();
      else held.lost.addEventListener('abort', onLost, { once: true });
    };
    const onShutdown = () => stop(shutdownSignal.reason);
    if (shutdownSignal.aborted) onShutdown();
    else shutdownSignal.addEventListener('abort', onShutdown, { once: true });
    watch(lock);
    const signal = run.signal;
    try {
      const abandoned = await closeAbandonedJobRuns(pool, job.name, fence);
      const jobRunId = await startJobRun(pool, { job: job.name, instance: this.instance, fence });
      const log = logger.child({ job: job.name, jobRunId });
      if (abandoned > 0) log.warn({ abandoned }, 'closed earlier runs of this job whose process died or lost the lock mid-run; what they stored is kept');
      log.info({ trigger, schedule: job.schedule, fence: lock.fence }, 'job run starting');
      metrics.jobRunning.set({ job: job.name }, 1);
      const startedMs = performance.now();
      let outcome: FinishedJobOutcome;
      let figures: JobFigures | null = null;
      let error: string | null = null;
      let zoomTurn: HeldLock | undefined;
      let waitedForZoomMs = 0;
      try {
        if (job.usesZoom) {
          zoomTurn = await this.waitForZoomTurn(log, signal);
          watch(zoomTurn);
          waitedForZoomMs = Math.round(performance.now() - startedMs);
        }
        throwIfAborted(signal);
        const result: JobResult = await job.run({ signal, logger: log, moduleLogger: logger.child({ jobRunId }), jobRunId, fences: [fence] });
        figures = { trigger, ...(job.usesZoom ? { waitedForZoomMs } : {}), ...result.figures };
        if (signal.aborted && result.outcome !== 'succeeded') {
          outcome = 'aborted';
          error = describeStop(signal.reason);
        } else {
          outcome = result.outcome;
          error = result.error ?? null;
        }
      } catch (err) {
        figures = { trigger };
        if (signal.aborted || hasCode(err, 'ABORTED') || hasCode(err, 'LOCK_LOST') || hasCode(err, 'LOCK_SUPERSEDED')) {
          outcome = 'aborted';
          error = signal.aborted ? describeStop(signal.reason) : describeStop(err);
        } else {
          outcome = 'failed';
          error = errorMessage(err);
          log.error({ err: errorForLog(err) }, 'job run failed; progress is kept and the next tick retries');
        }
      } finally {
        metrics.jobRunning.set({ job: job.name }, 0);
        await zoomTurn?.release();
      }
      const durationMs = performance.now() - startedMs;
      try {
        const recorded = await finishJobRun(pool, jobRunId, { outcome, figures, error }, fence);
        if (!recorded) log.warn({ outcome }, 'the run had already been closed by the process that took the job over; its row was left as that process wrote it');
      } catch (err) {
        if (!hasCode(asTypedError(err), 'LOCK_SUPERSEDED')) throw err;
        // Another replica holds the job now and closed (or will close) this run's row itself.
        log.warn({ outcome, err: asTypedError(err) }, 'this run lost the job to another process, which records it; nothing more is written here');
        outcome = 'aborted';
        error = describeStop(asTypedError(err));
      }
      metrics.recordJobRun(job.name, outcome, outcome === 'skipped' ? undefined : durationMs);
      const level = outcome === 'succeeded' || outcome === 'skipped' ? 'info' : outcome === 'aborted' ? 'warn' : 'error';
      log[level]({ outcome, durationMs: Math.round(durationMs), error: error ?? undefined }, 'job run finished');
      return { job: job.name, outcome, jobRunId, ...(error !== null ? { error } : {}) };
    } catch (err) {
      // Starting or recording the run itself failed: a lock taken over before the run began.
      if (hasCode(asTypedError(err), 'LOCK_SUPERSEDED') || hasCode(asTypedError(err), 'LOCK_LOST')) {
        logger.warn({ job: job.name, trigger, err: asTypedError(err) }, 'job lock was lost before the run could start; another process runs it');
        return { job: job.name, outcome: 'not-started', error: describeStop(asTypedError(err)) };
      }
      throw err;
    } finally {
      shutdownSignal.removeEventListener('abort', onShutdown);
      await lock.release();
    }
  }

  /**
   * Jobs that call Zoom take turns across every replica: holding the `zoom` lock, one at a time.
   * A job whose turn has not come waits (it already holds its own job lock, so no other replica
   * starts it meanwhile); the shutdown deadline, or losing the job lock, ends the wait.
   */
  private async waitForZoomTurn(log: Logger, signal: AbortSignal): Promise<HeldLock> {
    let announced = false;
    for (;;) {
      throwIfAborted(signal);
      const turn = await tryAdvisoryLock(this.deps.pool, ZOOM_TURN_LOCK);
      if (turn) {
        if (announced) log.info('its turn with Zoom has come; starting');
        return turn;
      }
      if (!announced) {
        log.info('waiting for its turn with Zoom: another job that calls Zoom is running (here or on another replica)');
        announced = true;
      }
      await sleep(ZOOM_TURN_POLL_MS, signal);
    }
  }

  /**
   * At start-up: runs each catch-up job whose last success is older than one period of its
   * schedule (or that never succeeded). Runs in the background; returns at once.
   */
  catchUp(jobs: readonly JobDefinition[], periodMsOf: (job: JobDefinition) => number | undefined, nowMs: number): void {
    const candidates = jobs.filter((j) => j.catchUpOnStart);
    if (candidates.length === 0) return;
    void loadLastSuccesses(this.deps.pool, candidates.map((j) => j.name))
      .then((last) => {
        for (const job of candidates) {
          const periodMs = periodMsOf(job);
          const lastMs = last.get(job.name)?.getTime();
          if (periodMs === undefined || (lastMs !== undefined && nowMs - lastMs < periodMs)) continue;
          this.deps.logger.info({ job: job.name, lastSuccess: lastMs === undefined ? null : new Date(lastMs).toISOString() }, 'job is overdue; running it now');
          void this.run(job, 'catch-up');
        }
      })
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not check which jobs are overdue; they run at their next tick'));
  }
}

export function shutdownAbortReason(): AbortError {
  return new AbortError('the service is stopping and the shutdown deadline has passed');
}

/** The locks a replica's runs hold, for metrics present from start-up. */
export function runnerLockNames(jobs: readonly string[]): string[] {
  return [...jobs.map(jobLockName), ZOOM_TURN_LOCK];
}

/** Why a run stopped early, for job_runs.error: a lost or superseded lock, or the shutdown deadline. */
function describeStop(reason: unknown): string {
  const typed = asTypedError(reason);
  if (isArchiverError(typed) && (typed.code === 'LOCK_LOST' || typed.code === 'LOCK_SUPERSEDED')) {
    return `${typed.code}: ${typed.message}`;
  }
  return 'stopped at the shutdown deadline; everything stored so far is kept and the next run continues from there';
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return 'code' in err && typeof err.code === 'string' ? `${err.code}: ${err.message}` : err.message;
  return String(err);
}

function errorForLog(err: unknown): unknown {
  if (err && typeof err === 'object' && 'toLog' in err && typeof (err as { toLog: unknown }).toLog === 'function') return (err as { toLog(): unknown }).toLog();
  return err;
}
