import { createTask, type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from '../logging/logger.js';
import type { JobRunner } from './job-runner.js';
import type { JobDefinition } from './jobs.js';
import type { ServiceMetrics } from './metrics.js';

/**
 * node-cron tasks, one per job, in UTC. Each tick hands the job to the runner, which never throws.
 * `noOverlap` drops a tick while the previous run is still going (the runner has its own guard for
 * catch-up runs). `stop()` only stops future ticks; runs in flight are the shutdown's business.
 */

const SCHEDULE_TIMEZONE = 'Etc/UTC';

export interface Scheduler {
  start(): void;
  stop(): void;
  /** The next tick of each job (null once stopped). */
  nextRuns(): Record<string, Date | null>;
  /** The interval between the next two ticks: what "overdue" means for a catch-up at start. */
  periodMs(job: JobDefinition): number | undefined;
}

export function createScheduler(deps: { jobs: readonly JobDefinition[]; runner: JobRunner; logger: Logger; metrics: ServiceMetrics }): Scheduler {
  const logger = deps.logger.child({ module: 'scheduler' });
  const tasks = new Map<string, ScheduledTask>();
  for (const job of deps.jobs) {
    // `off`: the job runs only when asked (POST /v1/jobs/{job}/run).
    if (job.schedule === 'off') continue;
    const task = createTask(job.schedule, () => deps.runner.run(job, 'schedule'), {
      name: job.name,
      timezone: SCHEDULE_TIMEZONE,
      noOverlap: true,
      logger: cronLogger(logger.child({ job: job.name })),
    });
    task.on('execution:overlap', () => {
      deps.metrics.ticksOverlapped.inc({ job: job.name });
      logger.warn({ job: job.name }, 'previous run of this job is still going in this process; this tick is dropped');
    });
    task.on('execution:missed', (ctx) => {
      logger.warn({ job: job.name, missed: ctx.date.toISOString() }, 'a tick was missed (the event loop was busy); the job runs at its next tick');
    });
    tasks.set(job.name, task);
  }
  let stopped = true;
  return {
    start() {
      stopped = false;
      for (const task of tasks.values()) void task.start();
      logger.info({ jobs: deps.jobs.map((j) => ({ job: j.name, schedule: j.schedule, next: tasks.get(j.name)?.getNextRun()?.toISOString() ?? null })) }, 'scheduler started (UTC)');
    },
    stop() {
      if (stopped) return;
      stopped = true;
      for (const task of tasks.values()) void task.destroy();
      logger.info('scheduler stopped: no new job runs start');
    },
    nextRuns() {
      const out: Record<string, Date | null> = {};
      for (const [name, task] of tasks) out[name] = stopped ? null : task.getNextRun();
      return out;
    },
    periodMs(job) {
      const [first, second] = tasks.get(job.name)?.getNextRuns(2) ?? [];
      return first && second ? second.getTime() - first.getTime() : undefined;
    },
  };
}

/** node-cron's own messages, through pino; its overlap and missed-tick warnings are replaced by ours above. */
function cronLogger(logger: Logger): CronLogger {
  return {
    info: (message) => logger.debug({ source: 'node-cron' }, message),
    warn: (message) => logger.debug({ source: 'node-cron' }, message),
    error: (message, err) => logger.error({ source: 'node-cron', err: err ?? (message instanceof Error ? message : undefined) }, typeof message === 'string' ? message : 'node-cron task error'),
    debug: (message) => logger.debug({ source: 'node-cron' }, typeof message === 'string' ? message : message.message),
  };
}
