/**
 * Live figures of a sync pass, updated by the engine and read by whoever displays them (the
 * terminal progress line, periodic progress logs, later Prometheus). Plain counters: cheap to
 * update on the hot path.
 */
export class SyncProgress {
  readonly startedAtMs: number;
  phase: 'starting' | 'listing' | 'sweeping' | 'finishing' | 'done' = 'starting';
  windowsTotal = 0;
  windowsListed = 0;
  windowsComplete = 0;
  sessionsListed = 0;
  sessionsNew = 0;
  unitsTotal = 0;
  unitsDone = 0;
  unitsFailed = 0;
  pagesStored = 0;
  versionsSeen = 0;
  versionsAdded = 0;
  malformedItems = 0;
  /** Versions a settled-month or interim sweep found that no listing had shown news for. */
  listingMisses = 0;
  pageRestarts = 0;
  apiCalls = 0;
  apiErrors = 0;
  rateLimited = 0;

  constructor(private readonly nowMs: () => number = Date.now) {
    this.startedAtMs = nowMs();
  }

  /** Wire to ZoomClient's onCall: one event per HTTP attempt. */
  recordCall(status: number | 'network'): void {
    this.apiCalls++;
    if (status === 'network' || status >= 400) this.apiErrors++;
    if (status === 429) this.rateLimited++;
  }

  /**
   * Every page a listing or a read receives: its items that could not be keyed, and a pager that
   * started over from page 1 (its page token expired), counted once on the first page it sends again.
   */
  recordPage(page: { restartedFromFirstPage: boolean; pageIndex: number; malformed: readonly unknown[] }): void {
    if (page.restartedFromFirstPage && page.pageIndex === 0) this.pageRestarts++;
    this.malformedItems += page.malformed.length;
  }

  elapsedMs(): number {
    return this.nowMs() - this.startedAtMs;
  }

  callsPerSecond(): number {
    const s = this.elapsedMs() / 1000;
    return s > 0 ? this.apiCalls / s : 0;
  }

  /** Remaining time from the unit completion rate; undefined until there is a rate to go by. */
  etaMs(): number | undefined {
    if (this.phase !== 'sweeping' || this.unitsDone === 0 || this.unitsTotal === 0) return undefined;
    const perUnitMs = this.elapsedMs() / this.unitsDone;
    return Math.max(0, (this.unitsTotal - this.unitsDone) * perUnitMs);
  }

  snapshot(): Record<string, number | string> {
    return {
      phase: this.phase,
      windowsListed: this.windowsListed,
      windowsTotal: this.windowsTotal,
      sessionsListed: this.sessionsListed,
      unitsDone: this.unitsDone,
      unitsTotal: this.unitsTotal,
      unitsFailed: this.unitsFailed,
      versionsSeen: this.versionsSeen,
      versionsAdded: this.versionsAdded,
      apiCalls: this.apiCalls,
      callsPerSecond: Math.round(this.callsPerSecond() * 10) / 10,
      rateLimited: this.rateLimited,
      elapsedMs: this.elapsedMs(),
    };
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One line for a terminal: windows, sessions, units, messages, API calls, rate, ETA. */
export function formatProgressLine(p: SyncProgress): string {
  const eta = p.etaMs();
  const parts = [
    `${p.phase}`,
    `windows ${p.windowsListed}/${p.windowsTotal}`,
    `sessions ${p.sessionsListed}`,
    `units ${p.unitsDone}/${p.unitsTotal}${p.unitsFailed ? ` (${p.unitsFailed} failed)` : ''}`,
    `versions ${p.versionsSeen} seen, ${p.versionsAdded} new`,
    `api ${p.apiCalls} calls ${p.callsPerSecond().toFixed(1)}/s${p.rateLimited ? ` ${p.rateLimited}×429` : ''}`,
    `elapsed ${formatDuration(p.elapsedMs())}`,
  ];
  if (eta !== undefined) parts.push(`eta ${formatDuration(eta)}`);
  return parts.join(' · ');
}
