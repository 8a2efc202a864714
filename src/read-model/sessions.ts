import type { Queryable } from '../db/pool.js';
import { SqlParams } from '../archive/sql-values.js';
import { exactInstantSql } from './instants.js';

/**
 * Chat sessions: a filtered, keyset-paged list (newest activity first) and one session with its
 * counts, over `public.chat_sessions` and `public.chat_message_versions` (both plain projections
 * PostgreSQL inlines: the member filter uses the (lower(sender), sent_at) and (lower(receiver),
 * sent_at) indexes, the activity filter (session_id, sent_at, …)).
 */

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
  /** The paging key: last_message_sent_at exactly (or '-infinity'), for the next cursor. */
  sort_key: string;
}

const SESSION_COLUMNS = `s.session_id, s.type, s.name, s.channel_id, s.member_emails, s.status, s.has_external_member, s.last_message_sent_at,
  s.first_archived_at, s.last_archived_at`;

/** Newest activity first: (last_message_sent_at desc, never-active last, then session_id desc). */
export async function findSessions(db: Queryable, filters: SessionFilters, after: { sortKey: string; sessionId: string } | undefined, limit: number): Promise<SessionRow[]> {
  const p = new SqlParams();
  const where: string[] = [];
  if (filters.type !== undefined) where.push(`s.type = ${p.add(filters.type)}`);
  if (filters.name !== undefined) where.push(`s.name ILIKE '%' || ${p.add(escapeLike(filters.name))} || '%'`);
  if (filters.member !== undefined) {
    const m = p.add(filters.member);
    where.push(`(EXISTS (SELECT 1 FROM unnest(s.member_emails) AS e(email) WHERE lower(e.email) = lower(${m}))
      OR s.session_id IN (SELECT v.session_id FROM public.chat_message_versions v WHERE lower(v.sender) = lower(${m})
                          UNION SELECT v.session_id FROM public.chat_message_versions v WHERE lower(v.receiver) = lower(${m})))`);
  }
  if (filters.activeFrom !== undefined || filters.activeTo !== undefined) {
    const range: string[] = [];
    if (filters.activeFrom !== undefined) range.push(`v.sent_at >= ${p.add(filters.activeFrom)}`);
    if (filters.activeTo !== undefined) range.push(`v.sent_at < ${p.add(filters.activeTo)}`);
    where.push(`EXISTS (SELECT 1 FROM public.chat_message_versions v WHERE v.session_id = s.session_id AND ${range.join(' AND ')})`);
  }
  const sortExpr = `coalesce(s.last_message_sent_at, '-infinity'::timestamptz)`;
  if (after) where.push(`(${sortExpr}, s.session_id) < (${p.add(after.sortKey)}::timestamptz, ${p.add(after.sessionId)})`);
  const res = await db.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS},
            CASE WHEN s.last_message_sent_at IS NULL THEN '-infinity' ELSE ${exactInstantSql('s.last_message_sent_at')} END AS sort_key
     FROM public.chat_sessions s
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
    `SELECT ${SESSION_COLUMNS}, c.versions, c.messages, c.first_sent_at, c.last_sent_at
     FROM public.chat_sessions s
     CROSS JOIN LATERAL (
       SELECT count(*)::bigint AS versions, count(DISTINCT v.message_id)::bigint AS messages, min(v.sent_at) AS first_sent_at, max(v.sent_at) AS last_sent_at
       FROM public.chat_message_versions v WHERE v.session_id = s.session_id
     ) c
     WHERE s.session_id = $1`,
    [sessionId],
  );
  return res.rows[0];
}

/** A session the archive knows: listed, or with archived versions (a version can be archived for a session no listing row is kept for). */
export async function sessionExists(db: Queryable, sessionId: string): Promise<boolean> {
  const res = await db.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM public.chat_sessions WHERE session_id = $1) OR EXISTS (SELECT 1 FROM public.chat_message_versions WHERE session_id = $1) AS found`,
    [sessionId],
  );
  return res.rows[0]?.found === true;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
