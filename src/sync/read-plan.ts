import type { DueUnit, RoundProgress, WindowState } from '../archive/checkpoint-store.js';
import type { MissRecordingRead } from '../archive/version-store.js';
import type { IsoDate } from '../domain/types.js';
import { addDays, DAY_MS, startOfDayMs } from '../util/dates.js';
import type { CallKind } from './call-accounting.js';
import { daysUntilExpiry, incrementalFrom, type Horizon, type SyncWindow } from './horizon.js';

/**
 * What a pass reads, and why. The guarantee every plan keeps: each (known session, window) pair is
 * read in full at least once after the window's month has settled, before the window leaves the
 * horizon. What it costs follows activity:
 *
 * - a session seen for the first time is read over every window once (`backfill`);
 * - a session a listing showed news for is read over the days since its last read (`activity`);
 * - once a month settles, every known session is read over it once (`settled`), spread over
 *   SYNC_SETTLED_SWEEP_DAYS — this catches edits and deletions in sessions no listing showed;
 * - optionally every SYNC_INTERIM_SWEEP_DAYS, the same over the open month (`interim`);
 * - `sync --all` reads everything again (`resweep`).
 */

/** Zoom's page tokens live 15 minutes; a checkpointed token older than this is not worth trying. */
export const RESUME_TOKEN_MAX_AGE_MS = 14 * 60_000;

export type ReadKind = Exclude<CallKind, 'listing'>;

/** A sweep of every unit of one window: after the month settled, or an interim one of the open month. */
export interface SweepRound {
  monthStart: IsoDate;
  kind: 'settled' | 'interim';
  /** Units read in full since this instant count as done. */
  beganAtMs: number;
  /** The round is spread evenly over this long after it began. */
  spreadMs: number;
  /** The window is at horizon risk: read everything left now. */
  urgent: boolean;
}

export interface RoundSettings {
  settledSweepDays: number;
  interimSweepDays: number;
  horizonRiskDays: number;
  horizonMarginDays: number;
}

/** The rounds under way: one per settled window not yet complete, and interim ones if configured. */
export function sweepRounds(horizon: Horizon, states: ReadonlyMap<IsoDate, WindowState>, settings: RoundSettings, nowMs: number): SweepRound[] {
  const rounds: SweepRound[] = [];
  for (const w of horizon.windows) {
    const state = states.get(w.monthStart);
    if (state?.completedAt || state?.expiredAt) continue;
    if (w.settled) {
      rounds.push({
        monthStart: w.monthStart,
        kind: 'settled',
        beganAtMs: w.settledAtMs,
        spreadMs: settings.settledSweepDays * DAY_MS,
        urgent: daysUntilExpiry(w, horizon.today, settings.horizonMarginDays) <= settings.horizonRiskDays,
      });
    } else if (settings.interimSweepDays > 0) {
      // Interim rounds begin every N days counted from the month's first day.
      const periodMs = settings.interimSweepDays * DAY_MS;
      const monthStartMs = startOfDayMs(w.monthStart);
      const k = Math.floor((nowMs - monthStartMs) / periodMs);
      if (k >= 1) {
        rounds.push({
          monthStart: w.monthStart,
          kind: 'interim',
          beganAtMs: monthStartMs + k * periodMs,
          spreadMs: Math.min(settings.settledSweepDays, settings.interimSweepDays) * DAY_MS,
          urgent: false,
        });
      }
    }
  }
  return rounds;
}

/**
 * How many units a round reads in this pass: enough that the share read since it began keeps pace
 * with the share of its spread that has passed, so hourly passes read about 1/(24 × days) of the
 * sessions each, and a pass after a pause catches up. An urgent round reads everything left.
 */
export function roundTake(round: SweepRound, progress: Pick<RoundProgress, 'units' | 'done'>, nowMs: number): number {
  const remaining = progress.units - progress.done;
  if (remaining <= 0) return 0;
  if (round.urgent) return remaining;
  const elapsed = round.spreadMs <= 0 ? 1 : (nowMs - round.beganAtMs) / round.spreadMs;
  const target = Math.ceil(progress.units * Math.min(1, Math.max(0, elapsed)));
  return Math.min(remaining, Math.max(0, target - progress.done));
}

/**
 * Whether a routine pass lists this window: the open month on every pass; a month that has ended
 * once after its end (its last hours) and once after it settled (the final listing its completion
 * waits for); a complete window never.
 */
export function needsListing(w: SyncWindow, state: WindowState | undefined): boolean {
  if (state?.completedAt) return false;
  if (!w.closed) return true;
  const listedToEndAtMs = state?.listedThrough === w.monthEnd && state.listedAt ? state.listedAt.getTime() : Number.NEGATIVE_INFINITY;
  if (w.settled) return listedToEndAtMs < w.settledAtMs;
  return listedToEndAtMs < startOfDayMs(addDays(w.monthEnd, 1));
}

export interface PlannedRead {
  kind: ReadKind;
  from: IsoDate;
  to: IsoDate;
  /** From the window's first day (as far as the horizon allows) through its last day so far. */
  full: boolean;
  /** The read covers the whole month after it settled: the unit is then complete. */
  completes: boolean;
  /** Resume the checkpointed read from its saved page token. */
  resumeToken: string | undefined;
  startedAt: Date;
  /** Versions this read adds are listing misses: a sweep of a unit no listing showed news for. */
  recordMissesAs: MissRecordingRead | undefined;
}

/** A read of the whole window through the month's last day, started after the month settled, leaves nothing to read there. */
export function completesWindow(window: Pick<SyncWindow, 'monthEnd' | 'settledAtMs'>, to: IsoDate, startedAt: Date): boolean {
  return to === window.monthEnd && startedAt.getTime() >= window.settledAtMs;
}

export function readKindOf(unit: DueUnit, window: Pick<SyncWindow, 'settled'>): ReadKind {
  if (unit.resweepRequestedAt !== null) return unit.sweptAt === null ? 'backfill' : 'resweep';
  if (unit.inRound) return window.settled ? 'settled' : 'interim';
  return 'activity';
}

/**
 * The range to read for a due unit. Everything but an activity read covers the whole window; an
 * activity read of a unit read before covers only the days since then (less the settle time, in
 * which Zoom's reports may still be filling up). A read interrupted less than ~15 minutes ago with
 * the same range resumes from its saved page token.
 */
export function planRead(unit: DueUnit, window: SyncWindow, now: Date, settleHours: number): PlannedRead {
  const kind = readKindOf(unit, window);
  const full = kind !== 'activity' || unit.sweptAt === null;
  const from = full || unit.sweptAt === null ? window.from : incrementalFrom(window, unit.sweptAt.getTime(), settleHours);
  const to = window.to;
  const canResume =
    unit.resumeToken !== null &&
    unit.sweepFrom === from &&
    unit.sweepTo === to &&
    unit.sweepStartedAt !== null &&
    unit.resumeTokenAt !== null &&
    now.getTime() - unit.resumeTokenAt.getTime() < RESUME_TOKEN_MAX_AGE_MS;
  const startedAt = canResume && unit.sweepStartedAt ? unit.sweepStartedAt : now;
  return {
    kind,
    from,
    to,
    full,
    completes: full && completesWindow(window, to, startedAt),
    resumeToken: canResume ? (unit.resumeToken ?? undefined) : undefined,
    startedAt,
    recordMissesAs: (kind === 'settled' || kind === 'interim') && unit.newsPendingSince === null ? kind : undefined,
  };
}
