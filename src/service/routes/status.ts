import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_STATEMENT_TIMEOUT_MS, type ApiContext } from '../api-context.js';
import { inBoundedTransaction } from '../bounded-transaction.js';
import { decodeCursor, encodeCursor, filterFingerprint } from '../cursor.js';
import { gatherStatus } from '../../status/status-report.js';
import { assessHorizonStatus } from '../horizon-status.js';
import { listJobRuns, loadLatestRuns } from '../job-run-store.js';
import { ApiError } from '../http-errors.js';
import type { JobName } from '../jobs.js';
import { pageLimit, NO_PARAMS, parseParams } from '../request-params.js';

/**
 * Operational state for people and dashboards (role `reader`): the windows of the horizon with
 * their state, each job's schedule, next tick on this instance and last run on any replica, and
 * the job-run history; and (role `admin`) running a job now.
 */
export function registerStatusRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const reader = ctx.auth.requireRole('reader');
  const admin = ctx.auth.requireRole('admin');
  const jobNames = ctx.jobs.map((j) => j.name);
  const jobQuery = {
    job: z.enum(jobNames as [string, ...string[]], { error: `job must be one of ${jobNames.join(', ')}` }).optional(),
    limit: pageLimit(ctx.config.service.maxPageSize, 50),
    cursor: z.string({ error: 'cursor must be a string' }).optional(),
  };
  const jobParam = { job: z.enum(jobNames as [string, ...string[]], { error: `job must be one of ${jobNames.join(', ')}` }) };

  app.get('/v1/status', { preHandler: reader }, async (request) => {
    parseParams(NO_PARAMS, request.query);
    return inBoundedTransaction(ctx.pool, { statementTimeoutMs: API_STATEMENT_TIMEOUT_MS, readOnly: true }, async (client) => {
      const windows = await client.query(
        `SELECT month_start, range_from, range_to, status, sessions_listed, units, units_complete, units_failing, versions_archived,
                listed_at, last_swept_at, completed_at, days_until_expiry
         FROM public.sync_windows
         WHERE status <> 'expired' OR month_start >= (now() AT TIME ZONE 'utc')::date - interval '8 months'
         ORDER BY month_start`,
      );
      const horizon = await assessHorizonStatus(client, ctx.clock, ctx.config.sync);
      const latest = await loadLatestRuns(client, jobNames);
      const next = ctx.scheduler?.nextRuns() ?? {};
      // The sections `status` shows (src/status/status-report.ts), without the exact totals.
      const report = await gatherStatus({ db: client, clock: ctx.clock, sync: ctx.config.sync, totals: false, mediumRatePerSecond: ctx.config.zoom.ratePerSecond.medium });
      return {
        last_sync: report.last_sync,
        failing_units: report.failing_units,
        legal_hold: report.legal_hold,
        exports: report.exports,
        locks: report.locks,
        horizon: {
          today: horizon.today,
          start: horizon.horizonStart,
          at_risk: horizon.atRisk.map((r) => ({ window: r.monthStart, days_until_expiry: r.daysUntilExpiry, leaves_horizon_on: r.leavesHorizonOn })),
          oldest_incomplete_days_until_expiry: horizon.oldestIncompleteDaysUntilExpiry,
        },
        windows: windows.rows,
        sync_cost: report.sync_cost,
        jobs: ctx.jobs.map((job) => {
          const last = latest.get(job.name);
          return {
            job: job.name,
            description: job.description,
            schedule: job.schedule,
            timezone: 'UTC',
            next_run_here: next[job.name] ?? null,
            running_here: ctx.inFlight.list().some((e) => e.kind === 'job' && e.name === job.name),
            last_run: last
              ? { job_run_id: last.id, instance: last.instance, started_at: last.startedAt, finished_at: last.finishedAt, outcome: last.outcome, error: last.error, figures: last.figures }
              : null,
          };
        }),
      };
    });
  });

  app.get('/v1/jobs/runs', { preHandler: reader }, async (request) => {
    const params = parseParams(jobQuery, request.query);
    const fingerprint = filterFingerprint({ job: params.job });
    const beforeId = params.cursor === undefined ? undefined : decodeCursor(params.cursor, 'job-runs', fingerprint, z.tuple([z.number().int().positive()]))[0];
    const runs = await listJobRuns(ctx.pool, { job: params.job, beforeId, limit: params.limit + 1 });
    const page = runs.slice(0, params.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ job_run_id: r.id, job: r.job, instance: r.instance, started_at: r.startedAt, finished_at: r.finishedAt, outcome: r.outcome, figures: r.figures, error: r.error })),
      next_cursor: runs.length > params.limit && last ? encodeCursor('job-runs', fingerprint, [last.id]) : null,
    };
  });

  // Run a job now (an operator after fixing credentials, or before a planned outage). Same
  // guarantees as a scheduled run: one runner per job across replicas, recorded in job_runs.
  app.post('/v1/jobs/:job/run', { preHandler: admin }, async (request, reply) => {
    const { job } = parseParams(jobParam, request.params);
    parseParams(NO_PARAMS, request.query);
    const outcome = ctx.triggerJob(job as JobName);
    if (outcome === 'shutting-down') throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the service is shutting down; try again on another instance', undefined, { 'Retry-After': '5' });
    if (outcome === 'already-running') throw new ApiError(409, 'CONFLICT', `job ${job} is already running on this instance`);
    reply.code(202);
    return { job, status: 'started', runs_url: `/v1/jobs/runs?job=${encodeURIComponent(job)}` };
  });
}
