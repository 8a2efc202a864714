import { ArchiverError } from '../errors.js';

/**
 * Cuts the raw JSON text of array elements out of a response body, so each item can be archived
 * exactly as Zoom sent it instead of as `JSON.stringify` would rewrite it. The body must already be
 * known to be valid JSON (the caller parses it first); this scanner only finds boundaries.
 */

/** The body was valid JSON for JSON.parse but not for this scanner: a bug here, or a body this scanner does not expect. */
class RawJsonError extends ArchiverError {
  constructor(message: string) {
    super('ZOOM_INVALID_RESPONSE', `cannot cut items out of the response body: ${message}`);
  }
}

const QUOTE = 34; // "
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;

function isWhitespace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
  return i;
}

/** `i` points at an opening quote; returns the index just past the closing quote. */
function skipString(text: string, i: number): number {
  let pos = i + 1;
  for (;;) {
    const q = text.indexOf('"', pos);
    if (q < 0) throw new RawJsonError('unterminated string in JSON text');
    let slashes = 0;
    for (let k = q - 1; k > i && text.charCodeAt(k) === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    pos = q + 1;
  }
}

/** `i` points at the first character of a value; returns the index just past it. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return skipString(text, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    let pos = i;
    while (pos < text.length) {
      const ch = text.charCodeAt(pos);
      if (ch === QUOTE) {
        pos = skipString(text, pos);
        continue;
      }
      if (ch === OPEN_BRACE || ch === OPEN_BRACKET) depth++;
      else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return pos + 1;
      }
      pos++;
    }
    throw new RawJsonError('unterminated container in JSON text');
  }
  let pos = i;
  while (pos < text.length) {
    const ch = text.charCodeAt(pos);
    if (ch === COMMA || ch === CLOSE_BRACE || ch === CLOSE_BRACKET || isWhitespace(ch)) break;
    pos++;
  }
  return pos;
}

function readArrayElements(text: string, i: number): { elements: string[]; end: number } {
  const elements: string[] = [];
  let pos = skipWhitespace(text, i + 1);
  if (text.charCodeAt(pos) === CLOSE_BRACKET) return { elements, end: pos + 1 };
  for (;;) {
    pos = skipWhitespace(text, pos);
    const start = pos;
    pos = skipValue(text, pos);
    elements.push(text.slice(start, pos));
    pos = skipWhitespace(text, pos);
    const c = text.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      continue;
    }
    if (c === CLOSE_BRACKET) return { elements, end: pos + 1 };
    throw new RawJsonError(`unexpected character at ${pos} in JSON array`);
  }
}

/**
 * For each requested top-level key whose value is an array, the raw text of every element, in order.
 * A key repeated at top level resolves like `JSON.parse`: the last occurrence wins.
 */
export function extractRawArrays(bodyText: string, keys: readonly string[]): Map<string, string[]> {
  const wanted = new Set(keys);
  const found = new Map<string, string[]>();
  let pos = skipWhitespace(bodyText, 0);
  if (bodyText.charCodeAt(pos) !== OPEN_BRACE) return found;
  pos = skipWhitespace(bodyText, pos + 1);
  if (bodyText.charCodeAt(pos) === CLOSE_BRACE) return found;
  for (;;) {
    pos = skipWhitespace(bodyText, pos);
    const keyEnd = skipString(bodyText, pos);
    const key = JSON.parse(bodyText.slice(pos, keyEnd)) as string;
    pos = skipWhitespace(bodyText, keyEnd);
    if (bodyText.charCodeAt(pos) !== COLON) throw new RawJsonError(`expected ':' at ${pos} in JSON object`);
    pos = skipWhitespace(bodyText, pos + 1);
    if (wanted.has(key) && bodyText.charCodeAt(pos) === OPEN_BRACKET) {
      const { elements, end } = readArrayElements(bodyText, pos);
      found.set(key, elements);
      pos = end;
    } else {
      if (wanted.has(key)) found.delete(key);
      pos = skipValue(bodyText, pos);
    }
    pos = skipWhitespace(bodyText, pos);
    const c = bodyText.charCodeAt(pos);
    if (c === COMMA) {
      pos++;
      continue;
    }
    if (c === CLOSE_BRACE) return found;
    throw new RawJsonError(`unexpected character at ${pos} in JSON object`);
  }
}
