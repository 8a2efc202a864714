import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Queryable } from '../db/pool.js';
import { InputError } from '../errors.js';
import { isIsoDate } from '../util/dates.js';
import { EXPORT_FORMATS, type ExportFilter, type ExportFormat, type ExportRequest } from './types.js';

/**
 * Turns what a person typed (CLI flags, later HTTP parameters) into a validated ExportRequest, or
 * an InputError naming the field and what a good value looks like. `parseExportRequest` is pure;
 * `checkExportRequest` adds the checks that need the database (unknown matter, unknown sessions,
 * a query with no searchable word). Both run before any work is done.
 */

export interface ExportRequestInput {
  matter?: string | undefined;
  /** Emails; each item may also hold several separated by commas. */
  custodians?: readonly string[] | undefined;
  sessions?: readonly string[] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  query?: string | undefined;
  /** `jsonl,csv` or a list; default all four. */
  formats?: string | readonly string[] | undefined;
  out?: string | undefined;
  requestedBy?: string | undefined;
}

/**
 * How messages name each field: the CLI's flags, or the HTTP API's JSON fields, so a person is told
 * about the words they actually typed (POST /v1/exports never answers with `--from`).
 */
export interface ExportRequestWords {
  matter: string;
  custodian: string;
  session: string;
  from: string;
  to: string;
  query: string;
  formats: string;
  out: string;
  requestedBy: string;
}

export const CLI_WORDS: Readonly<ExportRequestWords> = Object.freeze({
  matter: '--matter',
  custodian: '--custodian',
  session: '--session',
  from: '--from',
  to: '--to',
  query: '--query',
  formats: '--formats',
  out: '--out',
  requestedBy: '--requested-by',
});

export const API_WORDS: Readonly<ExportRequestWords> = Object.freeze({
  matter: 'matter',
  custodian: 'custodians',
  session: 'sessions',
  from: 'from',
  to: 'to',
  query: 'query',
  formats: 'formats',
  out: 'out',
  requestedBy: 'requested_by',
});

export const MAX_CUSTODIANS = 100;
export const MAX_SESSIONS = 1000;
const MAX_QUERY_LENGTH = 1000;

const isoDate = (flag: string) =>
  z.string().trim().refine(isIsoDate, { error: (issue) => `${flag} must be a real date as yyyy-mm-dd, e.g. 2026-03-31 (got ${JSON.stringify(issue.input)})` });
const email = (w: ExportRequestWords) => z.email({ error: (issue) => `${w.custodian} must be an email address such as a.person@example.com (got ${JSON.stringify(issue.input)})` });

function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function fail(message: string, field: string): never {
  throw new InputError(message, field);
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) fail(result.error.issues[0]?.message ?? `invalid ${field}`, field);
  return result.data;
}

export function parseFormats(value: string | readonly string[] | undefined, w: ExportRequestWords = CLI_WORDS): ExportFormat[] {
  if (value === undefined) return [...EXPORT_FORMATS];
  const items = splitList(typeof value === 'string' ? [value] : value).map((f) => f.toLowerCase());
  if (items.length === 0) fail(`${w.formats} needs at least one of ${EXPORT_FORMATS.join(', ')}`, 'formats');
  const unknown = items.filter((f) => !(EXPORT_FORMATS as readonly string[]).includes(f));
  if (unknown.length > 0) fail(`unknown format${unknown.length > 1 ? 's' : ''} ${unknown.map((f) => JSON.stringify(f)).join(', ')}: ${w.formats} takes a comma-separated subset of ${EXPORT_FORMATS.join(', ')}`, 'formats');
  return EXPORT_FORMATS.filter((f) => items.includes(f));
}

function parseRange(input: ExportRequestInput, required: boolean, w: ExportRequestWords): { from?: string; to?: string } {
  const from = input.from === undefined || input.from.trim() === '' ? undefined : parseWith(isoDate(w.from), input.from, 'from');
  const to = input.to === undefined || input.to.trim() === '' ? undefined : parseWith(isoDate(w.to), input.to, 'to');
  if (required && (from === undefined || to === undefined)) {
    fail(`${w.custodian} needs a date range: ${w.from} and ${w.to}, each yyyy-mm-dd (UTC days, both inclusive)`, from === undefined ? 'from' : 'to');
  }
  if (from !== undefined && to !== undefined && from > to) fail(`the date range is reversed: ${w.from} ${from} is after ${w.to} ${to}`, 'from');
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

function parseQuery(value: string | undefined, w: ExportRequestWords): { query?: string } {
  if (value === undefined) return {};
  const query = value.trim();
  if (query === '') fail(`${w.query} is empty: give the words to search for, e.g. ${w.query} "budget approved"`, 'query');
  if (query.length > MAX_QUERY_LENGTH) fail(`${w.query} is too long (${query.length} characters; at most ${MAX_QUERY_LENGTH})`, 'query');
  return { query };
}

function parseOutPath(value: string | undefined, w: ExportRequestWords): { outPath?: string } {
  if (value === undefined || value.trim() === '') return {};
  const outPath = path.resolve(value.trim());
  if (!outPath.toLowerCase().endsWith('.zip')) fail(`${w.out} must name a .zip file (got ${value})`, 'out');
  if (existsSync(outPath)) fail(`${w.out} ${outPath} already exists: an export never overwrites a file; choose another name`, 'out');
  const dir = path.dirname(outPath);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`${w.out}: the directory ${dir} does not exist`, 'out');
  return { outPath };
}

/**
 * Validates and normalises a request; throws InputError before any work is done. `words` names the
 * fields in messages: the CLI's flags (default) or the HTTP API's fields (API_WORDS).
 */
export function parseExportRequest(input: ExportRequestInput, w: ExportRequestWords = CLI_WORDS): ExportRequest {
  const matter = input.matter?.trim() ? input.matter.trim() : undefined;
  const custodians = splitList(input.custodians);
  const sessions = splitList(input.sessions);
  const given = [matter !== undefined && w.matter, custodians.length > 0 && w.custodian, sessions.length > 0 && w.session].filter(Boolean);
  if (given.length !== 1) {
    fail(
      given.length === 0
        ? w === CLI_WORDS
          ? 'say what to export: --matter <id>, or --custodian <email>… with --from and --to, or --session <id>…'
          : `say what to export: ${w.matter} (a matter id), or ${w.custodian} (emails) with ${w.from} and ${w.to}, or ${w.session} (session ids)`
        : `give exactly one of ${w.matter}, ${w.custodian} or ${w.session} (got ${given.join(' and ')})`,
      'filter',
    );
  }
  const query = parseQuery(input.query, w);
  let filter: ExportFilter;
  if (matter !== undefined) {
    if (input.from !== undefined || input.to !== undefined) fail(`${w.from} and ${w.to} do not apply to ${w.matter}: a matter's own dates decide what it covers`, 'from');
    filter = { kind: 'matter', matterId: matter, ...query };
  } else if (custodians.length > 0) {
    const emails = [...new Set(custodians.map((c) => parseWith(email(w), c, 'custodians').toLowerCase()))].sort();
    if (emails.length > MAX_CUSTODIANS) fail(`too many custodians (${emails.length}; at most ${MAX_CUSTODIANS} per export)`, 'custodians');
    const range = parseRange(input, true, w) as { from: string; to: string };
    filter = { kind: 'custodians', custodians: emails, from: range.from, to: range.to, ...query };
  } else {
    const ids = [...new Set(sessions)];
    if (ids.length > MAX_SESSIONS) fail(`too many sessions (${ids.length}; at most ${MAX_SESSIONS} per export)`, 'sessions');
    filter = { kind: 'sessions', sessionIds: ids, ...parseRange(input, false, w), ...query };
  }
  const requestedBy = input.requestedBy?.trim();
  if (input.requestedBy !== undefined && (!requestedBy || requestedBy.length > 200)) fail(`${w.requestedBy} must be a name or reference of 1 to 200 characters`, 'requestedBy');
  return {
    filter,
    formats: parseFormats(input.formats, w),
    ...parseOutPath(input.out, w),
    ...(requestedBy ? { requestedBy } : {}),
  };
}

/** The checks that need the archive: an unknown matter or session is named, never silently empty. */
export async function checkExportRequest(db: Queryable, request: ExportRequest, w: ExportRequestWords = CLI_WORDS): Promise<void> {
  const { filter } = request;
  if (filter.kind === 'matter') {
    const res = await db.query<{ state: string; matter_name: string; deleted_at: Date | null }>(
      'SELECT state, matter_name, deleted_at FROM archive.legal_hold_matters WHERE matter_id = $1',
      [filter.matterId],
    );
    const matter = res.rows[0];
    if (!matter) fail(`unknown matter ${JSON.stringify(filter.matterId)}: no legal-hold matter with that id is known to this archive (check the id, or sync legal holds first)`, 'matter');
    if (matter.state === 'deleted_here') {
      fail(`matter ${JSON.stringify(filter.matterId)} (${matter.matter_name}) was deleted through this project${matter.deleted_at ? ` on ${matter.deleted_at.toISOString().slice(0, 10)}` : ''}: it no longer holds anything; export its custodians with ${w.custodian} and dates instead`, 'matter');
    }
  }
  if (filter.kind === 'sessions') {
    const res = await db.query<{ session_id: string }>(
      `SELECT s AS session_id FROM unnest($1::text[]) AS s
       WHERE NOT EXISTS (SELECT 1 FROM archive.sessions x WHERE x.session_id = s)
         AND NOT EXISTS (SELECT 1 FROM archive.message_versions v WHERE v.session_id = s)`,
      [filter.sessionIds],
    );
    const unknown = res.rows.map((r) => r.session_id);
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 5).map((s) => JSON.stringify(s)).join(', ');
      fail(`unknown session${unknown.length > 1 ? 's' : ''} ${shown}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}: not in this archive (see the chat_sessions view)`, 'sessions');
    }
  }
  if (filter.query !== undefined) {
    const res = await db.query<{ empty: boolean }>("SELECT numnode(websearch_to_tsquery('simple', $1)) = 0 AS empty", [filter.query]);
    if (res.rows[0]?.empty) fail(`${w.query} ${JSON.stringify(filter.query)} has no searchable word (punctuation alone matches nothing)`, 'query');
  }
}
