/**
 * Glossary
 *
 * - **session**   A Zoom Team Chat conversation: a 1:1 chat, a group chat or a channel, identified by
 *                 the id the chat report API gives it.
 * - **horizon**   The last six months (UTC days) Zoom's chat reports serve; older data is gone for good.
 * - **window**    One calendar month (UTC) of the horizon, clipped to it: the largest range one
 *                 report call may ask for. Identified by the first day of its month.
 * - **unit**      A (window, session) pair: the smallest piece of sync work, checkpointed on its own.
 * - **version**   One state of a message exactly as Zoom delivered it: `original` (from `messages`),
 *                 `edited` (an entry of `edited_messages`) or `deleted` (the `deleted_messages` entry).
 *                 Versions are append-only; a message has one or more.
 * - **matter**    A Zoom legal-hold matter: custodians held over a date range.
 * - **custodian** A user (email or user id) a matter holds.
 * - **bundle**    An export zip with a manifest that proves its integrity.
 */

/** A calendar day in UTC, `yyyy-mm-dd`. */
export type IsoDate = string;

export type VersionKind = 'original' | 'edited' | 'deleted';

export const VERSION_KINDS: readonly VersionKind[] = ['original', 'edited', 'deleted'];

/** Which array of a report response an item came from. */
export type ReportItemSource = 'sessions' | 'messages' | 'edited_messages' | 'deleted_messages';

export const MESSAGE_ARRAYS: ReadonlyArray<{ source: Exclude<ReportItemSource, 'sessions'>; kind: VersionKind }> = [
  { source: 'messages', kind: 'original' },
  { source: 'edited_messages', kind: 'edited' },
  { source: 'deleted_messages', kind: 'deleted' },
];

/**
 * The columns of one row of public.chat_message_versions that every reader selects the same way
 * (exports and the HTTP API); each adds its own time and raw columns.
 */
export interface ChatMessageVersionColumns {
  version_id: number;
  session_id: string;
  message_id: string;
  kind: VersionKind;
  sender: string | null;
  sender_member_id: string | null;
  sender_display_name: string | null;
  receiver: string | null;
  body: string | null;
  reply_main_message_id: string | null;
  files: unknown;
  content_sha256: string;
  /** ISO 8601 UTC with milliseconds. */
  archived_at: string;
}

/**
 * One message version ready to archive. `rawJson` is the item's JSON text exactly as received except
 * that each `\u0000` escape is replaced by an escaped backslash, so the stored value holds the six
 * characters `\u0000` (PostgreSQL `text`/`jsonb` cannot hold U+0000).
 */
export interface MessageVersionInput {
  messageId: string;
  kind: VersionKind;
  /** `action_timestamp`, falling back to `timestamp`, in epoch milliseconds. */
  actionMs: number;
  /** `timestamp` (or `date_time`) in epoch milliseconds; null when Zoom sent neither. */
  sentMs: number | null;
  rawJson: string;
}

/** An item that could not be understood: kept with its raw JSON, never dropped. */
export interface MalformedItem {
  source: ReportItemSource;
  rawJson: string;
  reason: string;
}

/** A chat session as listed by `GET /report/chat/sessions`. */
export interface SessionListing {
  sessionId: string;
  type: string | null;
  name: string | null;
  channelId: string | null;
  memberEmails: string[] | null;
  status: string | null;
  hasExternalMember: boolean | null;
  lastMessageSentAt: Date | null;
  rawJson: string;
}

export interface SessionPage {
  sessions: SessionListing[];
  malformed: MalformedItem[];
  nextPageToken: string;
}

export interface MessagePage {
  versions: MessageVersionInput[];
  malformed: MalformedItem[];
  nextPageToken: string;
}
