import type { ChatMessageVersionColumns } from '../domain/types.js';
import type { SqlParams } from '../archive/sql-values.js';
import { exactInstantSql, millisecondInstantSql } from './instants.js';

/**
 * What the two reads of message content (a session's transcript, a message search) share: the
 * columns of a page, and the one statement that reads a page and writes its audit entry.
 *
 * Both read the documented view `public.chat_message_versions`. It is a plain projection of
 * archive.message_versions, which PostgreSQL inlines, so predicates on its columns use the table's
 * indexes exactly as predicates on the table would (same plans; see docs/benchmarks.md):
 * - transcript: (session_id, sent_at, message_id, action_at);
 * - sender / receiver: `lower(sender) = lower($1)` with a range on sent_at, for the
 *   (lower(sender), sent_at) and (lower(receiver), sent_at) indexes;
 * - full text: `chat_body_tsvector(body) @@ websearch_to_tsquery('simple', $1)` (GIN).
 *
 * Keyset paging throughout (no OFFSET): each query takes the sort key of the last row returned and
 * asks for `limit + 1` rows to learn whether another page follows. A version without a send time
 * (Zoom sent none) sorts after every version that has one, in a second phase of the same paging, so
 * paging still returns every row exactly once.
 */

/**
 * sent_at and action_at leave as exact text (cursors carry them) and also stay as timestamptz under
 * other names, for ordering the page.
 */
export const VERSION_COLUMNS = `
  v.version_id, v.session_id, v.message_id, v.kind, v.sender, v.sender_member_id,
  v.sender_display_name, v.receiver, v.body, v.reply_main_message_id, v.files, v.content_sha256,
  ${millisecondInstantSql('v.archived_at')} AS archived_at,
  ${exactInstantSql('v.sent_at')} AS sent_key, ${exactInstantSql('v.action_at')} AS action_key, v.sent_at AS sent_ts, v.action_at AS action_ts`;

/** What a page returns (the ordering columns and the phase stay inside the statement). */
const PAGE_OUTPUT = `version_id, session_id, message_id, kind, sender, sender_member_id, sender_display_name, receiver, body,
  reply_main_message_id, files, content_sha256, archived_at, sent_key, action_key`;

export interface VersionRow extends ChatMessageVersionColumns {
  raw?: unknown;
  /** sent_at / action_at as ISO 8601 UTC with microseconds (exact: cursors carry them). */
  sent_key: string | null;
  action_key: string;
}

/**
 * The audit entry of a content read. It is written by the same statement as the read (a
 * data-modifying CTE, the same insert as recordAudit in src/audit/audit-log.ts), so the two commit
 * together with one WAL flush: no page is ever returned that the audit log does not show.
 */
export interface ReadAudit {
  actor: string;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  /** Parameters and request facts; `returned` (rows on the page) is added by the statement. */
  details: Record<string, unknown>;
}

/**
 * Phase 1 (versions with a send time) and phase 2 (without one, only run when phase 1 did not fill
 * the page: the count is a one-time filter, so phase 2's scan is skipped otherwise), the audit
 * entry, and the page in order.
 *
 * `limit` is the page size plus one (the extra row only says whether another page follows), so the
 * audit entry's `returned` is at most limit - 1.
 */
export function pagedRead(p: SqlParams, parts: { phase1: string | undefined; phase2: ((gate: string) => string) | undefined; orderBy: string; limit: number; includeRaw: boolean; audit: ReadAudit }): string {
  const limit = p.add(parts.limit);
  const ctes: string[] = [];
  const union: string[] = [];
  if (parts.phase1 !== undefined) {
    ctes.push(`p1 AS (${parts.phase1} LIMIT ${limit})`);
    union.push('SELECT * FROM p1');
  }
  if (parts.phase2 !== undefined) {
    const gate = parts.phase1 !== undefined ? `AND (SELECT count(*) FROM p1) < ${limit}` : '';
    ctes.push(`p2 AS (${parts.phase2(gate)} LIMIT ${limit})`);
    union.push('SELECT * FROM p2');
  }
  const a = parts.audit;
  ctes.push(`page AS (${union.join(' UNION ALL ')})`);
  ctes.push(`audit AS (
    INSERT INTO archive.audit_log (actor, action, subject_type, subject_id, details)
    SELECT ${p.add(a.actor)}, ${p.add(a.action)}, ${p.add(a.subjectType)}, ${p.add(a.subjectId)},
           ${p.add(JSON.stringify(a.details))}::jsonb || jsonb_build_object('returned', least((SELECT count(*) FROM page), ${limit}::bigint - 1)))`);
  return `WITH ${ctes.join(',\n')}
    SELECT ${PAGE_OUTPUT}${parts.includeRaw ? ', raw' : ''} FROM page ORDER BY ${parts.orderBy} LIMIT ${limit}`;
}
