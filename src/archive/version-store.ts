import type { IsoDate, MalformedItem, MessageVersionInput } from '../domain/types.js';
import { asLockSuperseded, type Fence } from '../db/advisory-lock.js';
import { fenceCheckSql } from '../db/fenced-writer.js';
import type { Queryable } from '../db/pool.js';
import { finishedReadAssignments } from './checkpoint-store.js';
import { retryTransientConflicts } from './sql-values.js';

/**
 * Writes one page of a session's messages: its versions, its malformed items and the unit's
 * checkpoint in ONE statement, so a crash leaves either the whole page or none of it. The first
 * page also records which sweep is under way (so it can be resumed from its page token); the last
 * page also records the sweep as finished. Re-delivered versions are skipped by the identity
 * index; a different content under the same keys is a new row, never an overwrite.
 *
 * The statement text never changes: the page travels as two JSON arrays (keys, and the raw items
 * exactly as received), so PostgreSQL parses and plans it once per connection, and node-postgres
 * sends the raw JSON without escaping it value by value.
 */

export interface SweepCheckpoint {
  from: IsoDate;
  to: IsoDate;
  /** When this sweep started (data is as of this instant). */
  startedAt: Date;
}

export interface SweepFinish {
  /** The sweep read the whole window through the month's last day and started after the month settled. */
  complete: boolean;
  /** The sweep started at the window's first day (satisfies sweep rounds and `sync --all` requests made before it). */
  full: boolean;
}

/** Sweeps whose new versions are listing misses: no listing had shown news for the unit. */
export type MissRecordingRead = 'settled' | 'interim';

export interface MessagePageWrite {
  sessionId: string;
  monthStart: IsoDate;
  syncRunId: number;
  versions: readonly MessageVersionInput[];
  malformed: readonly MalformedItem[];
  /** Token for the page after this one ('' on the last page). */
  nextPageToken: string;
  sweep: SweepCheckpoint;
  /** Present on the last page of a sweep. */
  finish?: SweepFinish | undefined;
  /** Record every version this page adds in listing_misses, as found by this kind of sweep. */
  recordMissesAs?: MissRecordingRead | undefined;
  /** The writer's lock: the page is refused (LOCK_SUPERSEDED) when a newer holder exists. */
  fence?: Fence | undefined;
}

export interface MessagePageResult {
  versionsAdded: number;
  malformedRecorded: number;
  /** Kinds of the versions recorded as listing misses (empty unless `recordMissesAs`). */
  misses: Array<'original' | 'edited' | 'deleted'>;
}

/** One upsert may touch a row once: a page repeating a malformed item records it once. */
export function uniqueMalformed(items: readonly MalformedItem[]): MalformedItem[] {
  const seen = new Map<string, MalformedItem>();
  for (const item of items) seen.set(`${item.source}\u0001${item.rawJson}`, item);
  return [...seen.values()];
}

const WRITE_MESSAGE_PAGE = `
WITH keys AS (
  SELECT k.value->>0 AS message_id, k.value->>1 AS kind, (k.value->>2)::timestamptz AS action_at,
         (k.value->>3)::timestamptz AS sent_at, k.i
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS k(value, i)
),
raws AS (
  SELECT r.value AS raw, r.i FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS r(value, i)
),
ins AS (
  INSERT INTO archive.message_versions
    (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name,
     receiver, body, reply_main_message_id, files, raw, content_sha256, sync_run_id)
  SELECT $3, k.message_id, k.kind, k.action_at, k.sent_at, r.raw->>'sender', r.raw->>'sender_member_id',
         r.raw->>'sender_display_name', r.raw->>'receiver', r.raw->>'message', r.raw->>'reply_main_message_id',
         r.raw->'files', r.raw, archive.version_identity(r.raw), $5
  FROM keys k JOIN raws r USING (i)
  -- Identity order: two pages carrying the same versions (a session swept in two windows at once)
  -- take index locks in the same order and cannot deadlock.
  ORDER BY k.message_id, k.kind, k.action_at
  ON CONFLICT (session_id, message_id, kind, action_at, content_sha256) DO NOTHING
  RETURNING id, message_id, kind, action_at
),
miss AS (
  INSERT INTO archive.listing_misses (version_id, session_id, month_start, message_id, kind, action_at, read_kind, sync_run_id)
  SELECT ins.id, $3, $4::date, ins.message_id, ins.kind, ins.action_at, $14::text, $5 FROM ins WHERE $14::text IS NOT NULL
  RETURNING kind
),
errs AS (
  INSERT INTO archive.item_errors AS e (source, session_id, month_start, reason, raw_text, raw_sha256, sync_run_id)
  SELECT x.value->>0, $3, $4::date, x.value->>1, x.value->>2, sha256(convert_to(x.value->>2, 'UTF8')), $5
  FROM jsonb_array_elements($6::jsonb) AS x(value)
  ON CONFLICT (source, raw_sha256) DO UPDATE SET last_seen_at = now(), times_seen = e.times_seen + 1
  RETURNING 1
),
unit AS (
  UPDATE archive.sync_units
  SET pages_fetched = pages_fetched + 1,
      versions_seen = versions_seen + jsonb_array_length($1::jsonb),
      versions_added = versions_added + (SELECT count(*) FROM ins),
      sweep_from = CASE WHEN $11::boolean THEN NULL ELSE $8::date END,
      sweep_to = CASE WHEN $11::boolean THEN NULL ELSE $9::date END,
      sweep_started_at = CASE WHEN $11::boolean THEN NULL ELSE $10::timestamptz END,
      resume_token = $7::text,
      resume_token_at = CASE WHEN $7::text IS NULL THEN NULL ELSE now() END,
      ${finishedReadAssignments({ when: '$11::boolean', to: '$9', startedAt: '$10', complete: '$12', full: '$13', outcome: "'ok'" })}
  WHERE month_start = $4::date AND session_id = $3
  RETURNING 1
),
touched AS (
  UPDATE archive.sessions SET last_archived_at = now()
  WHERE session_id = $3 AND EXISTS (SELECT 1 FROM ins)
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS added,
       (SELECT count(*) FROM errs)::int AS errors,
       (SELECT count(*) FROM unit)::int AS units,
       (SELECT count(*) FROM touched)::int AS touched,
       (SELECT array_agg(kind) FROM miss) AS misses,
       (SELECT ${fenceCheckSql('$15', '$16')}) AS fenced`;

function msToIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function buildMessagePageStatement(page: MessagePageWrite): { name: string; text: string; values: unknown[] } {
  const keys = JSON.stringify(page.versions.map((v) => [v.messageId, v.kind, msToIso(v.actionMs), msToIso(v.sentMs)]));
  // The raw items are valid JSON texts already: joined, they are a valid JSON array, untouched.
  const raws = `[${page.versions.map((v) => v.rawJson).join(',')}]`;
  const errors = JSON.stringify(uniqueMalformed(page.malformed).map((m) => [m.source, m.reason, m.rawJson]));
  const last = page.finish !== undefined;
  return {
    name: 'zca-write-message-page',
    text: WRITE_MESSAGE_PAGE,
    values: [
      keys,
      raws,
      page.sessionId,
      page.monthStart,
      page.syncRunId,
      errors,
      page.nextPageToken === '' ? null : page.nextPageToken,
      page.sweep.from,
      page.sweep.to,
      page.sweep.startedAt,
      last,
      page.finish?.complete ?? false,
      page.finish?.full ?? false,
      page.recordMissesAs ?? null,
      page.fence?.name ?? null,
      page.fence?.token ?? null,
    ],
  };
}

export async function writeMessagePage(db: Queryable, page: MessagePageWrite): Promise<MessagePageResult> {
  const statement = buildMessagePageStatement(page);
  const res = await retryTransientConflicts(() =>
    db.query<{ added: number; errors: number; units: number; misses: Array<'original' | 'edited' | 'deleted'> | null }>(statement),
  ).catch((err: unknown) => {
    throw asLockSuperseded(err);
  });
  const row = res.rows[0];
  return { versionsAdded: row?.added ?? 0, malformedRecorded: row?.errors ?? 0, misses: row?.misses ?? [] };
}
