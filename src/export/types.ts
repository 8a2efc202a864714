import type { exports } from '../db/schema.js';
import type { ExportCounts, ExportFilter } from '../read-model/export-selection.js';

/**
 * Export glossary
 *
 * - **bundle**    One zip file holding everything an export selected, with `manifest.json` (written
 *                 last) listing every other entry's path, size and SHA-256.
 * - **entry**     One file inside the bundle (`messages.jsonl`, `transcripts/<session>.html`, …).
 * - **filter**    What the export selects: a legal-hold matter, custodians over a date range, or
 *                 sessions; optionally narrowed by a full-text query. The filters, the version rows
 *                 and the SQL behind them are the read model's: src/read-model/export-selection.ts.
 * - **version row** One row of the `chat_message_versions` view selected by the filter.
 * - **message group** The consecutive version rows of one message (the selection is ordered by
 *                 session, send time, message id, version time).
 * - **spool**     A scratch directory beside the bundle's `.tmp` file: entries that cannot stream
 *                 straight into the zip (a zip is written one entry at a time) are written there
 *                 during the single pass over the versions and appended afterwards.
 */

export const EXPORT_FORMATS = ['jsonl', 'csv', 'html', 'rsmf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type { MatterFilter, CustodianFilter, SessionFilter, ExportFilter, ExportCounts, VersionFile, VersionRow, SessionInfo } from '../read-model/export-selection.js';

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

export const ZERO_COUNTS: Readonly<ExportCounts> = Object.freeze({ sessions: 0, messages: 0, versions: 0, edits: 0, deletions: 0, files: 0 });

export type ExportState = 'running' | 'complete' | 'failed';

export type ExportPhase = 'preparing' | 'messages' | 'packing' | 'attachments' | 'legal-hold' | 'finishing' | 'done';

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
