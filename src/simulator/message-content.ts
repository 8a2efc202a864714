import { DERIVE, MessageFlag, type SimDataset, type SimSession } from './dataset.js';
import { FILE_URL_TTL_MS, signFileToken } from './file-tokens.js';
import { Rng, derivedId, derivedUuid, hash32, unitFromHash } from './random.js';

/**
 * Everything bulky about a message, derived on demand from (seed, message index, version) instead of
 * stored: the same call always returns the same value, which is what lets the server and the ground
 * truth agree without keeping 500k strings in memory.
 */

/** Reserved TLD: nothing ever resolves it, so a client that tries to download a file fails loudly. */
const FILE_HOST = 'https://files.zoom-sim.invalid';
export const LONG_BODY_LENGTH = 20_000;

const WORDS = [
  'the', 'report', 'is', 'ready', 'for', 'review', 'please', 'check', 'numbers', 'before', 'Friday', 'meeting',
  'moved', 'to', 'room', 'budget', 'approved', 'contract', 'draft', 'attached', 'can', 'you', 'sign', 'off',
  'deploy', 'went', 'fine', 'rollback', 'plan', 'customer', 'asked', 'about', 'pricing', 'renewal', 'ticket',
  'escalated', 'thanks', 'agreed', 'let', 'us', 'sync', 'tomorrow', 'morning', 'lunch', 'invoice', 'overdue',
  'legal', 'hold', 'notice', 'retention', 'policy', 'archive', 'compliance', 'audit', 'trail', 'quarter', 'goals',
];
/** Text that stresses encoders: non-ASCII, astral-plane emoji, quotes, backslashes, newlines. */
const SPICE = ['🎉', 'naïve café', '日本語のテキスト', 'Ünïcödé ✓', 'he said "ok"', 'path C:\\temp\\file', 'line one\nline two', '<b>not html</b>', '👩‍💻 done'];
const FILE_NAMES = ['minutes.docx', 'q3-forecast.xlsx', 'diagram.png', 'contract-v2.pdf', 'notes.txt', 'screenshot 2024.jpeg'];
const EMOJI = ['U+1F600', 'U+1F44D', 'U+2764', 'U+1F389', 'U+1F680', 'U+1F440'];
/** `awkwardContent`: skin-tone sequences, written as Zoom writes several code points. */
const AWKWARD_EMOJI = [...EMOJI, 'U+1F44D U+1F3FB', 'U+1F44B U+1F3FD'];
const CUSTOM_EMOJI = ['party_parrot', 'shipit', 'this_is_fine', 'lgtm'];
/** `awkwardContent`: Zoom allows custom emoji names of up to 100 letters, digits and underscores. */
const AWKWARD_CUSTOM_EMOJI = [...CUSTOM_EMOJI, 'quarterly_numbers_look_great_well_done_team'];
const RICH_TEXT_TYPES = ['Bold', 'Italic', 'Strikethrough', 'Underline', 'FontColor', 'Paragraph', 'AddLink'];

export function messageId(ds: SimDataset, m: number): string {
  return derivedUuid(ds.seed, DERIVE.messageId, m);
}

export function hasFlag(ds: SimDataset, m: number, flag: number): boolean {
  return ((ds.messages.flags[m] ?? 0) & flag) !== 0;
}

/** Whether the `version`-th edit of a message left its text unchanged (`unchangedEditProbability`). */
export function isUnchangedEdit(ds: SimDataset, m: number, version: number): boolean {
  const p = ds.options.unchangedEditProbability;
  return version > 0 && p > 0 && unitFromHash(hash32(ds.seed, DERIVE.text, m, 0x10000 + version)) < p;
}

/** The body after `version` edits (0 = as sent). */
export function messageText(ds: SimDataset, m: number, version: number): string {
  if (isUnchangedEdit(ds, m, version)) return messageText(ds, m, version - 1);
  const rng = new Rng(hash32(ds.seed, DERIVE.text, m, version));
  const count = 2 + Math.min(60, Math.floor(rng.exponential(9)));
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(rng.pick(WORDS));
  if (rng.chance(0.08)) words.splice(rng.int(0, words.length), 0, rng.pick(SPICE));
  let text = words.join(' ');
  text = `${text.charAt(0).toUpperCase()}${text.slice(1)}${rng.pick(['.', '!', '?', '', ' :)'])}`;
  if (version > 0 && rng.chance(0.5)) text = `${text} (edited)`;
  if (hasFlag(ds, m, MessageFlag.longBody)) {
    // ASCII filler, so the cut at exactly LONG_BODY_LENGTH never splits a surrogate pair.
    const filler = ' lorem ipsum dolor sit amet';
    text = (text + filler.repeat(Math.ceil(LONG_BODY_LENGTH / filler.length) + 1)).slice(0, LONG_BODY_LENGTH);
  }
  if (hasFlag(ds, m, MessageFlag.nul)) {
    const at = text.indexOf(' ', Math.floor(text.length / 2));
    const cut = at < 0 ? text.length : at;
    text = `${text.slice(0, cut)}\u0000${text.slice(cut)}`;
  }
  return text;
}

export interface SimFile {
  file_id: string;
  file_name: string;
  file_size: number;
  download_url: string;
}

export function messageFiles(ds: SimDataset, m: number): SimFile[] {
  const rng = new Rng(hash32(ds.seed, DERIVE.content, m, 1));
  const count = rng.chance(0.2) ? 2 : 1;
  const files: SimFile[] = [];
  for (let i = 0; i < count; i++) {
    const fileId = derivedId(22, ds.seed, DERIVE.content, m * 4 + i);
    const fileName = rng.pick(FILE_NAMES);
    const fileSize = rng.int(200, ds.options.fileMaxBytes);
    // Served files carry a signed URL issued when the message was sent, so it expires a day later
    // (as Zoom's do): a report read later hands out a stale URL, refreshed by "Get file info".
    const signature = ds.fileBaseUrl === undefined ? '' : `&jwt=${signFileToken(fileId, (ds.messages.sentMs[m] ?? 0) + FILE_URL_TTL_MS)}`;
    files.push({
      file_id: fileId,
      file_name: fileName,
      file_size: fileSize,
      download_url: `${ds.fileBaseUrl ?? FILE_HOST}/file/download/${fileId}?filename=${encodeURIComponent(fileName)}${signature}`,
    });
  }
  return files;
}

function reactingMembers(ds: SimDataset, session: SimSession, rng: Rng): { userIds: string[]; memberIds: string[] } {
  const count = rng.int(1, Math.min(4, session.memberIndices.length));
  const chosen = rng.shuffle([...session.memberIndices]).slice(0, count);
  const users = chosen.map((u) => ds.users[u]).filter((u) => u !== undefined);
  // Per spec, user_ids omits people outside the account; member_ids lists everyone.
  return { userIds: users.filter((u) => !u.external).map((u) => u.userId), memberIds: users.map((u) => u.memberId) };
}

export function messageReactions(ds: SimDataset, session: SimSession, m: number): unknown[] {
  const rng = new Rng(hash32(ds.seed, DERIVE.content, m, 2));
  const emojis = rng.shuffle([...(ds.options.awkwardContent ? AWKWARD_EMOJI : EMOJI)]).slice(0, rng.int(1, 3));
  return emojis.map((emoji) => {
    const who = reactingMembers(ds, session, rng);
    return { emoji, total_count: who.memberIds.length, user_ids: who.userIds, member_ids: who.memberIds };
  });
}

export function messageCustomEmojiReactions(ds: SimDataset, session: SimSession, m: number): unknown[] {
  const rng = new Rng(hash32(ds.seed, DERIVE.content, m, 3));
  const names = ds.options.awkwardContent ? AWKWARD_CUSTOM_EMOJI : CUSTOM_EMOJI;
  const name = rng.pick(names);
  const who = reactingMembers(ds, session, rng);
  return [
    {
      custom_emoji_name: name,
      custom_emoji_file_id: derivedId(22, ds.seed, DERIVE.content, 1_000_000 + names.indexOf(name)),
      total_count: who.memberIds.length,
      user_ids: who.userIds,
      member_ids: who.memberIds,
    },
  ];
}

export function messageBotMessage(ds: SimDataset, m: number): unknown {
  const rng = new Rng(hash32(ds.seed, DERIVE.content, m, 4));
  const viaMio = rng.chance(0.3);
  const content = {
    head: { text: rng.pick(['Build finished', 'Incident opened', 'Reminder', 'Poll results']), version: 1 },
    body: [{ type: 'message', version: 1, text: messageText(ds, m, 0).slice(0, 200), editable: false, event_id: `message_${m}` }],
  };
  return {
    is_markdown_support: rng.chance(0.5),
    ...(viaMio ? { source: 'CCCC', external_sender_email: `bot${m % 7}@${'mio.example.net'}` } : {}),
    // Zoom sends the bot content as a JSON document inside a string.
    content: JSON.stringify(content),
  };
}

export function messageRichText(ds: SimDataset, m: number, text: string): unknown[] {
  const rng = new Rng(hash32(ds.seed, DERIVE.content, m, 5));
  const type = rng.pick(RICH_TEXT_TYPES);
  const end = Math.max(1, Math.min(text.length, rng.int(3, 20)));
  const attr: Record<string, string> = { FontColor: 'FFC0CB', Paragraph: 'h1', AddLink: 'https://example.com' };
  return [{ start_position: 0, end_position: end, format_type: type, ...(attr[type] === undefined ? {} : { format_attr: attr[type] }) }];
}

export function messageForwardId(ds: SimDataset, m: number): string {
  return derivedId(20, ds.seed, DERIVE.content, 2_000_000 + m);
}

export function messageGiphy(ds: SimDataset, m: number): unknown[] {
  return [{ giphy_view_url: `https://giphy.com/gifs/sim-${derivedId(12, ds.seed, DERIVE.content, 3_000_000 + m)}` }];
}

/** Keys the spec does not list: a client must keep them (raw JSON) and not choke on them. */
export function messageUnknownFields(m: number): string {
  return `"message_type":"${m % 3 === 0 ? 'text' : 'file'}","zm_sim_meta":{"thread_depth":${m % 4},"client":"desktop","flags":[${m % 5},true,null]}`;
}

export const SESSION_UNKNOWN_FIELDS = '"is_archived":false,"zm_sim_meta":{"origin":"simulator","v":2}';
