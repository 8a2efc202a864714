import { createHash } from 'node:crypto';

/**
 * Where legal-hold zips live: `ARCHIVE_DATA_DIR/legal-hold/<matter>/<custodian>/<file_key>.zip`,
 * each part made safe for any POSIX file system. File keys are base64 and may hold `/`, `+` and `=`;
 * matter ids and custodians come from Zoom and the user. A part is kept as it is when it only uses
 * `A–Z a–z 0–9 . _ @ + = -` and does not start with a dot; every other byte of its UTF-8 form
 * (and a leading dot) becomes `%XX`, so the name is reversible with `decodeURIComponent`, and `..`
 * or `/` can never reach the file system. A part longer than 150 characters once encoded keeps its
 * first 100 characters plus `~` and 16 hex digits of its SHA-256 (the database keeps the mapping).
 *
 * Names are case-sensitive (base64 keys differ by case only): keep ARCHIVE_DATA_DIR on a
 * case-sensitive file system. On any other, two such keys would collide — which the download
 * detects (it never overwrites) and reports instead of losing either file.
 */

export const LEGAL_HOLD_DIR = 'legal-hold';
export const TEMP_SUFFIX = '.tmp';

const SAFE = /^[A-Za-z0-9._@+=-]$/;
const MAX_ENCODED_CHARS = 150;
const KEPT_PREFIX_CHARS = 100;

export function toSafeName(value: string): string {
  let out = '';
  for (const char of value) {
    if (SAFE.test(char) && !(char === '.' && out === '')) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out === '') return '%00empty';
  if (out.length <= MAX_ENCODED_CHARS) return out;
  const digest = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 16);
  return `${out.slice(0, KEPT_PREFIX_CHARS).replace(/%[0-9A-F]?$/, '')}~${digest}`;
}

/** The original of a name `toSafeName` made, or undefined for a shortened (hashed) or foreign name. */
export function fromSafeName(name: string): string | undefined {
  if (name.includes('~') || name === '%00empty') return undefined;
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

export interface FileIdentity {
  matterId: string;
  custodian: string;
  fileKey: string;
}

/** `legal-hold/<matter>/<custodian>/<file_key>.zip`, with `/` separators: what the database records. */
export function storedRelativePath(file: FileIdentity): string {
  return [LEGAL_HOLD_DIR, toSafeName(file.matterId), toSafeName(file.custodian), `${toSafeName(file.fileKey)}.zip`].join('/');
}

/** The temporary file a download writes before it is checked and moved into place (same directory). */
export function tempPathFor(finalPath: string): string {
  return `${finalPath}${TEMP_SUFFIX}`;
}
