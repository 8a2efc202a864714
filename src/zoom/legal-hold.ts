import type { IsoDate } from '../domain/types.js';
import { ArchiverError, InputError } from '../errors.js';
import { isIsoDate } from '../util/dates.js';
import { escapeNulInJsonText } from '../util/nul.js';
import { parseResponseBody, type ZoomClient, type ZoomStreamResponse } from './client.js';
import { listPages, type PageMeta } from './pagination.js';
import { parseJsonObject, readBoolean, readNextPageToken, type JsonObject } from './json-body.js';
import { extractRawArrays } from './raw-json.js';
import { hasUnpairedSurrogateEscape } from './report-parser.js';
import { LEGAL_HOLD_ENDPOINTS } from '../domain/zoom-endpoints.js';

/**
 * The six legal-hold endpoints (Team Chat → Legal Hold). Listing and adding matters are
 * RESOURCE-INTENSIVE (10–20 calls per *minute* per account), everything else is LIGHT. Responses are
 * read defensively: each item keeps its JSON text exactly as received, numbers sent as strings are
 * accepted, unknown fields survive in that text, and an item that cannot be keyed is returned as
 * malformed instead of failing the page — or being silently dropped.
 */

export { LEGAL_HOLD_ENDPOINTS };

/** Zoom's maximum for each list: fewer calls, which matters most at 10 calls a minute. */
export const MATTERS_PAGE_SIZE = 100;
export const FILES_PAGE_SIZE = 20;

/** One matter's path; its files are below it. */
const matterPath = (matterId: string) => `/chat/legalhold/matters/${encodeURIComponent(matterId)}`;

export interface ZoomMatterUser {
  userId: string | null;
  email: string | null;
}

export interface ZoomMatter {
  matterId: string;
  matterName: string;
  startDate: IsoDate | null;
  /** Null: open-ended. */
  endDate: IsoDate | null;
  creationDate: IsoDate | null;
  users: ZoomMatterUser[];
  /** The item exactly as received. */
  rawJson: string;
}

export interface ZoomLegalHoldFile {
  fileKey: string;
  fileCount: number | null;
  fileStartDate: IsoDate | null;
  fileEndDate: IsoDate | null;
  readyForDownload: boolean;
  /** `total_file_size` as announced; null when absent or unusable. */
  totalFileSize: number | null;
  rawJson: string;
}

/** An item Zoom sent that has no usable key: kept verbatim and reported, never dropped. */
export interface MalformedLegalHoldItem {
  source: 'legal_hold_matters' | 'data';
  rawJson: string;
  reason: string;
}

export interface MatterPage {
  matters: ZoomMatter[];
  malformed: MalformedLegalHoldItem[];
  nextPageToken: string;
}

export interface FilePage {
  files: ZoomLegalHoldFile[];
  malformed: MalformedLegalHoldItem[];
  nextPageToken: string;
}

export interface CreateMatterRequest {
  matterName: string;
  identifiers: readonly string[];
  startDate?: IsoDate | undefined;
  endDate?: IsoDate | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface PagedCallOptions extends CallOptions {
  /** Restarts from page 1 after an expired page token before giving up. Default 3. */
  maxRestarts?: number;
}

export function listMatterPages(client: ZoomClient, options: PagedCallOptions = {}): AsyncGenerator<MatterPage & PageMeta, void, undefined> {
  return listPages(
    client,
    {
      endpoint: LEGAL_HOLD_ENDPOINTS.listMatters,
      label: 'resource-intensive',
      path: '/chat/legalhold/matters',
      query: (pageToken) => ({ page_size: MATTERS_PAGE_SIZE, next_page_token: pageToken }),
      parse: parseMatterPage,
    },
    options,
  );
}

/**
 * POST: never replayed once it may have reached Zoom (the client guarantees it), because a replay
 * could create a second matter. A network failure here therefore means "state unknown".
 */
export async function createMatter(client: ZoomClient, request: CreateMatterRequest, options: CallOptions = {}): Promise<{ matterId: string; trackingId: string | undefined }> {
  if (request.identifiers.length === 0) throw new InputError('a matter needs at least one custodian', 'identifiers');
  const endpoint = LEGAL_HOLD_ENDPOINTS.addMatter;
  // JSON.stringify leaves out a date that is undefined: Zoom then holds from today, or open-ended.
  const body = { matter_name: request.matterName, identifiers: [...request.identifiers], start_date: request.startDate, end_date: request.endDate };
  const response = await client.request({
    endpoint,
    label: 'resource-intensive',
    method: 'POST',
    path: '/chat/legalhold/matters',
    json: body,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const matterId = parseResponseBody(response, 'POST', endpoint, (text) => {
    const parsed = parseObject(text, 'the add-matter response');
    const id = readId(parsed['matter_id']);
    if (id === undefined) throw new LegalHoldParseError('the add-matter response has no usable matter_id');
    return id;
  });
  return { matterId, trackingId: response.trackingId };
}

/** Rename is the only change Zoom allows to a matter. */
export function renameMatter(client: ZoomClient, matterId: string, matterName: string, options: CallOptions = {}): Promise<{ trackingId: string | undefined }> {
  return changeMatter(client, 'PATCH', LEGAL_HOLD_ENDPOINTS.updateMatter, matterId, { matter_name: matterName }, options);
}

export function deleteMatter(client: ZoomClient, matterId: string, options: CallOptions = {}): Promise<{ trackingId: string | undefined }> {
  return changeMatter(client, 'DELETE', LEGAL_HOLD_ENDPOINTS.deleteMatter, matterId, undefined, options);
}

/** A LIGHT call on one matter, with a JSON body or none; Zoom answers 204 with no body. */
async function changeMatter(
  client: ZoomClient,
  method: 'PATCH' | 'DELETE',
  endpoint: string,
  matterId: string,
  json: unknown,
  options: CallOptions,
): Promise<{ trackingId: string | undefined }> {
  requireId(matterId, 'matterId');
  const response = await client.request({ endpoint, label: 'light', method, path: matterPath(matterId), json, ...(options.signal ? { signal: options.signal } : {}) });
  return { trackingId: response.trackingId };
}

/** Files are listed per custodian: Zoom requires `identifier` (a user id or an email). */
export function listMatterFilePages(
  client: ZoomClient,
  matterId: string,
  identifier: string,
  options: PagedCallOptions = {},
): AsyncGenerator<FilePage & PageMeta, void, undefined> {
  requireId(matterId, 'matterId');
  requireId(identifier, 'identifier');
  return listPages(
    client,
    {
      endpoint: LEGAL_HOLD_ENDPOINTS.listFiles,
      label: 'light',
      path: `${matterPath(matterId)}/files`,
      query: (pageToken) => ({ identifier, page_size: FILES_PAGE_SIZE, next_page_token: pageToken }),
      parse: parseFilePage,
    },
    options,
  );
}

/** The zip as a stream: status and headers are checked (and retried) by the client, the body is the caller's. */
export function openFileDownload(client: ZoomClient, matterId: string, fileKey: string, options: CallOptions = {}): Promise<ZoomStreamResponse> {
  requireId(matterId, 'matterId');
  requireId(fileKey, 'fileKey');
  return client.openStream({
    endpoint: LEGAL_HOLD_ENDPOINTS.downloadFile,
    label: 'light',
    method: 'GET',
    path: `${matterPath(matterId)}/files/download`,
    query: { file_key: fileKey },
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Parsing

export class LegalHoldParseError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ZOOM_INVALID_RESPONSE', message, options);
  }
}

function requireId(value: string, field: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(`${field} must not be empty`, field);
}

function parseObject(text: string, what: string): JsonObject {
  return parseJsonObject(text, what, LegalHoldParseError);
}

function readId(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function readText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** `yyyy-mm-dd`, or the day of an ISO date-time; null when absent or not a real day. */
export function readIsoDate(value: unknown): IsoDate | null {
  if (typeof value !== 'string') return null;
  const day = value.trim().slice(0, 10);
  return isIsoDate(day) && (value.trim().length === 10 || /^\d{4}-\d{2}-\d{2}[T ]/.test(value.trim())) ? day : null;
}

/** A whole number >= 0 from a number or a string of digits; null otherwise. */
export function readCount(value: unknown): number | null {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) n = Number(value);
  if (n === undefined || !Number.isSafeInteger(n) || n < 0) return null;
  return n;
}

function readUsers(value: unknown): ZoomMatterUser[] {
  if (!Array.isArray(value)) return [];
  const users: ZoomMatterUser[] = [];
  for (const item of value) {
    // Tolerate a bare string (an email or an id) as well as the documented {user_id, email}.
    if (typeof item === 'string' && item.trim() !== '') {
      users.push(item.includes('@') ? { userId: null, email: item } : { userId: item, email: null });
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    const record = item as JsonObject;
    const userId = readId(record['user_id']) ?? null;
    const email = readText(record['email']);
    const usableEmail = email !== null && email.trim() !== '' ? email.trim() : null;
    if (userId !== null || usableEmail !== null) users.push({ userId, email: usableEmail });
  }
  return users;
}

/** The raw text of each element of `key`, or throws when the key holds something other than an array. */
function rawItems(bodyText: string, body: JsonObject, key: string): string[] {
  const value = body[key];
  // An absent or null list is read as empty: Zoom omits empty arrays on some endpoints.
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new LegalHoldParseError(`${key} is not an array`);
  return extractRawArrays(bodyText, [key]).get(key) ?? [];
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The item and the JSON text to store for it. PostgreSQL's jsonb cannot hold U+0000 (stored as the
 * six characters `\u0000`, as everywhere in the archive) nor an unpaired surrogate escape; an item
 * with the latter is the one case stored re-serialised, with U+FFFD in place of the lone surrogate.
 */
function parseItem(rawText: string): { item: JsonObject; rawJson: string } | { reason: string; rawJson: string } {
  const rawJson = escapeNulInJsonText(rawText);
  let value: unknown;
  try {
    value = JSON.parse(rawJson);
  } catch (err) {
    return { reason: `not valid JSON: ${(err as Error).message}`, rawJson };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'item is not a JSON object', rawJson };
  const item = value as JsonObject;
  if (!hasUnpairedSurrogateEscape(rawJson)) return { item, rawJson };
  return { item, rawJson: JSON.stringify(item, (_key, v: unknown) => (typeof v === 'string' ? v.replace(LONE_SURROGATE, '\uFFFD') : v)) };
}

/**
 * One page of a legal-hold list: every item either parsed (it has its key) or recorded as
 * malformed with its raw JSON, never dropped.
 */
function parseListPage<T>(
  bodyText: string,
  list: { what: string; arrayKey: MalformedLegalHoldItem['source']; keyField: string },
  build: (key: string, item: JsonObject, rawJson: string) => T,
): { items: T[]; malformed: MalformedLegalHoldItem[]; nextPageToken: string } {
  const body = parseObject(bodyText, list.what);
  const nextPageToken = readNextPageToken(body, LegalHoldParseError);
  const items: T[] = [];
  const malformed: MalformedLegalHoldItem[] = [];
  for (const rawText of rawItems(bodyText, body, list.arrayKey)) {
    const parsed = parseItem(rawText);
    if ('reason' in parsed) {
      malformed.push({ source: list.arrayKey, rawJson: parsed.rawJson, reason: parsed.reason });
      continue;
    }
    const key = readId(parsed.item[list.keyField]);
    if (key === undefined) {
      malformed.push({ source: list.arrayKey, rawJson: parsed.rawJson, reason: `missing or unusable ${list.keyField}` });
      continue;
    }
    items.push(build(key, parsed.item, parsed.rawJson));
  }
  return { items, malformed, nextPageToken };
}

export function parseMatterPage(bodyText: string): MatterPage {
  const { items: matters, ...page } = parseListPage(bodyText, { what: 'the matter list', arrayKey: 'legal_hold_matters', keyField: 'matter_id' }, matterFrom);
  return { matters, ...page };
}

export function parseFilePage(bodyText: string): FilePage {
  const { items: files, ...page } = parseListPage(bodyText, { what: 'the file list', arrayKey: 'data', keyField: 'file_key' }, fileFrom);
  return { files, ...page };
}

function matterFrom(matterId: string, item: JsonObject, rawJson: string): ZoomMatter {
  return {
    matterId,
    matterName: readText(item['matter_name']) ?? '',
    startDate: readIsoDate(item['matter_start_date']),
    endDate: readIsoDate(item['matter_end_date']),
    creationDate: readIsoDate(item['matter_creation_date']),
    users: readUsers(item['matter_users']),
    rawJson,
  };
}

function fileFrom(fileKey: string, item: JsonObject, rawJson: string): ZoomLegalHoldFile {
  return {
    fileKey,
    fileCount: readCount(item['file_count']),
    fileStartDate: readIsoDate(item['file_start_date']),
    fileEndDate: readIsoDate(item['file_end_date']),
    // Anything but a clear "ready" is "not ready": we poll again rather than download too early.
    readyForDownload: readBoolean(item['ready_for_download']) === true,
    totalFileSize: readCount(item['total_file_size']),
    rawJson,
  };
}
