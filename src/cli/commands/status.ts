import { formatBytes } from '../../util/bytes.js';
import { formatProofStatus } from '../../audit/proof-status.js';
import { formatAge, gatherStatus, type StatusReport } from '../../read-model/status-report.js';
import type { CostPlanReport } from '../../sync/cost-plan.js';
import { systemClock } from '../../util/clock.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format-table.js';

/**
 * `status`: the archive at a glance (src/read-model/status-report.ts gathers it). `--json` prints the
 * report object itself — named sections, stable. Exit 3 when an incomplete window is about to leave
 * the horizon, as `sync` does.
 */
export async function statusCommand(ctx: CommandContext, options: { json?: boolean }): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  const report = await gatherStatus({ db: database.pool, clock: systemClock, sync: ctx.config.sync, mediumRatePerSecond: ctx.config.zoom.ratePerSecond.medium });
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatStatus(report));
  return report.horizon.at_risk.length > 0 ? EXIT.HORIZON_AT_RISK : EXIT.OK;
}

/** The windows table: the report's window fields but listed_at and completed_at (in --json and GET /v1/status). */
const WINDOW_TABLE_COLUMNS = ['window', 'from', 'to', 'status', 'sessions', 'units', 'units_complete', 'failing', 'versions', 'last_swept_at', 'days_until_expiry'] as const;

export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', title);

  section('Last sync');
  const last = r.last_sync.last_finished;
  if (last === null) out.push('  no sync pass has finished yet');
  else {
    out.push(`  pass #${last.run_id} (${last.mode}) finished ${last.outcome}, ${formatAge(last.age_seconds)} ago (${last.finished_at})${last.error ? `: ${last.error}` : ''}`);
    const complete = r.last_sync.last_complete;
    if (complete && complete.run_id !== last.run_id) out.push(`  last complete pass: #${complete.run_id}, ${formatAge(complete.age_seconds)} ago`);
    if (!complete) out.push('  no pass has finished complete yet');
  }
  if (r.last_sync.running) out.push(`  running now: pass #${r.last_sync.running.run_id} (${r.last_sync.running.mode}), started ${formatAge(r.last_sync.running.age_seconds)} ago`);

  section(`Horizon ${r.horizon.start} … ${r.horizon.today}`);
  out.push(formatTable(r.windows.length > 0 ? WINDOW_TABLE_COLUMNS : ['window'], r.windows).replace(/^/gm, '  '));
  for (const w of r.horizon.at_risk) out.push(`  !! HORIZON RISK: window ${w.window} is incomplete and leaves Zoom's horizon in ${w.days_until_expiry} day(s), on ${w.leaves_horizon_on}`);

  if (r.totals) {
    section('Totals');
    out.push(`  sessions ${n(r.totals.sessions)} · messages ${n(r.totals.messages)} · message versions ${n(r.totals.versions)}${r.totals.malformed_items > 0 ? ` · malformed items kept ${n(r.totals.malformed_items)} (sync_errors)` : ''}`);
  }

  section(`Failing session windows: ${n(r.failing_units.count)}`);
  for (const u of r.failing_units.items) out.push(`  ${u.window} ${u.session_id}: ${u.failures} failure(s), last ${u.last_error_at ?? '?'}: ${u.last_error ?? ''}`);
  if (r.failing_units.count > r.failing_units.items.length) out.push(`  … and ${n(r.failing_units.count - r.failing_units.items.length)} more (sync_units where failures > 0)`);

  const f = r.legal_hold.files;
  section('Legal hold');
  const matters = Object.entries(r.legal_hold.matters).map(([state, count]) => `${count} ${state}`).join(', ');
  out.push(`  matters: ${matters || 'none'} · files: ${f.stored} stored, ${f.pending} pending, ${f.ready} ready, ${f.downloading} downloading, ${f.failed} failed`);
  for (const file of r.legal_hold.not_stored) {
    const detail = file.state === 'failed' ? `${file.attempts} attempt(s): ${file.last_error ?? ''}` : file.state === 'pending' && file.unready_hours !== null ? `waiting ${file.unready_hours} h for Zoom` : '';
    out.push(`  ${file.state.padEnd(11)} ${file.matter_name} / ${file.custodian} / ${file.file_key}${detail ? ` — ${detail}` : ''}`);
  }

  section('Files shared in chat');
  const byState = r.files.by_state;
  out.push(
    `  ${byState['stored'] ?? 0} stored (${formatBytes(r.files.stored_bytes)}), ${byState['pending'] ?? 0} pending, ${byState['failed'] ?? 0} failed, ${byState['gone'] ?? 0} gone, ${byState['too_large'] ?? 0} too large${r.files.digest_mismatches > 0 ? ` · !! ${r.files.digest_mismatches} differ from Zoom's digest` : ''}`,
  );
  for (const file of r.files.not_stored) {
    out.push(`  ${file.state.padEnd(7)} ${file.file_id} ${file.file_name ?? ''}${file.state === 'gone' ? ` — missing since ${file.first_missing_at ?? '?'}` : ` — ${file.attempts} attempt(s): ${file.last_error ?? ''}`}`);
  }

  section('Exports');
  if (r.exports.running.length === 0) out.push('  none running');
  for (const e of r.exports.running) out.push(`  running ${e.export_id} for ${e.requested_by}, started ${formatAge(e.age_seconds)} ago`);
  if (r.exports.failed_last_7_days > 0) out.push(`  ${r.exports.failed_last_7_days} failed in the last 7 days (export list)`);

  if (r.jobs.length > 0) {
    section('Service jobs (last run of each)');
    for (const j of r.jobs) out.push(`  ${j.job.padEnd(14)} ${j.outcome.padEnd(9)} ${j.started_at} on ${j.instance}${j.error ? `: ${j.error}` : ''}`);
  }
  if (r.locks.length > 0) {
    section('Held now');
    for (const l of r.locks) out.push(`  ${l.name} by ${l.holder} since ${l.acquired_at} (fence ${l.fence})`);
  }
  if (r.sync_cost) out.push('', formatCostPlan(r.sync_cost));
  out.push(...formatProofStatus(r.audit));
  return `${out.join('\n').replace(/^\n/, '')}\n`;
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** The sync cost plan: what keeping the archive current costs in Zoom's MEDIUM budget. */
export function formatCostPlan(c: CostPlanReport): string {
  const p = c.projected;
  const measured = Object.entries(c.last_day.calls_by_kind).map(([kind, calls]) => `${kind} ${n(calls)}`).join(' · ');
  const lines = [
    `Sync cost (MEDIUM report calls; budget ${n(c.budget_per_day)} a day at the configured rate share):`,
    `  known sessions ${n(c.known_sessions)} · new ${c.growth.new_sessions_per_day.toFixed(1)} a day`,
    `  last ${c.last_day.hours} h: ${n(c.last_day.total)} calls (${measured})`,
    `  projected a day: listing ${n(p.listing)} + activity ${n(p.activity)} + backfill ${n(p.backfill)} + settled sweep ${n(p.settled_average)} (${n(p.settled_peak)} on a sweep day)` +
      (p.interim_average > 0 ? ` + interim sweeps ${n(p.interim_average)} (${n(p.interim_peak)})` : ''),
    `  recurring: ${n(p.recurring_average)} on average, ${n(p.recurring_peak)} on the busiest day = ${(p.peak_share_of_budget * 100).toFixed(1)}% of the budget` +
      (c.growth.days_until_over_budget === null ? '' : ` · over budget in ${n(c.growth.days_until_over_budget)} day(s) at this growth`),
  ];
  if (c.backfill.units_pending > 0) lines.push(`  backfill in progress: ${n(c.backfill.units_pending)} session windows left, about ${c.backfill.hours_at_budget} h at the full rate`);
  for (const w of c.warnings) lines.push(`  !! ${w}`);
  return lines.join('\n');
}
