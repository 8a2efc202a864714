import type { IsoDate } from '../domain/types.js';
import type { Queryable } from '../db/pool.js';

/**
 * Sync progress lives in the database, never in process memory: windows (calendar months) and
 * units (window × session). A unit is complete once a sweep through its month's last day started
 * after the month settled; a window is complete once it is listed after settling and every one of
 * its units is complete.
 */

export interface WindowState {
  monthStart: IsoDate;
  monthEnd: IsoDate;
  listedThrough: IsoDate | null;
  listedAt: Date | null;
  completedAt: Date | null;
  expiredAt: Date | null;
}

export interface UnitState {
  monthStart: IsoDate;
  sessionId: string;
  coveredThrough: IsoDate | null;
  sweptAt: Date | null;
  completedAt: Date | null;
  resweepRequestedAt: Date | null;
  sweepFrom: IsoDate | null;
  sweepTo: IsoDate | null;
  sweepStartedAt: Date | null;
  resumeToken: string | null;
  resumeTokenAt: Date | null;
  failures: number;
}

export async function ensureWindows(db: Queryable, windows: ReadonlyArray<{ monthStart: IsoDate; monthEnd: IsoDate }>): Promise<void> {
  await db.query(
    `INSERT INTO archive.sync_windows (month_start, month_end)
     SELECT * FROM unnest($1::date[], $2::date[])
     ON CONFLICT (month_start) DO NOTHING`,
    [windows.map((w) => w.monthStart), windows.map((w) => w.monthEnd)],
  );
}

/** Marks months that have left the horizon; returns those that leave incomplete (data lost). */
export async function expireWindows(db: Queryable, horizonStart: IsoDate): Promise<Array<{ monthStart: IsoDate; complete: boolean }>> {
  const res = await db.query<{ month_start: string; complete: boolean }>(
    `UPDATE archive.sync_windows SET expired_at = now()
     WHERE month_end < $1::date AND expired_at IS NULL
     RETURNING month_start, completed_at IS NOT NULL AS complete`,
    [horizonStart],
  );
  return res.rows.map((r) => ({ monthStart: r.month_start, complete: r.complete }));
}

export async function loadWindows(db: Queryable, monthStarts: readonly IsoDate[]): Promise<Map<IsoDate, WindowState>> {
  const res = await db.query<{
    month_start: string;
    month_end: string;
    listed_through: string | null;
    listed_at: Date | null;
    completed_at: Date | null;
    expired_at: Date | null;
  }>(
    `SELECT month_start, month_end, listed_through, listed_at, completed_at, expired_at
     FROM archive.sync_windows WHERE month_start = ANY($1::date[])`,
    [monthStarts],
  );
  return new Map(
    res.rows.map((r) => [
      r.month_start,
      {
        monthStart: r.month_start,
        monthEnd: r.month_end,
        listedThrough: r.listed_through,
        listedAt: r.listed_at,
        completedAt: r.completed_at,
        expiredAt: r.expired_at,
      },
    ]),
  );
}

export async function recordListing(
  db: Queryable,
  listing: { monthStart: IsoDate; listedThrough: IsoDate; listedAt: Date; sessionsListed: number },
): Promise<void> {
  await db.query(
    `UPDATE archive.sync_windows
     SET listed_through = $2::date, listed_at = $3, sessions_listed = greatest(sessions_listed, $4::int)
     WHERE month_start = $1::date`,
    [listing.monthStart, listing.listedThrough, listing.listedAt, listing.sessionsListed],
  );
}

/**
 * Every known session gets a unit in every given window: an edit or deletion of an old message can
 * happen in any window after the message was sent, and with query_all_modifications=true it is
 * reported in the window where it happened. A window that gains units is no longer complete.
 */
export async function ensureUnits(db: Queryable, monthStarts: readonly IsoDate[]): Promise<number> {
  const res = await db.query<{ added: number }>(
    `WITH new_units AS (
       INSERT INTO archive.sync_units (month_start, session_id)
       SELECT m, s.session_id FROM unnest($1::date[]) AS m CROSS JOIN archive.sessions s
       ON CONFLICT (month_start, session_id) DO NOTHING
       RETURNING month_start
     ), reopened AS (
       UPDATE archive.sync_windows w SET completed_at = NULL
       WHERE w.completed_at IS NOT NULL AND w.month_start IN (SELECT DISTINCT month_start FROM new_units)
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM new_units)::int AS added, (SELECT count(*) FROM reopened)::int AS reopened`,
    [monthStarts],
  );
  return res.rows[0]?.added ?? 0;
}

/** `sync --all`: every unit of these windows is swept again from its window's first day. */
export async function requestFullResweep(db: Queryable, monthStarts: readonly IsoDate[], at: Date): Promise<number> {
  const res = await db.query(
    `UPDATE archive.sync_units SET resweep_requested_at = $2
     WHERE month_start = ANY($1::date[]) AND resweep_requested_at IS NULL`,
    [monthStarts, at],
  );
  return res.rowCount ?? 0;
}

type UnitRow = {
  month_start: string;
  session_id: string;
  covered_through: string | null;
  swept_at: Date | null;
  completed_at: Date | null;
  resweep_requested_at: Date | null;
  sweep_from: string | null;
  sweep_to: string | null;
  sweep_started_at: Date | null;
  resume_token: string | null;
  resume_token_at: Date | null;
  failures: number;
};

function toUnitState(r: UnitRow): UnitState {
  return {
    monthStart: r.month_start,
    sessionId: r.session_id,
    coveredThrough: r.covered_through,
    sweptAt: r.swept_at,
    completedAt: r.completed_at,
    resweepRequestedAt: r.resweep_requested_at,
    sweepFrom: r.sweep_from,
    sweepTo: r.sweep_to,
    sweepStartedAt: r.sweep_started_at,
    resumeToken: r.resume_token,
    resumeTokenAt: r.resume_token_at,
    failures: r.failures,
  };
}

/** Units with work left in these windows, oldest window first (it leaves the horizon first). */
export async function loadDueUnits(db: Queryable, monthStarts: readonly IsoDate[]): Promise<UnitState[]> {
  const res = await db.query<UnitRow>(
    `SELECT month_start, session_id, covered_through, swept_at, completed_at, resweep_requested_at,
            sweep_from, sweep_to, sweep_started_at, resume_token, resume_token_at, failures
     FROM archive.sync_units
     WHERE month_start = ANY($1::date[]) AND (completed_at IS NULL OR resweep_requested_at IS NOT NULL)
     ORDER BY month_start, session_id`,
    [monthStarts],
  );
  return res.rows.map(toUnitState);
}

export interface SweepCompletion {
  monthStart: IsoDate;
  sessionId: string;
  to: IsoDate;
  startedAt: Date;
  /** The sweep reached the month's last day and started after the month settled. */
  complete: boolean;
  /** The sweep started at the window's first day (satisfies a `sync --all` request made before it). */
  full: boolean;
  outcome: 'ok' | 'not_found';
}

export async function completeSweep(db: Queryable, c: SweepCompletion): Promise<void> {
  await db.query(
    `UPDATE archive.sync_units
     SET covered_through = $3::date, swept_at = $4, sweeps = sweeps + 1, outcome = $7,
         completed_at = CASE WHEN $5::boolean THEN coalesce(completed_at, now()) ELSE completed_at END,
         resweep_requested_at = CASE WHEN $6::boolean AND resweep_requested_at <= $4 THEN NULL ELSE resweep_requested_at END,
         sweep_from = NULL, sweep_to = NULL, sweep_started_at = NULL, resume_token = NULL, resume_token_at = NULL,
         failures = 0, last_error = NULL, last_error_at = NULL
     WHERE month_start = $1::date AND session_id = $2`,
    [c.monthStart, c.sessionId, c.to, c.startedAt, c.complete, c.full, c.outcome],
  );
}

export async function recordUnitFailure(db: Queryable, unit: { monthStart: IsoDate; sessionId: string }, error: string): Promise<void> {
  await db.query(
    `UPDATE archive.sync_units SET failures = failures + 1, last_error = $3, last_error_at = now()
     WHERE month_start = $1::date AND session_id = $2`,
    [unit.monthStart, unit.sessionId, error],
  );
}

/** Marks windows complete when settled, listed after settling, and every unit is complete. */
export async function completeSettledWindows(
  db: Queryable,
  windows: ReadonlyArray<{ monthStart: IsoDate; settledAtMs: number }>,
): Promise<IsoDate[]> {
  if (windows.length === 0) return [];
  const res = await db.query<{ month_start: string }>(
    `UPDATE archive.sync_windows w SET completed_at = now()
     FROM unnest($1::date[], $2::timestamptz[]) AS s(month_start, settled_at)
     WHERE w.month_start = s.month_start AND w.completed_at IS NULL AND w.expired_at IS NULL
       AND w.listed_through = w.month_end AND w.listed_at >= s.settled_at
       AND NOT EXISTS (SELECT 1 FROM archive.sync_units u WHERE u.month_start = w.month_start AND u.completed_at IS NULL)
     RETURNING w.month_start`,
    [windows.map((w) => w.monthStart), windows.map((w) => new Date(w.settledAtMs))],
  );
  return res.rows.map((r) => r.month_start);
}

export interface WindowTotals {
  monthStart: IsoDate;
  units: number;
  unitsComplete: number;
  unitsFailing: number;
  versionsArchived: number;
}

export async function loadWindowTotals(db: Queryable, monthStarts: readonly IsoDate[]): Promise<Map<IsoDate, WindowTotals>> {
  const res = await db.query<{ month_start: string; units: number; complete: number; failing: number; versions: number }>(
    `SELECT month_start, count(*)::int AS units,
            count(*) FILTER (WHERE completed_at IS NOT NULL)::int AS complete,
            count(*) FILTER (WHERE failures > 0)::int AS failing,
            coalesce(sum(versions_added), 0)::bigint AS versions
     FROM archive.sync_units WHERE month_start = ANY($1::date[]) GROUP BY month_start`,
    [monthStarts],
  );
  return new Map(
    res.rows.map((r) => [
      r.month_start,
      { monthStart: r.month_start, units: r.units, unitsComplete: r.complete, unitsFailing: r.failing, versionsArchived: Number(r.versions) },
    ]),
  );
}
