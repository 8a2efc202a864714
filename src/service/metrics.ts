import { Registry, collectDefaultMetrics } from 'prom-client';
import { ProofMetrics } from '../audit/proof-metrics.js';
import type { SyncConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import { CHAT_MESSAGE_ENDPOINTS, LEGAL_HOLD_ENDPOINTS, REPORT_ENDPOINTS } from '../domain/zoom-endpoints.js';
import { VERSION } from '../version.js';
import type { ZoomCallEvent } from '../zoom/client.js';
import { CALL_KINDS } from '../sync/call-accounting.js';
import { loadCostPlan } from '../sync/cost-plan.js';
import { countArchiveTotals, countSessions } from '../read-model/archive-totals.js';
import { assessHorizonStatus, countWindowsByStatus } from '../read-model/horizon.js';
import { loadScrapeFigures } from '../read-model/metrics-figures.js';
import type { CaptureSummary } from '../files/index.js';
import { inBoundedTransaction } from './bounded-transaction.js';
import { FileMetrics } from './file-metrics.js';
import { loadLastSuccesses, type FinishedJobOutcome } from './job-run-store.js';
import { definingIn } from './metric-definitions.js';

/**
 * Prometheus metrics, one Registry per service instance (tests can run several in one process).
 *
 * Two kinds:
 * - recorded in-process as things happen: Zoom API calls and 429s, job runs and their durations,
 *   versions added, HTTP requests;
 * - read from the database at scrape time (`refreshFromDatabase`), through the read model
 *   (src/read-model), so every replica reports the same archive state whoever ran the jobs. Each
 *   scrape query reads small tables only: sync_windows (one row per month), sync_units (sessions ×
 *   ~7 windows, aggregated per window), job_runs through a partial index (one probe per job),
 *   legal_hold_files and exports grouped by state. The exact archive totals (versions, messages)
 *   need a scan of message_versions, so they are recomputed in the background at most every
 *   ARCHIVE_TOTALS_MAX_AGE_MS and a scrape reports the last result (with its age) without waiting.
 *
 * Every series an alert or dashboard relies on exists from start-up with a value (0, or +Inf for
 * "no incomplete window"): Prometheus cannot alert on a series that is absent, so a job that never
 * succeeded reports a last success at 0 (1970) rather than nothing.
 */

export const ARCHIVE_TOTALS_MAX_AGE_MS = 5 * 60_000;
const SCRAPE_STATEMENT_TIMEOUT_MS = 5_000;
const TOTALS_STATEMENT_TIMEOUT_MS = 120_000;

// The label values of the gauges by state, each present (0 when none) at start-up and after every scrape.
const WINDOW_STATUSES = ['complete', 'open', 'incomplete', 'expired'];
const LEGAL_HOLD_FILE_STATES = ['pending', 'ready', 'downloading', 'stored', 'failed'];
const EXPORT_STATES = ['running', 'complete', 'failed'];

const JOB_DURATION_BUCKETS_SECONDS = [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
const HTTP_DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ScrapeSettings {
  pool: Pool;
  clock: Clock;
  sync: Readonly<SyncConfig>;
  /** MEDIUM requests per second this archiver may make (the budget of the cost plan). */
  mediumRatePerSecond: number;
  jobNames: readonly string[];
  logger: Logger;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly define = definingIn(this.registry);

  readonly zoomCalls = this.define.counter('zca_zoom_api_calls_total', 'HTTP attempts against the Zoom API by logical endpoint and status ("network" for a failed connection); retries count separately', ['endpoint', 'status']);
  readonly zoomRateLimited = this.define.counter('zca_zoom_rate_limited_total', 'Zoom API answers with status 429 (rate limited), by logical endpoint', ['endpoint']);
  readonly jobRuns = this.define.counter('zca_job_runs_total', 'Runs of scheduled jobs by this process, by outcome (skipped: another process held the job)', ['job', 'outcome']);
  readonly jobDuration = this.define.histogram('zca_job_duration_seconds', 'Duration of job runs by this process (skipped ticks excluded)', ['job', 'outcome'], JOB_DURATION_BUCKETS_SECONDS);
  readonly jobRunning = this.define.gauge('zca_job_running', '1 while this process runs the job', ['job']);
  readonly ticksOverlapped = this.define.counter('zca_job_ticks_overlapped_total', 'Schedule ticks dropped because the previous run of the job in this process was still going', ['job']);
  readonly versionsAdded = this.define.counter('zca_sync_versions_added_total', 'Message versions newly archived by sync runs of this process', ['job']);
  readonly locksLost = this.define.counter('zca_lock_lost_total', 'Locks (job locks, the Zoom turn) this process lost while a run held them (connection cut, terminated, or taken over); the run stopped', ['lock']);
  readonly syncCalls = this.define.counter('zca_sync_calls_total', 'Report calls (HTTP attempts) of sync passes run by this process, by what they were for: listing, activity, backfill, settled, interim, resweep', ['kind']);
  readonly httpRequests = this.define.counter('zca_http_requests_total', 'HTTP requests served, by route pattern and status', ['method', 'route', 'status']);
  readonly httpDuration = this.define.histogram('zca_http_request_duration_seconds', 'HTTP request duration by route pattern', ['method', 'route'], HTTP_DURATION_BUCKETS_SECONDS);

  // Read from the database at scrape time.
  private readonly databaseUp = this.define.gauge('zca_database_up', '1 when the last scrape could read the database');
  private readonly windows = this.define.gauge('zca_sync_windows', 'Windows (calendar months) by status: complete, open (month not over), incomplete, expired (left the horizon before it was complete)', ['status']);
  private readonly windowsAtRisk = this.define.gauge('zca_horizon_windows_at_risk', "Windows not complete whose oldest day leaves Zoom's horizon within SYNC_HORIZON_RISK_DAYS");
  private readonly oldestIncompleteDays = this.define.gauge('zca_horizon_oldest_incomplete_window_days_until_expiry', "Days until the oldest window that is not complete starts leaving Zoom's six-month horizon (+Inf when every window is complete)");
  private readonly lastSuccess = this.define.gauge('zca_job_last_success_timestamp_seconds', 'When each job last finished successfully, on any replica (Unix time; 0 when it never has)', ['job']);
  private readonly legalHoldFiles = this.define.gauge('zca_legal_hold_files', 'Legal-hold zip files by state (pending, ready, downloading, stored, failed)', ['state']);
  private readonly legalHoldStoredBytes = this.define.gauge('zca_legal_hold_stored_bytes', 'Bytes of legal-hold zip files stored');
  /** Files shared in chat: the store by capture state, and the capture runs of this process (file-metrics.ts). */
  private readonly files = new FileMetrics(this.registry);
  private readonly exportsByState = this.define.gauge('zca_exports', 'Export bundles by state (running, complete, failed)', ['state']);
  private readonly exportBytes = this.define.gauge('zca_export_bytes', 'Bytes of complete export bundles');
  private readonly archiveVersions = this.define.gauge('zca_archive_message_versions', 'Message versions archived (exact; recomputed at most every 5 minutes)');
  private readonly archiveMessages = this.define.gauge('zca_archive_messages', 'Distinct messages archived (exact; recomputed at most every 5 minutes)');
  private readonly archiveSessions = this.define.gauge('zca_archive_sessions', 'Chat sessions known to the archive');
  private readonly archiveTotalsAge = this.define.gauge('zca_archive_totals_age_seconds', 'Age of the archive totals (zca_archive_message_versions, zca_archive_messages)');

  private readonly buildInfo = this.define.gauge('zca_build_info', 'Always 1; the labels say which version runs (and on which Node.js)', ['version', 'node_version']);

  // The sync cost plan (see sync/cost-plan.ts) and the listing calibration.
  private readonly costCallsLastDay = this.define.gauge('zca_sync_calls_last_day', 'Report calls of sync passes (any replica or CLI) in the last 24 hours, by kind: listing, activity, backfill, settled, interim, resweep', ['kind']);
  private readonly costProjected = this.define.gauge('zca_sync_projected_daily_calls', 'Projected recurring report calls a day: scenario="average", or "peak" (a day of the settled-month sweep)', ['scenario']);
  private readonly costBudget = this.define.gauge('zca_sync_daily_call_budget', 'MEDIUM calls a day this archiver may make (plan rate × ZOOM_RATE_SHARE × 86400)');
  private readonly costDaysLeft = this.define.gauge('zca_sync_budget_days_left', 'Days until, at the current growth in sessions, the busiest day of recurring calls exceeds the budget (+Inf without growth, 0 when already over)');
  private readonly costWarning = this.define.gauge('zca_sync_budget_warning', '1 while the cost plan warns that the account is outgrowing the rate share');
  private readonly listingMisses = this.define.counter('zca_listing_misses_total', 'Versions a settled-month (or interim) sweep found in sessions no listing had shown news for, by version kind (from the archive: any replica or CLI)', ['kind']);
  private readonly listingMissesSeen = new Map<string, number>();
  /** The audit chain's head, seals and retention disposals (src/audit/proof-metrics.ts). */
  private readonly proof = new ProofMetrics(this.registry);

  private totals: { versions: number; messages: number; computedAtMs: number } | undefined;
  private totalsRefresh: Promise<void> | undefined;
  private readonly jobNames: readonly string[];

  /** `jobNames`: the registered jobs; `lockNames`: the locks their runs hold (both label sets are created at once). */
  constructor(options: { jobNames?: readonly string[]; lockNames?: readonly string[] } = {}) {
    collectDefaultMetrics({ register: this.registry });
    this.jobNames = options.jobNames ?? [];
    this.buildInfo.set({ version: VERSION, node_version: process.versions.node }, 1);
    for (const job of this.jobNames) {
      for (const outcome of ['succeeded', 'failed', 'skipped', 'aborted'] as const) this.jobRuns.inc({ job, outcome }, 0);
      this.jobRunning.set({ job }, 0);
      this.ticksOverlapped.inc({ job }, 0);
      this.lastSuccess.set({ job }, 0);
    }
    for (const job of this.jobNames.filter((j) => j === 'sync' || j === 'deep-sync')) this.versionsAdded.inc({ job }, 0);
    for (const lock of options.lockNames ?? []) this.locksLost.inc({ lock }, 0);
    for (const endpoint of [...Object.values(REPORT_ENDPOINTS), ...Object.values(LEGAL_HOLD_ENDPOINTS), ...Object.values(CHAT_MESSAGE_ENDPOINTS)]) this.zoomRateLimited.inc({ endpoint }, 0);
    for (const status of WINDOW_STATUSES) this.windows.set({ status }, 0);
    for (const state of LEGAL_HOLD_FILE_STATES) this.legalHoldFiles.set({ state }, 0);
    for (const state of EXPORT_STATES) this.exportsByState.set({ state }, 0);
    // Unknown until the first scrape reads the database; +Inf never trips a "< N days" alert.
    this.oldestIncompleteDays.set(Infinity);
    // Present from start-up, so rate() and absence-based alerts see every kind.
    for (const kind of CALL_KINDS) this.syncCalls.inc({ kind }, 0);
    for (const kind of ['original', 'edited', 'deleted']) this.listingMisses.inc({ kind }, 0);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Wire to ZoomClient's onCall. */
  recordZoomCall(event: ZoomCallEvent): void {
    this.zoomCalls.inc({ endpoint: event.endpoint, status: String(event.status) });
    if (event.status === 429) this.zoomRateLimited.inc({ endpoint: event.endpoint });
  }

  /** What one file capture run did (job `files`). */
  recordFileCapture(summary: CaptureSummary): void {
    this.files.recordCapture(summary);
  }

  recordJobRun(job: string, outcome: FinishedJobOutcome, durationMs: number | undefined): void {
    this.jobRuns.inc({ job, outcome });
    if (durationMs !== undefined) this.jobDuration.observe({ job, outcome }, durationMs / 1000);
  }

  /** Updates the database-derived gauges; a failure sets zca_database_up 0 and keeps the rest. */
  async refreshFromDatabase(settings: ScrapeSettings): Promise<void> {
    try {
      await inBoundedTransaction(settings.pool, { statementTimeoutMs: SCRAPE_STATEMENT_TIMEOUT_MS, readOnly: true }, async (client) => {
        const windows = await countWindowsByStatus(client);
        this.windows.reset();
        for (const status of WINDOW_STATUSES) this.windows.set({ status }, 0);
        for (const r of windows) this.windows.set({ status: r.status }, r.n);

        const horizon = await assessHorizonStatus(client, settings.clock, settings.sync);
        this.windowsAtRisk.set(horizon.atRisk.length);
        this.oldestIncompleteDays.set(horizon.oldestIncompleteDaysUntilExpiry ?? Infinity);

        const successes = await loadLastSuccesses(client, settings.jobNames);
        this.lastSuccess.reset();
        for (const job of new Set([...this.jobNames, ...settings.jobNames])) this.lastSuccess.set({ job }, (successes.get(job)?.getTime() ?? 0) / 1000);

        const figures = await loadScrapeFigures(client);
        this.legalHoldFiles.reset();
        for (const state of LEGAL_HOLD_FILE_STATES) this.legalHoldFiles.set({ state }, 0);
        for (const r of figures.legalHoldFiles) this.legalHoldFiles.set({ state: r.state }, r.n);
        this.legalHoldStoredBytes.set(figures.legalHoldFiles.reduce((sum, r) => sum + r.bytes, 0));

        this.exportsByState.reset();
        for (const state of EXPORT_STATES) this.exportsByState.set({ state }, 0);
        for (const r of figures.exports) this.exportsByState.set({ state: r.state }, r.n);
        this.exportBytes.set(figures.exports.reduce((sum, r) => sum + r.bytes, 0));

        await this.files.refresh(client);

        this.archiveSessions.set(await countSessions(client));

        const cost = await loadCostPlan(client, settings.clock, settings.sync, settings.mediumRatePerSecond);
        for (const kind of CALL_KINDS) this.costCallsLastDay.set({ kind }, cost.measured.callsByKind[kind]);
        this.costProjected.set({ scenario: 'average' }, cost.projected.recurringAverage);
        this.costProjected.set({ scenario: 'peak' }, cost.projected.recurringPeak);
        this.costBudget.set(cost.budgetPerDay);
        this.costDaysLeft.set(cost.growth.daysUntilOverBudget ?? Number.POSITIVE_INFINITY);
        this.costWarning.set(cost.warnings.length > 0 ? 1 : 0);

        // A counter: the archive's rows only grow, so each scrape adds what is new since the last.
        for (const r of figures.listingMisses) {
          const delta = r.n - (this.listingMissesSeen.get(r.kind) ?? 0);
          if (delta > 0) this.listingMisses.inc({ kind: r.kind }, delta);
          this.listingMissesSeen.set(r.kind, r.n);
        }

        await this.proof.refresh(client);
      });
      this.databaseUp.set(1);
    } catch (err) {
      this.databaseUp.set(0);
      settings.logger.warn({ err }, 'metrics scrape: could not read the database; reporting what is known');
      return;
    }
    await this.refreshArchiveTotals(settings);
  }

  /**
   * Exact totals cost a scan of message_versions (about a second per few million rows): the first
   * scrape waits for them, later scrapes start a refresh in the background when they are older than
   * ARCHIVE_TOTALS_MAX_AGE_MS and report the previous figures meanwhile.
   */
  private async refreshArchiveTotals(settings: ScrapeSettings): Promise<void> {
    const nowMs = Date.now();
    const stale = this.totals === undefined || nowMs - this.totals.computedAtMs >= ARCHIVE_TOTALS_MAX_AGE_MS;
    if (stale && this.totalsRefresh === undefined) {
      this.totalsRefresh = computeArchiveTotals(settings.pool)
        .then((t) => {
          this.totals = { ...t, computedAtMs: Date.now() };
        })
        .catch((err: unknown) => settings.logger.warn({ err }, 'metrics: could not count the archive; keeping the previous totals'))
        .finally(() => {
          this.totalsRefresh = undefined;
        });
    }
    if (this.totals === undefined && this.totalsRefresh !== undefined) await this.totalsRefresh;
    if (this.totals !== undefined) {
      this.archiveVersions.set(this.totals.versions);
      this.archiveMessages.set(this.totals.messages);
      this.archiveTotalsAge.set((Date.now() - this.totals.computedAtMs) / 1000);
    }
  }

  /** Waits for a background totals refresh, so shutdown never closes the pool under it. */
  async drain(): Promise<void> {
    await this.totalsRefresh;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

async function computeArchiveTotals(pool: Pool): Promise<{ versions: number; messages: number }> {
  const totals = await inBoundedTransaction(pool, { statementTimeoutMs: TOTALS_STATEMENT_TIMEOUT_MS, readOnly: true }, (client) => countArchiveTotals(client));
  return { versions: totals.versions, messages: totals.messages };
}
