/**
 * The one schema truth (drizzle): every table, index and CHECK of the archive. Over 400 lines because
 * it is the whole schema; migrations are generated from it and test/db/schema-drift.test.ts fails
 * when they disagree.
 */
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
 * The one description of the storage tables: every table, column, default, index, CHECK and key
 * that migrations/ creates in the `archive` schema is declared here, and a test
 * (test/db/schema-drift.test.ts) fails when this file, the drizzle-kit snapshots and the database
 * the migrations build disagree. Change a table here first, then `npm run db:generate` writes the
 * migration (README, "Migrations").
 *
 * What drizzle-kit does not generate is hand-written in migrations/ (`drizzle-kit generate
 * --custom`), and lives only there:
 * - the read model, views in schema `public` (the documented interface; README, "The SQL read
 *   model"): chat_sessions, chat_message_versions, chat_messages, sync_windows, sync_units,
 *   sync_errors, sync_runs, audit_log (0001, sync_units and sync_runs redefined in 0006);
 *   held_messages, legal_hold_matters, legal_hold_custodians, legal_hold_files (0002);
 *   export_bundles (0003); job_runs, api_tokens (0004); sync_listing_misses (0006);
 *   lock_holders (0007); chat_files, held_files (0009);
 * - functions: archive.version_identity and archive.session_identity (0001, inlined by 0005 with
 *   archive.without_file_download_urls), archive.leaves_horizon_on and public.chat_body_tsvector
 *   (0001), archive.take_fence and archive.assert_fence (0007); the proofs' encodings
 *   (archive.proof_field, proof_time, month_of, audit_content_sha256, audit_row_sha256,
 *   version_leaf, window_root), archive.seal_windows, archive.seal_pending and retention's one
 *   disposal path archive.dispose_versions (0008);
 * - triggers and their functions: append-only tables (archive.reject_modification: 0001, 0003,
 *   0004, 0006, 0008), legal-hold guards (0002), export guards (0003), job-run and API-token guards
 *   (0004), file capture guards (files_guard, append-only file_contents and file_refs: 0009); the audit hash chain (audit_log_chain), window seals (sync_windows_seal,
 *   message_versions_seal_queue, sync_runs_seal) and the versions' append-only guard that lets only
 *   dispose_versions delete (0008);
 * - the genesis row of the audit chain (0008) and the views window_seals, audit_log redefined (0008).
 *
 * Storage tables are internal: people and tools query the views. Row types here are database
 * shapes (`$inferSelect`); Zoom's wire shapes are in src/zoom, domain shapes in src/domain.
 *
 * One file on purpose, however long: it is the whole schema in one place (drizzle-kit reads it as
 * one), each column documented where it is declared.
 */
export const archive = pgSchema('archive');

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
/**
 * Zoom's identifiers are opaque byte strings: compared and sorted byte-wise ("C"), which is both
 * right and several times cheaper in every index than the database's locale collation.
 */
const idText = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** One row per sync pass: provenance for every version it archived. */
export const syncRuns = archive.table(
  'sync_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    mode: text('mode', { enum: ['incremental', 'all'] }).notNull(),
    startedAt: tstz('started_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
    /** running | complete | incomplete | failed | aborted */
    outcome: text('outcome', { enum: ['running', 'complete', 'incomplete', 'failed', 'aborted'] }).notNull().default('running'),
    horizonStart: date('horizon_start', { mode: 'string' }).notNull(),
    horizonEnd: date('horizon_end', { mode: 'string' }).notNull(),
    apiCalls: integer('api_calls').notNull().default(0),
    unitsAttempted: integer('units_attempted').notNull().default(0),
    unitsFailed: integer('units_failed').notNull().default(0),
    versionsSeen: bigint('versions_seen', { mode: 'number' }).notNull().default(0),
    versionsAdded: bigint('versions_added', { mode: 'number' }).notNull().default(0),
    error: text('error'),
    /** Report calls (HTTP attempts) per kind: listing, activity, backfill, settled, interim, resweep. */
    calls: jsonb('calls').$type<Record<string, number>>().notNull().default({}),
    /** Unit reads per kind (the cost plan's calls per read). */
    reads: jsonb('reads').$type<Record<string, number>>().notNull().default({}),
    sessionsNew: integer('sessions_new').notNull().default(0),
    /** Versions a settled-month or interim sweep found that no listing had shown (archive.listing_misses). */
    listingMisses: integer('listing_misses').notNull().default(0),
  },
  (t) => [check('sync_runs_mode_check', sql`${t.mode} in ('incremental', 'all')`)],
);

/** Current state of every chat session ever listed. Mutable: Zoom renames and deletes sessions. */
export const sessions = archive.table(
  'sessions',
  {
    sessionId: idText('session_id').primaryKey(),
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
    /** When the session got its units in every window of the horizon (its backfill); null: not yet. */
    unitsCreatedAt: tstz('units_created_at'),
  },
  (t) => [index('sessions_without_units').on(t.sessionId).where(sql`${t.unitsCreatedAt} IS NULL`)],
);

/** Append-only history of a session's listing (name, members, status…), one row per distinct state. */
export const sessionSnapshots = archive.table(
  'session_snapshots',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    sessionId: idText('session_id').notNull(),
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
    sessionId: idText('session_id').notNull(),
    messageId: idText('message_id').notNull(),
    /** original (from `messages`) | edited (`edited_messages`) | deleted (`deleted_messages`) */
    kind: idText('kind').$type<'original' | 'edited' | 'deleted'>().notNull(),
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
    // Case-insensitive: Zoom's emails are not guaranteed lower-case, and custodians are matched by
    // email. Query with lower(sender) = lower($1) (README, "The SQL read model").
    index('message_versions_sender_time').on(sql`lower(${t.sender})`, t.sentAt),
    index('message_versions_receiver_time').on(sql`lower(${t.receiver})`, t.sentAt),
    // Full-text search (public.chat_body_tsvector, a function of 0001_read_model.sql).
    index('message_versions_body_fts').using('gin', sql`public.chat_body_tsvector(${t.body})`),
    // The file capture stage finds versions whose files are not referenced yet (0009): an index
    // probe per version that has files, not a scan of every version.
    index('message_versions_with_files').on(t.id).where(sql`${t.files} IS NOT NULL`),
    // Search results in send order without a sort of every match: a word in 5% of rows is found
    // by walking this index and filtering (0010_console.sql; docs/benchmarks.md, "Review console").
    index('message_versions_sent_at').on(t.sentAt, t.id),
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
  /** When every known session was given a unit here (for a settled-month or interim sweep). */
  unitsEnsuredAt: tstz('units_ensured_at'),
});

/** Checkpoint of one (window, session) unit. */
export const syncUnits = archive.table(
  'sync_units',
  {
    monthStart: date('month_start', { mode: 'string' }).notNull(),
    sessionId: idText('session_id').notNull(),
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
    outcome: text('outcome', { enum: ['ok', 'not_found'] }),
    sweeps: integer('sweeps').notNull().default(0),
    pagesFetched: bigint('pages_fetched', { mode: 'number' }).notNull().default(0),
    versionsSeen: bigint('versions_seen', { mode: 'number' }).notNull().default(0),
    versionsAdded: bigint('versions_added', { mode: 'number' }).notNull().default(0),
    failures: integer('failures').notNull().default(0),
    lastError: text('last_error'),
    lastErrorAt: tstz('last_error_at'),
    createdAt: tstz('created_at').notNull().defaultNow(),
    /** Start of the last read that covered the whole window (as far as the horizon allowed) through its last day so far. */
    fullSweptAt: tstz('full_swept_at'),
    /** The latest last_message_sent_time a listing of this window showed. */
    listedLastMessageAt: tstz('listed_last_message_at'),
    /** listed_last_message_at as of the last finished read of the unit. */
    sweptLastMessageAt: tstz('swept_last_message_at'),
    /** A listing showed something the archive has not read yet; cleared by a read that started after it. */
    newsPendingSince: tstz('news_pending_since'),
  },
  (t) => [
    primaryKey({ columns: [t.monthStart, t.sessionId] }),
    index('sync_units_session').on(t.sessionId),
    // The units a pass must read (src/archive/checkpoint-store.ts, iterateDueUnits).
    index('sync_units_due').on(t.monthStart, t.sessionId).where(sql`${t.resweepRequestedAt} IS NOT NULL OR ${t.newsPendingSince} IS NOT NULL`),
    index('sync_units_incomplete').on(t.monthStart, t.sessionId).where(sql`${t.completedAt} IS NULL`),
  ],
);

/** Items Zoom sent that could not be keyed: kept verbatim (as text) and reported, never dropped. */
export const itemErrors = archive.table(
  'item_errors',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    source: text('source').notNull(),
    sessionId: idText('session_id'),
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

/**
 * Append-only record of every change made through this project and every change noticed in Zoom,
 * and of every read of message content or bundle download through the API. A trigger rejects
 * UPDATE, DELETE and TRUNCATE.
 */
export const auditLog = archive.table(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: tstz('at').notNull().defaultNow(),
    /** Who: `cli:<os user>`, `api:<token name>`, `system:<job>` or `zoom` (a change noticed in Zoom). */
    actor: text('actor').notNull(),
    /** What, dotted: `legal_hold.matter.create`, `export.create`, `api.messages.read`, … */
    action: text('action').notNull(),
    subjectType: text('subject_type'),
    subjectId: text('subject_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    details: jsonb('details'),
    /**
     * The hash chain (0008; src/audit/chain.ts and README, "Tamper evidence"), computed by a trigger
     * on insert whatever the writer sends: the row's position (1 = the genesis row), the previous
     * row's row_hash (32 zero bytes for the genesis row), the SHA-256 of the row's canonical content,
     * and the SHA-256 linking the three. All four are null only on rows written before 0008, which
     * the genesis row counts and digests.
     */
    chainSeq: bigint('chain_seq', { mode: 'number' }),
    prevHash: bytea('prev_hash'),
    contentSha256: bytea('content_sha256'),
    rowHash: bytea('row_hash'),
  },
  (t) => [
    index('audit_log_subject').on(t.subjectType, t.subjectId, t.at),
    index('audit_log_at').on(t.at),
    // One row per chain position: two writers can never both extend the chain from the same head.
    uniqueIndex('audit_log_chain').on(t.chainSeq),
    check(
      'audit_log_chain_check',
      sql`(${t.chainSeq} IS NULL AND ${t.prevHash} IS NULL AND ${t.contentSha256} IS NULL AND ${t.rowHash} IS NULL) OR (${t.chainSeq} IS NOT NULL AND ${t.prevHash} IS NOT NULL AND ${t.contentSha256} IS NOT NULL AND ${t.rowHash} IS NOT NULL)`,
    ),
  ],
);

/** Local mirror of every Zoom legal-hold matter ever seen. A matter is never forgotten. */
export const legalHoldMatters = archive.table(
  'legal_hold_matters',
  {
    matterId: text('matter_id').primaryKey(),
    matterName: text('matter_name').notNull(),
    startDate: date('start_date', { mode: 'string' }),
    /** Null: open-ended. */
    endDate: date('end_date', { mode: 'string' }),
    /** Zoom's matter_creation_date. */
    creationDate: date('creation_date', { mode: 'string' }),
    /** active | deleted_in_zoom (gone from Zoom's list) | deleted_here (deleted through this project) */
    state: text('state', { enum: ['active', 'deleted_in_zoom', 'deleted_here'] }).notNull().default('active'),
    firstSeenAt: tstz('first_seen_at').notNull().defaultNow(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    createdHereAt: tstz('created_here_at'),
    deletedAt: tstz('deleted_at'),
    /** The latest listing item exactly as received. */
    raw: jsonb('raw'),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('legal_hold_matters_state_check', sql`${t.state} in ('active', 'deleted_in_zoom', 'deleted_here')`)],
);

/** The users a matter holds (Zoom's matter_users), as Zoom reports them. */
export const legalHoldCustodians = archive.table(
  'legal_hold_custodians',
  {
    matterId: text('matter_id').notNull(),
    /** The identifier files are listed by: the email when Zoom gives one, else the user id. */
    identifier: text('identifier').notNull(),
    email: text('email'),
    userId: text('user_id'),
    firstSeenAt: tstz('first_seen_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.matterId, t.identifier] }), index('legal_hold_custodians_email').on(t.email)],
);

/** Every zip file Zoom prepared for a matter and custodian, and what happened to our copy. */
export const legalHoldFiles = archive.table(
  'legal_hold_files',
  {
    matterId: text('matter_id').notNull(),
    custodian: text('custodian').notNull(),
    fileKey: text('file_key').notNull(),
    fileStartDate: date('file_start_date', { mode: 'string' }),
    fileEndDate: date('file_end_date', { mode: 'string' }),
    fileCount: integer('file_count'),
    /** total_file_size as Zoom announced it. */
    announcedBytes: bigint('announced_bytes', { mode: 'number' }),
    /** pending | ready | downloading | stored | failed */
    state: text('state', { enum: ['pending', 'ready', 'downloading', 'stored', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    lastErrorAt: tstz('last_error_at'),
    firstSeenAt: tstz('first_seen_at').notNull().defaultNow(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    readyAt: tstz('ready_at'),
    /** Relative to ARCHIVE_DATA_DIR. */
    storedPath: text('stored_path'),
    storedBytes: bigint('stored_bytes', { mode: 'number' }),
    /** Lower-case hex SHA-256 of the stored zip. */
    sha256: text('sha256'),
    zipEntries: integer('zip_entries'),
    storedAt: tstz('stored_at'),
    raw: jsonb('raw'),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.matterId, t.custodian, t.fileKey] }),
    check('legal_hold_files_state_check', sql`${t.state} in ('pending', 'ready', 'downloading', 'stored', 'failed')`),
    index('legal_hold_files_state').on(t.state),
    // A matter's files, by state: the download queue and the per-matter counts read this.
    index('legal_hold_files_matter_state').on(t.matterId, t.state),
  ],
);

/** Every export bundle asked for, whatever became of it. */
export const exports = archive.table(
  'exports',
  {
    /** The bundle id (a UUID), also written in its manifest. */
    exportId: text('export_id').primaryKey(),
    requestedBy: text('requested_by').notNull(),
    requestedAt: tstz('requested_at').notNull().defaultNow(),
    /** The filter as asked: matter, custodians and dates, or sessions; optional text query. */
    filter: jsonb('filter').notNull(),
    formats: text('formats').array().notNull(),
    /** running | complete | failed */
    state: text('state', { enum: ['running', 'complete', 'failed'] }).notNull().default('running'),
    /** Phase and figures while running, e.g. {"phase":"messages","versions":1200}. */
    progress: jsonb('progress').$type<Record<string, unknown>>(),
    /** sessions, messages, versions, edits, deletions, files */
    counts: jsonb('counts'),
    bytes: bigint('bytes', { mode: 'number' }),
    sha256: text('sha256'),
    /** Relative to ARCHIVE_DATA_DIR, or absolute when --out pointed elsewhere. */
    path: text('path'),
    error: text('error'),
    finishedAt: tstz('finished_at'),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('exports_state_check', sql`${t.state} in ('running', 'complete', 'failed')`),
    index('exports_requested_at').on(t.requestedAt),
    // The stale-export sweep at every export start looks for running rows only.
    index('exports_running').on(t.requestedAt).where(sql`${t.state} = 'running'`),
  ],
);

/** Every run of a scheduled job by the service. */
export const jobRuns = archive.table(
  'job_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    job: text('job').notNull(),
    /** Which process ran it: hostname and pid. */
    instance: text('instance').notNull(),
    startedAt: tstz('started_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
    /** running | succeeded | failed | skipped (another replica held the job) | aborted */
    outcome: text('outcome', { enum: ['running', 'succeeded', 'failed', 'skipped', 'aborted'] }).notNull().default('running'),
    /** The job's counts (for sync: the sync_runs id, units, versions added, API calls…), never message content. */
    figures: jsonb('figures').$type<Record<string, unknown>>(),
    error: text('error'),
  },
  (t) => [
    check('job_runs_outcome_check', sql`${t.outcome} IN ('running', 'succeeded', 'failed', 'skipped', 'aborted')`),
    // A row is finished exactly when it is not running.
    check('job_runs_finished_check', sql`(${t.outcome} = 'running') = (${t.finishedAt} IS NULL)`),
    index('job_runs_job_started').on(t.job, t.startedAt),
    // "When did each job last succeed" (/metrics, catch-up at start): one index probe per job.
    index('job_runs_job_succeeded').on(t.job, t.finishedAt).where(sql`${t.outcome} = 'succeeded'`),
    // Closing the runs a dead process left 'running' looks only at running rows.
    index('job_runs_running').on(t.job).where(sql`${t.outcome} = 'running'`),
  ],
);

/** Bearer tokens for the HTTP API, stored as SHA-256 hashes; the token itself is shown once. */
export const apiTokens = archive.table(
  'api_tokens',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    tokenSha256: bytea('token_sha256').notNull(),
    /** reader | exporter | admin */
    role: text('role', { enum: ['reader', 'exporter', 'admin'] }).notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    revokedAt: tstz('revoked_at'),
    lastUsedAt: tstz('last_used_at'),
  },
  (t) => [
    check('api_tokens_role_check', sql`${t.role} in ('reader', 'exporter', 'admin')`),
    uniqueIndex('api_tokens_name').on(t.name),
    uniqueIndex('api_tokens_hash').on(t.tokenSha256),
  ],
);

/**
 * Review-console sign-ins (src/console/session-store.ts): a browser session opened with an API
 * token. Only the SHA-256 of the cookie is stored; the CSRF token is per session. The token's role
 * and revocation are read on every request through the join, so revoking a token ends its sessions.
 */
export const consoleSessions = archive.table(
  'console_sessions',
  {
    sessionSha256: bytea('session_sha256').primaryKey(),
    tokenId: bigint('token_id', { mode: 'number' })
      .notNull()
      .references(() => apiTokens.id),
    /** Sent in every form; a POST without it is refused. */
    csrfToken: text('csrf_token').notNull(),
    createdAt: tstz('created_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    /** Set on sign-out; the row stays until it expires (then it is swept). */
    endedAt: tstz('ended_at'),
  },
  (t) => [index('console_sessions_expires_at').on(t.expiresAt), index('console_sessions_token').on(t.tokenId)],
);

/**
 * Calibration: a version that a settled-month (or interim) sweep found in a unit no activity pass
 * had news for. Each row measures Zoom's real listing behaviour on this account. Append-only (a
 * trigger rejects UPDATE and DELETE).
 */
export const listingMisses = archive.table(
  'listing_misses',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** archive.message_versions.id of the version found. */
    versionId: bigint('version_id', { mode: 'number' }).notNull(),
    sessionId: idText('session_id').notNull(),
    monthStart: date('month_start', { mode: 'string' }).notNull(),
    messageId: idText('message_id').notNull(),
    kind: idText('kind').$type<'original' | 'edited' | 'deleted'>().notNull(),
    actionAt: tstz('action_at').notNull(),
    /** settled | interim: the sweep that found it. */
    readKind: text('read_kind', { enum: ['settled', 'interim'] }).notNull(),
    foundAt: tstz('found_at').notNull().defaultNow(),
    syncRunId: bigint('sync_run_id', { mode: 'number' }),
  },
  (t) => [
    check('listing_misses_read_kind_check', sql`${t.readKind} in ('settled', 'interim')`),
    check('listing_misses_kind_check', sql`${t.kind} in ('original', 'edited', 'deleted')`),
    index('listing_misses_found_at').on(t.foundAt),
  ],
);

/**
 * Fencing tokens of the advisory locks (src/db/advisory-lock.ts): one row per lock name ever taken,
 * with the newest token, who took it and when. Written by archive.take_fence, checked by
 * archive.assert_fence (functions of 0007_lock_fences.sql).
 */
export const lockFences = archive.table(
  'lock_fences',
  {
    name: idText('name').primaryKey(),
    /** Strictly greater than every earlier token of the same name. */
    token: bigint('token', { mode: 'bigint' }).notNull(),
    /** `<hostname>:<pid>` of the process that took it. */
    holder: text('holder').notNull(),
    acquiredAt: tstz('acquired_at').notNull().defaultNow(),
  },
  (t) => [check('lock_fences_token_check', sql`${t.token} > 0`)],
);

/**
 * What each window seal covered (0008; src/audit/seals.ts): one row per message version a seal of its
 * window first covered, with the version's leaf hash (its identity: id, session, message, kind,
 * times, content hash). A window's seal root is the digest of its rows here in version-id order, so
 * `archive verify` can name the version that was added, changed or removed since. Append-only (a
 * trigger rejects UPDATE, DELETE and TRUNCATE): a version disposed of by retention keeps its row,
 * and the disposal's audit event explains why the version itself is gone.
 */
export const sealedVersions = archive.table(
  'sealed_versions',
  {
    /** The window (calendar month, UTC) of the version's action time. */
    monthStart: date('month_start', { mode: 'string' }).notNull(),
    /** archive.message_versions.id */
    versionId: bigint('version_id', { mode: 'number' }).notNull(),
    /** archive.version_leaf(...) of the version when it was sealed. */
    leaf: bytea('leaf').notNull(),
    /** audit_log.id of the seal (`archive.window.seal`) that first covered the version. */
    sealAuditId: bigint('seal_audit_id', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.monthStart, t.versionId] })],
);

/**
 * Versions that arrived for a window after it was sealed (a re-sweep finding what Zoom reported
 * late), queued by the insert trigger of message_versions for the next seal of their window, which
 * appends a new seal covering them. A version no queue row vouches for was not written through the
 * archive's insert path, and `archive verify` says so.
 */
export const sealQueue = archive.table(
  'seal_queue',
  {
    versionId: bigint('version_id', { mode: 'number' }).primaryKey(),
    monthStart: date('month_start', { mode: 'string' }).notNull(),
    queuedAt: tstz('queued_at').notNull().defaultNow(),
  },
  (t) => [index('seal_queue_month').on(t.monthStart)],
);

/**
 * Alerts posted to Zoom Team Chat (src/alerts/): one row per incident (a condition that opens and
 * resolves: a window at horizon risk, a job failing again and again) or notice (something that
 * happened once: an export finished, the daily chain head), so each is announced once, resolved once,
 * and never repeated by a restart or another replica.
 */
export const alerts = archive.table(
  'alerts',
  {
    /** What the alert is about, stable across passes: `horizon-risk:2026-05-01`, `export:<id>`, … */
    key: text('key').primaryKey(),
    kind: text('kind').notNull(),
    /** firing | resolved (incidents); pending | sent (notices) */
    state: text('state', { enum: ['firing', 'resolved', 'pending', 'sent'] }).notNull(),
    firstSeenAt: tstz('first_seen_at').notNull().defaultNow(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    resolvedAt: tstz('resolved_at'),
    /** When the opening message (or the notice) was posted; null while waiting for the rate limit. */
    notifiedAt: tstz('notified_at'),
    remindedAt: tstz('reminded_at'),
    resolvedNotifiedAt: tstz('resolved_notified_at'),
    notifications: integer('notifications').notNull().default(0),
    /** The text composed for the latest message (never message content). */
    message: text('message').notNull(),
    /** Figures the message was built from. */
    facts: jsonb('facts').$type<Record<string, unknown>>(),
  },
  (t) => [
    check('alerts_state_check', sql`${t.state} in ('firing', 'resolved', 'pending', 'sent')`),
    index('alerts_open').on(t.kind).where(sql`${t.state} IN ('firing', 'pending')`),
  ],
);

/**
 * One row per file entry of an archived version's `files[]` (0009): which version of which message
 * shared which file, with the name and declared size it carried then. Written by the file capture
 * stage (src/files/) for every version it has not seen, deleted messages included; never changed.
 */
export const fileRefs = archive.table(
  'file_refs',
  {
    versionId: bigint('version_id', { mode: 'number' }).notNull(),
    /** Position in the version's `files[]`, from 1. */
    ordinal: integer('ordinal').notNull(),
    sessionId: idText('session_id').notNull(),
    messageId: idText('message_id').notNull(),
    kind: idText('kind').notNull(),
    /** Null when the entry has no usable `file_id` (the view shows it as `skipped`). */
    fileId: idText('file_id'),
    fileName: text('file_name'),
    /** `file_size` as the report declared it. */
    declaredBytes: bigint('declared_bytes', { mode: 'number' }),
    referencedAt: tstz('referenced_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.versionId, t.ordinal] }), index('file_refs_file').on(t.fileId), index('file_refs_message').on(t.sessionId, t.messageId)],
);

/**
 * Capture state of each distinct Zoom file (by `file_id`): what is known about it and whether its
 * content is stored. The content itself is in file_contents, which is never changed.
 */
export const files = archive.table(
  'files',
  {
    fileId: idText('file_id').primaryKey(),
    /** pending | stored | failed | gone | too_large | skipped */
    state: text('state', { enum: ['pending', 'stored', 'failed', 'gone', 'too_large', 'skipped'] }).notNull().default('pending'),
    fileName: text('file_name'),
    /** `file_size` of the latest reference. */
    declaredBytes: bigint('declared_bytes', { mode: 'number' }),
    /** The newest download URL known (a report's, or a fresh one from "Get file info"). Signed; not a secret we keep long. */
    downloadUrl: text('download_url'),
    /** `length` and `digest` (SHA-256, hex) from "Get file info", once asked. */
    zoomLength: bigint('zoom_length', { mode: 'number' }),
    zoomDigest: text('zoom_digest'),
    infoFetchedAt: tstz('info_fetched_at'),
    /** Download attempts over all runs. */
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    lastAttemptAt: tstz('last_attempt_at'),
    /** A failed file is tried again from then on. */
    nextAttemptAt: tstz('next_attempt_at'),
    /** When Zoom first answered that the file does not exist (404 after a refresh). */
    firstMissingAt: tstz('first_missing_at'),
    /** The stored content (file_contents.sha256). */
    sha256: text('sha256'),
    /** Zoom's digest differs from the stored content's SHA-256: recorded and kept, never replaced. */
    digestMismatch: boolean('digest_mismatch').notNull().default(false),
    /** The stored size differs from the report's `file_size` (Zoom's `length` agreed with the bytes). */
    sizeMismatch: boolean('size_mismatch').notNull().default(false),
    storedAt: tstz('stored_at'),
    firstReferencedAt: tstz('first_referenced_at').notNull().defaultNow(),
  },
  (t) => [
    check('files_state_check', sql`${t.state} in ('pending', 'stored', 'failed', 'gone', 'too_large', 'skipped')`),
    check('files_stored_check', sql`(${t.state} = 'stored') = (${t.sha256} IS NOT NULL)`),
    index('files_due').on(t.nextAttemptAt).where(sql`${t.state} IN ('pending', 'failed')`),
    index('files_sha256').on(t.sha256),
  ],
);

/**
 * The content-addressed store (0009): one row per distinct content under ARCHIVE_DATA_DIR/files/,
 * written once the file is complete and synced, append-only (a trigger rejects UPDATE and DELETE).
 */
export const fileContents = archive.table('file_contents', {
  sha256: idText('sha256').primaryKey(),
  bytes: bigint('bytes', { mode: 'number' }).notNull(),
  /** Relative to ARCHIVE_DATA_DIR: `files/<sha256[0..2]>/<sha256>`. */
  storedPath: text('stored_path').notNull(),
  storedAt: tstz('stored_at').notNull().defaultNow(),
});
