import type { Queryable } from '../db/pool.js';

/**
 * Exact archive totals (`status` and /metrics). Sessions are a small table; messages and versions
 * need a scan of chat_message_versions (about a second per few million rows), so callers that poll
 * cache the figures (metrics.ts) or leave them out (GET /v1/status).
 */
export interface ArchiveTotals {
  sessions: number;
  messages: number;
  versions: number;
  /** Items Zoom sent that could not be keyed, kept verbatim (`sync_errors`). */
  malformedItems: number;
}

export async function countArchiveTotals(db: Queryable): Promise<ArchiveTotals> {
  const res = await db.query<{ sessions: number; messages: number; versions: number; malformed: number }>(
    `SELECT (SELECT count(*) FROM public.chat_sessions)::bigint AS sessions,
            (SELECT count(*) FROM (SELECT DISTINCT session_id, message_id FROM public.chat_message_versions) m)::bigint AS messages,
            (SELECT count(*) FROM public.chat_message_versions)::bigint AS versions,
            (SELECT count(*) FROM public.sync_errors)::bigint AS malformed`,
  );
  const t = res.rows[0];
  return { sessions: t?.sessions ?? 0, messages: t?.messages ?? 0, versions: t?.versions ?? 0, malformedItems: t?.malformed ?? 0 };
}

/** Sessions known to the archive: cheap (one small table), read on every scrape. */
export async function countSessions(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.chat_sessions`)).rows[0]?.n ?? 0;
}
