/**
 * The `Range` request header (RFC 9110 §14) for a file of known size: one byte range (`bytes=0-99`,
 * open `bytes=100-`, suffix `bytes=-100`) is served as 206; a range starting past the end is 416;
 * anything else — no header, a syntax we do not parse, several ranges, another unit, an `If-Range`
 * that does not match the current representation — is served whole (200), which the RFC allows.
 */

export type RangeDecision = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

export function decideRange(header: string | undefined, size: number, ifRange?: { header: string | undefined; etag: string }): RangeDecision {
  if (header === undefined || header.trim() === '') return { kind: 'full' };
  // If-Range with a validator other than the current ETag (or a date, which we do not issue): send it all.
  if (ifRange?.header !== undefined && ifRange.header.trim() !== ifRange.etag) return { kind: 'full' };
  const match = SINGLE_RANGE.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return { kind: 'full' };
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: 'full' };
  if (last !== '' && end < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
