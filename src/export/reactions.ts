import type { VersionRow } from './types.js';

/**
 * Reactions as Zoom lists them on a message version (`reactions`, `custom_emoji_reactions`), with
 * who reacted. Edited items never carry reactions (Zoom's rule), so a message's reactions are those of
 * its latest original or deleted version.
 */

export interface Reaction {
  /** Zoom's value as sent: code points (`U+1F44D`, `U+1F44D U+1F3FB`) or a custom emoji's name. */
  code: string;
  /** What a person sees: the emoji itself, or the custom emoji's name. */
  shown: string;
  custom: boolean;
  /** Zoom's `total_count`; null when it sent none. */
  count: number | null;
  /** Zoom's `member_ids`: everyone who reacted, people outside the account included. */
  memberIds: string[];
}

const CODE_POINTS = /^U\+[0-9A-F]{1,6}(?:[\s,+]*U\+[0-9A-F]{1,6})*$/i;

/** Codes seen so far → what they show: an export meets a few dozen distinct codes a million times. */
const shownByCode = new Map<string, string>();
const MAX_CACHED_CODES = 10_000;

/** `U+1F44D` → 👍, `U+1F44D U+1F3FB` → 👍🏻; anything else is returned as it is. */
export function emojiOf(code: string): string {
  const cached = shownByCode.get(code);
  if (cached !== undefined) return cached;
  const shown = decodeCodePoints(code);
  if (shownByCode.size < MAX_CACHED_CODES) shownByCode.set(code, shown);
  return shown;
}

function decodeCodePoints(code: string): string {
  const trimmed = code.trim();
  if (!CODE_POINTS.test(trimmed)) return code;
  const points = [...trimmed.matchAll(/U\+([0-9A-F]{1,6})/gi)].map((m) => Number.parseInt(m[1] as string, 16));
  // Surrogates and values past U+10FFFF are not characters: keep Zoom's text rather than invent one.
  if (points.some((p) => p > 0x10ffff || (p >= 0xd800 && p <= 0xdfff))) return code;
  return String.fromCodePoint(...points);
}

function countOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return null;
}

function idsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v !== '') : [];
}

/** Where a row keeps its parsed reactions: a property, not a WeakMap, whose million entries would slow every GC. */
const PARSED = Symbol('reactions');
const NONE: Reaction[] = [];

/** The reactions of one version; parsed once per row (the CSV, HTML and RSMF writers all ask). */
export function reactionsOf(row: VersionRow): Reaction[] {
  const holder = row as VersionRow & { [PARSED]?: Reaction[] };
  const cached = holder[PARSED];
  if (cached) return cached;
  const result = row.raw.includes('reactions"') ? parseReactions(row.raw) : NONE;
  holder[PARSED] = result;
  return result;
}

/**
 * Where the JSON string starting at `quote` (a `"`) ends: the index of its closing quote. Jumps from
 * quote to quote, so a long message body costs one search, not a loop over its characters.
 */
function stringEnd(raw: string, quote: number): number {
  let at = raw.indexOf('"', quote + 1);
  while (at > 0) {
    let backslashes = 0;
    for (let i = at - 1; raw.charCodeAt(i) === 0x5c; i--) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = raw.indexOf('"', at + 1);
  }
  return raw.length;
}

/**
 * The text of a top-level array member of a JSON object (`"key": [ … ]`), found without parsing the
 * whole item: the archive's raw JSON is jsonb's canonical text, and a row is ~1 KB of which the
 * reactions are a few hundred bytes. Returns undefined when the key is not a top-level member.
 */
export function topLevelArrayText(raw: string, key: string): string | undefined {
  const name = `"${key}"`;
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(raw, i);
      if (depth === 1 && end - i + 1 === name.length && raw.startsWith(name, i)) {
        let j = end + 1;
        while (raw.charCodeAt(j) === 0x20) j++;
        if (raw.charCodeAt(j) !== 0x3a) return undefined;
        j++;
        while (raw.charCodeAt(j) === 0x20) j++;
        if (raw.charCodeAt(j) !== 0x5b) return undefined;
        // The matching bracket: strings skipped, brackets counted.
        let level = 0;
        for (let k = j; k < raw.length; k++) {
          const d = raw.charCodeAt(k);
          if (d === 0x22) k = stringEnd(raw, k);
          else if (d === 0x5b || d === 0x7b) level++;
          else if ((d === 0x5d || d === 0x7d) && --level === 0) return raw.slice(j, k + 1);
        }
        return undefined;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return undefined;
}

function parseArray(text: string | undefined): Array<Record<string, unknown> | null> {
  if (text === undefined) return [];
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as Array<Record<string, unknown> | null>) : [];
  } catch {
    return [];
  }
}

function parseReactions(raw: string): Reaction[] {
  const out: Reaction[] = [];
  for (const r of parseArray(topLevelArrayText(raw, 'reactions'))) {
    const code = r?.['emoji'];
    if (typeof code !== 'string' || code === '') continue;
    out.push({ code, shown: emojiOf(code), custom: false, count: countOf(r?.['total_count']), memberIds: idsOf(r?.['member_ids']) });
  }
  for (const r of parseArray(raw.includes('"custom_emoji_reactions"') ? topLevelArrayText(raw, 'custom_emoji_reactions') : undefined)) {
    const name = r?.['custom_emoji_name'];
    if (typeof name !== 'string' || name === '') continue;
    out.push({ code: name, shown: name, custom: true, count: countOf(r?.['total_count']), memberIds: idsOf(r?.['member_ids']) });
  }
  return out.length === 0 ? NONE : out;
}
