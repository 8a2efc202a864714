/**
 * The options of `generateDataset`, with their defaults and validation in one place. Probabilities
 * and quirk rates are shares in [0, 1]; a bad value fails fast with a RangeError naming the option.
 */

/** Rates are shares in [0, 1]: of messages, of users (`externalSenders`), of page boundaries. */
export interface DatasetQuirks {
  /** `timestamp`, `action_timestamp`, `reply_main_message_timestamp` sent as JSON strings. */
  numbersAsStrings: number;
  /** A U+0000 inside the message body. */
  nulInBody: number;
  /** A 20,000-character message body. */
  longBodies: number;
  /** Users outside the account: their messages carry `sender: ""`. */
  externalSenders: number;
  /** Keys the spec does not list, on messages and sessions. */
  unknownFields: number;
  /** The last item of a page repeated at the start of the next page. */
  duplicateAcrossPages: number;
  /** Two items the archiver cannot key: one without `id`, one with `timestamp: "abc"`. */
  malformedItems: boolean;
}

export type DatasetQuirksInput = 'none' | 'all' | Partial<Record<keyof DatasetQuirks, boolean | number>>;

/** The rate a quirk gets when switched on with `true`. */
export const QUIRK_RATES: Omit<DatasetQuirks, 'malformedItems'> = {
  numbersAsStrings: 0.05,
  nulInBody: 0.01,
  longBodies: 0.003,
  externalSenders: 0.1,
  unknownFields: 0.03,
  duplicateAcrossPages: 0.3,
};

/**
 * Without a `quirks` option: what real Zoom is known to do is on; the guesses (duplicates across
 * pages) and the deliberately broken items are off.
 */
const DEFAULT_QUIRKS: DatasetQuirks = { ...QUIRK_RATES, duplicateAcrossPages: 0, malformedItems: false };

export interface DatasetOptions {
  seed: number;
  /** The generation instant: every event happens at or before it. */
  now: Date;
  /** Number of chat sessions (default 40). */
  sessions?: number;
  /** Average messages per session (default 25); ignored when `totalMessages` is given. */
  messagesPerSession?: number;
  totalMessages?: number;
  /** Share of sessions that are 1:1 chats (default 0.4). */
  oneToOneShare?: number;
  /** How far back messages go, in days (default 200, so some predate the six-month horizon). */
  spanDays?: number;
  /** Number of users (default derived from the session count). */
  users?: number;
  /** Share of messages edited at least once (default 0.08). */
  editProbability?: number;
  /** Share of edited messages edited more than once (default 0.35). */
  multiEditProbability?: number;
  deleteProbability?: number;
  threadReplyProbability?: number;
  fileProbability?: number;
  /** Largest `file_size` of a shared file (default 25,000,000; sizes are uniform from 200 bytes up to it). */
  fileMaxBytes?: number;
  reactionProbability?: number;
  customEmojiProbability?: number;
  botMessageProbability?: number;
  richTextProbability?: number;
  forwardProbability?: number;
  giphyProbability?: number;
  /** Share of group sessions with `status: "deleted"` (default 0.05, at least one when there are groups). */
  deletedSessionShare?: number;
  /** Share of `quiet` sessions (default 0.1, at least one from 10 sessions up). */
  quietSessionShare?: number;
  /** Share of `dormant` sessions (default 0.1, at least one from 10 sessions up). */
  dormantSessionShare?: number;
  /**
   * Share of edits that leave the text exactly as it was (default 0): Zoom still reports such an
   * edit (a fixed typo undone, formatting only), and an export must still show it.
   */
  unchangedEditProbability?: number;
  /**
   * Content that stresses export formats rather than the sync (default false, so existing datasets
   * and benchmark figures stay byte for byte the same): display names written "Last, First" and
   * display names over 90 UTF-8 bytes of non-ASCII text (user 2 and user 3, then about one user in
   * eight each), a 1,000-character name on the first regular group session, skin-tone emoji
   * sequences (`U+1F44D U+1F3FB`) among reactions and a custom emoji name longer than 30 characters.
   */
  awkwardContent?: boolean;
  quirks?: DatasetQuirksInput;
}

export type ResolvedDatasetOptions = Required<Omit<DatasetOptions, 'now' | 'quirks' | 'totalMessages' | 'users'>> & {
  now: Date;
  totalMessages: number;
  users: number;
  quirks: DatasetQuirks;
};

function asRate(value: boolean | number | undefined, whenTrue: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === true) return whenTrue;
  if (value === false) return 0;
  return value;
}

function resolveQuirks(input: DatasetQuirksInput | undefined): DatasetQuirks {
  if (input === undefined) return { ...DEFAULT_QUIRKS };
  if (input === 'none') {
    return { numbersAsStrings: 0, nulInBody: 0, longBodies: 0, externalSenders: 0, unknownFields: 0, duplicateAcrossPages: 0, malformedItems: false };
  }
  if (input === 'all') return { ...QUIRK_RATES, malformedItems: true };
  const malformed = input.malformedItems;
  return {
    numbersAsStrings: asRate(input.numbersAsStrings, QUIRK_RATES.numbersAsStrings, DEFAULT_QUIRKS.numbersAsStrings),
    nulInBody: asRate(input.nulInBody, QUIRK_RATES.nulInBody, DEFAULT_QUIRKS.nulInBody),
    longBodies: asRate(input.longBodies, QUIRK_RATES.longBodies, DEFAULT_QUIRKS.longBodies),
    externalSenders: asRate(input.externalSenders, QUIRK_RATES.externalSenders, DEFAULT_QUIRKS.externalSenders),
    unknownFields: asRate(input.unknownFields, QUIRK_RATES.unknownFields, DEFAULT_QUIRKS.unknownFields),
    duplicateAcrossPages: asRate(input.duplicateAcrossPages, QUIRK_RATES.duplicateAcrossPages, DEFAULT_QUIRKS.duplicateAcrossPages),
    malformedItems: malformed === undefined ? DEFAULT_QUIRKS.malformedItems : malformed === true || (typeof malformed === 'number' && malformed > 0),
  };
}

function requireShare(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`dataset option ${name} must be a share between 0 and 1 (got ${value})`);
  return value;
}

function requireCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`dataset option ${name} must be an integer >= ${min} (got ${value})`);
  return value;
}

export function resolveDatasetOptions(options: DatasetOptions): ResolvedDatasetOptions {
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) throw new RangeError('dataset option now must be a valid Date');
  if (!Number.isInteger(options.seed)) throw new RangeError(`dataset option seed must be an integer (got ${options.seed})`);
  const sessions = requireCount('sessions', options.sessions ?? 40, 1);
  const messagesPerSession = options.messagesPerSession ?? 25;
  if (!(messagesPerSession >= 1)) throw new RangeError(`dataset option messagesPerSession must be >= 1 (got ${messagesPerSession})`);
  const totalMessages = requireCount('totalMessages', options.totalMessages ?? Math.round(sessions * messagesPerSession), sessions);
  const spanDays = options.spanDays ?? 200;
  if (!(spanDays >= 1 && spanDays <= 3650)) throw new RangeError(`dataset option spanDays must be between 1 and 3650 (got ${spanDays})`);
  const users = requireCount('users', options.users ?? Math.min(5000, Math.max(8, Math.round(sessions * 0.6) + 8)), 2);
  const quirks = resolveQuirks(options.quirks);
  for (const [name, rate] of Object.entries(quirks)) if (typeof rate === 'number') requireShare(`quirks.${name}`, rate);
  return {
    seed: options.seed,
    now: options.now,
    sessions,
    messagesPerSession,
    totalMessages,
    oneToOneShare: requireShare('oneToOneShare', options.oneToOneShare ?? 0.4),
    spanDays,
    users,
    editProbability: requireShare('editProbability', options.editProbability ?? 0.08),
    multiEditProbability: requireShare('multiEditProbability', options.multiEditProbability ?? 0.35),
    deleteProbability: requireShare('deleteProbability', options.deleteProbability ?? 0.03),
    threadReplyProbability: requireShare('threadReplyProbability', options.threadReplyProbability ?? 0.15),
    fileProbability: requireShare('fileProbability', options.fileProbability ?? 0.05),
    fileMaxBytes: requireFileMaxBytes(options.fileMaxBytes ?? 25_000_000),
    reactionProbability: requireShare('reactionProbability', options.reactionProbability ?? 0.12),
    customEmojiProbability: requireShare('customEmojiProbability', options.customEmojiProbability ?? 0.03),
    botMessageProbability: requireShare('botMessageProbability', options.botMessageProbability ?? 0.02),
    richTextProbability: requireShare('richTextProbability', options.richTextProbability ?? 0.05),
    forwardProbability: requireShare('forwardProbability', options.forwardProbability ?? 0.01),
    giphyProbability: requireShare('giphyProbability', options.giphyProbability ?? 0.01),
    deletedSessionShare: requireShare('deletedSessionShare', options.deletedSessionShare ?? 0.05),
    quietSessionShare: requireShare('quietSessionShare', options.quietSessionShare ?? 0.1),
    dormantSessionShare: requireShare('dormantSessionShare', options.dormantSessionShare ?? 0.1),
    unchangedEditProbability: requireShare('unchangedEditProbability', options.unchangedEditProbability ?? 0),
    awkwardContent: options.awkwardContent ?? false,
    quirks,
  };
}


function requireFileMaxBytes(value: number): number {
  if (!Number.isInteger(value) || value < 200) throw new RangeError(`dataset option fileMaxBytes must be a whole number >= 200 (got ${value})`);
  return value;
}
