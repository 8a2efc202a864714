import path from 'node:path';
import type { Queryable } from '../db/pool.js';
import { buildSelectionWhere, isoTimestampSql } from '../read-model/export-selection.js';
import { safePathSegment } from './text.js';
import type { ExportFilter } from './types.js';

/**
 * The files shared in the exported messages (issue 13): each distinct Zoom file the selected
 * versions reference (read from their `files[]`, so a file the capture stage has not seen yet is
 * listed too, as `pending`), with its capture state and, when stored, where its content goes in the
 * bundle: `attachments/<sha256>/<file name>`, once per content, the original name kept readable.
 * Read in the export's snapshot, before the pass, so the formats can link to them.
 */

export interface ExportAttachment {
  fileId: string;
  fileName: string | null;
  /** pending (not captured, or not yet) | stored | failed | gone | too_large | skipped */
  state: string;
  sha256: string | null;
  bytes: number | null;
  /** Relative to ARCHIVE_DATA_DIR; stored files only. */
  storedPath: string | null;
  zoomDigest: string | null;
  digestMismatch: boolean;
  firstMissingAt: string | null;
  /** Inside the bundle; stored files only. */
  entryPath: string | null;
}

/** Extensions whose content is already compressed: stored in the zip as they are, not deflated. */
const COMPRESSED = /\.(zip|gz|tgz|bz2|xz|7z|rar|png|jpe?g|gif|webp|heic|mp4|mov|m4a|mp3|ogg|opus|webm|pdf|docx|xlsx|pptx|odt|ods|odp)$/i;

export function isCompressed(name: string | null): boolean {
  return name !== null && COMPRESSED.test(name);
}

/** A file name as a zip entry name: no directories, no control characters, at most 120 characters, never empty. */
export function attachmentEntryName(name: string | null, sha256: string): string {
  const base = [...path.posix.basename((name ?? '').replace(/\\/g, '/'))]
    .map((c) => (c.charCodeAt(0) < 0x20 || c === '\u007f' ? '_' : c))
    .join('')
    .trim();
  if (base === '' || base === '.' || base === '..') return safePathSegment(sha256.slice(0, 16));
  if (base.length <= 120) return base;
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 && base.length - dot <= 12 ? base.slice(dot) : '';
  return `${base.slice(0, 120 - ext.length)}${ext}`;
}

export async function loadExportAttachments(db: Queryable, filter: ExportFilter): Promise<Map<string, ExportAttachment>> {
  const where = buildSelectionWhere(filter);
  const res = await db.query<{
    file_id: string;
    file_name: string | null;
    state: string;
    sha256: string | null;
    bytes: string | null;
    stored_path: string | null;
    zoom_digest: string | null;
    digest_mismatch: boolean | null;
    first_missing_at: string | null;
  }>(
    `SELECT DISTINCT ON (e.f ->> 'file_id') e.f ->> 'file_id' AS file_id,
            coalesce(f.file_name, CASE WHEN jsonb_typeof(e.f -> 'file_name') = 'string' THEN e.f ->> 'file_name' END) AS file_name,
            coalesce(f.state, 'pending') AS state, f.sha256, c.bytes::text AS bytes, c.stored_path, f.zoom_digest, f.digest_mismatch,
            ${isoTimestampSql('f.first_missing_at')} AS first_missing_at
     FROM public.chat_message_versions v
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(v.files) = 'array' THEN v.files ELSE '[]'::jsonb END) AS e(f)
     LEFT JOIN archive.files f ON f.file_id = e.f ->> 'file_id'
     LEFT JOIN archive.file_contents c ON c.sha256 = f.sha256
     WHERE ${where.text} AND jsonb_typeof(e.f -> 'file_id') = 'string' AND e.f ->> 'file_id' <> ''
     ORDER BY e.f ->> 'file_id'`,
    where.values,
  );
  const out = new Map<string, ExportAttachment>();
  const entryBySha = new Map<string, string>();
  for (const r of res.rows) {
    let entryPath: string | null = null;
    if (r.state === 'stored' && r.sha256 && r.stored_path) {
      entryPath = entryBySha.get(r.sha256) ?? `attachments/${r.sha256}/${attachmentEntryName(r.file_name, r.sha256)}`;
      entryBySha.set(r.sha256, entryPath);
    }
    out.set(r.file_id, {
      fileId: r.file_id,
      fileName: r.file_name,
      state: r.state,
      sha256: r.sha256,
      bytes: r.bytes === null ? null : Number(r.bytes),
      storedPath: r.stored_path,
      zoomDigest: r.zoom_digest,
      digestMismatch: r.digest_mismatch === true,
      firstMissingAt: r.first_missing_at,
      entryPath,
    });
  }
  return out;
}
