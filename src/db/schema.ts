import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * Storage tables live in the `archive` schema and are internal: people and tools query the views in
 * `public` (the documented read model, see migrations/0001_read_model.sql and the README). Row types
 * here are database shapes; Zoom's wire shapes are in src/zoom, domain shapes in src/domain.
 */
export const archive = pgSchema('archive');

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** One row per sync pass: provenance for every version it archived. */
export const syncRuns = archive.table(
  'sync_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    mode: text('mode').notNull(),
    startedAt: tstz('started_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
    /** running | complete | incomplete | failed | aborted */
    outcome: text('outcome').notNull().default('running'),
    horizonStart: date('horizon_start', { mode: 'string' }).notNull(),
    horizonEnd: date('horizon_end', { mode: 'string' }).notNull(),
    apiCalls: integer('api_calls').notNull().default(0),
    unitsAttempted: integer('units_attempted').notNull().default(0),
    unitsFailed: integer('units_failed').notNull().default(0),
    versionsSeen: bigint('versions_seen', { mode: 'number' }).notNull().default(0),
    versionsAdded: bigint('versions_added', { mode: 'number' }).notNull().default(0),
    error: text('error'),
  },
  (t) => [check('sync_runs_mode_check', sql`${t.mode} in ('incremental', 'all')`)],
);

/** Current state of every chat session ever listed. Mutable: Zoom renames and deletes sessions. */
export const sessions = archive.table('sessions', {
  sessionId: text('session_id').primaryKey(),
  type: text('type'),
  name: text('name'),
  channelId: text('channel_id'),
  memberEmails: text('member_emails').array(),
  status: text('status'),
  hasExternalMember: boolean('has_external_member'),
  lastMessageSentAt: tstz('last_message_sent_at'),
  /** The latest listing item exactly as received. Every distinct earlier state is in session_snapshots. */
  raw: jsonb('raw').notNull(),
  firstArchivedAt: tstz('first_archived_at').notNull().defaultNow(),
  lastListedAt: tstz('last_listed_at').notNull().defaultNow(),
  lastArchivedAt: tstz('last_archived_at').notNull().defaultNow(),
});

/** Append-only history of a session's listing (name, members, status…), one row per distinct state. */
export const sessionSnapshots = archive.table(
  'session_snapshots',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    sessionId: text('session_id').notNull(),
    raw: jsonb('raw').notNull(),
    /** sha256 of the canonical listing minus last_message_sent_time (which moves with every message). */
    contentSha256: bytea('content_sha256').notNull(),
    firstSeenAt: tstz('first_seen_at').notNull().defaultNow(),
    syncRunId: bigint('sync_run_id', { mode: 'number' }),
  },
  (t) => [uniqueIndex('session_snapshots_identity').on(t.sessionId, t.contentSha256)],
);

/**
 * Every distinct version of every message, append-only (a trigger rejects UPDATE, DELETE and
 * TRUNCATE). Identity: (session, message, kind, action time, sha256 of the canonical raw JSON).
 */
export const messageVersions = archive.table(
  'message_versions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    sessionId: text('session_id').notNull(),
    messageId: text('message_id').notNull(),
    /** original (from `messages`) | edited (`edited_messages`) | deleted (`deleted_messages`) */
    kind: text('kind').notNull(),
    /** `action_timestamp`, falling back to `timestamp`. */
    actionAt: tstz('action_at').notNull(),
    /** The message's `timestamp` (send time). */
    sentAt: tstz('sent_at'),
    sender: text('sender'),
    senderMemberId: text('sender_member_id'),
    senderDisplayName: text('sender_display_name'),
    receiver: text('receiver'),
    body: text('body'),
    replyMainMessageId: text('reply_main_message_id'),
    files: jsonb('files'),
    /** The item exactly as received (U+0000 stored as the six characters `\u0000`). */
    raw: jsonb('raw').notNull(),
    contentSha256: bytea('content_sha256').notNull(),
    syncRunId: bigint('sync_run_id', { mode: 'number' }),
    archivedAt: tstz('archived_at').notNull().defaultNow(),
  },
  (t) => [
    check('message_versions_kind_check', sql`${t.kind} in ('original', 'edited', 'deleted')`),
    uniqueIndex('message_versions_identity').on(t.sessionId, t.messageId, t.kind, t.actionAt, t.contentSha256),
    index('message_versions_transcript').on(t.sessionId, t.sentAt, t.messageId, t.actionAt),
    index('message_versions_sender_time').on(t.sender, t.sentAt),
    index('message_versions_receiver_time').on(t.receiver, t.sentAt),
  ],
);

/** One row per calendar month that has been part of the horizon. */
export const syncWindows = archive.table('sync_windows', {
  monthStart: date('month_start', { mode: 'string' }).primaryKey(),
  monthEnd: date('month_end', { mode: 'string' }).notNull(),
  /** Sessions have been listed from the window's start through this day. */
  listedThrough: date('listed_through', { mode: 'string' }),
  listedAt: tstz('listed_at'),
  sessionsListed: integer('sessions_listed').notNull().default(0),
  /** Set when the month is over, settled, listed after settling, and every unit is complete. */
  completedAt: tstz('completed_at'),
  /** Set when the month left Zoom's horizon; with completed_at null, its data could not be archived. */
  expiredAt: tstz('expired_at'),
  createdAt: tstz('created_at').notNull().defaultNow(),
});

/** Checkpoint of one (window, session) unit. */
export const syncUnits = archive.table(
  'sync_units',
  {
    monthStart: date('month_start', { mode: 'string' }).notNull(),
    sessionId: text('session_id').notNull(),
    /** Every message and modification from the window's start through this day has been fetched. */
    coveredThrough: date('covered_through', { mode: 'string' }),
    /** When the sweep that reached covered_through started (data is as of this instant). */
    sweptAt: tstz('swept_at'),
    /** Set when a sweep through the month's end ran after the month settled: nothing more will come. */
    completedAt: tstz('completed_at'),
    /** `sync --all` asks for a full re-sweep from the window's start; cleared when one completes. */
    resweepRequestedAt: tstz('resweep_requested_at'),
    /** The sweep in progress: its range and the page token to resume it (valid ~15 minutes). */
    sweepFrom: date('sweep_from', { mode: 'string' }),
    sweepTo: date('sweep_to', { mode: 'string' }),
    sweepStartedAt: tstz('sweep_started_at'),
    resumeToken: text('resume_token'),
    resumeTokenAt: tstz('resume_token_at'),
    /** ok | not_found (Zoom no longer knows the session: nothing left to fetch) */
    outcome: text('outcome'),
    sweeps: integer('sweeps').notNull().default(0),
    pagesFetched: bigint('pages_fetched', { mode: 'number' }).notNull().default(0),
    versionsSeen: bigint('versions_seen', { mode: 'number' }).notNull().default(0),
    versionsAdded: bigint('versions_added', { mode: 'number' }).notNull().default(0),
    failures: integer('failures').notNull().default(0),
    lastError: text('last_error'),
    lastErrorAt: tstz('last_error_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.monthStart, t.sessionId] }), index('sync_units_session').on(t.sessionId)],
);

/** Items Zoom sent that could not be keyed: kept verbatim (as text) and reported, never dropped. */
export const itemErrors = archive.table(
  'item_errors',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    source: text('source').notNull(),
    sessionId: text('session_id'),
    monthStart: date('month_start', { mode: 'string' }),
    reason: text('reason').notNull(),
    rawText: text('raw_text').notNull(),
    rawSha256: bytea('raw_sha256').notNull(),
    firstSeenAt: tstz('first_seen_at').notNull().defaultNow(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    timesSeen: integer('times_seen').notNull().default(1),
    syncRunId: bigint('sync_run_id', { mode: 'number' }),
  },
  (t) => [uniqueIndex('item_errors_identity').on(t.source, t.rawSha256)],
);
