import type { WindowState } from '../archive/checkpoint-store.js';
import type { IsoDate } from '../domain/types.js';
import { daysUntilExpiry, leavesHorizonOn, type Horizon } from './horizon.js';

/**
 * A window that is not complete and whose oldest day leaves Zoom's horizon within N days is
 * reported loudly on every run: after that day its data is gone for good.
 */
export interface WindowRisk {
  monthStart: IsoDate;
  from: IsoDate;
  daysUntilExpiry: number;
  leavesHorizonOn: IsoDate;
}

export function assessHorizonRisk(
  horizon: Horizon,
  windows: ReadonlyMap<IsoDate, Pick<WindowState, 'completedAt'>>,
  settings: { horizonRiskDays: number; horizonMarginDays: number },
): WindowRisk[] {
  const risks: WindowRisk[] = [];
  for (const w of horizon.windows) {
    if (windows.get(w.monthStart)?.completedAt) continue;
    const days = daysUntilExpiry(w, horizon.today, settings.horizonMarginDays);
    if (days <= settings.horizonRiskDays) {
      risks.push({ monthStart: w.monthStart, from: w.from, daysUntilExpiry: days, leavesHorizonOn: leavesHorizonOn(w.from, settings.horizonMarginDays) });
    }
  }
  return risks;
}
