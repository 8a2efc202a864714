import type { ArchiverError } from '../errors.js';

/**
 * What the report and legal-hold parsers read the same way from a Zoom response body: its top level
 * as a JSON object, its `next_page_token`, and Zoom's loosely typed booleans. Each parser keeps its
 * own error class (all ZOOM_INVALID_RESPONSE), so the failures are raised with the class it passes.
 */

export type JsonObject = Record<string, unknown>;

export type ParseErrorClass = new (message: string, options?: { cause?: unknown }) => ArchiverError;

/** `text` as a JSON object; `what` names the body in the error (e.g. `report response`). */
export function parseJsonObject(text: string, what: string, ParseError: ParseErrorClass): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ParseError(`${what} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ParseError(`${what} is not a JSON object`);
  return value as JsonObject;
}

/** `''` on the last page (absent or null); a number sent for the token is taken as its text. */
export function readNextPageToken(body: JsonObject, ParseError: ParseErrorClass): string {
  const token = body['next_page_token'];
  if (token === undefined || token === null) return '';
  if (typeof token === 'string') return token;
  if (typeof token === 'number') return String(token);
  throw new ParseError(`next_page_token has an unexpected type (${typeof token})`);
}

/** A boolean, or one sent as `"true"`/`"false"`/`1`/`0`; null otherwise. */
export function readBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 1 || value === '1') return true;
  if (value === 'false' || value === 0 || value === '0') return false;
  return null;
}
