import type { Queryable } from '../db/pool.js';
import { exactInstantSql } from './instants.js';

/**
 * Export bundles (`export_bundles` view), newest first, keyset-paged on (requested_at, export_id):
 * the ids of one page, with each row's paging key. The records themselves are read by
 * export-store's getExport, which the CLI and the export runner share.
 */
export async function listExportIds(
  db: Queryable,
  options: { state?: string | undefined; after?: { requestedAtKey: string; exportId: string } | undefined; limit: number },
): Promise<Array<{ exportId: string; key: string }>> {
  const values: unknown[] = [options.state ?? null, options.limit];
  let keyset = '';
  if (options.after) {
    values.push(options.after.requestedAtKey, options.after.exportId);
    keyset = 'AND (requested_at, export_id) < ($3::timestamptz, $4)';
  }
  const res = await db.query<{ export_id: string; key: string }>(
    `SELECT export_id, ${exactInstantSql('requested_at')} AS key FROM public.export_bundles
     WHERE ($1::text IS NULL OR state = $1) ${keyset}
     ORDER BY requested_at DESC, export_id DESC LIMIT $2`,
    values,
  );
  return res.rows.map((r) => ({ exportId: r.export_id, key: r.key }));
}
