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

/** `U+1F44D` → 👍, `U+1F44D U+1F3FB` → 👍🏻; anything else is returned as it is. */
export function emojiOf(code: string): string {
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

const parsed = new WeakMap<VersionRow, Reaction[]>();

/** The reactions of one version; parsed once per row (the CSV, HTML and RSMF writers all ask). */
export function reactionsOf(row: VersionRow): Reaction[] {
  const cached = parsed.get(row);
  if (cached) return cached;
  const result = row.raw.includes('reactions"') ? parseReactions(row.raw) : [];
  parsed.set(row, result);
  return result;
}

function parseReactions(raw: string): Reaction[] {
  let item: { reactions?: unknown; custom_emoji_reactions?: unknown };
  try {
    item = JSON.parse(raw) as typeof item;
  } catch {
    return [];
  }
  const out: Reaction[] = [];
  const list = (v: unknown) => (Array.isArray(v) ? (v as Array<Record<string, unknown> | null>) : []);
  for (const r of list(item.reactions)) {
    const code = r?.['emoji'];
    if (typeof code !== 'string' || code === '') continue;
    out.push({ code, shown: emojiOf(code), custom: false, count: countOf(r?.['total_count']), memberIds: idsOf(r?.['member_ids']) });
  }
  for (const r of list(item.custom_emoji_reactions)) {
    const name = r?.['custom_emoji_name'];
    if (typeof name !== 'string' || name === '') continue;
    out.push({ code: name, shown: name, custom: true, count: countOf(r?.['total_count']), memberIds: idsOf(r?.['member_ids']) });
  }
  return out;
}
