import type { IsoDate } from '../domain/types.js';
import { startOfDayMs } from '../util/dates.js';
import { DAY_MS, MALFORMED_FLAGS, findSession, type SimDataset, type SimSession } from './dataset.js';

/**
 * Which sessions, messages, edits and deletions a chat-report query selects. The server's handlers
 * and the ground truth both call these functions, so the two cannot disagree about semantics.
 *
 * Everything is "as of" an instant (the simulator clock): events after it have not happened yet.
 * Windows are whole UTC days, both ends inclusive: [from 00:00:00.000Z, to 23:59:59.999Z].
 */

export type SessionListingMode = 'every-active-window' | 'last-activity-window';

export interface WindowMs {
  fromMs: number;
  /** Inclusive: the last millisecond of the `to` day. */
  toMs: number;
}

export function windowMs(from: IsoDate, to: IsoDate): WindowMs {
  return { fromMs: startOfDayMs(from), toMs: startOfDayMs(to) + DAY_MS - 1 };
}

/** First index in [lo, hi) whose value is >= `value` (hi when none). */
export function lowerBound(values: Float64Array, lo: number, hi: number, value: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [lo, hi) whose value is > `value` (hi when none). */
export function upperBound(values: Float64Array, lo: number, hi: number, value: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Global indices [start, end) of the session's messages sent in the window, up to `asOfMs`. */
export function sentRange(ds: SimDataset, session: SimSession, window: WindowMs, asOfMs: number): [number, number] {
  const lo = session.firstMessage;
  const hi = lo + session.messageCount;
  const start = lowerBound(ds.messages.sentMs, lo, hi, window.fromMs);
  const end = upperBound(ds.messages.sentMs, start, hi, Math.min(window.toMs, asOfMs));
  return [start, end];
}

/** How many of the message's edits have happened by `asOfMs`. */
export function editsAsOf(ds: SimDataset, m: number, asOfMs: number): number {
  const start = ds.messages.editStart[m] ?? 0;
  let count = ds.messages.editCount[m] ?? 0;
  while (count > 0 && (ds.editMs[start + count - 1] ?? 0) > asOfMs) count--;
  return count;
}

export function editActionMs(ds: SimDataset, m: number, ordinal: number): number {
  return ds.editMs[(ds.messages.editStart[m] ?? 0) + ordinal - 1] ?? 0;
}

export function isDeletedAsOf(ds: SimDataset, m: number, asOfMs: number): boolean {
  const deletedMs = ds.messages.deletedMs[m] ?? 0;
  return deletedMs !== 0 && deletedMs <= asOfMs;
}

export function isMalformed(ds: SimDataset, m: number): boolean {
  return ((ds.messages.flags[m] ?? 0) & MALFORMED_FLAGS) !== 0;
}

/** The message as `messages[]` shows it: its latest edit by `asOfMs` and when that happened. */
export function currentState(ds: SimDataset, m: number, asOfMs: number): { textVersion: number; actionMs: number } {
  const edits = editsAsOf(ds, m, asOfMs);
  return { textVersion: edits, actionMs: edits > 0 ? editActionMs(ds, m, edits) : (ds.messages.sentMs[m] ?? 0) };
}

/** A deleted item shows the text it had when deleted: after every edit made before the deletion. */
export function textVersionAtDeletion(ds: SimDataset, m: number): number {
  return editsAsOf(ds, m, (ds.messages.deletedMs[m] ?? 0) - 1);
}

/** The session's latest send by `asOfMs`, or null when it had sent nothing yet. */
export function lastSentAsOf(ds: SimDataset, session: SimSession, asOfMs: number): number | null {
  if (asOfMs >= session.lastMessageSentMs) return session.lastMessageSentMs;
  const lo = session.firstMessage;
  const end = upperBound(ds.messages.sentMs, lo, lo + session.messageCount, asOfMs);
  return end > lo ? (ds.messages.sentMs[end - 1] ?? null) : null;
}

/** An edit (`ordinal` 1..n) or a deletion (`ordinal` 0) of a message. */
export interface Modification {
  messageIndex: number;
  ordinal: number;
  actionMs: number;
}

export interface ModificationKinds {
  edited: boolean;
  deleted: boolean;
}

/** `query_all_modifications=true`: edits and deletions that happened in the window. */
export function modificationsByActionTime(ds: SimDataset, session: SimSession, window: WindowMs, asOfMs: number, kinds: ModificationKinds): Modification[] {
  const mods = ds.modifications;
  const lo = session.firstModification;
  const hi = lo + session.modificationCount;
  const start = lowerBound(mods.actionMs, lo, hi, window.fromMs);
  const end = upperBound(mods.actionMs, start, hi, Math.min(window.toMs, asOfMs));
  const out: Modification[] = [];
  for (let i = start; i < end; i++) {
    const ordinal = mods.ordinal[i] ?? 0;
    if (ordinal === 0 ? !kinds.deleted : !kinds.edited) continue;
    out.push({ messageIndex: mods.messageIndex[i] ?? 0, ordinal, actionMs: mods.actionMs[i] ?? 0 });
  }
  return out;
}

/**
 * `query_all_modifications=false`: edits and deletions (made by `asOfMs`, whenever that was) of the
 * messages sent in the window. Ordered like the other mode: by when they happened.
 */
export function modificationsBySendTime(ds: SimDataset, session: SimSession, window: WindowMs, asOfMs: number, kinds: ModificationKinds): Modification[] {
  const [start, end] = sentRange(ds, session, window, asOfMs);
  const out: Modification[] = [];
  for (let m = start; m < end; m++) {
    if (kinds.edited) {
      const edits = editsAsOf(ds, m, asOfMs);
      for (let ordinal = 1; ordinal <= edits; ordinal++) out.push({ messageIndex: m, ordinal, actionMs: editActionMs(ds, m, ordinal) });
    }
    if (kinds.deleted && isDeletedAsOf(ds, m, asOfMs)) out.push({ messageIndex: m, ordinal: 0, actionMs: ds.messages.deletedMs[m] ?? 0 });
  }
  return out.sort((a, b) => a.actionMs - b.actionMs || a.messageIndex - b.messageIndex || a.ordinal - b.ordinal);
}

/**
 * A listing is computed once per (mode, range, as-of instant) and reused by its later pages: with
 * a pinned clock every page of a pass asks the same question, and once the clock is past the
 * dataset's last event every "as of" view is final (any later instant gives the same answer).
 */
const listingCache = new WeakMap<SimDataset, Map<string, readonly SimSession[]>>();
const LISTING_CACHE_ENTRIES = 256;

/**
 * Sessions a `GET /report/chat/sessions` window lists, in dataset order (stable across pages):
 * - `every-active-window`: at least one message sent in the window (deleted ones count: they were sent);
 * - `last-activity-window`: the session's latest send (by `asOfMs`) falls in the window.
 */
export function listSessionsIn(ds: SimDataset, from: IsoDate, to: IsoDate, mode: SessionListingMode, asOfMs = Number.POSITIVE_INFINITY): readonly SimSession[] {
  const final = asOfMs >= ds.lastEventMs;
  const key = `${mode}|${from}|${to}|${final ? 'final' : asOfMs}`;
  let cache = listingCache.get(ds);
  const hit = cache?.get(key);
  if (hit) return hit;
  const window = windowMs(from, to);
  const listed: SimSession[] = [];
  for (const session of ds.sessions) {
    if (mode === 'every-active-window') {
      const [start, end] = sentRange(ds, session, window, asOfMs);
      if (end > start) listed.push(session);
    } else {
      const last = lastSentAsOf(ds, session, asOfMs);
      if (last !== null && last >= window.fromMs && last <= window.toMs) listed.push(session);
    }
  }
  if (!cache) listingCache.set(ds, (cache = new Map()));
  if (cache.size >= LISTING_CACHE_ENTRIES) cache.delete(cache.keys().next().value ?? '');
  cache.set(key, listed);
  return listed;
}

/**
 * How many items `messages[]` holds for the session and window (sent in range, not deleted by
 * `asOfMs`, malformed decoys included): pages = max(1, ceil(count / page_size)) without the
 * duplicate-across-pages quirk. Throws for an unknown session id.
 */
export function countMessagesIn(ds: SimDataset, sessionId: string, from: IsoDate, to: IsoDate, asOfMs = Number.POSITIVE_INFINITY): number {
  const session = findSession(ds, sessionId);
  if (!session) throw new RangeError(`unknown session ${sessionId}`);
  const [start, end] = sentRange(ds, session, windowMs(from, to), asOfMs);
  let count = 0;
  for (let m = start; m < end; m++) if (!isDeletedAsOf(ds, m, asOfMs)) count++;
  return count;
}
