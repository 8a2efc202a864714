import type { Queryable } from '../db/pool.js';
import { SqlParams } from '../archive/sql-values.js';
import { pagedRead, VERSION_COLUMNS, type ReadAudit, type VersionRow } from './content-read.js';

/**
 * A session's transcript: every version (original, each edit, the deletion) of every message, in
 * transcript order — sent_at, message_id, action_at, version id — over `public.chat_message_versions`
 * (index (session_id, sent_at, message_id, action_at)). Versions without a send time come last.
 */

/** Where the previous page ended: with a send time, or (second phase) among versions without one. */
export type TranscriptPosition =
  | { phase: 'sent'; sentKey: string; messageId: string; actionKey: string; versionId: number }
  | { phase: 'unsent'; messageId: string; actionKey: string; versionId: number };

/** `limit` rows at most (ask for one more than the page to learn whether another follows), and the read's audit entry. */
export async function readTranscriptPage(db: Queryable, sessionId: string, after: TranscriptPosition | undefined, limit: number, includeRaw: boolean, audit: ReadAudit): Promise<VersionRow[]> {
  const columns = `${VERSION_COLUMNS}${includeRaw ? ', v.raw' : ''}`;
  const p = new SqlParams();
  const session = p.add(sessionId);
  let phase1: string | undefined;
  if (after === undefined || after.phase === 'sent') {
    let keyset = '';
    if (after) {
      const sent = p.add(after.sentKey);
      // The plain bound lets the index range scan start at the cursor; the row comparison breaks ties.
      keyset = `AND v.sent_at >= ${sent}::timestamptz
        AND (v.sent_at, v.message_id, v.action_at, v.version_id) > (${sent}::timestamptz, ${p.add(after.messageId)}, ${p.add(after.actionKey)}::timestamptz, ${p.add(after.versionId)}::bigint)`;
    }
    phase1 = `SELECT ${columns}, 1 AS phase FROM public.chat_message_versions v
      WHERE v.session_id = ${session} AND v.sent_at IS NOT NULL ${keyset}
      ORDER BY v.sent_at, v.message_id, v.action_at, v.version_id`;
  }
  const keyset2 =
    after?.phase === 'unsent' ? `AND (v.message_id, v.action_at, v.version_id) > (${p.add(after.messageId)}, ${p.add(after.actionKey)}::timestamptz, ${p.add(after.versionId)}::bigint)` : '';
  const phase2 = (gate: string) => `SELECT ${columns}, 2 AS phase FROM public.chat_message_versions v
    WHERE v.session_id = ${session} AND v.sent_at IS NULL ${keyset2} ${gate}
    ORDER BY v.message_id, v.action_at, v.version_id`;
  const sql = pagedRead(p, { phase1, phase2, orderBy: 'phase, sent_ts, message_id, action_ts, version_id', limit, includeRaw, audit });
  return (await db.query<VersionRow>(sql, p.values)).rows;
}
