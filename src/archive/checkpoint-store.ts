/**
 * Checkpoints of the sync: windows (months) and units (window × session), and the queries that pick
 * what a pass must read. Over 400 lines because the due-unit selection (flagged units plus each
 * sweep round's share, keyset-batched) and the writes it is paired with must be read together: a
 * change to one without the other breaks the horizon promise.
 */
import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { IsoDate } from '../domain/types.js';
import { runDrizzle, type Queryable } from '../db/pool.js';
import { syncUnits, syncWindows } from '../db/schema.js';

/**
 * Sync progress lives in the database, never in process memory: windows (calendar months) and
 * units (window × session). A unit is complete once a read of the whole window through its month's
 * last day started after the month settled; a window is complete once it is listed after settling,
 * every known session has a unit in it, and every one of its units is complete.
 *
 * What makes a unit due for a read (see src/sync/read-plan.ts for the kind of read):
 * - `resweep_requested_at`: a session seen for the first time (its backfill) or `sync --all`;
 * - `news_pending_since`: a listing showed news in this window that was not read yet;
 * - a settled-month (or interim) sweep of its window that has not read it yet.
 */

/** What a pass needs of a window (archive.sync_windows; column notes in src/db/schema.ts). */
export type WindowState = Pick<
  typeof syncWindows.$inferSelect,
  'monthStart' | 'monthEnd' | 'listedThrough' | 'listedAt' | 'completedAt' | 'expiredAt' | 'unitsEnsuredAt'
>;

/** What a pass needs of a unit (archive.sync_units; column notes in src/db/schema.ts). */
export type UnitState = Pick<
  typeof syncUnits.$inferSelect,
  | 'monthStart'
  | 'sessionId'
  | 'coveredThrough'
  | 'sweptAt'
  | 'completedAt'
  | 'resweepRequestedAt'
  | 'sweepFrom'
  | 'sweepTo'
  | 'sweepStartedAt'
  | 'resumeToken'
  | 'resumeTokenAt'
  | 'failures'
  | 'fullSweptAt'
  | 'newsPendingSince'
>;

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
  const w = syncWindows;
  return runDrizzle(db, (orm) =>
    orm
      .update(w)
      .set({ expiredAt: sql`now()` })
      .where(and(lt(w.monthEnd, horizonStart), isNull(w.expiredAt)))
      .returning({ monthStart: w.monthStart, complete: sql<boolean>`${w.completedAt} IS NOT NULL` }),
  );
}

export async function loadWindows(db: Queryable, monthStarts: readonly IsoDate[]): Promise<Map<IsoDate, WindowState>> {
  const w = syncWindows;
  const rows = await runDrizzle(db, (orm) =>
    orm
      .select({
        monthStart: w.monthStart,
        monthEnd: w.monthEnd,
        listedThrough: w.listedThrough,
        listedAt: w.listedAt,
        completedAt: w.completedAt,
        expiredAt: w.expiredAt,
        unitsEnsuredAt: w.unitsEnsuredAt,
      })
      .from(w)
      .where(inArray(w.monthStart, [...monthStarts])),
  );
  return new Map(rows.map((r) => [r.monthStart, r]));
}

export async function recordListing(
  db: Queryable,
  listing: { monthStart: IsoDate; listedThrough: IsoDate; listedAt: Date; sessionsListed: number },
): Promise<void> {
  const w = syncWindows;
  await runDrizzle(db, (orm) =>
    orm
      .update(w)
      .set({ listedThrough: listing.listedThrough, listedAt: listing.listedAt, sessionsListed: sql`greatest(${w.sessionsListed}, ${listing.sessionsListed}::int)` })
      .where(eq(w.monthStart, listing.monthStart)),
  );
}

// The statements below change several tables through data-modifying CTEs; PostgreSQL runs every
// such CTE to completion whether or not the final SELECT reads it, so each SELECT returns only the
// count its caller uses.

/**
 * Sessions seen for the first time get a unit in every window of the horizon, each due for a full
 * read (their backfill): an edit or deletion of an old message can happen in any window after the
 * message was sent. Runs after every listing, so a pass that stopped between the two loses nothing.
 * A window that gains units is no longer complete.
 */
export async function ensureUnitsForNewSessions(db: Queryable, monthStarts: readonly IsoDate[], at: Date): Promise<number> {
  const res = await db.query<{ sessions: number }>(
    `WITH fresh AS (
       SELECT session_id FROM archive.sessions WHERE units_created_at IS NULL FOR UPDATE
     ), units AS (
       INSERT INTO archive.sync_units AS u (month_start, session_id, resweep_requested_at)
       SELECT m, f.session_id, $2::timestamptz FROM unnest($1::date[]) AS m CROSS JOIN fresh f
       ON CONFLICT (month_start, session_id) DO UPDATE SET resweep_requested_at = coalesce(u.resweep_requested_at, excluded.resweep_requested_at)
       RETURNING month_start
     ), reopened AS (
       UPDATE archive.sync_windows w SET completed_at = NULL
       WHERE w.completed_at IS NOT NULL AND w.month_start IN (SELECT DISTINCT month_start FROM units)
       RETURNING 1
     ), marked AS (
       UPDATE archive.sessions s SET units_created_at = $2 FROM fresh f WHERE s.session_id = f.session_id
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM marked)::int AS sessions`,
    [monthStarts, at],
  );
  return res.rows[0]?.sessions ?? 0;
}

/**
 * Every known session gets a unit in the window (before its settled-month sweep, or an interim
 * sweep), so the sweep reads sessions the listing never showed there. Idempotent; recorded in
 * sync_windows.units_ensured_at so it runs once per sweep.
 */
export async function ensureUnitsForAllSessions(db: Queryable, monthStart: IsoDate, at: Date): Promise<number> {
  const res = await db.query<{ added: number }>(
    `WITH added AS (
       INSERT INTO archive.sync_units (month_start, session_id)
       SELECT $1::date, s.session_id FROM archive.sessions s
       ON CONFLICT (month_start, session_id) DO NOTHING
       RETURNING 1
     ), marked AS (
       UPDATE archive.sync_windows SET units_ensured_at = $2,
              completed_at = CASE WHEN EXISTS (SELECT 1 FROM added) THEN NULL ELSE completed_at END
       WHERE month_start = $1::date
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM added)::int AS added`,
    [monthStart, at],
  );
  return res.rows[0]?.added ?? 0;
}

/** `sync --all`: every known session gets a unit in every given window. */
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
     SELECT (SELECT count(*) FROM new_units)::int AS added`,
    [monthStarts],
  );
  return res.rows[0]?.added ?? 0;
}

/** `sync --all`: every unit of these windows is swept again from its window's first day. */
export async function requestFullResweep(db: Queryable, monthStarts: readonly IsoDate[], at: Date): Promise<number> {
  const res = await runDrizzle(db, (orm) =>
    orm
      .update(syncUnits)
      .set({ resweepRequestedAt: at })
      .where(and(inArray(syncUnits.monthStart, [...monthStarts]), isNull(syncUnits.resweepRequestedAt))),
  );
  return res.rowCount ?? 0;
}

const UNIT_COLUMNS = `month_start, session_id, covered_through, swept_at, completed_at, resweep_requested_at,
  sweep_from, sweep_to, sweep_started_at, resume_token, resume_token_at, failures, full_swept_at, news_pending_since`;

/** The due units' columns under their schema.ts names (DueUnit), named in the outermost SELECT only. */
const DUE_UNIT_FIELDS = `month_start AS "monthStart", session_id AS "sessionId", covered_through AS "coveredThrough", swept_at AS "sweptAt",
  completed_at AS "completedAt", resweep_requested_at AS "resweepRequestedAt", sweep_from AS "sweepFrom", sweep_to AS "sweepTo",
  sweep_started_at AS "sweepStartedAt", resume_token AS "resumeToken", resume_token_at AS "resumeTokenAt", failures,
  full_swept_at AS "fullSweptAt", news_pending_since AS "newsPendingSince", in_round AS "inRound"`;

/** A settled-month or interim sweep of one window: every unit not read in full since `beganAt`. */
export interface SweepRoundSelection {
  monthStart: IsoDate;
  beganAt: Date;
  /** How many of its unread units this pass takes (the sweep is spread over days). */
  take: number;
}

export interface DueUnit extends UnitState {
  /** Picked by a sweep round in this pass (not only by news or a backfill). */
  inRound: boolean;
}

interface RoundCutoff {
  monthStart: IsoDate;
  beganAt: Date;
  /** The round takes its unread units up to this session id (in byte order). */
  lastSessionId: string;
}

/** Where each round's share for this pass ends: the `take`-th unread unit in session order. */
async function loadRoundCutoffs(db: Queryable, rounds: readonly SweepRoundSelection[]): Promise<RoundCutoff[]> {
  const picked = rounds.filter((r) => r.take > 0);
  if (picked.length === 0) return [];
  const res = await db.query<{ month_start: string; began_at: Date; last: string | null }>(
    `SELECT r.month_start::text AS month_start, r.began_at,
            (SELECT u.session_id FROM archive.sync_units u
             WHERE u.month_start = r.month_start AND (u.full_swept_at IS NULL OR u.full_swept_at < r.began_at)
             ORDER BY u.session_id OFFSET r.take - 1 LIMIT 1) AS last
     FROM unnest($1::date[], $2::timestamptz[], $3::int[]) AS r(month_start, began_at, take)`,
    [picked.map((r) => r.monthStart), picked.map((r) => r.beganAt), picked.map((r) => r.take)],
  );
  // No unit at that offset: the round takes everything left.
  return res.rows.map((r) => ({ monthStart: r.month_start, beganAt: r.began_at, lastSessionId: r.last ?? '\u{10FFFF}' }));
}

const DUE_UNITS = `
WITH rounds AS (
  SELECT * FROM unnest($2::date[], $3::timestamptz[], $4::text[]) AS r(month_start, began_at, last_session_id)
), flagged AS (
  SELECT ${UNIT_COLUMNS}, false AS in_round FROM archive.sync_units
  WHERE month_start = ANY($1::date[]) AND (resweep_requested_at IS NOT NULL OR news_pending_since IS NOT NULL)
    AND (month_start, session_id) > ($5::date, $6::text)
  ORDER BY month_start, session_id LIMIT $7
), picked AS (
  SELECT p.* FROM rounds r CROSS JOIN LATERAL (
    SELECT ${UNIT_COLUMNS}, true AS in_round FROM archive.sync_units u
    WHERE u.month_start = r.month_start AND u.session_id <= r.last_session_id
      AND (u.full_swept_at IS NULL OR u.full_swept_at < r.began_at)
      AND (u.month_start, u.session_id) > ($5::date, $6::text)
    ORDER BY u.session_id LIMIT $7
  ) p
)
SELECT ${DUE_UNIT_FIELDS} FROM (
  SELECT DISTINCT ON (month_start, session_id) * FROM (SELECT * FROM picked UNION ALL SELECT * FROM flagged) d
  ORDER BY month_start, session_id, in_round DESC
) due ORDER BY month_start, session_id LIMIT $7`;

const FIRST_KEY = { monthStart: '0001-01-01', sessionId: '' };

/**
 * Units with work left in these windows, oldest window first (it leaves the horizon first): every
 * unit a backfill, `sync --all` or a listing made due, plus each sweep round's share for this pass.
 * Read in batches of `batchSize` in key order, so memory stays flat however many units are due.
 */
export async function* iterateDueUnits(db: Queryable, monthStarts: readonly IsoDate[], rounds: readonly SweepRoundSelection[] = [], batchSize = 2000): AsyncGenerator<DueUnit> {
  const cutoffs = await loadRoundCutoffs(db, rounds);
  let after = FIRST_KEY;
  for (;;) {
    const res = await db.query<DueUnit>(DUE_UNITS, [
      monthStarts,
      cutoffs.map((c) => c.monthStart),
      cutoffs.map((c) => c.beganAt),
      cutoffs.map((c) => c.lastSessionId),
      after.monthStart,
      after.sessionId,
      batchSize,
    ]);
    yield* res.rows;
    const last = res.rows.at(-1);
    if (!last || res.rows.length < batchSize) return;
    after = { monthStart: last.monthStart, sessionId: last.sessionId };
  }
}

/**
 * How many units `iterateDueUnits` will yield (progress and ETA): the flagged ones plus the units of
 * each round's share that are not flagged too. A backfill flags every unit of a settled month that a
 * round also takes, so adding the two counts would double it.
 */
export async function countDueUnits(db: Queryable, monthStarts: readonly IsoDate[], rounds: readonly SweepRoundSelection[] = []): Promise<number> {
  const cutoffs = await loadRoundCutoffs(db, rounds);
  const res = await db.query<{ due: number }>(
    `SELECT (SELECT count(*) FROM archive.sync_units
             WHERE month_start = ANY($1::date[]) AND (resweep_requested_at IS NOT NULL OR news_pending_since IS NOT NULL))::int
          + (SELECT count(*) FROM unnest($2::date[], $3::timestamptz[], $4::text[]) AS r(month_start, began_at, last_session_id)
             JOIN archive.sync_units u ON u.month_start = r.month_start AND u.session_id <= r.last_session_id
             WHERE (u.full_swept_at IS NULL OR u.full_swept_at < r.began_at)
               AND NOT (u.month_start = ANY($1::date[]) AND (u.resweep_requested_at IS NOT NULL OR u.news_pending_since IS NOT NULL)))::int AS due`,
    [monthStarts, cutoffs.map((c) => c.monthStart), cutoffs.map((c) => c.beganAt), cutoffs.map((c) => c.lastSessionId)],
  );
  return res.rows[0]?.due ?? 0;
}

export interface RoundProgress {
  monthStart: IsoDate;
  units: number;
  /** Units read in full since the round began. */
  done: number;
}

/** How far each sweep round has got: units in its window, and those read in full since it began. */
export async function loadRoundProgress(db: Queryable, rounds: ReadonlyArray<{ monthStart: IsoDate; beganAt: Date }>): Promise<RoundProgress[]> {
  if (rounds.length === 0) return [];
  const res = await db.query<{ month_start: string; units: number; done: number }>(
    `SELECT r.month_start::text AS month_start,
            (SELECT count(*) FROM archive.sync_units u WHERE u.month_start = r.month_start)::int AS units,
            (SELECT count(*) FROM archive.sync_units u WHERE u.month_start = r.month_start AND u.full_swept_at >= r.began_at)::int AS done
     FROM unnest($1::date[], $2::timestamptz[]) AS r(month_start, began_at)`,
    [rounds.map((r) => r.monthStart), rounds.map((r) => r.beganAt)],
  );
  return res.rows.map((r) => ({ monthStart: r.month_start, units: r.units, done: r.done }));
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

/**
 * The SET assignments that record a finished read of a unit, shared by the last page's statement
 * (version-store.ts) and completeSweep, given the statement's placeholders. `when` is true on the
 * read's last page. A read clears the news it covers (news flagged before it started), a full read
 * satisfies sweep rounds and `sync --all` requests made before it started, and a full read through
 * the month's last day that started after the month settled completes the unit.
 */
export function finishedReadAssignments(p: { when: string; to: string; startedAt: string; complete: string; full: string; outcome: string }): string {
  const w = p.when;
  const started = `${p.startedAt}::timestamptz`;
  return `covered_through = CASE WHEN ${w} THEN ${p.to}::date ELSE covered_through END,
      swept_at = CASE WHEN ${w} THEN ${started} ELSE swept_at END,
      sweeps = sweeps + CASE WHEN ${w} THEN 1 ELSE 0 END,
      outcome = CASE WHEN ${w} THEN ${p.outcome}::text ELSE outcome END,
      completed_at = CASE WHEN ${w} AND ${p.complete}::boolean THEN coalesce(completed_at, now()) ELSE completed_at END,
      full_swept_at = CASE WHEN ${w} AND ${p.full}::boolean THEN greatest(full_swept_at, ${started}) ELSE full_swept_at END,
      resweep_requested_at = CASE WHEN ${w} AND ${p.full}::boolean AND resweep_requested_at <= ${started} THEN NULL ELSE resweep_requested_at END,
      swept_last_message_at = CASE WHEN ${w} AND (news_pending_since IS NULL OR news_pending_since <= ${started})
                                   THEN greatest(swept_last_message_at, listed_last_message_at) ELSE swept_last_message_at END,
      news_pending_since = CASE WHEN ${w} AND news_pending_since <= ${started} THEN NULL ELSE news_pending_since END,
      failures = CASE WHEN ${w} THEN 0 ELSE failures END,
      last_error = CASE WHEN ${w} THEN NULL ELSE last_error END,
      last_error_at = CASE WHEN ${w} THEN NULL ELSE last_error_at END`;
}

const COMPLETE_SWEEP = `UPDATE archive.sync_units
     SET ${finishedReadAssignments({ when: 'true', to: '$3', startedAt: '$4', complete: '$5', full: '$6', outcome: '$7' })},
         sweep_from = NULL, sweep_to = NULL, sweep_started_at = NULL, resume_token = NULL, resume_token_at = NULL
     WHERE month_start = $1::date AND session_id = $2`;

export async function completeSweep(db: Queryable, c: SweepCompletion): Promise<void> {
  await db.query(COMPLETE_SWEEP, [c.monthStart, c.sessionId, c.to, c.startedAt, c.complete, c.full, c.outcome]);
}

export async function recordUnitFailure(db: Queryable, unit: { monthStart: IsoDate; sessionId: string }, error: string): Promise<void> {
  await runDrizzle(db, (orm) =>
    orm
      .update(syncUnits)
      .set({ failures: sql`${syncUnits.failures} + 1`, lastError: error, lastErrorAt: sql`now()` })
      .where(and(eq(syncUnits.monthStart, unit.monthStart), eq(syncUnits.sessionId, unit.sessionId))),
  );
}

/**
 * Marks windows complete when settled, listed after settling, every known session has a unit there
 * (given after settling), and every unit is complete.
 */
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
       AND w.units_ensured_at >= s.settled_at
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
