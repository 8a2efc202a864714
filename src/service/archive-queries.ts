import type { Queryable } from '../db/pool.js';
import type { ChatMessageVersionColumns } from '../domain/types.js';
import { SqlParams } from '../archive/sql-values.js';
import { exactInstantSql } from './cursor.js';

/**
 * The SQL behind the archive endpoints: sessions, a session's transcript, message search. Keyset
 * paging throughout (no OFFSET): each query takes the sort key of the last row returned and asks for
 * `limit + 1` rows to learn whether another page follows. Predicates are written to use the indexes
 * on archive.message_versions:
 * - transcript: (session_id, sent_at, message_id, action_at);
 * - sender / receiver: `lower(sender) = lower($1)` with a range on sent_at, for the
 *   (lower(sender), sent_at) and (lower(receiver), sent_at) indexes;
 * - full text: `chat_body_tsvector(body) @@ websearch_to_tsquery('simple', $1)` (GIN).
 *
 * A version without a send time (Zoom sent none) sorts after every version that has one, in a second
 * phase of the same paging, so paging still returns every row exactly once.
 */

/** Exact UTC text of a timestamptz with microseconds: the cursor keeps it, and `::timestamptz` reads it back exactly. */

/**
 * Times leave PostgreSQL as text (exact for cursors; the API shows them with milliseconds): parsing
 * them into Date objects and back costs more than the rest of a page. sent_at and action_at are also
 * kept as timestamptz under other names, for ordering the page.
 */
const VERSION_COLUMNS = `
  v.id AS version_id, v.session_id, v.message_id, v.kind, v.sender, v.sender_member_id,
  v.sender_display_name, v.receiver, v.body, v.reply_main_message_id, v.files, encode(v.content_sha256, 'hex') AS content_sha256,
  to_char(v.archived_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS archived_at,
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

// ---------------------------------------------------------------------------------------------
// Sessions

export interface SessionFilters {
  type?: string | undefined;
  /** Substring of the name, case-insensitive. */
  name?: string | undefined;
  /** An email: a 1:1 member, or anyone who sent or received a message in the session. */
  member?: string | undefined;
  /** Sessions with a message sent in [activeFrom, activeTo). */
  activeFrom?: Date | undefined;
  activeTo?: Date | undefined;
}

export interface SessionRow {
  session_id: string;
  type: string | null;
  name: string | null;
  channel_id: string | null;
  member_emails: string[] | null;
  status: string | null;
  has_external_member: boolean | null;
  last_message_sent_at: Date | null;
  first_archived_at: Date;
  last_archived_at: Date;
  sort_key: string;
}

/** Newest activity first: (last_message_sent_at desc, never-active last, then session_id desc). */
export async function findSessions(db: Queryable, filters: SessionFilters, after: { sortKey: string; sessionId: string } | undefined, limit: number): Promise<SessionRow[]> {
  const p = new SqlParams();
  const where: string[] = [];
  if (filters.type !== undefined) where.push(`s.type = ${p.add(filters.type)}`);
  if (filters.name !== undefined) where.push(`s.name ILIKE '%' || ${p.add(escapeLike(filters.name))} || '%'`);
  if (filters.member !== undefined) {
    const m = p.add(filters.member);
    where.push(`(EXISTS (SELECT 1 FROM unnest(s.member_emails) AS e(email) WHERE lower(e.email) = lower(${m}))
      OR s.session_id IN (SELECT v.session_id FROM archive.message_versions v WHERE lower(v.sender) = lower(${m})
                          UNION SELECT v.session_id FROM archive.message_versions v WHERE lower(v.receiver) = lower(${m})))`);
  }
  if (filters.activeFrom !== undefined || filters.activeTo !== undefined) {
    const range: string[] = [];
    if (filters.activeFrom !== undefined) range.push(`v.sent_at >= ${p.add(filters.activeFrom)}`);
    if (filters.activeTo !== undefined) range.push(`v.sent_at < ${p.add(filters.activeTo)}`);
    where.push(`EXISTS (SELECT 1 FROM archive.message_versions v WHERE v.session_id = s.session_id AND ${range.join(' AND ')})`);
  }
  const sortExpr = `coalesce(s.last_message_sent_at, '-infinity'::timestamptz)`;
  if (after) where.push(`(${sortExpr}, s.session_id) < (${p.add(after.sortKey)}::timestamptz, ${p.add(after.sessionId)})`);
  const res = await db.query<SessionRow>(
    `SELECT s.session_id, s.type, s.name, s.channel_id, s.member_emails, s.status, s.has_external_member, s.last_message_sent_at,
            s.first_archived_at, s.last_archived_at,
            CASE WHEN s.last_message_sent_at IS NULL THEN '-infinity' ELSE ${exactInstantSql('s.last_message_sent_at')} END AS sort_key
     FROM archive.sessions s
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${sortExpr} DESC, s.session_id DESC
     LIMIT ${p.add(limit)}`,
    p.values,
  );
  return res.rows;
}

export interface SessionDetail extends Omit<SessionRow, 'sort_key'> {
  versions: number;
  messages: number;
  first_sent_at: Date | null;
  last_sent_at: Date | null;
}

export async function findSession(db: Queryable, sessionId: string): Promise<SessionDetail | undefined> {
  const res = await db.query<SessionDetail>(
    `SELECT s.session_id, s.type, s.name, s.channel_id, s.member_emails, s.status, s.has_external_member, s.last_message_sent_at,
            s.first_archived_at, s.last_archived_at, c.versions, c.messages, c.first_sent_at, c.last_sent_at
     FROM archive.sessions s
     CROSS JOIN LATERAL (
       SELECT count(*)::bigint AS versions, count(DISTINCT v.message_id)::bigint AS messages, min(v.sent_at) AS first_sent_at, max(v.sent_at) AS last_sent_at
       FROM archive.message_versions v WHERE v.session_id = s.session_id
     ) c
     WHERE s.session_id = $1`,
    [sessionId],
  );
  return res.rows[0];
}

export async function sessionExists(db: Queryable, sessionId: string): Promise<boolean> {
  const res = await db.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM archive.sessions WHERE session_id = $1) OR EXISTS (SELECT 1 FROM archive.message_versions WHERE session_id = $1) AS found`,
    [sessionId],
  );
  return res.rows[0]?.found === true;
}

// ---------------------------------------------------------------------------------------------
// Content reads: one statement that reads the page and writes its audit entry

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

/*
 * `limit` below is the page size plus one (the extra row only says whether another page follows),
 * so the audit entry's `returned` is at most limit - 1.
 */

/**
 * Phase 1 (versions with a send time) and phase 2 (without one, only run when phase 1 did not fill
 * the page: the count is a one-time filter, so phase 2's scan is skipped otherwise), the audit
 * entry, and the page in order.
 */
function pagedRead(p: SqlParams, parts: { phase1: string | undefined; phase2: ((gate: string) => string) | undefined; orderBy: string; limit: number; includeRaw: boolean; audit: ReadAudit }): string {
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

// ---------------------------------------------------------------------------------------------
// Transcript

/** Where the previous page ended: with a send time, or (second phase) among versions without one. */
export type TranscriptPosition =
  | { phase: 'sent'; sentKey: string; messageId: string; actionKey: string; versionId: number }
  | { phase: 'unsent'; messageId: string; actionKey: string; versionId: number };

/**
 * Every version of a session in transcript order: sent_at, message_id, action_at, version id.
 * `limit` rows at most (ask for one more than the page to learn whether another follows).
 */
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
        AND (v.sent_at, v.message_id, v.action_at, v.id) > (${sent}::timestamptz, ${p.add(after.messageId)}, ${p.add(after.actionKey)}::timestamptz, ${p.add(after.versionId)}::bigint)`;
    }
    phase1 = `SELECT ${columns}, 1 AS phase FROM archive.message_versions v
      WHERE v.session_id = ${session} AND v.sent_at IS NOT NULL ${keyset}
      ORDER BY v.sent_at, v.message_id, v.action_at, v.id`;
  }
  const keyset2 =
    after?.phase === 'unsent' ? `AND (v.message_id, v.action_at, v.id) > (${p.add(after.messageId)}, ${p.add(after.actionKey)}::timestamptz, ${p.add(after.versionId)}::bigint)` : '';
  const phase2 = (gate: string) => `SELECT ${columns}, 2 AS phase FROM archive.message_versions v
    WHERE v.session_id = ${session} AND v.sent_at IS NULL ${keyset2} ${gate}
    ORDER BY v.message_id, v.action_at, v.id`;
  const sql = pagedRead(p, { phase1, phase2, orderBy: 'phase, sent_ts, message_id, action_ts, version_id', limit, includeRaw, audit });
  return (await db.query<VersionRow>(sql, p.values)).rows;
}

// ---------------------------------------------------------------------------------------------
// Search

export interface SearchFilters {
  sender?: string | undefined;
  receiver?: string | undefined;
  sessionId?: string | undefined;
  /** Send time in [from, to). */
  from?: Date | undefined;
  to?: Date | undefined;
  /** websearch_to_tsquery syntax: words, "a phrase", -not, or. */
  q?: string | undefined;
}

export type SearchPosition = { phase: 'sent'; sentKey: string; versionId: number } | { phase: 'unsent'; versionId: number };

/** True when `q` has at least one searchable word ('simple' configuration). */
export async function isSearchableQuery(db: Queryable, q: string): Promise<boolean> {
  const res = await db.query<{ nodes: number }>(`SELECT numnode(websearch_to_tsquery('simple', $1)) AS nodes`, [q]);
  return (res.rows[0]?.nodes ?? 0) > 0;
}

/** Matching versions ordered by send time, then version id; `limit` rows at most. */
export async function searchVersions(db: Queryable, filters: SearchFilters, after: SearchPosition | undefined, limit: number, includeRaw: boolean, audit: ReadAudit): Promise<VersionRow[]> {
  const columns = `${VERSION_COLUMNS}${includeRaw ? ', v.raw' : ''}`;
  const p = new SqlParams();
  const where: string[] = [];
  if (filters.sender !== undefined) where.push(`lower(v.sender) = lower(${p.add(filters.sender)})`);
  if (filters.receiver !== undefined) where.push(`lower(v.receiver) = lower(${p.add(filters.receiver)})`);
  if (filters.sessionId !== undefined) where.push(`v.session_id = ${p.add(filters.sessionId)}`);
  if (filters.q !== undefined) where.push(`public.chat_body_tsvector(v.body) @@ websearch_to_tsquery('simple', ${p.add(filters.q)})`);
  let phase1: string | undefined;
  if (after === undefined || after.phase === 'sent') {
    const w = [...where, 'v.sent_at IS NOT NULL'];
    if (filters.from !== undefined) w.push(`v.sent_at >= ${p.add(filters.from)}`);
    if (filters.to !== undefined) w.push(`v.sent_at < ${p.add(filters.to)}`);
    if (after) {
      const sent = p.add(after.sentKey);
      w.push(`v.sent_at >= ${sent}::timestamptz`, `(v.sent_at, v.id) > (${sent}::timestamptz, ${p.add(after.versionId)}::bigint)`);
    }
    phase1 = `SELECT ${columns}, 1 AS phase FROM archive.message_versions v WHERE ${w.join(' AND ')} ORDER BY v.sent_at, v.id`;
  }
  // A version without a send time cannot fall inside a time range.
  let phase2: ((gate: string) => string) | undefined;
  if (filters.from === undefined && filters.to === undefined) {
    const w = [...where, 'v.sent_at IS NULL'];
    if (after?.phase === 'unsent') w.push(`v.id > ${p.add(after.versionId)}::bigint`);
    phase2 = (gate) => `SELECT ${columns}, 2 AS phase FROM archive.message_versions v WHERE ${w.join(' AND ')} ${gate} ORDER BY v.id`;
  }
  const sql = pagedRead(p, { phase1, phase2, orderBy: 'phase, sent_ts, version_id', limit, includeRaw, audit });
  return (await db.query<VersionRow>(sql, p.values)).rows;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
