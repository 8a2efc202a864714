import type { IsoDate, MalformedItem, SessionListing } from '../domain/types.js';
import { asLockSuperseded, type Fence } from '../db/advisory-lock.js';
import { fenceCheckSql } from '../db/fenced-writer.js';
import type { Queryable } from '../db/pool.js';
import { retryTransientConflicts, SqlParams } from './sql-values.js';
import { uniqueMalformed } from './version-store.js';

/**
 * Writes one page of `GET /report/chat/sessions`: the current state of each session (mutable —
 * Zoom renames and deletes sessions), an append-only snapshot of each distinct listing state,
 * malformed items, and the news each listed session brings to its unit in this window, in one
 * statement.
 *
 * News: the unit was never read, the listing gives no `last_message_sent_time`, the time is newer
 * than what the unit's last read covered, or the session is listed although its last message is
 * older than the listed days (listed for something else: an edit or deletion, if Zoom lists those).
 * A unit with news pending is read by the next sweep; a listing with nothing new flags nothing.
 * The time is the session's latest send anywhere, so it is capped at the window's end: a message
 * sent in the next month is news for that month's unit, not for this one.
 */

export interface SessionPageWrite {
  monthStart: IsoDate;
  syncRunId: number;
  sessions: readonly SessionListing[];
  malformed: readonly MalformedItem[];
  /** The listed days, the instant the listing started, and whether it marks news (off: only record what was listed). */
  listing: { from: IsoDate; to: IsoDate; startedAt: Date; flagNews: boolean };
  /** The writer's lock: the page is refused (LOCK_SUPERSEDED) when a newer holder exists. */
  fence?: Fence | undefined;
}

export interface SessionPageResult {
  sessionsListed: number;
  sessionsNew: number;
  /** Listed sessions whose unit in this window has news pending after this page. */
  sessionsWithNews: number;
  malformedRecorded: number;
}

const SESSION_CASTS = ['text', 'text', 'text', 'text', 'text[]', 'text', 'boolean', 'timestamptz', 'jsonb'] as const;

export async function writeSessionPage(db: Queryable, page: SessionPageWrite): Promise<SessionPageResult> {
  // One upsert may touch a row once, so a session repeated on a page is written once (last wins).
  const unique = new Map<string, SessionListing>();
  for (const s of page.sessions) unique.set(s.sessionId, s);
  const malformed = uniqueMalformed(page.malformed);
  if (unique.size === 0 && malformed.length === 0) return { sessionsListed: 0, sessionsNew: 0, sessionsWithNews: 0, malformedRecorded: 0 };

  const p = new SqlParams();
  const month = () => p.named$('month', page.monthStart);
  const run = () => p.named$('run', page.syncRunId);
  const rows = [...unique.values()]
    .sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0))
    .map((s) => [
      s.sessionId,
      s.type,
      s.name,
      s.channelId,
      s.memberEmails,
      s.status,
      s.hasExternalMember,
      s.lastMessageSentAt?.toISOString() ?? null,
      s.rawJson,
    ]);
  const upsert =
    rows.length === 0
      ? 'up AS (SELECT NULL::text AS session_id, false AS inserted WHERE false), snap AS (SELECT 1 WHERE false), news AS (SELECT true AS pending WHERE false)'
      : `input(session_id, type, name, channel_id, member_emails, status, has_external_member, last_message_sent_at, raw)
  AS (VALUES ${p.rows(rows, SESSION_CASTS)}),
up AS (
  INSERT INTO archive.sessions AS s
    (session_id, type, name, channel_id, member_emails, status, has_external_member, last_message_sent_at, raw)
  SELECT * FROM input
  ON CONFLICT (session_id) DO UPDATE SET
    type = excluded.type,
    name = excluded.name,
    channel_id = excluded.channel_id,
    member_emails = excluded.member_emails,
    status = excluded.status,
    has_external_member = excluded.has_external_member,
    last_message_sent_at = greatest(s.last_message_sent_at, excluded.last_message_sent_at),
    raw = excluded.raw,
    last_listed_at = now()
  RETURNING s.session_id, (xmax = 0) AS inserted
),
snap AS (
  INSERT INTO archive.session_snapshots (session_id, raw, content_sha256, sync_run_id)
  SELECT session_id, raw, archive.session_identity(raw), ${run()}::bigint FROM input
  ON CONFLICT (session_id, content_sha256) DO NOTHING
  RETURNING 1
),
news AS (
  INSERT INTO archive.sync_units AS u (month_start, session_id, listed_last_message_at, news_pending_since)
  -- least() skips NULLs: a listing without a time must stay NULL here (news, see the CASE below),
  -- not become the window's end.
  SELECT ${month()}::date, i.session_id,
         CASE WHEN i.last_message_sent_at IS NOT NULL
              THEN least(i.last_message_sent_at, (${p.named$('listedTo', page.listing.to)}::date + 1)::timestamp AT TIME ZONE 'UTC') END,
         CASE WHEN ${p.named$('flagNews', page.listing.flagNews)}::boolean THEN ${p.named$('listedAt', page.listing.startedAt)}::timestamptz END
  FROM input i
  ON CONFLICT (month_start, session_id) DO UPDATE SET
    listed_last_message_at = greatest(u.listed_last_message_at, excluded.listed_last_message_at),
    news_pending_since = coalesce(u.news_pending_since, CASE
      WHEN NOT ${p.named$('flagNews', page.listing.flagNews)}::boolean THEN NULL
      WHEN u.swept_at IS NULL OR u.swept_last_message_at IS NULL OR excluded.listed_last_message_at IS NULL
        OR excluded.listed_last_message_at > u.swept_last_message_at
        OR excluded.listed_last_message_at < ${p.named$('listedFrom', page.listing.from)}::date::timestamp AT TIME ZONE 'UTC'
      THEN excluded.news_pending_since END)
  RETURNING u.news_pending_since IS NOT NULL AS pending
)`;
  const errorRows = malformed.map((m) => [m.source, m.reason, m.rawJson]);
  const errors =
    errorRows.length === 0
      ? 'errs AS (SELECT 1 WHERE false)'
      : `err_input(source, reason, raw_text) AS (VALUES ${p.rows(errorRows, ['text', 'text', 'text'])}),
errs AS (
  INSERT INTO archive.item_errors AS e (source, session_id, month_start, reason, raw_text, raw_sha256, sync_run_id)
  SELECT ei.source, NULL, ${month()}::date, ei.reason, ei.raw_text, sha256(convert_to(ei.raw_text, 'UTF8')), ${run()}::bigint
  FROM err_input ei
  ON CONFLICT (source, raw_sha256) DO UPDATE SET last_seen_at = now(), times_seen = e.times_seen + 1
  RETURNING 1
)`;
  const text = `WITH ${upsert},
${errors}
SELECT (SELECT count(*) FROM up)::int AS listed,
       (SELECT count(*) FROM up WHERE inserted)::int AS new_sessions,
       (SELECT count(*) FROM errs)::int AS errors,
       (SELECT count(*) FROM snap)::int AS snapshots,
       (SELECT count(*) FROM news WHERE pending)::int AS with_news,
       (SELECT ${fenceCheckSql(p.named$('fenceName', page.fence?.name ?? null), p.named$('fenceToken', page.fence?.token ?? null))}) AS fenced`;
  const res = await retryTransientConflicts(() =>
    db.query<{ listed: number; new_sessions: number; errors: number; with_news: number }>(text, p.values),
  ).catch((err: unknown) => {
    throw asLockSuperseded(err);
  });
  const row = res.rows[0];
  return { sessionsListed: row?.listed ?? 0, sessionsNew: row?.new_sessions ?? 0, sessionsWithNews: row?.with_news ?? 0, malformedRecorded: row?.errors ?? 0 };
}
