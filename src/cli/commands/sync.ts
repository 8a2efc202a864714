import { requireZoomCredentials } from '../../config/config.js';
import { ArchiverError } from '../../errors.js';
import { assessHorizonStatus } from '../../read-model/horizon.js';
import { SyncProgress } from '../../sync/progress.js';
import type { SyncSummary } from '../../sync/sync-engine.js';
import { runSyncPass, type SyncPassDependencies } from '../../sync/sync-pass.js';
import { systemClock } from '../../util/clock.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { startProgressDisplay } from '../progress-display.js';
import type { CommandContext } from '../context.js';

export interface SyncCommandOptions {
  all?: boolean;
  json?: boolean;
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
  lines.push(`  sessions known ${n(s.sessionsKnown)} (${n(s.sessionsNew)} new) · session windows read ${n(s.unitsSucceeded)}/${n(s.unitsAttempted)} · API calls ${n(s.apiCalls)}`);
  const reads = Object.entries(s.readsByKind).filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ${n(count)}`);
  if (reads.length > 0) lines.push(`  reads by reason: ${reads.join(' · ')}`);
  const calls = Object.entries(s.callsByKind).filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ${n(count)}`);
  if (calls.length > 0) lines.push(`  report calls by kind: ${calls.join(' · ')}`);
  for (const r of s.rounds) {
    lines.push(`  ${r.kind} sweep of ${r.monthStart}: ${n(r.doneBefore + r.taken)}/${n(r.units)} sessions read or picked (${n(r.taken)} in this pass)`);
  }
  if (s.listingMisses > 0) lines.push(`  ${n(s.listingMisses)} version(s) found by a sweep that no listing had shown: see the sync_listing_misses view`);
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

/** One sync pass with a live progress display (a status line on a terminal, log lines otherwise). */
export async function runSyncWithProgress(deps: Omit<SyncPassDependencies, 'clock' | 'progress'>, all: boolean): Promise<SyncSummary> {
  const progress = new SyncProgress();
  const display = startProgressDisplay(progress, deps.logger);
  try {
    return await runSyncPass({ ...deps, clock: systemClock, progress }, all ? 'all' : 'incremental');
  } finally {
    display.stop();
  }
}

export async function syncCommand(ctx: CommandContext, options: SyncCommandOptions): Promise<ExitCode> {
  requireZoomCredentials(ctx.config);
  const database = await ctx.openDatabase({ poolSize: ctx.config.sync.concurrency + 4 });
  let summary: SyncSummary;
  try {
    summary = await runSyncWithProgress(
      { sync: ctx.config.sync, pool: database.pool, zoom: ctx.zoom(), logger: ctx.logger, signal: ctx.signal },
      options.all === true,
    );
  } catch (err) {
    if (!(err instanceof ArchiverError) || err.code === 'ABORTED' || err.code === 'SYNC_ALREADY_RUNNING' || ctx.signal.aborted) throw err;
    // The cause first, as the headline; then what it puts at risk, read from the archive.
    process.stderr.write(`zoom-chat-archiver: sync stopped: ${err.code}: ${err.message}\n`);
    const horizon = await assessHorizonStatus(database.pool, systemClock, ctx.config.sync).catch(() => undefined);
    for (const r of horizon?.atRisk ?? []) {
      process.stderr.write(`  !! HORIZON RISK: window ${r.monthStart} is incomplete and its oldest day (${r.from}) leaves Zoom's horizon in ${r.daysUntilExpiry} day(s), on ${r.leavesHorizonOn}\n`);
    }
    return EXIT.FAILURE;
  }
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSyncSummary(summary)}\n`);
  return exitCodeForSync(summary);
}
