import { requireZoomCredentials, type Config } from '../../config/config.js';
import type { Pool } from '../../db/pool.js';
import type { Logger } from '../../logging/logger.js';
import { SyncProgress } from '../../sync/progress.js';
import { runSync, type SyncSummary } from '../../sync/sync-engine.js';
import { zoomReportSource } from '../../sync/zoom-report-source.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { ZoomClient, type ZoomCallEvent } from '../../zoom/client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { startProgressDisplay } from '../progress-display.js';
import type { CommandContext } from '../context.js';

export interface SyncCommandOptions {
  all?: boolean;
  json?: boolean;
}

/** Runs one sync pass against Zoom (or the simulator the config points at) with progress display. */
export async function executeSync(deps: {
  config: Readonly<Config>;
  pool: Pool;
  logger: Logger;
  signal: AbortSignal;
  all: boolean;
  clock?: Clock;
  /** Also told about every Zoom API attempt (the service counts them for /metrics). */
  onCall?: (event: ZoomCallEvent) => void;
}): Promise<SyncSummary> {
  const credentials = requireZoomCredentials(deps.config);
  const clock = deps.clock ?? systemClock;
  const progress = new SyncProgress(() => clock.now().getTime());
  const zoom = new ZoomClient({
    config: deps.config.zoom,
    credentials,
    clock,
    logger: deps.logger.child({ module: 'zoom' }),
    onCall: (event) => {
      progress.recordCall(event.status);
      deps.onCall?.(event);
    },
  });
  const display = startProgressDisplay(progress, deps.logger);
  try {
    return await runSync(
      {
        pool: deps.pool,
        reports: zoomReportSource(zoom),
        clock,
        logger: deps.logger,
        settings: {
          concurrency: deps.config.sync.concurrency,
          settleHours: deps.config.sync.settleHours,
          horizonMarginDays: deps.config.sync.horizonMarginDays,
          horizonRiskDays: deps.config.sync.horizonRiskDays,
        },
        progress,
        signal: deps.signal,
      },
      deps.all ? 'all' : 'incremental',
    );
  } finally {
    display.stop();
    await zoom.close();
  }
}

export function exitCodeForSync(summary: SyncSummary): ExitCode {
  if (summary.atRisk.length > 0 || summary.windowsExpiredIncomplete.length > 0) return EXIT.HORIZON_AT_RISK;
  return summary.outcome === 'complete' ? EXIT.OK : EXIT.FAILURE;
}

const n = (value: number) => value.toLocaleString('en-US');

export function formatSyncSummary(s: SyncSummary): string {
  const lines: string[] = [];
  lines.push(`Sync pass #${s.runId} (${s.mode}): ${s.outcome} in ${(s.durationMs / 1000).toFixed(1)} s`);
  lines.push(
    `  horizon ${s.horizon.start} … ${s.horizon.today} (${s.horizon.windows} windows): ${s.windowsComplete.length} complete, ` +
      `${s.windowsOpen.length} open or settling, ${s.windowsIncomplete.length} incomplete`,
  );
  lines.push(`  sessions known ${n(s.sessionsKnown)} · session windows swept ${n(s.unitsSucceeded)}/${n(s.unitsAttempted)} · API calls ${n(s.apiCalls)}`);
  lines.push(`  message versions seen ${n(s.versionsSeen)} · newly archived ${n(s.versionsAdded)}`);
  if (s.malformedItems > 0) lines.push(`  ${n(s.malformedItems)} item(s) Zoom sent could not be keyed: kept verbatim, see the sync_errors view`);
  for (const r of s.atRisk) {
    lines.push(`  !! HORIZON RISK: window ${r.monthStart} is incomplete and its oldest day (${r.from}) leaves Zoom's horizon in ${r.daysUntilExpiry} day(s), on ${r.leavesHorizonOn}`);
  }
  for (const m of s.windowsExpiredIncomplete) lines.push(`  !! window ${m} left Zoom's horizon before it was complete: what was missing can no longer be archived`);
  const failures = [...s.listingFailures.map((f) => `listing ${f.monthStart}: ${f.error}`), ...s.unitFailures.map((f) => `window ${f.monthStart} session ${f.sessionId}: ${f.error}`)];
  if (failures.length > 0) {
    lines.push(`  ${failures.length} failure(s) (progress is kept; the next run retries them):`);
    for (const f of failures.slice(0, 10)) lines.push(`    - ${f}`);
    if (failures.length > 10) lines.push(`    … and ${failures.length - 10} more (see the sync_units view, column last_error)`);
  }
  return lines.join('\n');
}

export async function syncCommand(ctx: CommandContext, options: SyncCommandOptions): Promise<ExitCode> {
  requireZoomCredentials(ctx.config);
  const database = await ctx.openDatabase({ poolSize: ctx.config.sync.concurrency + 4 });
  const summary = await executeSync({ config: ctx.config, pool: database.pool, logger: ctx.logger, signal: ctx.signal, all: options.all === true });
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSyncSummary(summary)}\n`);
  return exitCodeForSync(summary);
}
