import type { exports } from '../db/schema.js';
import type { ChatMessageVersionColumns, IsoDate } from '../domain/types.js';

/**
 * Export glossary
 *
 * - **bundle**    One zip file holding everything an export selected, with `manifest.json` (written
 *                 last) listing every other entry's path, size and SHA-256.
 * - **entry**     One file inside the bundle (`messages.jsonl`, `transcripts/<session>.html`, …).
 * - **filter**    What the export selects: a legal-hold matter, custodians over a date range, or
 *                 sessions; optionally narrowed by a full-text query.
 * - **version row** One row of the `chat_message_versions` view selected by the filter.
 * - **message group** The consecutive version rows of one message (the selection is ordered by
 *                 session, send time, message id, version time).
 * - **spool**     A scratch directory beside the bundle's `.tmp` file: entries that cannot stream
 *                 straight into the zip (a zip is written one entry at a time) are written there
 *                 during the single pass over the versions and appended afterwards.
 */

export const EXPORT_FORMATS = ['jsonl', 'csv', 'html', 'rsmf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

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

/** A validated, normalised request (see request.ts). */
export interface ExportRequest {
  filter: ExportFilter;
  /** Non-empty, in the canonical order jsonl, csv, html, rsmf. */
  formats: ExportFormat[];
  /** Where the bundle goes; default `ARCHIVE_DATA_DIR/exports/<generated name>.zip`. */
  outPath?: string;
  /** Who asked (a person or a ticket); default the actor. */
  requestedBy?: string;
}

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

export const ZERO_COUNTS: Readonly<ExportCounts> = Object.freeze({ sessions: 0, messages: 0, versions: 0, edits: 0, deletions: 0, files: 0 });

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

export type ExportState = 'running' | 'complete' | 'failed';

export type ExportPhase = 'preparing' | 'messages' | 'packing' | 'legal-hold' | 'finishing' | 'done';

export interface ExportProgress {
  phase: ExportPhase;
  versionsWritten: number;
  versionsTotal: number;
  /** Uncompressed bytes of every entry written so far. */
  contentBytes: number;
  /** Bytes of the zip written so far. */
  bundleBytes: number;
  elapsedMs: number;
}

/**
 * One row of archive.exports, as src/db/schema.ts declares it, with the JSON and array columns
 * typed as this module writes them.
 */
export type ExportRecord = Omit<typeof exports.$inferSelect, 'filter' | 'formats' | 'counts'> & {
  filter: ExportFilter;
  formats: ExportFormat[];
  counts: ExportCounts | null;
};
