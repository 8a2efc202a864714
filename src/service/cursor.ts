import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InputError } from '../errors.js';

/**
 * Opaque keyset cursors. A cursor is base64url JSON holding the sort key of the last row returned,
 * which endpoint it belongs to, and a fingerprint of the filters it was issued for: a cursor used
 * with other filters, on another endpoint, or tampered with is refused with a 400 instead of
 * silently returning the wrong page. Keyset paging returns every row exactly once even while new
 * versions are archived between pages.
 */

const MAX_CURSOR_CHARS = 2048;

/**
 * A timestamp as a cursor carries it: ISO 8601 UTC with microseconds, PostgreSQL's full precision,
 * so the next page starts exactly after the last row (milliseconds could skip or repeat rows); the
 * read model hands it out in this form (src/read-model/instants.ts).
 */
const EXACT_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

/**
 * True for an instant as a cursor carries it *and* a real one: a calendar date (no February 30th),
 * hours 0–23, minutes and seconds 0–59, years 0001–9999. A hand-edited cursor with an impossible
 * time is refused here (400) rather than by PostgreSQL (which would make it a 500).
 */
export function isExactInstant(value: string): boolean {
  const m = EXACT_INSTANT.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export const exactInstantKey = z.string().refine(isExactInstant);

const envelope = z.object({ v: z.literal(1), k: z.string(), f: z.string(), p: z.array(z.union([z.string(), z.number(), z.null()])).max(8) });

export function filterFingerprint(filters: Record<string, unknown>): string {
  const normalised = Object.keys(filters)
    .sort()
    .map((k) => [k, filters[k] instanceof Date ? (filters[k] as Date).toISOString() : (filters[k] ?? null)]);
  return createHash('sha256').update(JSON.stringify(normalised)).digest('base64url').slice(0, 16);
}

export function encodeCursor(kind: string, fingerprint: string, position: ReadonlyArray<string | number | null>): string {
  return Buffer.from(JSON.stringify({ v: 1, k: kind, f: fingerprint, p: position }), 'utf8').toString('base64url');
}

/** The position inside a cursor, checked against `schema`; any problem is a 400 on `cursor`. */
export function decodeCursor<T>(value: string, kind: string, fingerprint: string, schema: z.ZodType<T>): T {
  const invalid = (why: string) => new InputError(`cursor is not valid (${why}); start again without a cursor`, 'cursor');
  if (value.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid('not a cursor this API issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor this API issued');
  }
  const env = envelope.safeParse(parsed);
  if (!env.success) throw invalid('not a cursor this API issued');
  if (env.data.k !== kind) throw invalid('it belongs to another endpoint');
  if (env.data.f !== fingerprint) throw invalid('it was issued for different filters; keep the filters unchanged while paging');
  const position = schema.safeParse(env.data.p);
  if (!position.success) throw invalid('not a cursor this API issued');
  return position.data;
}

/**
 * One page of a keyset listing: `rows` were fetched with `limit + 1`, so a row beyond `limit` means
 * there is more, and the cursor points after the page's last row; null at the end.
 */
export function keysetPage<R, T>(rows: readonly R[], limit: number, present: (row: R) => T, cursorAfter: (last: R) => string): { items: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map((row) => present(row)), next_cursor: rows.length > limit && last !== undefined ? cursorAfter(last) : null };
}

/** Where a page of a keyset listing starts (`after`, undefined on the first page), and how to answer with it. */
export interface KeysetRequest<P, R> {
  after: P | undefined;
  /** The answer from `rows`, fetched with `limit + 1` after `after` (keysetPage). */
  page<T>(rows: readonly R[], limit: number, present: (row: R) => T): { items: T[]; next_cursor: string | null };
}

/**
 * One keyset-paged listing: its cursor kind, the shape of the position its cursors carry, and the
 * position after a row. `open` takes a request's filters and cursor: the cursor is checked against
 * the kind and the filters' fingerprint, and the next cursor is issued under the same two.
 */
export function keysetListing<P, R>(kind: string, position: z.ZodType<P>, positionOf: (row: R) => ReadonlyArray<string | number | null>) {
  return {
    open(filters: Record<string, unknown>, cursor: string | undefined): KeysetRequest<P, R> {
      const fingerprint = filterFingerprint(filters);
      return {
        after: cursor === undefined ? undefined : decodeCursor(cursor, kind, fingerprint, position),
        page: (rows, limit, present) => keysetPage(rows, limit, present, (last) => encodeCursor(kind, fingerprint, positionOf(last))),
      };
    },
  };
}
