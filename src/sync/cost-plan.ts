import type { SyncConfig } from '../config/config.js';
import type { Queryable } from '../db/pool.js';
import type { Clock } from '../util/clock.js';
import { DAY_MS } from '../util/dates.js';
import { CALL_KINDS, emptyCallsByKind, type CallsByKind } from './call-accounting.js';
import { HORIZON_MONTHS } from './horizon.js';

/**
 * What keeping the archive current costs in Zoom's MEDIUM budget (both report endpoints), measured
 * from the passes of the last day and projected from the number of known sessions:
 *
 *   recurring calls a day ≈ listing + activity + backfill of new sessions
 *                         + settled sweep (S × pages per read, once a month, spread over D days)
 *                         + interim sweeps (S × pages per read every N days, when configured)
 *
 * where listing and activity follow how much happens on the account, and the sweeps follow the
 * number of known sessions S. The busiest day is a day of the settled sweep. A warning is raised
 * while the busiest day is still below the budget, when it crosses SYNC_BUDGET_WARN_SHARE of it or
 * when, at the current growth in sessions, it would exceed the budget within SYNC_BUDGET_WARN_DAYS.
 */

/** One full read of a window per month and known session, on average per day. */
const MONTHS_PER_DAY = 12 / 365.25;
/** Windows a new session is read over (the horizon's months and the month in progress). */
const WINDOWS_PER_BACKFILL = HORIZON_MONTHS + 1;

export interface CostPlanInputs {
  knownSessions: number;
  /** Report calls by kind in the passes of the last 24 hours (or since the first pass, if later). */
  measuredCalls: CallsByKind;
  /** Hours the measurement covers (at most 24; less on a young archive). */
  measuredHours: number;
  /** Sessions first seen per day over the last week, not counting the first backfill. */
  newSessionsPerDay: number;
  /** Report calls per full read of a window (1 unless sessions need several pages). */
  callsPerFullRead: number;
  /** Session windows still waiting for their backfill read. */
  backfillUnitsPending: number;
}

export interface CostPlanSettings {
  /** The MEDIUM rate this archiver may use (requests per second, after ZOOM_RATE_SHARE). */
  mediumRatePerSecond: number;
  settledSweepDays: number;
  interimSweepDays: number;
  budgetWarnShare: number;
  budgetWarnDays: number;
}

export interface CostPlan {
  knownSessions: number;
  /** MEDIUM calls a day this archiver may make. */
  budgetPerDay: number;
  measured: { hours: number; callsByKind: CallsByKind; total: number };
  /** Calls a day, by kind, going forward. */
  projected: {
    listing: number;
    activity: number;
    backfill: number;
    settledAverage: number;
    settledPeak: number;
    interimAverage: number;
    interimPeak: number;
    recurringAverage: number;
    /** A day of the settled sweep. */
    recurringPeak: number;
    /** recurringPeak / budgetPerDay. */
    peakShareOfBudget: number;
  };
  growth: { newSessionsPerDay: number; daysUntilOverBudget: number | null };
  backfill: { unitsPending: number; hoursAtBudget: number };
  warnings: string[];
}

const round = (n: number) => Math.round(n);

export function planCosts(inputs: CostPlanInputs, settings: CostPlanSettings): CostPlan {
  const budgetPerDay = settings.mediumRatePerSecond * 86_400;
  const perDay = inputs.measuredHours > 0 ? 24 / Math.max(1, inputs.measuredHours) : 0;
  const S = inputs.knownSessions;
  const perRead = Math.max(1, inputs.callsPerFullRead);
  const listing = inputs.measuredCalls.listing * perDay;
  const activity = inputs.measuredCalls.activity * perDay;
  const backfill = inputs.newSessionsPerDay * WINDOWS_PER_BACKFILL * perRead;
  const settledAverage = S * perRead * MONTHS_PER_DAY;
  const settledPeak = (S * perRead) / Math.max(1, settings.settledSweepDays);
  const interimAverage = settings.interimSweepDays > 0 ? (S * perRead) / settings.interimSweepDays : 0;
  const interimPeak = settings.interimSweepDays > 0 ? (S * perRead) / Math.max(1, Math.min(settings.settledSweepDays, settings.interimSweepDays)) : 0;
  const recurringAverage = listing + activity + backfill + settledAverage + interimAverage;
  const recurringPeak = listing + activity + backfill + settledPeak + interimPeak;

  // Listing, activity and sweeps all grow with the number of sessions: project them in proportion.
  let daysUntilOverBudget: number | null = null;
  if (recurringPeak >= budgetPerDay && budgetPerDay > 0) daysUntilOverBudget = 0;
  else if (S > 0 && inputs.newSessionsPerDay > 0 && recurringPeak > 0) {
    const sessionsAtBudget = (budgetPerDay / recurringPeak) * S;
    daysUntilOverBudget = Math.floor((sessionsAtBudget - S) / inputs.newSessionsPerDay);
  }

  const warnings: string[] = [];
  const pct = (n: number) => `${Math.round((100 * n) / Math.max(1, budgetPerDay))}%`;
  if (recurringAverage > budgetPerDay) {
    warnings.push(
      `FALLING BEHIND: recurring report calls (${round(recurringAverage)} a day on average) exceed the daily budget of ${round(budgetPerDay)}; raise ZOOM_RATE_SHARE or the Zoom plan`,
    );
  } else if (recurringPeak > settings.budgetWarnShare * budgetPerDay) {
    warnings.push(
      `the busiest day of recurring report calls (a settled-month sweep day) is projected at ${round(recurringPeak)} calls, ${pct(recurringPeak)} of the daily budget of ${round(budgetPerDay)}: ` +
        'spread the settled-month sweep over more days (SYNC_SETTLED_SWEEP_DAYS), raise ZOOM_RATE_SHARE, or move to a plan with more MEDIUM calls',
    );
  }
  if (daysUntilOverBudget !== null && daysUntilOverBudget > 0 && daysUntilOverBudget <= settings.budgetWarnDays) {
    warnings.push(
      `at the current growth (${inputs.newSessionsPerDay.toFixed(1)} new sessions a day) the busiest day of recurring report calls exceeds the daily budget in about ${daysUntilOverBudget} day(s)`,
    );
  }

  return {
    knownSessions: S,
    budgetPerDay: round(budgetPerDay),
    measured: { hours: Math.round(inputs.measuredHours * 10) / 10, callsByKind: inputs.measuredCalls, total: CALL_KINDS.reduce((sum, k) => sum + inputs.measuredCalls[k], 0) },
    projected: {
      listing: round(listing),
      activity: round(activity),
      backfill: round(backfill),
      settledAverage: round(settledAverage),
      settledPeak: round(settledPeak),
      interimAverage: round(interimAverage),
      interimPeak: round(interimPeak),
      recurringAverage: round(recurringAverage),
      recurringPeak: round(recurringPeak),
      peakShareOfBudget: budgetPerDay > 0 ? Math.round((recurringPeak / budgetPerDay) * 1000) / 1000 : 0,
    },
    growth: { newSessionsPerDay: Math.round(inputs.newSessionsPerDay * 10) / 10, daysUntilOverBudget },
    backfill: {
      unitsPending: inputs.backfillUnitsPending,
      hoursAtBudget: budgetPerDay > 0 ? Math.round(((inputs.backfillUnitsPending * perRead) / budgetPerDay) * 24 * 10) / 10 : 0,
    },
    warnings,
  };
}

/** Reads the measurements from sync_runs and the archive, as of the clock. */
export async function loadCostPlanInputs(db: Queryable, nowMs: number): Promise<CostPlanInputs> {
  const now = new Date(nowMs);
  const res = await db.query<{
    sessions: number;
    calls: Record<string, number> | null;
    first_run_at: Date | null;
    new_sessions: number;
    full_calls: number | null;
    full_reads: number | null;
    backfill_pending: number;
  }>(
    `WITH first_run AS (SELECT min(id) AS id, min(started_at) AS at FROM archive.sync_runs),
     day AS (
       SELECT r.calls FROM archive.sync_runs r WHERE r.started_at > $1::timestamptz - interval '24 hours' AND r.started_at <= $1::timestamptz
     ),
     day_calls AS (
       SELECT jsonb_object_agg(k, n) AS calls FROM (
         SELECT e.key AS k, sum(e.value::bigint) AS n FROM day CROSS JOIN LATERAL jsonb_each_text(day.calls) e GROUP BY e.key
       ) x
     ),
     recent_full AS (
       SELECT sum(coalesce((r.calls->>'settled')::bigint, 0) + coalesce((r.calls->>'backfill')::bigint, 0) + coalesce((r.calls->>'resweep')::bigint, 0)) AS calls,
              sum(coalesce((r.reads->>'settled')::bigint, 0) + coalesce((r.reads->>'backfill')::bigint, 0) + coalesce((r.reads->>'resweep')::bigint, 0)) AS reads
       FROM archive.sync_runs r WHERE r.started_at > $1::timestamptz - interval '35 days'
     )
     SELECT (SELECT count(*) FROM archive.sessions)::int AS sessions,
            (SELECT calls FROM day_calls) AS calls,
            (SELECT at FROM first_run) AS first_run_at,
            (SELECT coalesce(sum(r.sessions_new), 0) FROM archive.sync_runs r, first_run f
              WHERE r.id <> f.id AND r.started_at > $1::timestamptz - interval '7 days')::int AS new_sessions,
            (SELECT calls FROM recent_full)::bigint AS full_calls,
            (SELECT reads FROM recent_full)::bigint AS full_reads,
            (SELECT count(*) FROM archive.sync_units WHERE resweep_requested_at IS NOT NULL AND swept_at IS NULL)::int AS backfill_pending`,
    [now],
  );
  const row = res.rows[0];
  const measuredCalls = emptyCallsByKind();
  for (const kind of CALL_KINDS) measuredCalls[kind] = Number(row?.calls?.[kind] ?? 0);
  const firstRunMs = row?.first_run_at?.getTime();
  const measuredHours = firstRunMs === undefined ? 0 : Math.min(24, Math.max(0, (nowMs - firstRunMs) / 3_600_000));
  const historyDays = firstRunMs === undefined ? 0 : Math.min(7, Math.max(1, (nowMs - firstRunMs) / DAY_MS));
  const fullReads = Number(row?.full_reads ?? 0);
  return {
    knownSessions: row?.sessions ?? 0,
    measuredCalls,
    measuredHours,
    newSessionsPerDay: historyDays > 0 ? (row?.new_sessions ?? 0) / historyDays : 0,
    callsPerFullRead: fullReads > 0 ? Number(row?.full_calls ?? 0) / fullReads : 1,
    backfillUnitsPending: row?.backfill_pending ?? 0,
  };
}

export async function loadCostPlan(db: Queryable, clock: Clock, sync: Readonly<SyncConfig>, mediumRatePerSecond: number): Promise<CostPlan> {
  const inputs = await loadCostPlanInputs(db, clock.now().getTime());
  return planCosts(inputs, {
    mediumRatePerSecond,
    settledSweepDays: sync.settledSweepDays,
    interimSweepDays: sync.interimSweepDays,
    budgetWarnShare: sync.budgetWarnShare,
    budgetWarnDays: sync.budgetWarnDays,
  });
}

/** The plan as `status --json` and `GET /v1/status` show it (snake_case, figures per day unless named otherwise). */
export type CostPlanReport = ReturnType<typeof toCostPlanReport>;

export function toCostPlanReport(c: CostPlan) {
  return {
    known_sessions: c.knownSessions,
    budget_per_day: c.budgetPerDay,
    last_day: { hours: c.measured.hours, calls_by_kind: c.measured.callsByKind, total: c.measured.total },
    projected: {
      listing: c.projected.listing,
      activity: c.projected.activity,
      backfill: c.projected.backfill,
      settled_average: c.projected.settledAverage,
      settled_peak: c.projected.settledPeak,
      interim_average: c.projected.interimAverage,
      interim_peak: c.projected.interimPeak,
      recurring_average: c.projected.recurringAverage,
      recurring_peak: c.projected.recurringPeak,
      peak_share_of_budget: c.projected.peakShareOfBudget,
    },
    growth: { new_sessions_per_day: c.growth.newSessionsPerDay, days_until_over_budget: c.growth.daysUntilOverBudget },
    backfill: { units_pending: c.backfill.unitsPending, hours_at_budget: c.backfill.hoursAtBudget },
    warnings: c.warnings,
  };
}
