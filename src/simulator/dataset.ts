/**
 * The simulator's deterministic dataset: users, sessions, messages, edits and deletions derived from a
 * seed, in typed arrays so a 100,000-session account fits in memory. Over 400 lines because the
 * generator and the derivations it relies on must stay in step.
 */
import { resolveDatasetOptions, type DatasetOptions, type ResolvedDatasetOptions } from './dataset-options.js';
import { Rng, derivedHex64, derivedId, hash32 } from './random.js';

export { resolveDatasetOptions, type DatasetOptions, type DatasetQuirks, type DatasetQuirksInput, type ResolvedDatasetOptions } from './dataset-options.js';

/**
 * The synthetic Zoom account the simulator serves: users, chat sessions and every message with its
 * full history (sends, edits, deletions), generated deterministically from a seed and a "now".
 *
 * Memory layout: sessions are small objects, but messages live in typed arrays (struct of arrays,
 * ~40 bytes a message) and everything bulky (ids, text, files, reactions) is derived from the message
 * index on demand by `message-content.ts`. Each session's messages occupy one contiguous block sorted
 * by send time, and its edits and deletions one contiguous block sorted by when they happened, so a
 * report window is two binary searches away.
 *
 * Every event happens at or before `now`; the server shows the account "as of" its clock, so a test
 * can start the clock in the past and watch later edits appear.
 */

export const DAY_MS = 86_400_000;

export type SessionType = 'Group' | '1:1';
export type SessionStatus = 'active' | 'deleted';
/**
 * - `regular`: messages from some time in the span until recently.
 * - `quiet`:   messages only months ago, but some of them edited or deleted in the last 30 days.
 * - `dormant`: all activity months ago (some entirely before the six-month horizon).
 */
export type SessionProfile = 'regular' | 'quiet' | 'dormant';

/** Bits of `SimMessages.flags`. */
export const MessageFlag = {
  files: 1 << 0,
  reactions: 1 << 1,
  customEmoji: 1 << 2,
  bot: 1 << 3,
  richText: 1 << 4,
  forward: 1 << 5,
  giphy: 1 << 6,
  numbersAsStrings: 1 << 7,
  nul: 1 << 8,
  longBody: 1 << 9,
  unknownFields: 1 << 10,
  /** Served without an `id` (a deliberately malformed item). */
  missingId: 1 << 11,
  /** Served with `timestamp` and `action_timestamp` of `"abc"` and no `date_time`. */
  badTimestamp: 1 << 12,
} as const;

export const MALFORMED_FLAGS = MessageFlag.missingId | MessageFlag.badTimestamp;

export interface SimUser {
  readonly index: number;
  readonly email: string;
  readonly displayName: string;
  readonly memberId: string;
  readonly userId: string;
  readonly external: boolean;
}

export interface SimSession {
  readonly index: number;
  /** 64 hex characters, like Zoom's. */
  readonly id: string;
  readonly type: SessionType;
  /** Empty for 1:1 sessions. */
  readonly name: string;
  /** Groups only. */
  readonly channelId: string | null;
  readonly memberIndices: readonly number[];
  /** 1:1 only. */
  readonly memberEmails: readonly string[] | null;
  readonly status: SessionStatus;
  readonly hasExternalMember: boolean;
  readonly profile: SessionProfile;
  readonly unknownFields: boolean;
  /** Global index of the session's first message; its messages are [firstMessage, firstMessage + messageCount). */
  readonly firstMessage: number;
  readonly messageCount: number;
  /** Its edits and deletions are [firstModification, firstModification + modificationCount) of `modifications`. */
  readonly firstModification: number;
  readonly modificationCount: number;
  /** The latest send of the whole history (the clock may show an earlier one). */
  readonly lastMessageSentMs: number;
  /** The latest send, edit or deletion. */
  readonly lastActivityMs: number;
}

/** One entry per message, indexed by the global message index. */
export interface SimMessages {
  readonly sessionIndex: Uint32Array;
  /** Epoch ms, strictly increasing within a session. */
  readonly sentMs: Float64Array;
  readonly senderIndex: Uint32Array;
  readonly flags: Uint32Array;
  /** Global index of the thread's main message, or -1. */
  readonly replyTo: Int32Array;
  /** The message's edits are `editMs[editStart .. editStart + editCount)`, ascending. */
  readonly editStart: Uint32Array;
  readonly editCount: Uint8Array;
  /** Epoch ms of the deletion, or 0. */
  readonly deletedMs: Float64Array;
}

/** Edits and deletions, grouped by session and sorted by (actionMs, message, ordinal) within it. */
export interface SimModifications {
  readonly messageIndex: Uint32Array;
  /** 1..n for the n-th edit of the message, 0 for its deletion. */
  readonly ordinal: Uint8Array;
  readonly actionMs: Float64Array;
}

export interface SimDataset {
  readonly seed: number;
  readonly nowMs: number;
  readonly options: ResolvedDatasetOptions;
  readonly users: readonly SimUser[];
  readonly sessions: readonly SimSession[];
  readonly sessionIndexById: ReadonlyMap<string, number>;
  readonly messages: SimMessages;
  readonly editMs: Float64Array;
  readonly modifications: SimModifications;
  readonly messageCount: number;
  readonly editCount: number;
  readonly deletionCount: number;
  /** The latest event of the whole dataset: at or after it, "as of" views stop changing. */
  readonly lastEventMs: number;
  /**
   * Origin of the files' `download_url`s. Unset: `https://files.zoom-sim.invalid`, which never
   * resolves; a simulator started with `serveFiles` sets its own origin here, so the reports (and
   * the ground truth, which serialises the same way) point at the file routes it serves.
   */
  fileBaseUrl?: string;
}

/** Salts for `hash32`, one per kind of derived value, so no two derivations correlate. */
export const DERIVE = {
  sessionId: 1,
  messageId: 2,
  channelId: 3,
  memberId: 4,
  userId: 5,
  text: 6,
  content: 7,
  page: 8,
} as const;

const FIRST_NAMES = ['Ada', 'Bo', 'Chen', 'Dana', 'Eli', 'Farah', 'Goran', 'Hana', 'Ines', 'Jon', 'Kemal', 'Lena', 'Mateo', 'Nia', 'Oskar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tomás', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoë'];
const LAST_NAMES = ['Okafor', 'Lindqvist', 'Tanaka', 'García', 'Novak', 'Haddad', 'Müller', 'Kowalski', 'Nguyen', 'Silva', 'Brennan', 'Ivanova', 'Achebe', 'Rossi', 'Dubois', 'Park'];
const GROUP_WORDS = ['Falcon', 'Harbor', 'Quarterly', 'Launch', 'Support', 'Design', 'Finance', 'Legal', 'Ops', 'Research', 'Sales', 'Platform', 'Mobile', 'Onboarding', 'Security', 'Data'];
const GROUP_KINDS = ['Project', 'Team', 'Squad', 'Guild', 'War room', 'Channel', 'Huddle'];

const INTERNAL_DOMAIN = 'example.com';
const EXTERNAL_DOMAIN = 'partner.example.org';

function generateUsers(o: ResolvedDatasetOptions, rng: Rng): SimUser[] {
  const users: SimUser[] = [];
  for (let i = 0; i < o.users; i++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    // User 0 and 1 always internal so a 1:1 between internal users is always possible.
    const external = i >= 2 && rng.chance(o.quirks.externalSenders);
    const local = `${first}.${last}`.normalize('NFD').replace(/[^A-Za-z.]/g, '').toLowerCase();
    users.push({
      index: i,
      email: `${local}${i}@${external ? EXTERNAL_DOMAIN : INTERNAL_DOMAIN}`,
      displayName: `${first} ${last}`,
      memberId: derivedId(43, o.seed, DERIVE.memberId, i),
      userId: derivedId(22, o.seed, DERIVE.userId, i),
      external,
    });
  }
  // Switched on, the quirk should show even among a handful of users.
  const last = users.at(-1);
  if (o.quirks.externalSenders > 0 && last && last.index >= 2 && !users.some((u) => u.external)) {
    users[last.index] = { ...last, email: last.email.replace(`@${INTERNAL_DOMAIN}`, `@${EXTERNAL_DOMAIN}`), external: true };
  }
  if (o.awkwardContent) giveAwkwardNames(users, o.seed);
  return users;
}

/** Over 90 UTF-8 bytes: more than two RFC 2047 encoded words of 45 bytes. */
const LONG_NAME_TAIL = 'Ångström-Þórsdóttir Øverbø-Łukasiewicz Żółkiewska-Dąbrowska 山田太郎';

/**
 * `awkwardContent`: names an export must carry unchanged. Decided by hashes after every sequential
 * draw, so switching the option on changes the names and nothing else.
 */
function giveAwkwardNames(users: SimUser[], seed: number): void {
  for (const user of users) {
    const roll = user.index === 2 ? 0 : user.index === 3 ? 1 : user.index > 3 ? hash32(seed, DERIVE.content, 4_000_000 + user.index) % 8 : -1;
    const [first = '', last = ''] = user.displayName.split(' ');
    if (roll === 0) users[user.index] = { ...user, displayName: `${last}, ${first}` };
    else if (roll === 1) users[user.index] = { ...user, displayName: `${first} ${last} ${LONG_NAME_TAIL}` };
  }
}

export const LONG_SESSION_NAME_LENGTH = 1000;

/**
 * A 1,000-character session name: words and spaces (a header can be folded between them) and one
 * 120-character run without a space (it cannot), so an export must encode or cut it, never emit a
 * header line over 998 octets.
 */
function longSessionName(name: string): string {
  const run = `https://example.com/${'a1b2c3d4e5'.repeat(10)}`.slice(0, 120);
  let text = `${name} ${run} `;
  const words = ['budget', 'review', 'quarterly', 'planning', 'and', 'follow-up', 'notes'];
  for (let i = 0; text.length < LONG_SESSION_NAME_LENGTH; i++) text += `${words[i % words.length]} `;
  return text.slice(0, LONG_SESSION_NAME_LENGTH - 1).trimEnd().padEnd(LONG_SESSION_NAME_LENGTH, '.');
}

/** How many messages each session gets: skewed (a few busy sessions, many small), each at least one. */
function distributeMessages(o: ResolvedDatasetOptions, rng: Rng): number[] {
  const weights = Array.from({ length: o.sessions }, () => 0.1 + rng.exponential(1) ** 1.5);
  const sum = weights.reduce((a, b) => a + b, 0);
  const spare = o.totalMessages - o.sessions;
  const counts = weights.map((w) => 1 + Math.floor((spare * w) / sum));
  let remainder = o.totalMessages - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; remainder > 0; i = (i + 1) % counts.length, remainder--) counts[i] = (counts[i] ?? 0) + 1;
  return counts;
}

function assignProfiles(o: ResolvedDatasetOptions, rng: Rng): SessionProfile[] {
  const atLeastOne = (share: number) => (share > 0 ? Math.max(o.sessions >= 10 ? 1 : 0, Math.round(share * o.sessions)) : 0);
  const quiet = atLeastOne(o.quietSessionShare);
  const dormant = Math.min(o.sessions - quiet, atLeastOne(o.dormantSessionShare));
  const order = rng.shuffle(Array.from({ length: o.sessions }, (_, i) => i));
  const profiles: SessionProfile[] = new Array<SessionProfile>(o.sessions).fill('regular');
  order.forEach((sessionIndex, position) => {
    if (position < quiet) profiles[sessionIndex] = 'quiet';
    else if (position < quiet + dormant) profiles[sessionIndex] = 'dormant';
  });
  return profiles;
}

/**
 * [startMs, endMs] in which a session's messages are sent. `rank` counts sessions of the same
 * profile so far: every other quiet session falls silent before the six-month horizon (~183 days),
 * so a sweep of the horizon never lists it although its old messages are still being edited.
 */
function activityInterval(profile: SessionProfile, rank: number, nowMs: number, spanMs: number, rng: Rng): [number, number] {
  const oldest = nowMs - spanMs;
  const clamp = (ms: number) => Math.min(nowMs, Math.max(oldest, ms));
  switch (profile) {
    case 'regular': {
      const start = clamp(nowMs - spanMs * (0.15 + 0.85 * rng.next()));
      const end = clamp(nowMs - DAY_MS * 14 * rng.next() ** 3);
      return [Math.min(start, end), end];
    }
    case 'quiet': {
      const end = clamp(nowMs - DAY_MS * (rank % 2 === 0 ? 60 + 90 * rng.next() : 190 + 10 * rng.next()));
      return [clamp(end - DAY_MS * (5 + 55 * rng.next())), end];
    }
    case 'dormant': {
      const end = clamp(nowMs - DAY_MS * (120 + 80 * rng.next()));
      return [clamp(end - DAY_MS * (2 + 40 * rng.next())), end];
    }
  }
}

/** Send times: mostly uniform, ~2% exactly on a UTC day boundary to exercise inclusive window ends. */
function sendTimes(count: number, startMs: number, endMs: number, nowMs: number, rng: Rng): Float64Array {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let t = Math.floor(startMs + (endMs - startMs) * rng.next());
    if (rng.chance(0.02)) {
      const dayStart = Math.floor(t / DAY_MS) * DAY_MS;
      t = rng.chance(0.5) ? dayStart : dayStart + DAY_MS - 1;
    }
    times[i] = t;
  }
  times.sort();
  // Strictly increasing within a session, so "ascending by time, then id" is plain index order.
  for (let i = 1; i < count; i++) if ((times[i] ?? 0) <= (times[i - 1] ?? 0)) times[i] = (times[i - 1] ?? 0) + 1;
  const overshootMs = (times[count - 1] ?? 0) - nowMs;
  if (overshootMs > 0) for (let i = 0; i < count; i++) times[i] = (times[i] ?? 0) - overshootMs;
  return times;
}

/** A delay before an edit or deletion: mostly minutes, some days, some anywhere up to now. */
function modificationDelayMs(fromMs: number, nowMs: number, rng: Rng): number {
  const roll = rng.next();
  if (roll < 0.65) return 1 + Math.floor(rng.exponential(30 * 60_000));
  if (roll < 0.88) return 1 + Math.floor(rng.exponential(3 * DAY_MS));
  return 1 + Math.floor((nowMs - fromMs) * rng.next());
}

interface PendingModification {
  messageIndex: number;
  ordinal: number;
  actionMs: number;
}

export function generateDataset(options: DatasetOptions): SimDataset {
  const o = resolveDatasetOptions(options);
  const nowMs = o.now.getTime();
  const spanMs = o.spanDays * DAY_MS;
  const rng = new Rng(o.seed);
  const users = generateUsers(o, rng);
  const internalUsers = users.filter((u) => !u.external).map((u) => u.index);
  const counts = distributeMessages(o, rng);
  const profiles = assignProfiles(o, rng);
  const total = o.totalMessages;
  const q = o.quirks;

  const messages: SimMessages = {
    sessionIndex: new Uint32Array(total),
    sentMs: new Float64Array(total),
    senderIndex: new Uint32Array(total),
    flags: new Uint32Array(total),
    replyTo: new Int32Array(total).fill(-1),
    editStart: new Uint32Array(total),
    editCount: new Uint8Array(total),
    deletedMs: new Float64Array(total),
  };
  const editMs: number[] = [];
  const modMessage: number[] = [];
  const modOrdinal: number[] = [];
  const modMs: number[] = [];

  // The deliberately malformed items sit at the end of the first two regular sessions with enough
  // messages, so they fall inside the horizon and are never edited, deleted or replied to.
  // Value: the flags of the session's last messages, in send order.
  const malformedAt = new Map<number, number[]>();
  if (q.malformedItems) {
    const hosts = profiles.flatMap((p, i) => (p === 'regular' && (counts[i] ?? 0) >= 3 ? [i] : []));
    const [first, second] = hosts;
    if (first !== undefined && second !== undefined) {
      malformedAt.set(first, [MessageFlag.missingId]);
      malformedAt.set(second, [MessageFlag.badTimestamp]);
    } else if (first !== undefined) {
      malformedAt.set(first, [MessageFlag.badTimestamp, MessageFlag.missingId]);
    }
  }

  const sessions: SimSession[] = [];
  const sessionIndexById = new Map<string, number>();
  let nextMessage = 0;
  let lastEventMs = 0;
  let deletionCount = 0;
  const profileRanks: Record<SessionProfile, number> = { regular: 0, quiet: 0, dormant: 0 };

  for (let s = 0; s < o.sessions; s++) {
    const count = counts[s] ?? 1;
    const profile = profiles[s] ?? 'regular';
    const oneToOne = rng.chance(o.oneToOneShare);
    const memberIndices = pickMembers(oneToOne, users, internalUsers, rng);
    const rank = profileRanks[profile]++;
    const [startMs, endMs] = activityInterval(profile, rank, nowMs, spanMs, rng);
    const times = sendTimes(count, startMs, endMs, nowMs, rng);
    const first = nextMessage;
    const pending: PendingModification[] = [];
    const malformedTail = malformedAt.get(s) ?? [];

    for (let k = 0; k < count; k++) {
      const m = first + k;
      const sent = times[k] ?? startMs;
      messages.sessionIndex[m] = s;
      messages.sentMs[m] = sent;
      messages.senderIndex[m] = rng.pick(memberIndices);
      const malformedFlag = malformedTail[k - (count - malformedTail.length)] ?? 0;
      const malformed = malformedFlag !== 0;
      let flags = 0;
      if (rng.chance(o.fileProbability)) flags |= MessageFlag.files;
      if (rng.chance(o.reactionProbability)) flags |= MessageFlag.reactions;
      if (rng.chance(o.customEmojiProbability)) flags |= MessageFlag.customEmoji;
      if (rng.chance(o.botMessageProbability)) flags |= MessageFlag.bot;
      if (rng.chance(o.richTextProbability)) flags |= MessageFlag.richText;
      if (rng.chance(o.forwardProbability)) flags |= MessageFlag.forward;
      if (rng.chance(o.giphyProbability)) flags |= MessageFlag.giphy;
      if (rng.chance(q.numbersAsStrings)) flags |= MessageFlag.numbersAsStrings;
      if (rng.chance(q.nulInBody)) flags |= MessageFlag.nul;
      if (rng.chance(q.longBodies)) flags |= MessageFlag.longBody;
      if (rng.chance(q.unknownFields)) flags |= MessageFlag.unknownFields;
      flags |= malformedFlag;
      messages.flags[m] = flags;

      if (k > 0 && rng.chance(o.threadReplyProbability)) {
        // Mostly a recent main message, sometimes one from long ago (possibly before the horizon).
        const back = rng.chance(0.8) ? rng.int(1, Math.min(k, 10)) : rng.int(1, k);
        let parent = m - back;
        while (parent > first && ((messages.flags[parent] ?? 0) & MALFORMED_FLAGS) !== 0) parent--;
        if (((messages.flags[parent] ?? 0) & MALFORMED_FLAGS) === 0) messages.replyTo[m] = parent;
      }

      messages.editStart[m] = editMs.length;
      if (!malformed) deletionCount += generateChanges(messages, m, profile, o, nowMs, rng, editMs, pending);
    }

    pending.sort((a, b) => a.actionMs - b.actionMs || a.messageIndex - b.messageIndex || a.ordinal - b.ordinal);
    const firstModification = modMessage.length;
    for (const p of pending) {
      modMessage.push(p.messageIndex);
      modOrdinal.push(p.ordinal);
      modMs.push(p.actionMs);
    }
    const lastSent = times[count - 1] ?? startMs;
    const lastActivity = Math.max(lastSent, pending.at(-1)?.actionMs ?? 0);
    lastEventMs = Math.max(lastEventMs, lastActivity);
    const id = derivedHex64(o.seed, DERIVE.sessionId, s);
    sessionIndexById.set(id, s);
    sessions.push({
      index: s,
      id,
      type: oneToOne ? '1:1' : 'Group',
      name: oneToOne ? '' : `${rng.pick(GROUP_KINDS)} ${rng.pick(GROUP_WORDS)} ${s}`,
      channelId: oneToOne ? null : derivedId(22, o.seed, DERIVE.channelId, s),
      memberIndices,
      memberEmails: oneToOne ? memberIndices.map((u) => users[u]?.email ?? '') : null,
      status: 'active',
      hasExternalMember: memberIndices.some((u) => users[u]?.external === true),
      profile,
      unknownFields: rng.chance(q.unknownFields),
      firstMessage: first,
      messageCount: count,
      firstModification,
      modificationCount: pending.length,
      lastMessageSentMs: lastSent,
      lastActivityMs: lastActivity,
    });
    nextMessage += count;
  }

  markDeletedSessions(sessions, o, rng);
  ensureEveryQuirkAppears(messages, sessions, o);
  if (o.awkwardContent) {
    const host = sessions.find((s) => s.type === 'Group' && s.profile === 'regular');
    if (host) sessions[host.index] = { ...host, name: longSessionName(host.name) };
  }

  return {
    seed: o.seed,
    nowMs,
    options: o,
    users,
    sessions,
    sessionIndexById,
    messages,
    editMs: Float64Array.from(editMs),
    modifications: {
      messageIndex: Uint32Array.from(modMessage),
      ordinal: Uint8Array.from(modOrdinal),
      actionMs: Float64Array.from(modMs),
    },
    messageCount: total,
    editCount: editMs.length,
    deletionCount,
    lastEventMs,
  };
}

/**
 * A message's edits and deletion, appended to `editMs` and `pending`; returns 1 when it was deleted.
 * Every change happens after the previous one and at or before now.
 */
function generateChanges(
  messages: SimMessages,
  m: number,
  profile: SessionProfile,
  o: ResolvedDatasetOptions,
  nowMs: number,
  rng: Rng,
  editMs: number[],
  pending: PendingModification[],
): number {
  const editStart = messages.editStart[m] ?? 0;
  let lastMs = messages.sentMs[m] ?? 0;
  if (rng.chance(o.editProbability)) {
    const edits = rng.chance(o.multiEditProbability) ? rng.int(2, 4) : 1;
    for (let e = 0; e < edits; e++) {
      const at = lastMs + modificationDelayMs(lastMs, nowMs, rng);
      if (at > nowMs) break;
      lastMs = at;
      editMs.push(at);
      pending.push({ messageIndex: m, ordinal: e + 1, actionMs: at });
    }
  }
  // Quiet sessions exist to be edited long after their last message: the case an archiver that
  // only revisits sessions listed in recent windows would miss. At most 4 edits (a Uint8 is plenty).
  if (profile === 'quiet' && rng.chance(0.3)) {
    const at = Math.max(lastMs + 1, nowMs - Math.floor(30 * DAY_MS * rng.next()));
    if (at <= nowMs && editMs.length - editStart < 4) {
      lastMs = at;
      editMs.push(at);
      pending.push({ messageIndex: m, ordinal: editMs.length - editStart, actionMs: at });
    }
  }
  messages.editCount[m] = editMs.length - editStart;
  const deleteChance = profile === 'quiet' && o.deleteProbability > 0 ? Math.max(o.deleteProbability, 0.08) : o.deleteProbability;
  if (!rng.chance(deleteChance)) return 0;
  const at = profile === 'quiet' ? Math.max(lastMs + 1, nowMs - Math.floor(30 * DAY_MS * rng.next())) : lastMs + modificationDelayMs(lastMs, nowMs, rng);
  if (at > nowMs) return 0;
  messages.deletedMs[m] = at;
  pending.push({ messageIndex: m, ordinal: 0, actionMs: at });
  return 1;
}

function pickMembers(oneToOne: boolean, users: readonly SimUser[], internalUsers: readonly number[], rng: Rng): number[] {
  // The account's own reports always involve at least one of its users.
  const owner = rng.pick(internalUsers);
  if (oneToOne) {
    let other = rng.int(0, users.length - 1);
    if (other === owner) other = (other + 1) % users.length;
    return [owner, other];
  }
  const size = Math.min(users.length, 3 + Math.floor(rng.exponential(4)));
  const members = new Set<number>([owner]);
  while (members.size < size) members.add(rng.int(0, users.length - 1));
  return [...members];
}

function markDeletedSessions(sessions: SimSession[], o: ResolvedDatasetOptions, rng: Rng): void {
  if (o.deletedSessionShare === 0) return;
  const groups = sessions.filter((s) => s.type === 'Group');
  if (groups.length === 0) return;
  const wanted = Math.max(o.sessions >= 5 ? 1 : 0, Math.round(groups.length * o.deletedSessionShare));
  for (const group of rng.shuffle([...groups]).slice(0, wanted)) {
    sessions[group.index] = { ...group, status: 'deleted' };
  }
}

/**
 * A quirk switched on should show up even in a small test dataset: when chance gave it no message,
 * put it on the latest message of a regular session (inside the horizon, so a sweep meets it).
 */
function ensureEveryQuirkAppears(messages: SimMessages, sessions: readonly SimSession[], o: ResolvedDatasetOptions): void {
  const wanted: Array<[number, number]> = [
    [MessageFlag.numbersAsStrings, o.quirks.numbersAsStrings],
    [MessageFlag.nul, o.quirks.nulInBody],
    [MessageFlag.longBody, o.quirks.longBodies],
    [MessageFlag.unknownFields, o.quirks.unknownFields],
  ];
  const regular = sessions.filter((s) => s.profile === 'regular');
  if (regular.length === 0) return;
  wanted.forEach(([flag, rate], i) => {
    if (rate === 0) return;
    for (let m = 0; m < messages.flags.length; m++) if (((messages.flags[m] ?? 0) & flag) !== 0) return;
    const host = regular[hash32(o.seed, DERIVE.content, i) % regular.length];
    if (host === undefined) return;
    // The session's latest well-formed message: recent, so inside the horizon.
    for (let m = host.firstMessage + host.messageCount - 1; m >= host.firstMessage; m--) {
      if (((messages.flags[m] ?? 0) & MALFORMED_FLAGS) !== 0) continue;
      messages.flags[m] = (messages.flags[m] ?? 0) | flag;
      return;
    }
  });
}

export function findSession(dataset: SimDataset, sessionId: string): SimSession | undefined {
  const index = dataset.sessionIndexById.get(sessionId);
  return index === undefined ? undefined : dataset.sessions[index];
}

/** A plain summary per session, for benchmarks and tests that plan or check a sync. */
export interface SessionSummary {
  id: string;
  type: SessionType;
  status: SessionStatus;
  profile: SessionProfile;
  messageCount: number;
  modificationCount: number;
  lastMessageSentAt: string;
  lastActivityAt: string;
}

export function summariseSessions(dataset: SimDataset): SessionSummary[] {
  return dataset.sessions.map((s) => ({
    id: s.id,
    type: s.type,
    status: s.status,
    profile: s.profile,
    messageCount: s.messageCount,
    modificationCount: s.modificationCount,
    lastMessageSentAt: new Date(s.lastMessageSentMs).toISOString(),
    lastActivityAt: new Date(s.lastActivityMs).toISOString(),
  }));
}
