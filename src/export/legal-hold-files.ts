import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/pool.js';
import { loadStoredLegalHoldFiles } from '../read-model/export-selection.js';
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

function invalid(message: string): never {
  throw new ExportError('EXPORT_LEGAL_HOLD_FILE_INVALID', message);
}

export async function loadLegalHoldFiles(db: Queryable, matterId: string, dataDir: string): Promise<LegalHoldFileToExport[]> {
  const files: LegalHoldFileToExport[] = [];
  for (const row of await loadStoredLegalHoldFiles(db, matterId)) {
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
