import type { IsoDate } from '../domain/types.js';
import { addMonths, isIsoDate } from '../util/dates.js';
import { zoomError, type SimResponse } from './sim-response.js';

/**
 * Query-parameter rules of the two chat-report endpoints, from the spec and Zoom's notes:
 * `from`/`to` required real `yyyy-mm-dd` days, `from <= to <= today`, at most one month apart
 * (`to <= from + 1 month`, month arithmetic clamped like PostgreSQL), `from` within the last six
 * months; `page_size` an integer 1..max; booleans exactly `true`/`false`; `include_fields` from the
 * spec's enum (both orders of the pair). Zoom's exact wording for these errors is unknown: the codes
 * (400 / 300) are what clients branch on. A parameter given twice is rejected: Zoom's choice is
 * unknown and a client that does it has a bug worth seeing.
 */

export const VALIDATION_FAILED = 'Validation Failed.';

export interface FieldError {
  field: string;
  message: string;
}

export interface WindowParams {
  from: IsoDate;
  to: IsoDate;
  pageSize: number;
  nextPageToken: string | null;
}

export interface MessageParams extends WindowParams {
  editedMessages: boolean;
  deletedMessages: boolean;
  includeReactions: boolean;
  includeBotMessage: boolean;
  includeCustomEmojiReactions: boolean;
  queryAllModifications: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: SimResponse };

const INCLUDE_FIELDS: Readonly<Record<string, { edited: boolean; deleted: boolean }>> = {
  edited_messages: { edited: true, deleted: false },
  deleted_messages: { edited: false, deleted: true },
  'edited_messages,deleted_messages': { edited: true, deleted: true },
  'deleted_messages,edited_messages': { edited: true, deleted: true },
};

/** The single value of a parameter, `null` when absent; records an error when repeated. */
function single(query: URLSearchParams, name: string, errors: FieldError[]): string | null {
  const values = query.getAll(name);
  if (values.length > 1) {
    errors.push({ field: name, message: `Parameter ${name} must be given once.` });
    return null;
  }
  return values[0] ?? null;
}

function readDate(query: URLSearchParams, name: string, errors: FieldError[]): IsoDate | null {
  const value = single(query, name, errors);
  if (value === null) {
    if (!errors.some((e) => e.field === name)) errors.push({ field: name, message: `Parameter ${name} is required.` });
    return null;
  }
  if (!isIsoDate(value)) {
    errors.push({ field: name, message: `Invalid field: ${name} must be a date in yyyy-mm-dd format.` });
    return null;
  }
  return value;
}

function readPageSize(query: URLSearchParams, max: number, errors: FieldError[]): number {
  const value = single(query, 'page_size', errors);
  if (value === null) return 30;
  const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    errors.push({ field: 'page_size', message: `Invalid field: page_size must be an integer between 1 and ${max}.` });
    return 30;
  }
  return n;
}

function readBoolean(query: URLSearchParams, name: string, errors: FieldError[]): boolean {
  const value = single(query, name, errors);
  if (value === null) return false;
  if (value === 'true') return true;
  if (value === 'false') return false;
  errors.push({ field: name, message: `Invalid field: ${name} must be true or false.` });
  return false;
}

function readToken(query: URLSearchParams, errors: FieldError[]): string | null {
  const value = single(query, 'next_page_token', errors);
  return value === null || value === '' ? null : value;
}

/** The rules about the date range as a whole; each is Zoom's code 300 without a field list. */
function checkRange(from: IsoDate, to: IsoDate, today: IsoDate): string | null {
  if (from > to) return `The from date (${from}) must not be later than the to date (${to}).`;
  if (to > today) return `The to date (${to}) must not be later than today (${today}).`;
  if (to > addMonths(from, 1)) return 'The date range defined by the from and to parameters may span one month at most.';
  if (from < addMonths(today, -6)) return 'The monthly date range must be within the last six months.';
  return null;
}

function parseWindow(query: URLSearchParams, today: IsoDate, maxPageSize: number, errors: FieldError[]): WindowParams | null {
  const from = readDate(query, 'from', errors);
  const to = readDate(query, 'to', errors);
  const pageSize = readPageSize(query, maxPageSize, errors);
  const nextPageToken = readToken(query, errors);
  if (from === null || to === null) return null;
  return { from, to, pageSize, nextPageToken };
}

function finish<T extends WindowParams>(value: T | null, errors: FieldError[], today: IsoDate): Parsed<T> {
  if (errors.length > 0 || value === null) return { ok: false, response: zoomError(400, 300, VALIDATION_FAILED, errors) };
  const rangeError = checkRange(value.from, value.to, today);
  if (rangeError !== null) return { ok: false, response: zoomError(400, 300, rangeError) };
  return { ok: true, value };
}

export function parseSessionListParams(query: URLSearchParams, today: IsoDate): Parsed<WindowParams> {
  const errors: FieldError[] = [];
  return finish(parseWindow(query, today, 300, errors), errors, today);
}

export function parseMessageParams(query: URLSearchParams, today: IsoDate): Parsed<MessageParams> {
  const errors: FieldError[] = [];
  const window = parseWindow(query, today, 100, errors);
  const fieldsRaw = single(query, 'include_fields', errors);
  const fields = fieldsRaw === null ? { edited: false, deleted: false } : INCLUDE_FIELDS[fieldsRaw];
  if (fields === undefined) {
    errors.push({ field: 'include_fields', message: 'Invalid field: include_fields must be edited_messages, deleted_messages or both, comma-separated.' });
  }
  const params =
    window === null
      ? null
      : {
          ...window,
          editedMessages: fields?.edited ?? false,
          deletedMessages: fields?.deleted ?? false,
          includeReactions: readBoolean(query, 'include_reactions', errors),
          includeBotMessage: readBoolean(query, 'include_bot_message', errors),
          includeCustomEmojiReactions: readBoolean(query, 'include_custom_emoji_reactions', errors),
          queryAllModifications: readBoolean(query, 'query_all_modifications', errors),
        };
  if (window === null) {
    // Still validate the booleans so one response names every bad field.
    for (const name of ['include_reactions', 'include_bot_message', 'include_custom_emoji_reactions', 'query_all_modifications']) readBoolean(query, name, errors);
  }
  return finish(params, errors, today);
}

/**
 * The canonical meaning of everything but the page token: what a token is bound to. Parsed values,
 * not raw text, so parameter order or `a,b` vs `b,a` does not matter, but any real change does.
 */
export function windowBinding(p: WindowParams): string {
  return `${p.from}|${p.to}|${p.pageSize}`;
}

export function messageBinding(sessionId: string, p: MessageParams): string {
  const flags = [p.editedMessages, p.deletedMessages, p.includeReactions, p.includeBotMessage, p.includeCustomEmojiReactions, p.queryAllModifications];
  return `${sessionId}|${windowBinding(p)}|${flags.map((f) => (f ? 1 : 0)).join('')}`;
}
