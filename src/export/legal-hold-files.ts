import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/pool.js';
import { ExportError } from './errors.js';
import { safePathSegment } from './text.js';

/**
 * A matter export carries the matter's stored legal-hold zips byte for byte. A file the database
 * says is stored but that is missing, has another size, or (checked while it is copied) another
 * SHA-256 makes the export fail: never a bundle that silently lacks evidence.
 */

export interface LegalHoldFileToExport {
  custodian: string;
  fileKey: string;
  fileStartDate: string | null;
  fileEndDate: string | null;
  absolutePath: string;
  bytes: number;
  sha256: string;
  /** Path inside the bundle. */
  entryPath: string;
}

interface Row {
  custodian: string;
  file_key: string;
  file_start_date: string | null;
  file_end_date: string | null;
  stored_path: string | null;
  stored_bytes: number | null;
  sha256: string | null;
}

function invalid(message: string): never {
  throw new ExportError('EXPORT_LEGAL_HOLD_FILE_INVALID', message);
}

export async function loadLegalHoldFiles(db: Queryable, matterId: string, dataDir: string): Promise<LegalHoldFileToExport[]> {
  const res = await db.query<Row>(
    `SELECT custodian, file_key, file_start_date, file_end_date, stored_path, stored_bytes, sha256
     FROM archive.legal_hold_files WHERE matter_id = $1 AND state = 'stored' ORDER BY custodian, file_key`,
    [matterId],
  );
  const files: LegalHoldFileToExport[] = [];
  for (const row of res.rows) {
    const label = `legal-hold file ${row.custodian}/${row.file_key} of matter ${matterId}`;
    if (!row.stored_path) invalid(`${label} is marked stored but has no stored path`);
    if (!row.sha256 || !/^[0-9a-f]{64}$/i.test(row.sha256)) invalid(`${label} has no recorded SHA-256, so its copy cannot be checked`);
    const absolutePath = path.resolve(dataDir, row.stored_path);
    const relative = path.relative(dataDir, absolutePath);
    if (relative.startsWith('..') || path.isAbsolute(relative)) invalid(`${label} has a stored path outside ARCHIVE_DATA_DIR (${row.stored_path})`);
    const info = await stat(absolutePath).catch((err: NodeJS.ErrnoException) => {
      invalid(`${label} is recorded as stored at ${row.stored_path} but ${err.code === 'ENOENT' ? 'is missing on disk' : `cannot be read (${err.code ?? err.message})`}`);
    });
    if (!info.isFile()) invalid(`${label}: ${row.stored_path} is not a file`);
    if (row.stored_bytes !== null && info.size !== row.stored_bytes) {
      invalid(`${label} at ${row.stored_path} is ${info.size} bytes on disk but ${row.stored_bytes} bytes were stored: the file changed`);
    }
    const key = row.file_key.toLowerCase().endsWith('.zip') ? row.file_key.slice(0, -4) : row.file_key;
    files.push({
      custodian: row.custodian,
      fileKey: row.file_key,
      fileStartDate: row.file_start_date,
      fileEndDate: row.file_end_date,
      absolutePath,
      bytes: info.size,
      sha256: row.sha256.toLowerCase(),
      entryPath: `legal-hold/${safePathSegment(row.custodian)}/${safePathSegment(key)}.zip`,
    });
  }
  return files;
}

/** The lower-case emails of a matter's custodians (for RSMF's custodian and direction). */
export async function loadMatterCustodianEmails(db: Queryable, matterId: string): Promise<string[]> {
  const res = await db.query<{ email: string }>(
    'SELECT DISTINCT lower(email) AS email FROM archive.legal_hold_custodians WHERE matter_id = $1 AND email IS NOT NULL',
    [matterId],
  );
  return res.rows.map((r) => r.email);
}
