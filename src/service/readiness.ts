import type { SyncConfig } from '../config/config.js';
import type { Pool } from '../db/pool.js';
import { migrationStatus } from '../db/migrate.js';
import type { Queryable } from '../db/pool.js';
import { pingDatabase } from '../read-model/database-reachable.js';
import { assessHorizonStatus } from '../read-model/horizon.js';
import { findLatestSyncPass } from '../read-model/sync-runs.js';
import type { Clock } from '../util/clock.js';
import { inBoundedTransaction } from './bounded-transaction.js';
import { DatabaseError } from '../errors.js';

/**
 * Readiness, in two strengths; each check names what is wrong, and when the database cannot be
 * reached the others are not attempted.
 *
 * `/readyz` — can this instance serve requests? What a load balancer or a Kubernetes readinessProbe
 * should ask: a fresh install is ready while its first backfill runs, and a failed sync does not
 * take the API out of service (archive health belongs to alerts, metrics and `status`).
 * - database: a connection and `SELECT 1` within the check deadline;
 * - migrations: every migration in migrations/ applied, none edited after it was applied.
 *
 * `/readyz/strict` — the above, and is the archive healthy? For a blackbox probe that alerts:
 * - last_sync: the latest finished sync pass (service or CLI; one stopped by a signal is not
 *   counted) did not fail or leave work undone;
 * - horizon: no window that is not complete starts leaving Zoom's horizon within
 *   SYNC_HORIZON_RISK_DAYS (the same rule as `sync` and `status`).
 */

export type CheckName = 'database' | 'migrations' | 'last_sync' | 'horizon';

export interface CheckResult {
  ok: boolean;
  /** What was found, in words an operator can act on. */
  detail: string;
}

export interface Readiness {
  ready: boolean;
  /** The checks that failed (a check not run because the database is unreachable is not listed). */
  failing: CheckName[];
  /** The instance is stopping: not ready whatever the checks say. */
  shuttingDown: boolean;
  /** The checks made (last_sync and horizon only with `strict`). */
  checks: Partial<Record<CheckName, CheckResult | { ok: null; detail: string }>>;
}

const CHECK_TIMEOUT_MS = 3_000;

export async function checkReadiness(deps: {
  pool: Pool;
  clock: Clock;
  sync: Pick<SyncConfig, 'settleHours' | 'horizonMarginDays' | 'horizonRiskDays'>;
  shuttingDown: boolean;
  /** Also judge the archive (last sync, horizon): /readyz/strict. */
  strict?: boolean;
}): Promise<Readiness> {
  const skipped = { ok: null, detail: 'not checked: the database is unreachable' } as const;
  const checks: Partial<Readiness['checks']> & Pick<Readiness['checks'], 'database'> = {
    database: { ok: false, detail: '' },
    migrations: skipped,
    ...(deps.strict ? { last_sync: skipped, horizon: skipped } : {}),
  };
  try {
    await withDeadline(
      inBoundedTransaction(deps.pool, { statementTimeoutMs: CHECK_TIMEOUT_MS, readOnly: true }, async (client) => {
        await pingDatabase(client);
        checks.database = { ok: true, detail: 'reachable' };
        checks.migrations = await checkMigrations(client);
        if (!deps.strict) return;
        checks.last_sync = await checkLastSync(client);
        const horizon = await assessHorizonStatus(client, deps.clock, deps.sync);
        checks.horizon =
          horizon.atRisk.length === 0
            ? { ok: true, detail: horizon.oldestIncompleteDaysUntilExpiry === null ? 'every window is complete' : `the oldest incomplete window starts leaving the horizon in ${horizon.oldestIncompleteDaysUntilExpiry} day(s)` }
            : {
                ok: false,
                detail: horizon.atRisk
                  .map((r) => `window ${r.monthStart} is not complete and its oldest day (${r.from}) leaves Zoom's horizon in ${r.daysUntilExpiry} day(s), on ${r.leavesHorizonOn}`)
                  .join('; '),
              };
      }),
      CHECK_TIMEOUT_MS + 1_000,
    );
  } catch (err) {
    if (checks.database?.ok !== true) checks.database = { ok: false, detail: `cannot reach PostgreSQL: ${describeDatabaseError(err)}` };
    else {
      // The database answered, then a later check failed to run: report it on the check that failed.
      for (const name of ['migrations', 'last_sync', 'horizon'] as const) {
        if (checks[name]?.ok === null) {
          checks[name] = { ok: false, detail: `check could not run: ${describeDatabaseError(err)}` };
          break;
        }
      }
    }
  }
  const failing = (Object.keys(checks) as CheckName[]).filter((name) => checks[name]?.ok === false);
  return { ready: failing.length === 0 && !deps.shuttingDown, failing, shuttingDown: deps.shuttingDown, checks };
}

async function checkMigrations(client: Parameters<typeof migrationStatus>[0]): Promise<CheckResult> {
  try {
    const status = await migrationStatus(client);
    if (status.pending > 0) return { ok: false, detail: `${status.pending} of ${status.known} migration(s) not applied; restart a replica (every start migrates) or run \`zoom-chat-archiver migrate\`` };
    return { ok: true, detail: `${status.applied} migration(s) applied, none pending` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

async function checkLastSync(client: Queryable): Promise<CheckResult> {
  const last = await findLatestSyncPass(client, 'judged');
  if (!last?.finished_at) return { ok: true, detail: 'no sync pass has finished yet' };
  const when = last.finished_at.toISOString();
  if (last.outcome === 'complete') return { ok: true, detail: `sync pass #${last.run_id} (${last.mode}) finished complete at ${when}` };
  return { ok: false, detail: `sync pass #${last.run_id} (${last.mode}) finished ${last.outcome} at ${when}${last.error ? `: ${last.error}` : ''}` };
}

function describeDatabaseError(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/postgres(?:ql)?:\/\/\S+/g, '(database URL)');
  return String(err);
}

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseError('DATABASE_UNAVAILABLE', `no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
