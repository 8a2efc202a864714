import type { ExportCounts, ExportFilter } from './types.js';

/**
 * The SQL that decides what an export holds, over the documented read model (public views).
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
 * message's versions together.
 */

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
        SELECT mv.session_id FROM archive.message_versions mv WHERE lower(mv.sender) = ANY(${emails}::text[])
        UNION SELECT mv.session_id FROM archive.message_versions mv WHERE lower(mv.receiver) = ANY(${emails}::text[])
        UNION SELECT s.session_id FROM archive.sessions s WHERE EXISTS (SELECT 1 FROM unnest(s.member_emails) AS e WHERE lower(e) = ANY(${emails}::text[])))`);
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
      SELECT q.session_id, q.message_id FROM archive.message_versions q
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
 * Everyone who wrote in the selection, one row per Zoom member id (see people.ts): the email Zoom
 * gave as `sender`, or — for someone outside the account, whose `sender` is empty — the member of a
 * 1:1 chat who is not the receiver; the display name of their latest version; and whether every
 * message of theirs came without a `sender`. One hash aggregate per (member, name) over the
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
