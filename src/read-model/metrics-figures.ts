import type { Queryable } from '../db/pool.js';

/**
 * What /metrics reads from the database on each scrape (src/service/metrics.ts turns it into
 * gauges), so every replica reports the same archive state whoever ran the jobs. Each query reads a
 * documented view over a small table (legal-hold files, exports, listing misses, sessions), grouped
 * by state or kind. The windows, the horizon and the job successes come from horizon.ts and the
 * job-run store; the exact archive totals from archive-totals.ts (cached: they need a scan).
 */
export interface ScrapeFigures {
  legalHoldFiles: Array<{ state: string; n: number; bytes: number }>;
  /** `bytes`: of complete bundles only. */
  exports: Array<{ state: string; n: number; bytes: number }>;
  /** Versions a settled-month or interim sweep found that no listing had shown, by version kind (only ever grows). */
  listingMisses: Array<{ kind: string; n: number }>;
}

export async function loadScrapeFigures(db: Queryable): Promise<ScrapeFigures> {
  const files = await db.query<{ state: string; n: number; bytes: number }>(
    `SELECT state, count(*)::int AS n, coalesce(sum(stored_bytes), 0)::bigint AS bytes FROM public.legal_hold_files GROUP BY state`,
  );
  const exports = await db.query<{ state: string; n: number; bytes: number }>(
    `SELECT state, count(*)::int AS n, coalesce(sum(bytes) FILTER (WHERE state = 'complete'), 0)::bigint AS bytes FROM public.export_bundles GROUP BY state`,
  );
  const misses = await db.query<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM public.sync_listing_misses GROUP BY kind`);
  return { legalHoldFiles: files.rows, exports: exports.rows, listingMisses: misses.rows };
}
