import type { ExportAttachment } from './attachments.js';
import type { EntryDigest } from './hashing-writer.js';
import type { MessageHistory } from './message-history.js';
import type { PeopleDirectory } from './people.js';
import type { ExportCounts, ExportFilter, ExportFormat, SessionInfo, VersionRow } from './types.js';

/**
 * What an export format is to the export: one object per format per export, called by the single
 * pass over the selection (run-export.ts) in this order —
 *
 *   begin → for each session: beginSession → addVersion / addMessage … → endSession → finish
 *         → packFiles (after the pass, when the zip is free)
 *
 * — writing its entries through the `BundleEntries` it was created with. A format never sees the
 * database, the zip, the spool, the manifest or the progress counters: the loop and the bookkeeping
 * are run-export.ts's and bundle-entries.ts's. Formats are called in the canonical order (jsonl,
 * csv, html, rsmf), and their entries land in the zip in that order.
 *
 * A new format is one file in writers/ exporting a `FormatDefinition`, its name in EXPORT_FORMATS
 * (types.ts: what requests accept) and one line in formats.ts.
 *
 * Attachments (issue 13) come in through the same interface: a writer whose `addMessage` collects
 * the files the exported messages reference and whose `packFiles` copies each stored file in once
 * with `entries.addFile` (checked against its SHA-256, stored or deflated), like the legal-hold zips
 * run-export.ts copies; HTML and RSMF learn where each file went from a lookup loaded before the
 * pass (add it to `SelectionLookups`, declare it in `needs`).
 */

/** A text entry being written during the pass: straight into the zip, or deflated into the spool. */
export interface TextEntry {
  /** Path inside the bundle. */
  readonly path: string;
  /** Uncompressed bytes taken so far. */
  readonly bytesWritten: number;
  /** Returns a promise only when the caller must wait (backpressure): `const w = e.write(x); if (w) await w;`. */
  write(data: string | Buffer): Promise<void> | undefined;
  /** Closes the entry; its size and SHA-256 go into the manifest. */
  end(): Promise<EntryDigest>;
}

/** A stored file to copy into the bundle, and what the archive recorded about it. */
export interface FileToCopy {
  /** Path inside the bundle. */
  path: string;
  absolutePath: string;
  /** Already compressed (zips, images, video): stored; anything else is deflated. */
  store: boolean;
  expected: EntryDigest;
  /** The error when the bytes read differ from `expected`: the export fails rather than ship them. */
  mismatch: (actual: EntryDigest) => Error;
}

/** Where a format's entries go. */
export interface BundleEntries {
  /**
   * A text entry written piece by piece. With `streamIntoZip`, the first entry of the export that
   * asks streams straight into the zip (a zip takes one entry at a time); every other entry is
   * deflated into the spool as it is written and copied in after the pass.
   */
  openText(path: string, options?: { streamIntoZip?: boolean }): TextEntry;
  /** A whole entry at once (an RSMF file), spooled. */
  writeWhole(path: string, content: Buffer): Promise<void>;
  /** Only in `packFiles`: copies a stored file in, checking its size and SHA-256 on the way. */
  addFile(file: FileToCopy): Promise<EntryDigest>;
}

/** What every format may read about the selection, loaded once, in the export's snapshot, before the pass. */
export interface SelectionLookups {
  /** Every file the selection references, by Zoom file id, with its state and path in the bundle (attachments.ts); always loaded. */
  attachments: ReadonlyMap<string, ExportAttachment>;
  /** Everyone who wrote in the selection (people.ts): names people who only react or receive in a file. */
  people: PeopleDirectory;
  /** Per session: main message id → send time of its last reply, for threads answered on a later UTC day. */
  crossDayThreads: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Lower-case emails of the export's custodians (custodian or matter exports); empty otherwise. */
  custodians: ReadonlySet<string>;
}

export type LookupName = keyof SelectionLookups;

export interface FormatContext {
  bundleId: string;
  /** ISO 8601 UTC with milliseconds. */
  createdAt: string;
  filter: ExportFilter;
  /** Every format of this export, in canonical order. */
  formats: readonly ExportFormat[];
  /** One line saying what the export selected. */
  filterSummary: string;
  /** `zoom-chat-archiver/<version>`. */
  generator: string;
  /** Only the lookups the export's formats declared are loaded; the others are empty. */
  lookups: SelectionLookups;
}

export interface ExportSession {
  id: string;
  info: SessionInfo | undefined;
  /** The same name in every format (session-title.ts): Zoom's, or for a 1:1 chat "1:1 chat: a & b". */
  name: string;
  /** The session id as a file name (text.ts: safePathSegment). */
  safeId: string;
}

export interface FormatWriter {
  /** Before the first version: open the entries that span the export. */
  begin?(): Promise<void>;
  beginSession?(session: ExportSession): Promise<void>;
  /** Every version row, in export order (session, send time, message, version time). */
  addVersion?(row: VersionRow, session: ExportSession): Promise<void> | undefined;
  /** Every message, once all its consecutive versions have been read (message-history.ts). */
  addMessage?(message: MessageHistory, session: ExportSession): Promise<void>;
  endSession?(session: ExportSession): Promise<void>;
  /** After the last version: close every entry still open. */
  finish(counts: ExportCounts): Promise<void>;
  /** After the pass and the spooled entries, when the zip is free: copy stored files in (`entries.addFile`). */
  packFiles?(): Promise<void>;
}

export interface FormatDefinition {
  format: ExportFormat;
  /** The lookups this format reads; each is loaded only when some format of the export needs it. */
  needs: readonly LookupName[];
  create(context: FormatContext, entries: BundleEntries): FormatWriter;
}
