import type { Pool } from '../../db/pool.js';
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
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ windows: rows, atRisk: atRisk.map((r) => r['window']) })}\n`);
  } else {
    process.stdout.write(`${formatTable(Object.keys(rows[0] ?? { window: '' }), rows)}\n`);
    for (const r of atRisk) {
      process.stdout.write(`!! HORIZON RISK: window ${String(r['window'])} is incomplete and leaves Zoom's horizon in ${String(r['days_until_expiry'])} day(s)\n`);
    }
  }
  return atRisk.length > 0 ? EXIT.HORIZON_AT_RISK : EXIT.OK;
}
