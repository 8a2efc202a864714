import type { Queryable } from '../db/pool.js';
import { SqlParams } from '../archive/sql-values.js';
import { pagedRead, VERSION_COLUMNS, type ReadAudit, type VersionRow } from './content-read.js';

/**
 * Message search over `public.chat_message_versions`: by sender, receiver (emails matched
 * case-insensitively, for the (lower(sender), sent_at) and (lower(receiver), sent_at) indexes),
 * session, a send-time range and full text (`chat_body_tsvector(body) @@ websearch_to_tsquery(…)`,
 * the GIN index), ordered by send time, then version id; versions without a send time last.
 */

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

/**
 * Full text alone cannot tell the planner how common a word is: PostgreSQL's statistics keep only
 * the most common lexemes and estimate any other at 0.5% of rows. Walking versions in send order
 * (message_versions_sent_at, 0010) finds a page of a common word at once, but for a rare term it
 * reads most of the index (measured on 1,000,000 versions: 3–4.6 s for a term in 200 rows). So a
 * search with `q` first counts the term's matches through the GIN index, up to this many: fewer,
 * and the matches are collected through the GIN index and sorted (the `OFFSET 0` fence keeps the
 * planner from walking send order); as many or more, and the planner chooses (it walks send order).
 */
export const SELECTIVE_TEXT_MATCHES = 5000;

const textMatch = (column: string, q: string) => `public.chat_body_tsvector(${column}) @@ websearch_to_tsquery('simple', ${q})`;

/** How many versions match `q`, counted up to `cap` (through the full-text index). */
export async function countTextMatches(db: Queryable, q: string, cap: number): Promise<number> {
  const res = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM public.chat_message_versions v WHERE ${textMatch('v.body', '$1')} LIMIT $2) m`, [q, cap]);
  return res.rows[0]?.n ?? 0;
}

export type SearchPosition = { phase: 'sent'; sentKey: string; versionId: number } | { phase: 'unsent'; versionId: number };

/** True when `q` has at least one searchable word ('simple' configuration). */
export async function isSearchableQuery(db: Queryable, q: string): Promise<boolean> {
  const res = await db.query<{ nodes: number }>(`SELECT numnode(websearch_to_tsquery('simple', $1)) AS nodes`, [q]);
  return (res.rows[0]?.nodes ?? 0) > 0;
}

/** Matching versions ordered by send time, then version id; `limit` rows at most, and the read's audit entry. */
export async function searchVersions(db: Queryable, filters: SearchFilters, after: SearchPosition | undefined, limit: number, includeRaw: boolean, audit: ReadAudit): Promise<VersionRow[]> {
  const columns = `${VERSION_COLUMNS}${includeRaw ? ', v.raw' : ''}`;
  const selective = filters.q !== undefined && (await countTextMatches(db, filters.q, SELECTIVE_TEXT_MATCHES)) < SELECTIVE_TEXT_MATCHES;
  const p = new SqlParams();
  const where: string[] = [];
  let source = 'public.chat_message_versions v';
  if (filters.sender !== undefined) where.push(`lower(v.sender) = lower(${p.add(filters.sender)})`);
  if (filters.receiver !== undefined) where.push(`lower(v.receiver) = lower(${p.add(filters.receiver)})`);
  if (filters.sessionId !== undefined) where.push(`v.session_id = ${p.add(filters.sessionId)}`);
  if (filters.q !== undefined) {
    const match = textMatch('v.body', p.add(filters.q));
    if (selective) source = `(SELECT * FROM public.chat_message_versions v WHERE ${match} OFFSET 0) v`;
    else where.push(match);
  }
  let phase1: string | undefined;
  if (after === undefined || after.phase === 'sent') {
    const w = [...where, 'v.sent_at IS NOT NULL'];
    if (filters.from !== undefined) w.push(`v.sent_at >= ${p.add(filters.from)}`);
    if (filters.to !== undefined) w.push(`v.sent_at < ${p.add(filters.to)}`);
    if (after) {
      const sent = p.add(after.sentKey);
      w.push(`v.sent_at >= ${sent}::timestamptz`, `(v.sent_at, v.version_id) > (${sent}::timestamptz, ${p.add(after.versionId)}::bigint)`);
    }
    phase1 = `SELECT ${columns}, 1 AS phase FROM ${source} WHERE ${w.join(' AND ')} ORDER BY v.sent_at, v.version_id`;
  }
  // A version without a send time cannot fall inside a time range.
  let phase2: ((gate: string) => string) | undefined;
  if (filters.from === undefined && filters.to === undefined) {
    const w = [...where, 'v.sent_at IS NULL'];
    if (after?.phase === 'unsent') w.push(`v.version_id > ${p.add(after.versionId)}::bigint`);
    phase2 = (gate) => `SELECT ${columns}, 2 AS phase FROM ${source} WHERE ${w.join(' AND ')} ${gate} ORDER BY v.version_id`;
  }
  const sql = pagedRead(p, { phase1, phase2, orderBy: 'phase, sent_ts, version_id', limit, includeRaw, audit });
  return (await db.query<VersionRow>(sql, p.values)).rows;
}
