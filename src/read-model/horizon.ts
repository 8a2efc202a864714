import { loadWindows } from '../archive/checkpoint-store.js';
import type { SyncConfig } from '../config/config.js';
import type { Queryable } from '../db/pool.js';
import type { IsoDate } from '../domain/types.js';
import { computeHorizon, daysUntilExpiry } from '../sync/horizon.js';
import { assessHorizonRisk, type WindowRisk } from '../sync/horizon-risk.js';
import type { Clock } from '../util/clock.js';

/**
 * The horizon and its windows: how far each is from leaving Zoom's six-month horizon, which are at
 * risk, which left it incomplete. Shared by `status` and GET /v1/status, the horizon-check job,
 * /readyz/strict and /metrics, so they never disagree.
 */

export interface HorizonStatus {
  today: IsoDate;
  horizonStart: IsoDate;
  windows: Array<{ monthStart: IsoDate; from: IsoDate; to: IsoDate; complete: boolean; daysUntilExpiry: number }>;
  atRisk: WindowRisk[];
  /** Days until the oldest window that is not complete starts leaving the horizon; null when all are complete. */
  oldestIncompleteDaysUntilExpiry: number | null;
}

/**
 * The horizon as of now, judged exactly as the sync engine judges it: the same horizon, margin and
 * risk rule, over the same window states (checkpoint-store's loadWindows, one row per month — cheap at
 * any archive size). It does not read the `sync_windows` view on purpose: the view's horizon is
 * "today minus six months" by the database's clock, without SYNC_HORIZON_MARGIN_DAYS or the
 * injected clock the engine uses.
 */
export async function assessHorizonStatus(db: Queryable, clock: Clock, settings: Pick<SyncConfig, 'settleHours' | 'horizonMarginDays' | 'horizonRiskDays'>): Promise<HorizonStatus> {
  const horizon = computeHorizon(clock.now(), { settleHours: settings.settleHours, marginDays: settings.horizonMarginDays });
  const states = await loadWindows(db, horizon.windows.map((w) => w.monthStart));
  const windows = horizon.windows.map((w) => ({
    monthStart: w.monthStart,
    from: w.from,
    to: w.to,
    complete: Boolean(states.get(w.monthStart)?.completedAt),
    daysUntilExpiry: daysUntilExpiry(w, horizon.today, settings.horizonMarginDays),
  }));
  const incomplete = windows.filter((w) => !w.complete);
  return {
    today: horizon.today,
    horizonStart: horizon.start,
    windows,
    atRisk: assessHorizonRisk(horizon, states, settings),
    oldestIncompleteDaysUntilExpiry: incomplete.length === 0 ? null : Math.min(...incomplete.map((w) => w.daysUntilExpiry)),
  };
}

/** One window as `status` lists it (columns of the `sync_windows` view, under the report's names). */
export type WindowSummary = {
  window: IsoDate;
  from: IsoDate;
  to: IsoDate;
  status: 'complete' | 'open' | 'incomplete' | 'expired';
  sessions: number;
  units: number;
  units_complete: number;
  failing: number;
  /** A sum of versions added (SQL numeric), as exact decimal text. */
  versions: string;
  last_swept_at: Date | null;
  days_until_expiry: number | null;
  listed_at: Date | null;
  completed_at: Date | null;
};

/**
 * The windows worth showing, oldest first, from the `sync_windows` view: every window still in the
 * horizon, and expired ones of the last eight months (an expired window stays a fact to report, but
 * not forever).
 */
export async function listWindowSummaries(db: Queryable): Promise<WindowSummary[]> {
  const res = await db.query<WindowSummary>(
    `SELECT month_start AS window, range_from AS "from", range_to AS "to", status, sessions_listed AS sessions,
            units, units_complete, units_failing AS failing, versions_archived AS versions, last_swept_at, days_until_expiry,
            listed_at, completed_at
     FROM public.sync_windows
     WHERE status <> 'expired' OR month_start >= (now() AT TIME ZONE 'utc')::date - interval '8 months'
     ORDER BY month_start`,
  );
  return res.rows;
}

/** Windows by status (`sync_windows` view), for /metrics. */
export async function countWindowsByStatus(db: Queryable): Promise<Array<{ status: string; n: number }>> {
  return (await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM public.sync_windows GROUP BY status`)).rows;
}

/**
 * Windows a sync pass recorded as having left the horizon before they were complete: what was
 * missing in them can no longer be archived.
 *
 * Reads archive.sync_windows, not the view, for a documented reason: the view's `status =
 * 'expired'` also counts a window that has passed the view's six-month line (database clock, no
 * SYNC_HORIZON_MARGIN_DAYS) before any sync pass recorded its expiry, and it has no `expired_at`
 * column. This lists what the sync engine recorded (`expired_at`, set by expireWindows), the same
 * windows a sync pass reports as windowsExpiredIncomplete. Once a pass has run the two agree
 * (test/read-model/index-use-and-agreement.test.ts).
 */
export async function listWindowsExpiredIncomplete(db: Queryable): Promise<IsoDate[]> {
  const res = await db.query<{ month_start: IsoDate }>(
    `SELECT month_start FROM archive.sync_windows WHERE expired_at IS NOT NULL AND completed_at IS NULL ORDER BY month_start`,
  );
  return res.rows.map((r) => r.month_start);
}
