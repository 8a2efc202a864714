import {
  MESSAGE_ARRAYS,
  type MalformedItem,
  type MessagePage,
  type MessageVersionInput,
  type ReportItemSource,
  type SessionListing,
  type SessionPage,
} from '../domain/types.js';
import { ArchiverError } from '../errors.js';
import { parseJsonObject, readBoolean, readNextPageToken, type JsonObject } from './json-body.js';
import { extractRawArrays } from './raw-json.js';
import { escapeNulInJsonText, escapeNulInString } from '../util/nul.js';

/**
 * Turns a report response body into archive inputs without ever re-serialising an item: each item's
 * JSON text is cut out of the body as received (so unknown keys, key order, numbers sent as strings
 * and integers beyond 2^53 survive), while the few fields the archive keys on are read from the
 * body's single JSON.parse. An item we cannot key is returned as malformed with its raw text, never
 * dropped.
 */

export class ReportParseError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ZOOM_INVALID_RESPONSE', message, options);
  }
}

const MESSAGE_SOURCES: readonly ReportItemSource[] = MESSAGE_ARRAYS.map((a) => a.source);

function parseBody(bodyText: string): JsonObject {
  return parseJsonObject(bodyText, 'report response', ReportParseError);
}

/** Epoch milliseconds from a number or a string of digits; undefined when absent or unusable. */
export function readEpochMs(value: unknown): number | undefined {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) n = Number(value);
  if (n === undefined || !Number.isFinite(n)) return undefined;
  const ms = Math.trunc(n);
  // Anything outside year 1970..9999 is not a chat timestamp; treat it as unusable rather than guess.
  if (ms <= 0 || ms > 253_402_300_799_999) return undefined;
  return ms;
}

/** Epoch milliseconds from an ISO date-time string such as `2022-03-18T10:16:13Z`. */
function readDateTimeMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length < 10) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function readId(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? escapeNulInString(value) : undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function readString(value: unknown): string | null {
  if (typeof value === 'string') return escapeNulInString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

interface PairedItem {
  /** The item's JSON text as received, U+0000 escapes turned into the six characters. */
  rawJson: string;
  /** The same item from the body's JSON.parse. */
  item: unknown;
}

/**
 * Each element of a top-level array with its raw text. The two come from one body, so they line up;
 * if they ever did not, the page is refused rather than an item keyed by its neighbour's fields.
 * `rawArrays` is `extractRawArrays` of the body for every source the page has: one scan per body.
 */
function pairItems(rawArrays: ReadonlyMap<string, string[]>, body: JsonObject, source: ReportItemSource): PairedItem[] | { notAnArray: unknown } | undefined {
  const value = body[source];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) return { notAnArray: value };
  const raws = rawArrays.get(source) ?? [];
  if (raws.length !== value.length) {
    throw new ReportParseError(`${source}: found ${raws.length} raw items for ${value.length} parsed ones; refusing the page rather than misfiling an item`);
  }
  return raws.map((rawText, i) => ({ rawJson: escapeNulInJsonText(rawText), item: value[i] }));
}

function isObject(item: unknown): item is JsonObject {
  return typeof item === 'object' && item !== null && !Array.isArray(item);
}

/**
 * PostgreSQL rejects a JSON string holding an unpaired UTF-16 surrogate escape; such an item cannot
 * be stored as jsonb, so it goes to the malformed list (kept as text) instead of failing the page.
 */
const SURROGATE_ESCAPE = /\\u[dD][89abAB][0-9a-fA-F]{2}|\\u[dD][c-fC-F][0-9a-fA-F]{2}/;
const PAIRED_OR_LONE = /(\\u[dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}/g;

export function hasUnpairedSurrogateEscape(rawJson: string): boolean {
  if (!SURROGATE_ESCAPE.test(rawJson)) return false;
  for (const m of rawJson.matchAll(PAIRED_OR_LONE)) {
    // Count preceding backslashes: an even number means the escape is real, odd means it is literal text.
    let slashes = 0;
    for (let i = (m.index ?? 0) - 1; i >= 0 && rawJson.charCodeAt(i) === 92; i--) slashes++;
    if (slashes % 2 === 1) continue;
    if (m[1] === undefined || m[2] === undefined) return true;
  }
  return false;
}

export function parseMessagePage(bodyText: string): MessagePage {
  const body = parseBody(bodyText);
  const nextPageToken = readNextPageToken(body, ReportParseError);
  const versions: MessageVersionInput[] = [];
  const malformed: MalformedItem[] = [];
  const rawArrays = extractRawArrays(bodyText, MESSAGE_SOURCES);

  for (const { source, kind } of MESSAGE_ARRAYS) {
    const items = pairItems(rawArrays, body, source);
    if (items === undefined) continue;
    if (!Array.isArray(items)) {
      malformed.push({ source, rawJson: JSON.stringify(items.notAnArray), reason: `${source} is not an array` });
      continue;
    }
    for (const { rawJson, item } of items) {
      if (!isObject(item)) {
        malformed.push({ source, rawJson, reason: 'item is not a JSON object' });
        continue;
      }
      const messageId = readId(item['id']);
      if (messageId === undefined) {
        malformed.push({ source, rawJson, reason: 'missing or unusable message id' });
        continue;
      }
      const sentMs = readEpochMs(item['timestamp']) ?? readDateTimeMs(item['date_time']) ?? null;
      const actionMs = readEpochMs(item['action_timestamp']) ?? sentMs;
      if (actionMs === null || actionMs === undefined) {
        malformed.push({ source, rawJson, reason: 'no usable action_timestamp, timestamp or date_time' });
        continue;
      }
      if (hasUnpairedSurrogateEscape(rawJson)) {
        malformed.push({ source, rawJson, reason: 'contains an unpaired UTF-16 surrogate escape, which PostgreSQL jsonb cannot store' });
        continue;
      }
      versions.push({ messageId, kind, actionMs, sentMs, rawJson });
    }
  }
  return { versions, malformed, nextPageToken };
}

export function parseSessionPage(bodyText: string): SessionPage {
  const body = parseBody(bodyText);
  const nextPageToken = readNextPageToken(body, ReportParseError);
  const sessions: SessionListing[] = [];
  const malformed: MalformedItem[] = [];
  const items = pairItems(extractRawArrays(bodyText, ['sessions']), body, 'sessions');
  if (items === undefined) return { sessions, malformed, nextPageToken };
  if (!Array.isArray(items)) {
    malformed.push({ source: 'sessions', rawJson: JSON.stringify(items.notAnArray), reason: 'sessions is not an array' });
    return { sessions, malformed, nextPageToken };
  }
  for (const { rawJson, item } of items) {
    if (!isObject(item)) {
      malformed.push({ source: 'sessions', rawJson, reason: 'item is not a JSON object' });
      continue;
    }
    const sessionId = readId(item['id']);
    if (sessionId === undefined) {
      malformed.push({ source: 'sessions', rawJson, reason: 'missing or unusable session id' });
      continue;
    }
    if (hasUnpairedSurrogateEscape(rawJson)) {
      malformed.push({ source: 'sessions', rawJson, reason: 'contains an unpaired UTF-16 surrogate escape, which PostgreSQL jsonb cannot store' });
      continue;
    }
    const emails = item['member_emails'];
    const lastSentMs = readDateTimeMs(item['last_message_sent_time']) ?? readEpochMs(item['last_message_sent_time']);
    sessions.push({
      sessionId,
      type: readString(item['type']),
      name: readString(item['name']),
      channelId: readString(item['channel_id']),
      memberEmails: Array.isArray(emails) ? emails.filter((e): e is string => typeof e === 'string').map(escapeNulInString) : null,
      status: readString(item['status']),
      hasExternalMember: readBoolean(item['has_external_member']),
      lastMessageSentAt: lastSentMs === undefined ? null : new Date(lastSentMs),
      rawJson,
    });
  }
  return { sessions, malformed, nextPageToken };
}
