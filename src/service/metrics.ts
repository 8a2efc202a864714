import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
import { loadFileFigures } from '../read-model/chat-files.js';
import { FILE_STATES, type CaptureSummary } from '../files/index.js';
import { inBoundedTransaction } from './bounded-transaction.js';
import { loadLastSuccesses, type FinishedJobOutcome } from './job-run-store.js';

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

  readonly zoomCalls = new Counter({
    name: 'zca_zoom_api_calls_total',
    help: 'HTTP attempts against the Zoom API by logical endpoint and status ("network" for a failed connection); retries count separately',
    labelNames: ['endpoint', 'status'] as const,
    registers: [this.registry],
  });
  readonly zoomRateLimited = new Counter({
    name: 'zca_zoom_rate_limited_total',
    help: 'Zoom API answers with status 429 (rate limited), by logical endpoint',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  readonly jobRuns = new Counter({
    name: 'zca_job_runs_total',
    help: 'Runs of scheduled jobs by this process, by outcome (skipped: another process held the job)',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'zca_job_duration_seconds',
    help: 'Duration of job runs by this process (skipped ticks excluded)',
    labelNames: ['job', 'outcome'] as const,
    buckets: JOB_DURATION_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly jobRunning = new Gauge({
    name: 'zca_job_running',
    help: '1 while this process runs the job',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly ticksOverlapped = new Counter({
    name: 'zca_job_ticks_overlapped_total',
    help: 'Schedule ticks dropped because the previous run of the job in this process was still going',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly versionsAdded = new Counter({
    name: 'zca_sync_versions_added_total',
    help: 'Message versions newly archived by sync runs of this process',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly locksLost = new Counter({
    name: 'zca_lock_lost_total',
    help: 'Locks (job locks, the Zoom turn) this process lost while a run held them (connection cut, terminated, or taken over); the run stopped',
    labelNames: ['lock'] as const,
    registers: [this.registry],
  });
  readonly syncCalls = new Counter({
    name: 'zca_sync_calls_total',
    help: 'Report calls (HTTP attempts) of sync passes run by this process, by what they were for: listing, activity, backfill, settled, interim, resweep',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'zca_http_requests_total',
    help: 'HTTP requests served, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'zca_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_DURATION_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  // Read from the database at scrape time.
  private readonly databaseUp = new Gauge({ name: 'zca_database_up', help: '1 when the last scrape could read the database', registers: [this.registry] });
  private readonly windows = new Gauge({
    name: 'zca_sync_windows',
    help: 'Windows (calendar months) by status: complete, open (month not over), incomplete, expired (left the horizon before it was complete)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly windowsAtRisk = new Gauge({
    name: 'zca_horizon_windows_at_risk',
    help: 'Windows not complete whose oldest day leaves Zoom\'s horizon within SYNC_HORIZON_RISK_DAYS',
    registers: [this.registry],
  });
  private readonly oldestIncompleteDays = new Gauge({
    name: 'zca_horizon_oldest_incomplete_window_days_until_expiry',
    help: 'Days until the oldest window that is not complete starts leaving Zoom\'s six-month horizon (+Inf when every window is complete)',
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: 'zca_job_last_success_timestamp_seconds',
    help: 'When each job last finished successfully, on any replica (Unix time; 0 when it never has)',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  private readonly legalHoldFiles = new Gauge({
    name: 'zca_legal_hold_files',
    help: 'Legal-hold zip files by state (pending, ready, downloading, stored, failed)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly legalHoldStoredBytes = new Gauge({ name: 'zca_legal_hold_stored_bytes', help: 'Bytes of legal-hold zip files stored', registers: [this.registry] });
  private readonly filesByState = new Gauge({
    name: 'zca_files',
    help: 'Distinct files shared in chat (by Zoom file id) by capture state: pending, stored, failed, gone, too_large, skipped',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly filesStoredBytes = new Gauge({ name: 'zca_files_stored_bytes', help: 'Bytes in the content-addressed file store (each distinct content once)', registers: [this.registry] });
  private readonly filesStoredContents = new Gauge({ name: 'zca_files_stored_contents', help: 'Distinct contents in the file store', registers: [this.registry] });
  private readonly filesDigestMismatches = new Gauge({ name: 'zca_files_digest_mismatches', help: "Stored files whose SHA-256 differs from Zoom's digest (recorded, kept)", registers: [this.registry] });
  private readonly filesCaptured = new Counter({
    name: 'zca_files_captured_total',
    help: 'Files the capture stage finished in this process, by outcome (stored, deduplicated, failed, gone, too_large)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly filesCaptureErrors = new Counter({
    name: 'zca_files_capture_errors_total',
    help: 'File capture runs in this process that stopped early (disk full, unwritable store, credentials), by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly filesBytesCaptured = new Counter({ name: 'zca_files_captured_bytes_total', help: 'Bytes downloaded and stored by the capture stage in this process', registers: [this.registry] });
  private readonly exportsByState = new Gauge({
    name: 'zca_exports',
    help: 'Export bundles by state (running, complete, failed)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly exportBytes = new Gauge({ name: 'zca_export_bytes', help: 'Bytes of complete export bundles', registers: [this.registry] });
  private readonly archiveVersions = new Gauge({ name: 'zca_archive_message_versions', help: 'Message versions archived (exact; recomputed at most every 5 minutes)', registers: [this.registry] });
  private readonly archiveMessages = new Gauge({ name: 'zca_archive_messages', help: 'Distinct messages archived (exact; recomputed at most every 5 minutes)', registers: [this.registry] });
  private readonly archiveSessions = new Gauge({ name: 'zca_archive_sessions', help: 'Chat sessions known to the archive', registers: [this.registry] });
  private readonly archiveTotalsAge = new Gauge({
    name: 'zca_archive_totals_age_seconds',
    help: 'Age of the archive totals (zca_archive_message_versions, zca_archive_messages)',
    registers: [this.registry],
  });

  private readonly buildInfo = new Gauge({
    name: 'zca_build_info',
    help: 'Always 1; the labels say which version runs (and on which Node.js)',
    labelNames: ['version', 'node_version'] as const,
    registers: [this.registry],
  });

  // The sync cost plan (see sync/cost-plan.ts) and the listing calibration.
  private readonly costCallsLastDay = new Gauge({
    name: 'zca_sync_calls_last_day',
    help: 'Report calls of sync passes (any replica or CLI) in the last 24 hours, by kind: listing, activity, backfill, settled, interim, resweep',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly costProjected = new Gauge({
    name: 'zca_sync_projected_daily_calls',
    help: 'Projected recurring report calls a day: scenario="average", or "peak" (a day of the settled-month sweep)',
    labelNames: ['scenario'] as const,
    registers: [this.registry],
  });
  private readonly costBudget = new Gauge({ name: 'zca_sync_daily_call_budget', help: 'MEDIUM calls a day this archiver may make (plan rate × ZOOM_RATE_SHARE × 86400)', registers: [this.registry] });
  private readonly costDaysLeft = new Gauge({
    name: 'zca_sync_budget_days_left',
    help: 'Days until, at the current growth in sessions, the busiest day of recurring calls exceeds the budget (+Inf without growth, 0 when already over)',
    registers: [this.registry],
  });
  private readonly costWarning = new Gauge({ name: 'zca_sync_budget_warning', help: '1 while the cost plan warns that the account is outgrowing the rate share', registers: [this.registry] });
  private readonly listingMisses = new Counter({
    name: 'zca_listing_misses_total',
    help: 'Versions a settled-month (or interim) sweep found in sessions no listing had shown news for, by version kind (from the archive: any replica or CLI)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
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
    for (const status of ['complete', 'open', 'incomplete', 'expired']) this.windows.set({ status }, 0);
    for (const state of ['pending', 'ready', 'downloading', 'stored', 'failed']) this.legalHoldFiles.set({ state }, 0);
    for (const state of ['running', 'complete', 'failed']) this.exportsByState.set({ state }, 0);
    for (const state of FILE_STATES) this.filesByState.set({ state }, 0);
    for (const outcome of ['stored', 'deduplicated', 'failed', 'gone', 'too_large']) this.filesCaptured.inc({ outcome }, 0);
    for (const code of ['FILES_STORAGE_FULL', 'FILES_STORAGE_FAILED']) this.filesCaptureErrors.inc({ code }, 0);
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
    this.filesCaptured.inc({ outcome: 'stored' }, summary.stored - summary.deduplicated);
    this.filesCaptured.inc({ outcome: 'deduplicated' }, summary.deduplicated);
    this.filesCaptured.inc({ outcome: 'failed' }, summary.failed);
    this.filesCaptured.inc({ outcome: 'gone' }, summary.gone);
    this.filesCaptured.inc({ outcome: 'too_large' }, summary.tooLarge);
    this.filesBytesCaptured.inc(summary.bytes);
    if (summary.stoppedBy && summary.stoppedBy.code !== 'ABORTED') this.filesCaptureErrors.inc({ code: summary.stoppedBy.code });
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
        for (const status of ['complete', 'open', 'incomplete', 'expired']) this.windows.set({ status }, 0);
        for (const r of windows) this.windows.set({ status: r.status }, r.n);

        const horizon = await assessHorizonStatus(client, settings.clock, settings.sync);
        this.windowsAtRisk.set(horizon.atRisk.length);
        this.oldestIncompleteDays.set(horizon.oldestIncompleteDaysUntilExpiry ?? Infinity);

        const successes = await loadLastSuccesses(client, settings.jobNames);
        this.lastSuccess.reset();
        for (const job of new Set([...this.jobNames, ...settings.jobNames])) this.lastSuccess.set({ job }, (successes.get(job)?.getTime() ?? 0) / 1000);

        const figures = await loadScrapeFigures(client);
        this.legalHoldFiles.reset();
        for (const state of ['pending', 'ready', 'downloading', 'stored', 'failed']) this.legalHoldFiles.set({ state }, 0);
        for (const r of figures.legalHoldFiles) this.legalHoldFiles.set({ state: r.state }, r.n);
        this.legalHoldStoredBytes.set(figures.legalHoldFiles.reduce((sum, r) => sum + r.bytes, 0));

        this.exportsByState.reset();
        for (const state of ['running', 'complete', 'failed']) this.exportsByState.set({ state }, 0);
        for (const r of figures.exports) this.exportsByState.set({ state: r.state }, r.n);
        this.exportBytes.set(figures.exports.reduce((sum, r) => sum + r.bytes, 0));

        const files = await loadFileFigures(client);
        this.filesByState.reset();
        for (const state of FILE_STATES) this.filesByState.set({ state }, files.byState[state] ?? 0);
        this.filesStoredBytes.set(files.storedBytes);
        this.filesStoredContents.set(files.storedContents);
        this.filesDigestMismatches.set(files.digestMismatches);

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
