import { loadFileFigures } from './chat-files.js';
import { loadProofStatus, type ProofStatus } from '../audit/proof-status.js';
import type { SyncConfig } from '../config/config.js';
import { loadCostPlan, toCostPlanReport, type CostPlanReport } from '../sync/cost-plan.js';
import type { Queryable } from '../db/pool.js';
import type { Clock } from '../util/clock.js';
import { countArchiveTotals } from './archive-totals.js';
import { assessHorizonStatus, listWindowSummaries, type WindowSummary } from './horizon.js';
import { findLatestSyncPass, type SyncPassRow } from './sync-runs.js';

/**
 * What `status` (and GET /v1/status) reports about the archive, gathered in one place: how fresh
 * the last sync is and how it ended, the horizon and its windows, totals, the session windows that
 * keep failing, legal-hold files that are not stored, exports running, each job's last run, and
 * which process holds which lock right now.
 *
 * The shape is an object of named sections (snake_case, as the HTTP API): consumers of
 * `status --json` may rely on every section and field below being there; new sections are only
 * ever added. GET /v1/status shows the same report (src/service/routes/status.ts), without the
 * exact totals.
 *
 * Every query reads a documented `public` view (the read model), over small tables or an index;
 * sessions and versions are counted exactly: one scan of message_versions, about a second per few
 * million rows. The horizon is judged by horizon.ts, exactly as the sync engine judges it.
 */

export const STATUS_FORMAT_VERSION = 1;
/** How many failing session windows and unstored legal-hold files are listed (the counts are exact). */
export const STATUS_LIST_LIMIT = 20;

export interface StatusReport {
  format_version: number;
  generated_at: string;
  last_sync: {
    /** The latest sync pass that finished (any outcome; a pass still running is under `running`). */
    last_finished: SyncPassSummary | null;
    /** The latest pass that finished complete: what "archive up to date as of" means. */
    last_complete: SyncPassSummary | null;
    running: Pick<SyncPassSummary, 'run_id' | 'mode' | 'started_at' | 'age_seconds'> | null;
  };
  horizon: {
    today: string;
    start: string;
    risk_days: number;
    at_risk: Array<{ window: string; days_until_expiry: number; leaves_horizon_on: string }>;
    oldest_incomplete_days_until_expiry: number | null;
  };
  windows: WindowSummary[];
  /** Exact counts; null when left out (GET /v1/status, polled by dashboards: /metrics has cached totals). */
  totals: { sessions: number; messages: number; versions: number; malformed_items: number } | null;
  failing_units: {
    count: number;
    items: Array<{ window: string; session_id: string; failures: number; last_error: string | null; last_error_at: string | null }>;
  };
  legal_hold: {
    matters: Record<string, number>;
    files: Record<'pending' | 'ready' | 'downloading' | 'stored' | 'failed', number>;
    /** Files not stored yet, failed ones first (then the longest waiting). */
    not_stored: Array<{ matter_id: string; matter_name: string; custodian: string; file_key: string; state: string; attempts: number; last_error: string | null; unready_hours: number | null }>;
  };
  /** Files shared in chat (view chat_files; src/files/): distinct files by capture state, and the ones not stored. */
  files: {
    by_state: Record<string, number>;
    stored_bytes: number;
    digest_mismatches: number;
    /** Failed and gone files, failed ones first (newest attempt first). */
    not_stored: Array<{ file_id: string; file_name: string | null; state: string; attempts: number; last_error: string | null; first_missing_at: string | null }>;
  };
  exports: {
    running: Array<{ export_id: string; requested_by: string; requested_at: string; age_seconds: number; progress: unknown }>;
    failed_last_7_days: number;
  };
  jobs: Array<{ job: string; instance: string; started_at: string; finished_at: string | null; outcome: string; error: string | null }>;
  locks: Array<{ name: string; fence: string; holder: string; acquired_at: string }>;
  /** What keeping the archive current costs in Zoom's MEDIUM budget (src/sync/cost-plan.ts); null when not asked for. */
  sync_cost: CostPlanReport | null;
  /** Tamper evidence and retention (src/audit/proof-status.ts): the chain head to publish, seals, disposals. */
  audit: ProofStatus;
}

export interface SyncPassSummary {
  run_id: number;
  mode: string;
  outcome: string;
  started_at: string;
  finished_at: string | null;
  /** Seconds since it finished (since it started, while running). */
  age_seconds: number;
  error: string | null;
}

export interface StatusDependencies {
  db: Queryable;
  clock: Clock;
  sync: Readonly<SyncConfig>;
  /** The configured MEDIUM pace: with it the report includes the sync cost plan. */
  mediumRatePerSecond?: number;
  /** Count sessions, messages and versions exactly (a scan of message_versions). Default true. */
  totals?: boolean;
}

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export async function gatherStatus(deps: StatusDependencies): Promise<StatusReport> {
  const { db, clock } = deps;
  const now = clock.now();
  const ageSeconds = (d: Date) => Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));

  const horizon = await assessHorizonStatus(db, clock, deps.sync);
  const windows = await listWindowSummaries(db);

  const summarise = (r: SyncPassRow | undefined): SyncPassSummary | null =>
    r === undefined
      ? null
      : { run_id: r.run_id, mode: r.mode, outcome: r.outcome, started_at: r.started_at.toISOString(), finished_at: iso(r.finished_at), age_seconds: ageSeconds(r.finished_at ?? r.started_at), error: r.error };
  const running = await findLatestSyncPass(db, 'running');
  const lastFinished = await findLatestSyncPass(db, 'finished');
  const lastComplete = await findLatestSyncPass(db, 'complete');

  const totals = deps.totals === false ? undefined : await countArchiveTotals(db);
  const failing = await db.query<{ window: string; session_id: string; failures: number; last_error: string | null; last_error_at: Date | null; total: number }>(
    `SELECT month_start AS window, session_id, failures, last_error, last_error_at, count(*) OVER ()::int AS total
     FROM public.sync_units WHERE failures > 0
     ORDER BY failures DESC, last_error_at DESC NULLS LAST, month_start, session_id LIMIT ${STATUS_LIST_LIMIT}`,
  );
  const matters = await db.query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM public.legal_hold_matters GROUP BY state ORDER BY state`);
  const files = await db.query<{ state: StatusReport['legal_hold']['files'] extends Record<infer K, number> ? K : never; n: number }>(
    `SELECT state, count(*)::int AS n FROM public.legal_hold_files GROUP BY state`,
  );
  const notStored = await db.query<StatusReport['legal_hold']['not_stored'][number]>(
    `SELECT matter_id, matter_name, custodian, file_key, state, attempts, last_error, unready_hours FROM public.legal_hold_files
     WHERE state <> 'stored' AND matter_state <> 'deleted_here'
     ORDER BY (state = 'failed') DESC, first_seen_at, matter_id, custodian, file_key LIMIT ${STATUS_LIST_LIMIT}`,
  );
  const exportsRunning = await db.query<{ export_id: string; requested_by: string; requested_at: Date; progress: unknown }>(
    `SELECT export_id, requested_by, requested_at, progress FROM public.export_bundles WHERE state = 'running' ORDER BY requested_at`,
  );
  const exportsFailed = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.export_bundles WHERE state = 'failed' AND requested_at > now() - interval '7 days'`);
  const jobs = await db.query<{ job: string; instance: string; started_at: Date; finished_at: Date | null; outcome: string; error: string | null }>(
    `SELECT DISTINCT ON (job) job, instance, started_at, finished_at, outcome, error FROM public.job_runs
     WHERE outcome <> 'skipped' ORDER BY job, started_at DESC`,
  );
  const locks = await db.query<{ name: string; fence: string; holder: string; acquired_at: Date }>(`SELECT name, fence, holder, acquired_at FROM public.lock_holders ORDER BY name`);
  const syncCost = deps.mediumRatePerSecond === undefined ? null : await loadCostPlan(db, clock, deps.sync, deps.mediumRatePerSecond);
  const audit = await loadProofStatus(db);

  const chatFiles = await loadFileFigures(db);
  const chatFilesNotStored = await db.query<{ file_id: string; file_name: string | null; state: string; attempts: number; last_error: string | null; first_missing_at: Date | null }>(
    `SELECT file_id, file_name, state, attempts, last_error, first_missing_at FROM archive.files
     WHERE state IN ('failed', 'gone') ORDER BY state = 'gone', last_attempt_at DESC NULLS LAST, file_id LIMIT ${STATUS_LIST_LIMIT}`,
  );
  const fileCounts: StatusReport['legal_hold']['files'] = { pending: 0, ready: 0, downloading: 0, stored: 0, failed: 0 };
  for (const r of files.rows) fileCounts[r.state] = r.n;
  return {
    format_version: STATUS_FORMAT_VERSION,
    generated_at: now.toISOString(),
    last_sync: {
      last_finished: summarise(lastFinished),
      last_complete: summarise(lastComplete),
      running: running ? { run_id: running.run_id, mode: running.mode, started_at: running.started_at.toISOString(), age_seconds: ageSeconds(running.started_at) } : null,
    },
    horizon: {
      today: horizon.today,
      start: horizon.horizonStart,
      risk_days: deps.sync.horizonRiskDays,
      at_risk: horizon.atRisk.map((r) => ({ window: r.monthStart, days_until_expiry: r.daysUntilExpiry, leaves_horizon_on: r.leavesHorizonOn })),
      oldest_incomplete_days_until_expiry: horizon.oldestIncompleteDaysUntilExpiry,
    },
    windows,
    totals: totals === undefined ? null : { sessions: totals.sessions, messages: totals.messages, versions: totals.versions, malformed_items: totals.malformedItems },
    failing_units: {
      count: failing.rows[0]?.total ?? 0,
      items: failing.rows.map((r) => ({ window: r.window, session_id: r.session_id, failures: r.failures, last_error: r.last_error, last_error_at: iso(r.last_error_at) })),
    },
    legal_hold: { matters: Object.fromEntries(matters.rows.map((r) => [r.state, r.n])), files: fileCounts, not_stored: notStored.rows },
    files: {
      by_state: chatFiles.byState,
      stored_bytes: chatFiles.storedBytes,
      digest_mismatches: chatFiles.digestMismatches,
      not_stored: chatFilesNotStored.rows.map((r) => ({ ...r, first_missing_at: iso(r.first_missing_at) })),
    },
    exports: {
      running: exportsRunning.rows.map((r) => ({ export_id: r.export_id, requested_by: r.requested_by, requested_at: r.requested_at.toISOString(), age_seconds: ageSeconds(r.requested_at), progress: r.progress })),
      failed_last_7_days: exportsFailed.rows[0]?.n ?? 0,
    },
    jobs: jobs.rows.map((r) => ({ job: r.job, instance: r.instance, started_at: r.started_at.toISOString(), finished_at: iso(r.finished_at), outcome: r.outcome, error: r.error })),
    locks: locks.rows.map((r) => ({ name: r.name, fence: r.fence, holder: r.holder, acquired_at: r.acquired_at.toISOString() })),
    sync_cost: syncCost && toCostPlanReport(syncCost),
    audit,
  };
}

/** `3 h 12 min ago` */
export function formatAge(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days ${hours % 24} h`;
}
