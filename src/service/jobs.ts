import { requireZoomCredentials, type Config } from '../config/config.js';
import type { Fence } from '../db/advisory-lock.js';
import type { Pool } from '../db/pool.js';
import { AbortError, hasCode } from '../errors.js';
import { captureFiles, captureOutcomes } from '../files/index.js';
import { passHasFailures, runLegalHoldPass, type LegalHoldPassSummary } from '../legal-hold/index.js';
import type { Logger } from '../logging/logger.js';
import type { SyncSummary } from '../sync/sync-engine.js';
import { loadCostPlan } from '../sync/cost-plan.js';
import { runSyncPass } from '../sync/sync-pass.js';
import type { Clock } from '../util/clock.js';
import type { ZoomClient } from '../zoom/client.js';
import { alertsJob, auditJob, retentionJob } from '../audit/proof-jobs.js';
import { assessHorizonStatus, listWindowsExpiredIncomplete } from '../read-model/horizon.js';
import type { JobFigures } from './job-run-store.js';
import type { ServiceMetrics } from './metrics.js';

/**
 * The job registry: what the service runs on a schedule. A job is a name, a cron expression from
 * the configuration, and a `run` that does one pass and reports figures. The runner around it
 * (job-runner.ts) gives every job the same guarantees: one run at a time per process, one per
 * database across replicas, every run recorded in job_runs, abort at shutdown.
 *
 * Adding a job is one more entry in `buildJobs` (and its schedule in config.service.schedules).
 */

export const JOB_NAMES = ['sync', 'deep-sync', 'legal-hold', 'horizon-check', 'audit', 'alerts', 'retention', 'files'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface JobRunContext {
  /**
   * Fires when the service stops and the shutdown deadline has passed, or when a lock the run holds
   * (the job's, the Zoom turn) is lost: its reason says which (ABORTED or LOCK_LOST).
   */
  signal: AbortSignal;
  /** Bound to `{ job, jobRunId }`. */
  logger: Logger;
  /** Bound to `{ jobRunId }` only: for modules that add their own `job` binding (sync engine, legal hold). */
  moduleLogger: Logger;
  jobRunId: number;
  /**
   * The job lock's fence: writes that must not come from a run whose lock was taken over check it in
   * their transaction (assertFences) and fail with LOCK_SUPERSEDED instead.
   */
  fences: readonly Fence[];
}

export interface JobResult {
  /** `skipped`: the job found its work already being done elsewhere (e.g. a CLI sync holds the sync lock). */
  outcome: 'succeeded' | 'failed' | 'skipped';
  /** Counts and identifiers for job_runs.figures; never message content. */
  figures: JobFigures;
  /** Why it failed or was skipped, for job_runs.error. */
  error?: string;
}

export interface JobDefinition {
  name: JobName;
  /** Cron expression, evaluated in UTC (5 fields, or 6 with seconds). */
  schedule: string;
  description: string;
  /**
   * Run once at start-up when the last successful run is older than one schedule period (or there
   * is none), so a deployment or an outage does not leave the archive waiting for the next tick.
   */
  catchUpOnStart: boolean;
  /**
   * The job calls Zoom. Such jobs take turns across every replica (the runner holds the `zoom`
   * lock for them): the account's rate budget (ZOOM_RATE_SHARE applies per process) and its access
   * token (a new token may invalidate the previous one) are never fought over.
   */
  usesZoom: boolean;
  /** Started right after each run of this job that got to run (when this replica runs it too). */
  followedBy?: JobName;
  run(ctx: JobRunContext): Promise<JobResult>;
}

export interface JobDependencies {
  config: Readonly<Config>;
  pool: Pool;
  clock: Clock;
  metrics: ServiceMetrics;
  /**
   * The service's one Zoom client (one rate limiter and one OAuth token for the process), used by
   * every job and the API; undefined without credentials.
   */
  zoom: ZoomClient | undefined;
}

export function buildJobs(deps: JobDependencies): JobDefinition[] {
  const schedules = deps.config.service.schedules;
  return [
    syncJob(deps, 'sync', schedules.sync, false),
    syncJob(deps, 'deep-sync', schedules.deepSync, true),
    legalHoldJob(deps, schedules.legalHold),
    horizonCheckJob(deps, schedules.horizonCheck),
    // Tamper evidence, alerts and retention: src/audit/proof-jobs.ts.
    auditJob(deps, schedules.audit),
    alertsJob(deps, schedules.alerts),
    retentionJob(deps, schedules.retention),
    filesJob(deps, schedules.files),
  ];
}

/**
 * The service's Zoom client, for a job that calls Zoom (usesZoom); without one, the run fails with
 * what requireZoomCredentials says is missing.
 */
function zoomClient(deps: JobDependencies): ZoomClient {
  if (!deps.zoom) requireZoomCredentials(deps.config);
  return deps.zoom as ZoomClient;
}

/** Files shared in chat (src/files/): after every sync pass, and on its own schedule for retries. */
function filesJob(deps: JobDependencies, schedule: string): JobDefinition {
  return {
    name: 'files',
    schedule,
    description: 'files shared in chat: reference the files of newly archived versions, download each one not stored yet into the content-addressed store (also right after each sync pass)',
    catchUpOnStart: true,
    usesZoom: true,
    async run(ctx) {
      const summary = await captureFiles({ pool: deps.pool, zoom: zoomClient(deps), config: deps.config, logger: ctx.moduleLogger, clock: deps.clock, signal: ctx.signal });
      deps.metrics.recordFileCapture(summary);
      const figures: JobFigures = {
        referencesAdded: summary.referenced.referencesAdded,
        filesAdded: summary.referenced.filesAdded,
        ...captureOutcomes(summary),
        skipped: summary.skipped,
        digestMismatches: summary.digestMismatches,
        bytesStored: summary.bytes,
        infoCalls: summary.infoCalls,
        downloads: summary.downloads,
        bearerToken: summary.bearerToken,
        stoppedBy: summary.stoppedBy?.code ?? null,
        budgetReached: summary.budgetReached,
        durationMs: summary.durationMs,
      };
      if (summary.stoppedBy?.code === 'ABORTED') throw new AbortError('the file capture was stopped');
      if (summary.failed === 0 && summary.stoppedBy === null) return { outcome: 'succeeded', figures };
      const parts = [...(summary.failed > 0 ? [`${summary.failed} file(s) failed; a later run retries them`] : []), ...(summary.stoppedBy ? [`the stage stopped early: ${summary.stoppedBy.message}`] : [])];
      return { outcome: 'failed', figures, error: parts.join('; ') };
    },
  };
}

function syncJob(deps: JobDependencies, name: 'sync' | 'deep-sync', schedule: string, all: boolean): JobDefinition {
  return {
    name,
    schedule,
    description: all
      ? 'deep re-sweep: every known session over every window of the horizon, complete windows included (sync --all); off by default'
      : 'archive pass: list what happened since the last pass, read sessions with news, backfill new sessions, and a share of the settled-month sweep (sync)',
    catchUpOnStart: !all,
    usesZoom: true,
    followedBy: 'files',
    async run(ctx) {
      const zoom = zoomClient(deps);
      let summary: SyncSummary;
      try {
        summary = await runSyncPass(
          {
            sync: deps.config.sync,
            pool: deps.pool,
            zoom,
            logger: ctx.moduleLogger,
            signal: ctx.signal,
            clock: deps.clock,
            onCall: (_event, kind) => deps.metrics.syncCalls.inc({ kind }),
          },
          all ? 'all' : 'incremental',
        );
      } catch (err) {
        // The engine's own lock: a CLI `sync` or the other sync job is doing this work right now.
        if (hasCode(err, 'SYNC_ALREADY_RUNNING')) {
          return { outcome: 'skipped', figures: {}, error: 'another sync pass (a CLI sync or the other sync job) was running against this database' };
        }
        throw err;
      }
      deps.metrics.versionsAdded.inc({ job: name }, summary.versionsAdded);
      const figures = syncFigures(summary);
      if (summary.outcome === 'complete') return { outcome: 'succeeded', figures };
      return {
        outcome: 'failed',
        figures,
        error: `${summary.listingFailures.length} listing(s) and ${summary.unitFailures.length} session window(s) failed; stored progress is kept and the next run retries them`,
      };
    },
  };
}

function syncFigures(s: SyncSummary): JobFigures {
  return {
    syncRunId: s.runId,
    mode: s.mode,
    syncOutcome: s.outcome,
    windowsComplete: s.windowsComplete.length,
    windowsOpen: s.windowsOpen.length,
    windowsIncomplete: s.windowsIncomplete.length,
    windowsExpiredIncomplete: s.windowsExpiredIncomplete,
    listingFailures: s.listingFailures.length,
    unitsAttempted: s.unitsAttempted,
    unitsSucceeded: s.unitsSucceeded,
    unitsFailed: s.unitFailures.length,
    sessionsKnown: s.sessionsKnown,
    versionsSeen: s.versionsSeen,
    versionsAdded: s.versionsAdded,
    malformedItems: s.malformedItems,
    apiCalls: s.apiCalls,
    callsByKind: s.callsByKind,
    readsByKind: s.readsByKind,
    sessionsNew: s.sessionsNew,
    listingMisses: s.listingMisses,
    atRisk: s.atRisk.map((r) => r.monthStart),
    durationMs: s.durationMs,
  };
}

function legalHoldJob(deps: JobDependencies, schedule: string): JobDefinition {
  return {
    name: 'legal-hold',
    schedule,
    description: "legal hold: refresh the matters from Zoom, list every active matter's files, download and verify what is ready",
    catchUpOnStart: true,
    usesZoom: true,
    async run(ctx) {
      const summary = await runLegalHoldPass({ pool: deps.pool, zoom: zoomClient(deps), config: deps.config, logger: ctx.moduleLogger, clock: deps.clock, signal: ctx.signal, fences: ctx.fences });
      const figures = legalHoldFigures(summary);
      if (!passHasFailures(summary)) return { outcome: 'succeeded', figures };
      return { outcome: 'failed', figures, error: describeLegalHoldFailures(summary) };
    },
  };
}

function legalHoldFigures(s: LegalHoldPassSummary): JobFigures {
  return {
    mattersListed: s.matters.listed,
    mattersDiscovered: s.matters.discovered.length,
    mattersChanged: s.matters.changed.length,
    mattersDeletedInZoom: s.matters.deletedInZoom.length,
    mattersMalformed: s.matters.malformed.length,
    custodians: s.files.custodians,
    filesListed: s.files.filesListed,
    filesAdded: s.files.added,
    filesBecameReady: s.files.becameReady,
    fileListingFailures: s.files.failures.length,
    filesUnready: s.files.unready.length,
    downloadsStored: s.downloads?.stored.length ?? 0,
    downloadsFailed: s.downloads?.failed.length ?? 0,
    downloadsSkipped: s.downloads?.skipped ?? 0,
    bytesStored: s.downloads?.bytes ?? 0,
    downloadsStoppedBy: s.downloads?.stoppedBy?.code ?? null,
  };
}

function describeLegalHoldFailures(s: LegalHoldPassSummary): string {
  const parts: string[] = [];
  if (s.files.failures.length > 0) parts.push(`${s.files.failures.length} custodian file listing(s) failed`);
  if (s.matters.malformed.length > 0) parts.push(`${s.matters.malformed.length} matter(s) from Zoom had no usable id`);
  if (s.downloads && s.downloads.failed.length > 0) parts.push(`${s.downloads.failed.length} download(s) failed`);
  if (s.downloads?.stoppedBy) parts.push(`downloads stopped early: ${s.downloads.stoppedBy.message}`);
  return `${parts.join('; ')}; what was stored is kept and the next run retries the rest`;
}

function horizonCheckJob(deps: JobDependencies, schedule: string): JobDefinition {
  return {
    name: 'horizon-check',
    schedule,
    description:
      "horizon risk and sync cost: report every window that is not complete and starts leaving Zoom's six-month horizon within SYNC_HORIZON_RISK_DAYS, and warn when the account outgrows the rate budget",
    catchUpOnStart: true,
    usesZoom: false,
    async run(ctx) {
      const status = await assessHorizonStatus(deps.pool, deps.clock, deps.config.sync);
      const expired = await listWindowsExpiredIncomplete(deps.pool);
      for (const risk of status.atRisk) {
        ctx.logger.error(
          { window: risk.monthStart, from: risk.from, daysUntilExpiry: risk.daysUntilExpiry, leavesHorizonOn: risk.leavesHorizonOn },
          `HORIZON RISK: window ${risk.monthStart} is not complete and its oldest day leaves Zoom's six-month horizon in ${risk.daysUntilExpiry} day(s) (${risk.leavesHorizonOn}); after that its data is gone for good`,
        );
      }
      if (status.atRisk.length === 0) ctx.logger.info({ windows: status.windows.length }, 'horizon check: no window at risk');
      const cost = await loadCostPlan(deps.pool, deps.clock, deps.config.sync, deps.config.zoom.ratePerSecond.medium);
      for (const warning of cost.warnings) {
        ctx.logger.warn({ knownSessions: cost.knownSessions, recurringPeak: cost.projected.recurringPeak, budgetPerDay: cost.budgetPerDay, daysUntilOverBudget: cost.growth.daysUntilOverBudget }, `SYNC COST: ${warning}`);
      }
      return {
        outcome: 'succeeded',
        figures: {
          today: status.today,
          horizonStart: status.horizonStart,
          windows: status.windows.length,
          windowsComplete: status.windows.filter((w) => w.complete).length,
          atRisk: status.atRisk.map((r) => ({ window: r.monthStart, daysUntilExpiry: r.daysUntilExpiry, leavesHorizonOn: r.leavesHorizonOn })),
          oldestIncompleteDaysUntilExpiry: status.oldestIncompleteDaysUntilExpiry,
          windowsExpiredIncomplete: expired,
          knownSessions: cost.knownSessions,
          recurringCallsPeak: cost.projected.recurringPeak,
          budgetPerDay: cost.budgetPerDay,
          costWarnings: cost.warnings,
        },
      };
    },
  };
}
