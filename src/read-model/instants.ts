/**
 * How the read model hands timestamps out of PostgreSQL: as text, never as Date objects. A keyset
 * cursor needs PostgreSQL's full precision (microseconds: milliseconds could skip or repeat rows),
 * and the API shows milliseconds; parsing Dates and formatting them again costs more than the rest
 * of a page.
 */

/** `column` as ISO 8601 UTC with microseconds (`2026-06-01T10:00:00.123456Z`); `::timestamptz` reads it back exactly. */
export const exactInstantSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** `column` as ISO 8601 UTC with milliseconds, the form the API shows. */
export const millisecondInstantSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
