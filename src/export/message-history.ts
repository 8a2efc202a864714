import { reactionsOf, type Reaction } from './reactions.js';
import type { SessionInfo, VersionFile, VersionRow } from './types.js';
import { InternalError } from '../errors.js';

/**
 * What a message looked like over time, derived from its consecutive version rows: who sent it, its
 * text now, every edit Zoom reported, its deletion, its files and reactions. Shared by the HTML
 * transcripts and RSMF, so both tell the same story.
 *
 * What Zoom does and does not tell (see README "RSMF choices"):
 * - Every `edited` version is an edit Zoom reported, with the text after it — even when that text is
 *   the same as before (a formatting change, an edit undone). Each is shown.
 * - Zoom lists a message (`messages[]`, kind `original`) in its latest state: listed before any edit
 *   (action time = send time) it carries the text as first sent; listed after an edit it carries the
 *   edited text, and nothing Zoom returns holds the text before the first edit. So the text before
 *   the first edit is known only when the message was archived before it was edited.
 */

/** What a version's text is, in words a reviewer can rely on. */
export type BodyState =
  /** An `original` listed before any edit: the text as first sent. */
  | 'as_sent'
  /** An `original` listed after an edit: the latest text then, not the text as first sent. */
  | 'listed_after_edit'
  /** An `edited` version: the text after that edit. */
  | 'after_edit'
  /** A `deleted` version: the text when it was deleted. */
  | 'at_deletion';

export function bodyStateOf(row: Pick<VersionRow, 'kind' | 'action_at' | 'sent_at'>): BodyState {
  if (row.kind === 'edited') return 'after_edit';
  if (row.kind === 'deleted') return 'at_deletion';
  // Without a send time nothing shows it was listed before an edit: claim no more than is known.
  return row.sent_at !== null && row.action_at === row.sent_at ? 'as_sent' : 'listed_after_edit';
}

/** One edit Zoom reported. */
export interface MessageEdit {
  /** When it was made (the version's action time). */
  at: string;
  /** The text after it. */
  text: string;
  /** The text just before it; null when Zoom did not report it (see above). */
  previous: string | null;
  versionId: number;
}

export interface FileRef {
  id: string | null;
  name: string;
  sizeBytes: number | null;
}

export interface MessageHistory {
  sessionId: string;
  messageId: string;
  /** The send time; the first action time when Zoom gave none. */
  sentAt: string;
  sender: SenderIdentity;
  receiver: string | null;
  /** The text as first sent, when known (the message was archived before it was edited). */
  firstSentText: string | null;
  /** The message was edited (or listed after an edit) and its text as first sent is not known. */
  firstSentTextUnknown: boolean;
  /** The latest text (for a deleted message, its text when it was deleted). */
  currentText: string;
  /** Every edit Zoom reported, in time order. */
  edits: MessageEdit[];
  /** Every version, in order (for "history" views). */
  versions: readonly VersionRow[];
  deletedAt: string | null;
  /** The latest edit's time. */
  editedAt: string | null;
  replyTo: string | null;
  files: FileRef[];
  /** The reactions of the latest version that carries them (an original or deleted one). */
  reactions: Reaction[];
}

export interface SenderIdentity {
  /** The email when known: Zoom's `sender`, or inferred in a 1:1 chat for a sender outside the account. */
  email: string | null;
  memberId: string | null;
  displayName: string | null;
  /** Zoom left `sender` empty: someone outside the account. */
  external: boolean;
}

/**
 * Zoom leaves `sender` empty for people outside the account. In a 1:1 chat the other member is
 * known from the session's member list and the message's receiver, so their email is inferred.
 */
export function identifySender(row: VersionRow, session: SessionInfo | undefined): SenderIdentity {
  const sender = row.sender?.trim() ? row.sender.trim() : null;
  let email = sender;
  if (!email && session?.type === '1:1' && row.receiver && session.member_emails?.length === 2) {
    const other = session.member_emails.find((e) => e.toLowerCase() !== row.receiver?.toLowerCase());
    email = other ?? null;
  }
  return { email, memberId: row.sender_member_id, displayName: row.sender_display_name, external: sender === null };
}

function filesOf(row: VersionRow): FileRef[] {
  if (!Array.isArray(row.files)) return [];
  return (row.files as VersionFile[]).map((f) => ({
    id: typeof f.file_id === 'string' ? f.file_id : null,
    name: typeof f.file_name === 'string' && f.file_name !== '' ? f.file_name : '(unnamed file)',
    sizeBytes: typeof f.file_size === 'number' ? f.file_size : typeof f.file_size === 'string' && /^\d+$/.test(f.file_size) ? Number(f.file_size) : null,
  }));
}

/** The read model's tie rule (chat_messages): at the same action time deleted beats edited beats original. */
const KIND_RANK: Record<VersionRow['kind'], number> = { original: 1, edited: 2, deleted: 3 };

export function describeMessage(versions: readonly VersionRow[], session: SessionInfo | undefined): MessageHistory {
  const first = versions[0];
  if (!first) throw new InternalError('a message has at least one version');
  let latest = first;
  let deletedAt: string | null = null;
  let firstSentText: string | null = null;
  let listedAfterEdit = false;
  let reactionCarrier: VersionRow | undefined;
  const edits: MessageEdit[] = [];
  const files = new Map<string, FileRef>();
  for (const v of versions) {
    if (v.action_at > latest.action_at || (v.action_at === latest.action_at && (KIND_RANK[v.kind] > KIND_RANK[latest.kind] || (KIND_RANK[v.kind] === KIND_RANK[latest.kind] && v.version_id > latest.version_id)))) latest = v;
    const state = bodyStateOf(v);
    if (state === 'as_sent' && firstSentText === null) firstSentText = v.body ?? '';
    if (state === 'listed_after_edit') listedAfterEdit = true;
    if (v.kind === 'deleted' && deletedAt === null) deletedAt = v.action_at;
    if (v.kind !== 'edited') reactionCarrier = v;
    for (const f of filesOf(v)) files.set(f.id ?? `${f.name}|${f.sizeBytes ?? ''}`, f);
  }
  // Rows come by action time; the same edit archived twice (Zoom sent it again differently) is one edit.
  for (const v of versions) {
    if (v.kind !== 'edited') continue;
    const text = v.body ?? '';
    const last = edits.at(-1);
    if (last && last.at === v.action_at) {
      last.text = text;
      last.versionId = v.version_id;
      continue;
    }
    edits.push({ at: v.action_at, text, previous: null, versionId: v.version_id });
  }
  // Before the first edit: the text as first sent, if archived; before each later one: the edit before it.
  edits.forEach((e, i) => (e.previous = i === 0 ? firstSentText : (edits[i - 1] as MessageEdit).text));
  return {
    sessionId: first.session_id,
    messageId: first.message_id,
    sentAt: first.sent_at ?? first.action_at,
    sender: identifySender(first, session),
    receiver: first.receiver,
    firstSentText,
    firstSentTextUnknown: firstSentText === null && (edits.length > 0 || listedAfterEdit),
    currentText: latest.body ?? '',
    edits,
    versions,
    deletedAt,
    editedAt: edits.at(-1)?.at ?? null,
    replyTo: versions.find((v) => v.reply_main_message_id)?.reply_main_message_id ?? null,
    files: [...files.values()],
    reactions: reactionCarrier ? reactionsOf(reactionCarrier) : [],
  };
}
