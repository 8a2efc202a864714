import type { Pool } from '../../db/pool.js';
import { loadCostPlan, type CostPlan } from '../../sync/cost-plan.js';
import { systemClock } from '../../util/clock.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatTable } from '../format-table.js';

export async function loadWindowOverview(pool: Pool): Promise<Array<Record<string, unknown>>> {
  const res = await pool.query(
    `SELECT month_start AS window, range_from AS "from", range_to AS "to", status, sessions_listed AS sessions,
            units_complete || '/' || units AS units, units_failing AS failing, versions_archived AS versions,
            last_swept_at, days_until_expiry
     FROM public.sync_windows
     WHERE status <> 'expired' OR month_start >= (now() AT TIME ZONE 'utc')::date - interval '8 months'
     ORDER BY month_start`,
  );
  return res.rows;
}

/** Prints the windows of the horizon; exits 3 when an incomplete window is about to leave it. */
export async function statusCommand(ctx: CommandContext, options: { json?: boolean }): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  const rows = await loadWindowOverview(database.pool);
  const riskDays = ctx.config.sync.horizonRiskDays;
  const atRisk = rows.filter((r) => r['status'] === 'incomplete' && typeof r['days_until_expiry'] === 'number' && (r['days_until_expiry'] as number) <= riskDays);
  const cost = await loadCostPlan(database.pool, systemClock, ctx.config.sync, ctx.config.zoom.ratePerSecond.medium);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ windows: rows, atRisk: atRisk.map((r) => r['window']), syncCost: cost })}\n`);
  } else {
    process.stdout.write(`${formatTable(Object.keys(rows[0] ?? { window: '' }), rows)}\n\n${formatCostPlan(cost)}\n`);
    for (const r of atRisk) {
      process.stdout.write(`!! HORIZON RISK: window ${String(r['window'])} is incomplete and leaves Zoom's horizon in ${String(r['days_until_expiry'])} day(s)\n`);
    }
  }
  return atRisk.length > 0 ? EXIT.HORIZON_AT_RISK : EXIT.OK;
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** The sync cost plan: what keeping the archive current costs in Zoom's MEDIUM budget. */
export function formatCostPlan(c: CostPlan): string {
  const p = c.projected;
  const measured = Object.entries(c.measured.callsByKind).map(([kind, calls]) => `${kind} ${n(calls)}`).join(' · ');
  const lines = [
    `Sync cost (MEDIUM report calls; budget ${n(c.budgetPerDay)} a day at the configured rate share):`,
    `  known sessions ${n(c.knownSessions)} · new ${c.growth.newSessionsPerDay.toFixed(1)} a day`,
    `  last ${c.measured.hours} h: ${n(c.measured.total)} calls (${measured})`,
    `  projected a day: listing ${n(p.listing)} + activity ${n(p.activity)} + backfill ${n(p.backfill)} + settled sweep ${n(p.settledAverage)} (${n(p.settledPeak)} on a sweep day)` +
      (p.interimAverage > 0 ? ` + interim sweeps ${n(p.interimAverage)} (${n(p.interimPeak)})` : ''),
    `  recurring: ${n(p.recurringAverage)} on average, ${n(p.recurringPeak)} on the busiest day = ${(p.peakShareOfBudget * 100).toFixed(1)}% of the budget` +
      (c.growth.daysUntilOverBudget === null ? '' : ` · over budget in ${n(c.growth.daysUntilOverBudget)} day(s) at this growth`),
  ];
  if (c.backfill.unitsPending > 0) lines.push(`  backfill in progress: ${n(c.backfill.unitsPending)} session windows left, about ${c.backfill.hoursAtBudget} h at the full rate`);
  for (const w of c.warnings) lines.push(`  !! ${w}`);
  return lines.join('\n');
}
