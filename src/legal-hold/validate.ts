import type { IsoDate } from '../domain/types.js';
import { InputError } from '../errors.js';
import { isIsoDate } from '../util/dates.js';

/**
 * The rules Zoom applies to a new matter, checked before any call so that a typo costs nothing (a
 * matter creation is one of 10–20 RESOURCE-INTENSIVE calls a minute): a name of 1–128 characters,
 * 1–20 distinct custodians (emails or user ids), dates as real `yyyy-mm-dd` days, start not after
 * end. Input is trimmed; the message names the field and what a good value looks like.
 */

export const MATTER_NAME_MAX_CHARS = 128;
export const MAX_CUSTODIANS = 20;

export interface CreateMatterInput {
  name: string;
  /** Emails or Zoom user ids, as Zoom's `identifiers`. */
  custodians: string[];
  /** Zoom's `start_date`; absent = the day the matter is created. */
  from?: IsoDate | undefined;
  /** Zoom's `end_date`; absent = open-ended. */
  to?: IsoDate | undefined;
}

const EMAIL = /^[^\s@"<>()[\],;:\\]+@[^\s@"<>()[\],;:\\]+\.[^\s@"<>()[\],;:\\]+$/;
const USER_ID = /^[A-Za-z0-9._-]{1,128}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

export function validateMatterName(value: unknown): string {
  if (typeof value !== 'string') throw new InputError('the matter name is required', 'name');
  const name = value.trim();
  const length = [...name].length;
  if (length === 0) throw new InputError('the matter name must not be empty', 'name');
  if (length > MATTER_NAME_MAX_CHARS) throw new InputError(`the matter name is ${length} characters long; Zoom allows at most ${MATTER_NAME_MAX_CHARS}`, 'name');
  if (CONTROL_CHARS.test(name)) throw new InputError('the matter name must not contain control characters (line breaks, tabs, …)', 'name');
  return name;
}

/** One custodian: an email address or a Zoom user id. */
export function validateCustodian(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError('a custodian must be an email address or a Zoom user id, got an empty value', 'custodian');
  const custodian = value.trim();
  if (custodian.includes('@')) {
    if (!EMAIL.test(custodian)) throw new InputError(`custodian ${JSON.stringify(custodian)} is not a valid email address`, 'custodian');
  } else if (!USER_ID.test(custodian)) {
    throw new InputError(`custodian ${JSON.stringify(custodian)} is neither an email address nor a Zoom user id (letters, digits, '.', '_' and '-')`, 'custodian');
  }
  return custodian;
}

export function validateCustodians(values: unknown): string[] {
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  if (list.length === 0) throw new InputError('a matter needs at least one custodian (an email address or a Zoom user id)', 'custodian');
  const custodians = list.map(validateCustodian);
  // Emails are case-insensitive: the same address twice in two spellings is one custodian named twice.
  const seen = new Map<string, string>();
  for (const c of custodians) {
    const key = c.includes('@') ? c.toLowerCase() : c;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new InputError(`custodian ${JSON.stringify(c)} is listed twice${earlier === c ? '' : ` (also as ${JSON.stringify(earlier)})`}; Zoom requires unique identifiers`, 'custodian');
    seen.set(key, c);
  }
  if (custodians.length > MAX_CUSTODIANS) throw new InputError(`a matter may hold at most ${MAX_CUSTODIANS} custodians; got ${custodians.length} (create several matters instead)`, 'custodian');
  return custodians;
}

export function validateDay(value: unknown, field: string): IsoDate | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !isIsoDate(value.trim())) throw new InputError(`${field} must be a calendar date as yyyy-mm-dd, got ${JSON.stringify(value)}`, field);
  return value.trim();
}

export function validateDateRange(from: unknown, to: unknown): { from?: IsoDate; to?: IsoDate } {
  const start = validateDay(from, 'from');
  const end = validateDay(to, 'to');
  if (start !== undefined && end !== undefined && start > end) throw new InputError(`from (${start}) must not be after to (${end})`, 'from');
  return { ...(start !== undefined ? { from: start } : {}), ...(end !== undefined ? { to: end } : {}) };
}

export function validateCreateMatterInput(input: { name?: unknown; custodians?: unknown; from?: unknown; to?: unknown }): CreateMatterInput {
  const name = validateMatterName(input.name);
  const custodians = validateCustodians(input.custodians);
  const range = validateDateRange(input.from, input.to);
  return { name, custodians, ...range };
}

/** A matter as the user names it: its Zoom id or its exact name. */
export function validateMatterRef(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError('name a matter by its id or its exact name', 'matter');
  const ref = value.trim();
  if (CONTROL_CHARS.test(ref)) throw new InputError('a matter reference must not contain control characters', 'matter');
  return ref;
}
