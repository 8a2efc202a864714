import { z } from 'zod';
import type { WindowSummary } from '../../read-model/horizon.js';
import { gatherStatus } from '../../read-model/status-report.js';
import { API_STATEMENT_TIMEOUT_MS, type ApiContext } from '../api-context.js';
import { JobRun, pageOf, Status } from '../api-schemas.js';
import { inBoundedTransaction } from '../bounded-transaction.js';
import { keysetListing } from '../cursor.js';
import type { ApiApp } from '../http-server.js';
import { listJobRuns, loadLatestRuns, type JobRunRecord } from '../job-run-store.js';
import { ApiError } from '../http-errors.js';
import type { JobName } from '../jobs.js';
import { pageLimit, NO_PARAMS } from '../request-params.js';
import { errorResponse, json, securedBy } from '../route-contract.js';

/**
 * Operational state for people and dashboards (role `reader`): the status report `status` prints
 * (src/read-model/status-report.ts: last sync, horizon, windows, failing session windows, legal
 * hold, exports, locks, sync cost; not the exact totals, which need a scan), each job's schedule,
 * next tick on this instance and last run on any replica, and the job-run history; and (role
 * `admin`) running a job now.
 */
export function registerStatusRoutes(app: ApiApp, ctx: ApiContext): void {
  const reader = securedBy(ctx.auth, 'reader');
  const admin = securedBy(ctx.auth, 'admin');
  const tags = ['operations'];
  const jobNames = ctx.jobs.map((j) => j.name);
  const jobName = () => z.enum(jobNames as [JobName, ...JobName[]], { error: `job must be one of ${jobNames.join(', ')}` });
  const jobQuery = z.object({
    job: jobName().optional().meta({ description: 'Only the runs of this job.' }),
    limit: pageLimit(ctx.config.service.maxPageSize, 50),
    cursor: z.string({ error: 'cursor must be a string' }).optional().meta({ description: 'Opaque cursor from the previous page (`next_cursor`). Keep the other parameters unchanged while paging.' }),
  });
  const jobParam = z.object({ job: jobName() });
  const Started = z.object({ job: z.string(), status: z.literal('started'), runs_url: z.string() });

  app.get(
    '/v1/status',
    reader({ operationId: 'status', summary: 'The status report (as `status` prints it, without the exact totals) and each job with its schedule and last run', tags }, { querystring: NO_PARAMS, response: { 200: json('Status.', Status) } }),
    async () =>
      inBoundedTransaction(ctx.pool, { statementTimeoutMs: API_STATEMENT_TIMEOUT_MS, readOnly: true }, async (client) => {
        const report = await gatherStatus({ db: client, clock: ctx.clock, sync: ctx.config.sync, totals: false, mediumRatePerSecond: ctx.config.zoom.ratePerSecond.medium });
        const latest = await loadLatestRuns(client, jobNames);
        const next = ctx.scheduler?.nextRuns() ?? {};
        return {
          last_sync: report.last_sync,
          failing_units: report.failing_units,
          legal_hold: report.legal_hold,
          files: report.files,
          exports: report.exports,
          locks: report.locks,
          horizon: report.horizon,
          windows: report.windows.map(presentWindow),
          sync_cost: report.sync_cost,
          jobs: ctx.jobs.map((job) => {
            const last = latest.get(job.name);
            return {
              job: job.name,
              description: job.description,
              schedule: job.schedule,
              timezone: 'UTC' as const,
              next_run_here: next[job.name] ?? null,
              running_here: ctx.inFlight.list().some((e) => e.kind === 'job' && e.name === job.name),
              last_run: last
                ? { job_run_id: last.id, instance: last.instance, started_at: last.startedAt, finished_at: last.finishedAt, outcome: last.outcome, error: last.error, figures: last.figures }
                : null,
            };
          }),
        };
      }),
  );

  app.get(
    '/v1/jobs/runs',
    reader({ operationId: 'listJobRuns', summary: 'Job runs on any replica, newest first', tags }, { querystring: jobQuery, response: { 200: json('A page of job runs.', pageOf(JobRun)) } }),
    async (request) => {
      const { job, limit, cursor } = request.query;
      const { after, page } = jobRunPages.open({ job }, cursor);
      const runs = await listJobRuns(ctx.pool, { job, beforeId: after?.[0], limit: limit + 1 });
      return page(runs, limit, (r) => ({ job_run_id: r.id, job: r.job, instance: r.instance, started_at: r.startedAt, finished_at: r.finishedAt, outcome: r.outcome, figures: r.figures, error: r.error }));
    },
  );

  // Run a job now (an operator after fixing credentials, or before a planned outage). Same
  // guarantees as a scheduled run: one runner per job across replicas, recorded in job_runs.
  app.post(
    '/v1/jobs/:job/run',
    admin(
      {
        operationId: 'runJob',
        summary: 'Run a job now, in the background',
        description: 'The same guarantees as a scheduled run: one runner per job across replicas (if another replica is running it, this run is recorded as skipped), recorded in job_runs with trigger "manual".',
        tags,
      },
      { params: jobParam, querystring: NO_PARAMS, response: { 202: json('Started; `runs_url` lists its runs.', Started), 409: errorResponse('The job is already running on this instance.') } },
    ),
    async (request, reply) => {
      const { job } = request.params;
      const outcome = ctx.triggerJob(job);
      if (outcome === 'shutting-down') throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the service is shutting down; try again on another instance', undefined, { 'Retry-After': '5' });
      if (outcome === 'already-running') throw new ApiError(409, 'CONFLICT', `job ${job} is already running on this instance`);
      reply.code(202);
      return { job, status: 'started' as const, runs_url: `/v1/jobs/runs?job=${encodeURIComponent(job)}` };
    },
  );
}

/** Job runs, newest first: a cursor holds the id of the last run shown. */
const jobRunPages = keysetListing('job-runs', z.tuple([z.number().int().positive()]), (last: JobRunRecord) => [last.id]);

/** A window under the `sync_windows` view's column names, as this endpoint has always shown it (`status --json` uses shorter ones). */
function presentWindow(w: WindowSummary): z.output<typeof Status>['windows'][number] {
  return {
    month_start: w.window,
    range_from: w.from,
    range_to: w.to,
    status: w.status,
    sessions_listed: w.sessions,
    units: w.units,
    units_complete: w.units_complete,
    units_failing: w.failing,
    versions_archived: w.versions,
    listed_at: w.listed_at,
    last_swept_at: w.last_swept_at,
    completed_at: w.completed_at,
    days_until_expiry: w.days_until_expiry,
  };
}
