import type { Queryable } from '../db/pool.js';

/**
 * Legal-hold figures the API lists beside each matter (`legal_hold_files` view). The matters and
 * files themselves are read by the legal-hold module's stores (loadMatters, loadFiles), which the
 * CLI, the legal-hold job and the API share.
 */

/** Each matter's zip files counted by state; a state with no file is absent. */
export async function countFilesByMatter(db: Queryable): Promise<Map<string, Record<string, number>>> {
  const res = await db.query<{ matter_id: string; state: string; n: number }>(
    `SELECT matter_id, state, count(*)::int AS n FROM public.legal_hold_files GROUP BY matter_id, state`,
  );
  const out = new Map<string, Record<string, number>>();
  for (const r of res.rows) {
    const counts = out.get(r.matter_id) ?? {};
    counts[r.state] = r.n;
    out.set(r.matter_id, counts);
  }
  return out;
}
