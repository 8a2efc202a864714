import type { Config } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import { ZoomClient } from '../zoom/client.js';
import { API_STATEMENT_TIMEOUT_MS, type ApiContext } from './api-context.js';
import { createApiPool } from './api-pool.js';
import { createAuthenticator } from './auth.js';
import { startHttpServer, type RegisteredRoute } from './http-server.js';
import { InFlightWork } from './in-flight-work.js';
import { JobRunner, runnerLockNames } from './job-runner.js';
import { buildJobs, JOB_NAMES, type JobDefinition, type JobName } from './jobs.js';
import { ServiceMetrics } from './metrics.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import { shutDownGracefully, type ShutdownReport } from './shutdown.js';
import { InternalError } from '../errors.js';

/**
 * The long-running service: the job scheduler and the HTTP API around one pool. `serve` (the
 * composition root) opens the database and hands it in; this wires the parts and returns a handle
 * whose `stop()` is the graceful shutdown.
 */

/** Exports started over HTTP that one instance runs at once. */
const MAX_CONCURRENT_API_EXPORTS = 2;
/** Connections of the API's own pool (queries are short: a statement timeout bounds each). */
const API_POOL_CONNECTIONS = 12;

export interface ServiceDependencies {
  config: Readonly<Config>;
  pool: Pool;
  logger: Logger;
  clock: Clock;
  /** The scheduled jobs this replica runs (none: an API-only replica). */
  runJobs: readonly JobName[];
}

export interface RunningService {
  url: string;
  port: number;
  jobs: readonly JobDefinition[];
  routes: RegisteredRoute[];
  stop(): Promise<ShutdownReport>;
}

export async function startService(deps: ServiceDependencies): Promise<RunningService> {
  const { config, pool, logger, clock } = deps;
  const metrics = new ServiceMetrics({ jobNames: JOB_NAMES, lockNames: runnerLockNames(deps.runJobs) });
  const inFlight = new InFlightWork();
  const credentials = config.zoom.accountId && config.zoom.clientId && config.zoom.clientSecret ? { accountId: config.zoom.accountId, clientId: config.zoom.clientId, clientSecret: config.zoom.clientSecret } : undefined;
  // One client (one OAuth token) for the legal-hold job and legal-hold changes made over HTTP: a new
  // token may invalidate the previous one, so clients in one process must not fetch their own.
  const zoom = credentials
    ? new ZoomClient({ config: config.zoom, credentials, clock, logger, onCall: (event) => metrics.recordZoomCall(event) })
    : undefined;
  const jobs = buildJobs({ config, pool, clock, metrics, zoom });
  const scheduled = jobs.filter((j) => deps.runJobs.includes(j.name));
  const runner: JobRunner = new JobRunner({
    pool,
    logger,
    metrics,
    inFlight,
    // Files are captured right after each sync pass, by the replica that ran it (when it runs `files`).
    onFinished(job, report) {
      const next = job.followedBy === undefined ? undefined : scheduled.find((j) => j.name === job.followedBy);
      // SCHEDULE_FILES=off: the files job runs on request only, not after each sync either.
      if (next === undefined || next.schedule === 'off' || report.outcome === 'overlapped' || report.outcome === 'not-started' || report.outcome === 'skipped') return;
      void runner.run(next, 'follow-up');
    },
  });
  const scheduler: Scheduler | undefined = scheduled.length > 0 ? createScheduler({ jobs: scheduled, runner, logger, metrics }) : undefined;
  let shuttingDown = false;
  const apiPool = createApiPool(pool, { max: API_POOL_CONNECTIONS, statementTimeoutMs: API_STATEMENT_TIMEOUT_MS });
  const ctx: ApiContext = {
    config,
    pool: apiPool,
    backgroundPool: pool,
    logger,
    clock,
    auth: createAuthenticator({ pool: apiPool, logger }),
    metrics,
    inFlight,
    jobs,
    scheduler,
    isShuttingDown: () => shuttingDown,
    triggerJob(name) {
      const job = jobs.find((j) => j.name === name);
      if (!job) throw new InternalError(`unknown job ${name}`);
      if (!inFlight.isAccepting) return 'shutting-down';
      if (runner.isRunning(name)) return 'already-running';
      void runner.run(job, 'manual');
      return 'started';
    },
  };
  const http = await startHttpServer(ctx, {
    host: config.service.httpHost,
    port: config.service.httpPort,
    legalHold: { zoom },
    exports: { maxConcurrentExports: MAX_CONCURRENT_API_EXPORTS },
  });
  if (scheduler) {
    scheduler.start();
    runner.catchUp(scheduled, (job) => scheduler.periodMs(job), clock.now().getTime());
  }

  let stopping: Promise<ShutdownReport> | undefined;
  return {
    url: http.url,
    port: http.port,
    jobs,
    routes: http.routes,
    stop() {
      stopping ??= (async () => {
        shuttingDown = true;
        return shutDownGracefully({
          logger,
          inFlight,
          stopScheduler: () => scheduler?.stop(),
          closeHttp: () => http.close(),
          closeAllConnections: () => http.closeAllConnections(),
          release: async () => {
            await metrics.drain();
            await zoom?.close();
            await apiPool.end();
          },
          shutdownTimeoutMs: config.service.shutdownTimeoutMs,
        });
      })();
      return stopping;
    },
  };
}
