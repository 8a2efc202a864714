import type { SessionInfo, VersionFile, VersionRow } from './types.js';

/**
 * What a message looked like over time, derived from its consecutive version rows: who sent it,
 * its text now, every earlier text with when it changed, its deletion, its files. Shared by the
 * HTML transcripts and RSMF, so both tell the same story.
 */

export interface TextChange {
  /** When the text changed (the version's action time). */
  at: string;
  kind: VersionRow['kind'];
  previous: string;
  next: string;
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
  /** The first text archived. */
  firstText: string;
  /** The latest text (for a deleted message, its text when it was deleted). */
  currentText: string;
  /** Every change of text after the first, in order. */
  changes: TextChange[];
  /** Every version, in order (for "history" views). */
  versions: readonly VersionRow[];
  deletedAt: string | null;
  editedAt: string | null;
  replyTo: string | null;
  files: FileRef[];
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

export function describeMessage(versions: readonly VersionRow[], session: SessionInfo | undefined): MessageHistory {
  const first = versions[0];
  if (!first) throw new Error('a message has at least one version');
  const texts = versions.map((v) => v.body ?? '');
  const changes: TextChange[] = [];
  let current = texts[0] ?? '';
  let deletedAt: string | null = null;
  let editedAt: string | null = null;
  const files = new Map<string, FileRef>();
  for (let i = 0; i < versions.length; i++) {
    const v = versions[i] as VersionRow;
    const text = texts[i] ?? '';
    if (i > 0 && text !== current) changes.push({ at: v.action_at, kind: v.kind, previous: current, next: text });
    current = text;
    if (v.kind === 'deleted' && deletedAt === null) deletedAt = v.action_at;
    if (v.kind === 'edited') editedAt = v.action_at;
    for (const f of filesOf(v)) files.set(f.id ?? `${f.name}|${f.sizeBytes ?? ''}`, f);
  }
  return {
    sessionId: first.session_id,
    messageId: first.message_id,
    sentAt: first.sent_at ?? first.action_at,
    sender: identifySender(first, session),
    receiver: first.receiver,
    firstText: texts[0] ?? '',
    currentText: current,
    changes,
    versions,
    deletedAt,
    editedAt,
    replyTo: versions.find((v) => v.reply_main_message_id)?.reply_main_message_id ?? null,
    files: [...files.values()],
  };
}
