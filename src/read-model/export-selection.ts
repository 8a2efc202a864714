import type { ChatMessageVersionColumns, IsoDate } from '../domain/types.js';
import type { PoolClient, Queryable } from '../db/pool.js';

/**
 * What an export selects, and everything it reads about the selection, over the documented read
 * model: the `public` views (chat_message_versions, chat_sessions, held_messages, legal_hold_files,
 * legal_hold_custodians) and nothing under `archive`. The views are plain projections, so PostgreSQL
 * plans through them exactly as through the tables: measured on the 1,000,000-version benchmark
 * archive, the custodian and full-text selections have the same plans (same indexes:
 * message_versions_sender_time, _receiver_time, _transcript, _identity) and the same times within
 * noise as the `archive.*` queries they replace (custodians 0.63–0.80 s vs 0.71–0.86 s; a query
 * over three sessions 102–148 ms vs 110–138 ms).
 *
 * - matter: every version `held_messages` lists for the matter (same custodian and date semantics
 *   as the legal hold itself), each once.
 * - custodians: versions in sessions where a custodian sent or received a message or is a listed
 *   member (the semantics of `held_messages`), whose message was sent inside [from, to] (UTC days,
 *   both inclusive; a version without a send time counts by its action time, as in held_messages).
 * - sessions: every version of those sessions, optionally bounded by send day.
 * - query (any kind): messages any of whose versions' text matches the full-text query
 *   (`websearch_to_tsquery('simple', …)` against the GIN-indexed `chat_body_tsvector`); every
 *   version of such a message is exported, so an edit keeps its earlier text.
 *
 * Order: session, send time, message id, version time, version id — stable, and it keeps a
 * message's versions together. Every read runs in the caller's transaction (the export's one
 * REPEATABLE READ snapshot), so counts, versions and lookups agree.
 */

// --- what can be selected ----------------------------------------------------------------------

export interface MatterFilter {
  kind: 'matter';
  matterId: string;
  query?: string;
}

export interface CustodianFilter {
  kind: 'custodians';
  /** Lower-case emails, 1–100, sorted. */
  custodians: string[];
  /** UTC days, both inclusive. */
  from: IsoDate;
  to: IsoDate;
  query?: string;
}

export interface SessionFilter {
  kind: 'sessions';
  sessionIds: string[];
  /** Optional UTC-day bounds on the send time, both inclusive. */
  from?: IsoDate;
  to?: IsoDate;
  query?: string;
}

export type ExportFilter = MatterFilter | CustodianFilter | SessionFilter;

export interface ExportCounts {
  sessions: number;
  /** Distinct (session, message) pairs. */
  messages: number;
  versions: number;
  /** Versions of kind `edited`. */
  edits: number;
  /** Versions of kind `deleted`. */
  deletions: number;
  /** Distinct (session, message, file id) triples referenced by the selected versions. */
  files: number;
}

/** One file a message references, as Zoom listed it (the download URL is never exported). */
export interface VersionFile {
  file_id?: unknown;
  file_name?: unknown;
  file_size?: unknown;
}

/** One row of the selection. Times are ISO 8601 UTC strings with milliseconds. */
export interface VersionRow extends ChatMessageVersionColumns {
  action_at: string;
  sent_at: string | null;
  /** The item exactly as Zoom sent it, as JSON text (jsonb's canonical form). */
  raw: string;
}

/** A session as the read model knows it (public.chat_sessions). */
export interface SessionInfo {
  session_id: string;
  name: string | null;
  type: string | null;
  channel_id: string | null;
  member_emails: string[] | null;
  status: string | null;
  has_external_member: boolean | null;
}

// --- the SQL ------------------------------------------------------------------------------------

export interface SqlText {
  text: string;
  values: unknown[];
}

/** `to_char` of a timestamptz as ISO 8601 UTC with milliseconds, e.g. 2026-05-21T10:15:00.123Z. */
export function isoTimestampSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

const utcDayStart = (param: string) => `(${param}::date::timestamp AT TIME ZONE 'UTC')`;
const utcDayEnd = (param: string) => `((${param}::date + 1)::timestamp AT TIME ZONE 'UTC')`;

/** The WHERE clause over `public.chat_message_versions v` for a filter. */
export function buildSelectionWhere(filter: ExportFilter): SqlText {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const conditions: string[] = [];
  const sentOrActed = 'coalesce(v.sent_at, v.action_at)';
  switch (filter.kind) {
    case 'matter':
      conditions.push(`v.version_id IN (SELECT h.version_id FROM public.held_messages h WHERE h.matter_id = ${param(filter.matterId)})`);
      break;
    case 'custodians': {
      const emails = param(filter.custodians);
      conditions.push(`v.session_id IN (
        SELECT mv.session_id FROM public.chat_message_versions mv WHERE lower(mv.sender) = ANY(${emails}::text[])
        UNION SELECT mv.session_id FROM public.chat_message_versions mv WHERE lower(mv.receiver) = ANY(${emails}::text[])
        UNION SELECT s.session_id FROM public.chat_sessions s WHERE EXISTS (SELECT 1 FROM unnest(s.member_emails) AS e WHERE lower(e) = ANY(${emails}::text[])))`);
      conditions.push(`${sentOrActed} >= ${utcDayStart(param(filter.from))}`);
      conditions.push(`${sentOrActed} < ${utcDayEnd(param(filter.to))}`);
      break;
    }
    case 'sessions':
      conditions.push(`v.session_id = ANY(${param(filter.sessionIds)}::text[])`);
      if (filter.from !== undefined) conditions.push(`${sentOrActed} >= ${utcDayStart(param(filter.from))}`);
      if (filter.to !== undefined) conditions.push(`${sentOrActed} < ${utcDayEnd(param(filter.to))}`);
      break;
  }
  if (filter.query !== undefined) {
    conditions.push(`(v.session_id, v.message_id) IN (
      SELECT q.session_id, q.message_id FROM public.chat_message_versions q
      WHERE public.chat_body_tsvector(q.body) @@ websearch_to_tsquery('simple', ${param(filter.query)}))`);
  }
  return { text: conditions.join('\n  AND '), values };
}

export const VERSION_ORDER = 'v.session_id, v.sent_at, v.message_id, v.action_at, v.version_id';

/** Every selected version with what the writers need, in export order. */
export function buildVersionQuery(filter: ExportFilter): SqlText {
  const where = buildSelectionWhere(filter);
  return {
    text: `SELECT v.version_id, v.session_id, v.message_id, v.kind,
  ${isoTimestampSql('v.action_at')} AS action_at, ${isoTimestampSql('v.sent_at')} AS sent_at, ${isoTimestampSql('v.archived_at')} AS archived_at,
  v.sender, v.sender_member_id, v.sender_display_name, v.receiver, v.body, v.reply_main_message_id,
  v.files, v.raw::text AS raw, v.content_sha256
FROM public.chat_message_versions v
WHERE ${where.text}
ORDER BY ${VERSION_ORDER}`,
    values: where.values,
  };
}

/** The manifest's counts, computed by the database over the same snapshot as the versions. */
export function buildCountQuery(filter: ExportFilter): SqlText {
  const where = buildSelectionWhere(filter);
  return {
    text: `WITH sel AS (
  SELECT v.session_id, v.message_id, v.kind, v.files FROM public.chat_message_versions v WHERE ${where.text}
)
SELECT
  (SELECT count(*) FROM sel)::bigint AS versions,
  (SELECT count(DISTINCT session_id) FROM sel)::bigint AS sessions,
  (SELECT count(*) FROM (SELECT DISTINCT session_id, message_id FROM sel) m)::bigint AS messages,
  (SELECT count(*) FROM sel WHERE kind = 'edited')::bigint AS edits,
  (SELECT count(*) FROM sel WHERE kind = 'deleted')::bigint AS deletions,
  (SELECT count(*) FROM (
     SELECT DISTINCT sel.session_id, sel.message_id, coalesce(f ->> 'file_id', f ->> 'file_name', f::text)
     FROM sel CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(sel.files) = 'array' THEN sel.files ELSE '[]'::jsonb END) AS f
   ) x)::bigint AS files`,
    values: where.values,
  };
}

export function rowToCounts(row: Record<string, unknown> | undefined): ExportCounts {
  const n = (key: string) => Number(row?.[key] ?? 0);
  return { sessions: n('sessions'), messages: n('messages'), versions: n('versions'), edits: n('edits'), deletions: n('deletions'), files: n('files') };
}

/**
 * Everyone who wrote in the selection, one row per Zoom member id (see export/people.ts): the email
 * Zoom gave as `sender`, or — for someone outside the account, whose `sender` is empty — the member
 * of a 1:1 chat who is not the receiver; the display name of their latest version; and whether
 * every message of theirs came without a `sender`. One hash aggregate per (member, name) over the
 * selection, then a tiny one per member: no sort, no per-row formatting.
 */
export function buildPeopleQuery(filter: ExportFilter): SqlText {
  const where = buildSelectionWhere(filter);
  const email = `CASE WHEN coalesce(v.sender, '') = '' THEN (
      SELECT e FROM public.chat_sessions s, unnest(s.member_emails) AS e
      WHERE s.session_id = v.session_id AND s.type = '1:1' AND cardinality(s.member_emails) = 2 AND lower(e) <> lower(coalesce(v.receiver, ''))
      LIMIT 1) ELSE v.sender END`;
  return {
    text: `SELECT member_id, lower(max(email)) AS email,
  (array_agg(display_name ORDER BY last_at DESC) FILTER (WHERE display_name <> ''))[1] AS display_name,
  bool_and(external) AS external
FROM (
  SELECT v.sender_member_id AS member_id, coalesce(v.sender_display_name, '') AS display_name, max(v.action_at) AS last_at,
    max(${email}) AS email, bool_and(coalesce(v.sender, '') = '') AS external
  FROM public.chat_message_versions v
  WHERE ${where.text} AND coalesce(v.sender_member_id, '') <> ''
  GROUP BY 1, 2
) x
GROUP BY member_id`,
    values: where.values,
  };
}

/**
 * Threads of the selection whose replies were sent on a later UTC day than their main message: the
 * main message and the send time of its last reply, per session. The RSMF writer keeps such a thread
 * in one file. Only crossing threads are returned, so the answer stays small.
 */
export function buildCrossDayThreadQuery(filter: ExportFilter): SqlText {
  const where = buildSelectionWhere(filter);
  return {
    text: `SELECT v.session_id, v.reply_main_message_id AS main_message_id, ${isoTimestampSql('max(v.sent_at)')} AS last_reply_at
FROM public.chat_message_versions v
WHERE ${where.text} AND v.reply_main_message_id IS NOT NULL AND v.sent_at IS NOT NULL
GROUP BY v.session_id, v.reply_main_message_id
HAVING max(v.sent_at) >= (
  SELECT date_trunc('day', min(p.sent_at), 'UTC') + interval '1 day' FROM public.chat_message_versions p
  WHERE p.session_id = v.session_id AND p.message_id = v.reply_main_message_id)`,
    values: where.values,
  };
}

// --- the reads ----------------------------------------------------------------------------------

export async function countSelection(db: Queryable, filter: ExportFilter): Promise<ExportCounts> {
  const query = buildCountQuery(filter);
  return rowToCounts((await db.query(query.text, query.values)).rows[0] as Record<string, unknown> | undefined);
}

/**
 * The selected versions from a server-side cursor, a batch at a time (memory stays flat whatever the
 * selection's size). Needs a transaction on `client`.
 */
export class VersionCursor {
  private static next = 0;
  private readonly name = `export_versions_${++VersionCursor.next}`;

  private constructor(private readonly client: PoolClient) {}

  static async open(client: PoolClient, filter: ExportFilter): Promise<VersionCursor> {
    const cursor = new VersionCursor(client);
    const query = buildVersionQuery(filter);
    await client.query(`DECLARE ${cursor.name} NO SCROLL CURSOR FOR ${query.text}`, query.values);
    return cursor;
  }

  /** The next `rows` versions; none once the selection is exhausted. */
  async fetch(rows: number): Promise<VersionRow[]> {
    return (await this.client.query<VersionRow>(`FETCH ${Math.max(1, Math.floor(rows))} FROM ${this.name}`)).rows;
  }

  async close(): Promise<void> {
    await this.client.query(`CLOSE ${this.name}`);
  }
}

/** Session metadata (public.chat_sessions) for the given sessions. */
export async function loadSessionInfos(db: Queryable, sessionIds: readonly string[]): Promise<SessionInfo[]> {
  const res = await db.query<SessionInfo>(
    `SELECT session_id, name, type, channel_id, member_emails, status, has_external_member FROM public.chat_sessions WHERE session_id = ANY($1::text[])`,
    [sessionIds],
  );
  return res.rows;
}

export interface PersonRow {
  member_id: string;
  email: string | null;
  display_name: string | null;
  external: boolean;
}

/** See buildPeopleQuery. */
export async function loadPeopleRows(db: Queryable, filter: ExportFilter): Promise<PersonRow[]> {
  const query = buildPeopleQuery(filter);
  return (await db.query<PersonRow>(query.text, query.values)).rows;
}

/** Per session: main message id → its last reply's send time, for threads answered on a later UTC day. */
export async function loadCrossDayThreads(db: Queryable, filter: ExportFilter): Promise<Map<string, Map<string, string>>> {
  const query = buildCrossDayThreadQuery(filter);
  const res = await db.query<{ session_id: string; main_message_id: string; last_reply_at: string }>(query.text, query.values);
  const threads = new Map<string, Map<string, string>>();
  for (const r of res.rows) {
    let session = threads.get(r.session_id);
    if (!session) threads.set(r.session_id, (session = new Map()));
    session.set(r.main_message_id, r.last_reply_at);
  }
  return threads;
}

export interface StoredLegalHoldFileRow {
  custodian: string;
  file_key: string;
  file_start_date: string | null;
  file_end_date: string | null;
  stored_path: string | null;
  stored_bytes: number | null;
  sha256: string | null;
}

/** A matter's stored legal-hold zips (public.legal_hold_files), in bundle order. */
export async function loadStoredLegalHoldFiles(db: Queryable, matterId: string): Promise<StoredLegalHoldFileRow[]> {
  const res = await db.query<StoredLegalHoldFileRow>(
    `SELECT custodian, file_key, file_start_date, file_end_date, stored_path, stored_bytes, sha256
     FROM public.legal_hold_files WHERE matter_id = $1 AND state = 'stored' ORDER BY custodian, file_key`,
    [matterId],
  );
  return res.rows;
}

/** The lower-case emails of a matter's custodians (public.legal_hold_custodians). */
export async function loadMatterCustodianEmails(db: Queryable, matterId: string): Promise<string[]> {
  const res = await db.query<{ email: string }>('SELECT DISTINCT lower(email) AS email FROM public.legal_hold_custodians WHERE matter_id = $1 AND email IS NOT NULL', [matterId]);
  return res.rows.map((r) => r.email);
}
