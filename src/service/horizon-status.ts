import { loadWindows } from '../archive/checkpoint-store.js';
import type { SyncConfig } from '../config/config.js';
import type { Queryable } from '../db/pool.js';
import type { IsoDate } from '../domain/types.js';
import { computeHorizon, daysUntilExpiry } from '../sync/horizon.js';
import { assessHorizonRisk, type WindowRisk } from '../sync/horizon-risk.js';
import type { Clock } from '../util/clock.js';

/**
 * The horizon as of now, judged exactly as the sync engine judges it (same horizon, same margin,
 * same risk rule): shared by the horizon-check job, /readyz and /metrics so they never disagree.
 * Reads archive.sync_windows only (one row per month): cheap at any archive size.
 */
export interface HorizonStatus {
  today: IsoDate;
  horizonStart: IsoDate;
  windows: Array<{ monthStart: IsoDate; from: IsoDate; to: IsoDate; complete: boolean; daysUntilExpiry: number }>;
  atRisk: WindowRisk[];
  /** Days until the oldest window that is not complete starts leaving the horizon; null when all are complete. */
  oldestIncompleteDaysUntilExpiry: number | null;
}

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
