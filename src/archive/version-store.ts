import type { IsoDate, MalformedItem, MessageVersionInput } from '../domain/types.js';
import type { Queryable } from '../db/pool.js';
import { retryTransientConflicts, SqlParams } from './sql-values.js';

/**
 * Writes one page of a session's messages: its versions, its malformed items and the unit's
 * checkpoint (the page token to resume from) in ONE statement, so a crash leaves either the whole
 * page or none of it. Re-delivered versions are skipped by the identity index; a different content
 * under the same keys is a new row, never an overwrite.
 */

export interface MessagePageWrite {
  sessionId: string;
  monthStart: IsoDate;
  syncRunId: number;
  versions: readonly MessageVersionInput[];
  malformed: readonly MalformedItem[];
  /** Token for the page after this one ('' on the last page). */
  nextPageToken: string;
}

export interface MessagePageResult {
  versionsAdded: number;
  malformedRecorded: number;
}

const VERSION_CASTS = ['text', 'text', 'timestamptz', 'timestamptz', 'jsonb'] as const;
const ERROR_CASTS = ['text', 'text', 'text'] as const;

function msToIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * Rows are inserted in identity order so two concurrent pages carrying the same versions (a session
 * swept in two windows at once) lock index entries in the same order and cannot deadlock.
 */
function byIdentity(a: MessageVersionInput, b: MessageVersionInput): number {
  if (a.messageId !== b.messageId) return a.messageId < b.messageId ? -1 : 1;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  return a.actionMs - b.actionMs;
}

/** One upsert may touch a row once: a page repeating a malformed item records it once. */
export function uniqueMalformed(items: readonly MalformedItem[]): MalformedItem[] {
  const seen = new Map<string, MalformedItem>();
  for (const item of items) seen.set(`${item.source}\u0001${item.rawJson}`, item);
  return [...seen.values()];
}

export function buildMessagePageStatement(page: MessagePageWrite): { text: string; values: unknown[] } {
  const p = new SqlParams();
  const session = () => p.named$('session', page.sessionId);
  const month = () => p.named$('month', page.monthStart);
  const run = () => p.named$('run', page.syncRunId);
  const versionRows = [...page.versions]
    .sort(byIdentity)
    .map((v) => [v.messageId, v.kind, msToIso(v.actionMs), msToIso(v.sentMs), v.rawJson]);
  const errorRows = uniqueMalformed(page.malformed).map((m) => [m.source, m.reason, m.rawJson]);

  const insertVersions =
    versionRows.length === 0
      ? 'ins AS (SELECT 1 WHERE false)'
      : `input(message_id, kind, action_at, sent_at, raw) AS (VALUES ${p.rows(versionRows, VERSION_CASTS)}),
ins AS (
  INSERT INTO archive.message_versions
    (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name,
     receiver, body, reply_main_message_id, files, raw, content_sha256, sync_run_id)
  SELECT ${session()}::text, i.message_id, i.kind, i.action_at, i.sent_at, i.raw->>'sender', i.raw->>'sender_member_id',
         i.raw->>'sender_display_name', i.raw->>'receiver', i.raw->>'message', i.raw->>'reply_main_message_id',
         i.raw->'files', i.raw, archive.version_identity(i.raw), ${run()}::bigint
  FROM input i
  ON CONFLICT (session_id, message_id, kind, action_at, content_sha256) DO NOTHING
  RETURNING 1
)`;
  const insertErrors =
    errorRows.length === 0
      ? 'errs AS (SELECT 1 WHERE false)'
      : `err_input(source, reason, raw_text) AS (VALUES ${p.rows(errorRows, ERROR_CASTS)}),
errs AS (
  INSERT INTO archive.item_errors AS e (source, session_id, month_start, reason, raw_text, raw_sha256, sync_run_id)
  SELECT ei.source, ${session()}::text, ${month()}::date, ei.reason, ei.raw_text, sha256(convert_to(ei.raw_text, 'UTF8')), ${run()}::bigint
  FROM err_input ei
  ON CONFLICT (source, raw_sha256) DO UPDATE SET last_seen_at = now(), times_seen = e.times_seen + 1
  RETURNING 1
)`;
  const seenParam = p.add(page.versions.length);
  const tokenParam = p.add(page.nextPageToken === '' ? null : page.nextPageToken);

  const text = `WITH ${insertVersions},
${insertErrors},
unit AS (
  UPDATE archive.sync_units
  SET pages_fetched = pages_fetched + 1,
      versions_seen = versions_seen + ${seenParam}::int,
      versions_added = versions_added + (SELECT count(*) FROM ins),
      resume_token = ${tokenParam}::text,
      resume_token_at = CASE WHEN ${tokenParam}::text IS NULL THEN NULL ELSE now() END
  WHERE month_start = ${month()}::date AND session_id = ${session()}::text
  RETURNING 1
),
touched AS (
  UPDATE archive.sessions SET last_archived_at = now()
  WHERE session_id = ${session()}::text AND EXISTS (SELECT 1 FROM ins)
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS added,
       (SELECT count(*) FROM errs)::int AS errors,
       (SELECT count(*) FROM unit)::int AS units,
       (SELECT count(*) FROM touched)::int AS touched`;
  return { text, values: p.values };
}

export async function writeMessagePage(db: Queryable, page: MessagePageWrite): Promise<MessagePageResult> {
  const statement = buildMessagePageStatement(page);
  const res = await retryTransientConflicts(() =>
    db.query<{ added: number; errors: number; units: number }>(statement.text, statement.values),
  );
  const row = res.rows[0];
  return { versionsAdded: row?.added ?? 0, malformedRecorded: row?.errors ?? 0 };
}
