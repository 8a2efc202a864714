import type { VersionKind } from '../domain/types.js';
import { MessageFlag, type SimDataset, type SimSession } from './dataset.js';
import {
  SESSION_UNKNOWN_FIELDS,
  hasFlag,
  messageBotMessage,
  messageCustomEmojiReactions,
  messageFiles,
  messageForwardId,
  messageGiphy,
  messageId,
  messageReactions,
  messageRichText,
  messageText,
  messageUnknownFields,
} from './message-content.js';

/**
 * The one place that turns dataset entries into the JSON text the server sends. The ground truth
 * calls the same functions, so "what the archive must hold" is byte-for-byte what was served.
 *
 * Items are built by string concatenation (not `JSON.stringify` of an object) to control key order
 * and to send some numbers as strings, as Zoom sometimes does.
 */

/** Which optional parts a report request asked for. */
export interface ItemIncludes {
  reactions: boolean;
  botMessage: boolean;
  customEmojiReactions: boolean;
}

export const ALL_INCLUDES: ItemIncludes = { reactions: true, botMessage: true, customEmojiReactions: true };

/** Zoom's date-time style: ISO 8601 in UTC without milliseconds (`2022-03-18T10:16:13Z`). */
export function formatDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

const str = JSON.stringify;

/**
 * One item of `messages` (`original`), `edited_messages` or `deleted_messages`.
 * Per spec, edited items carry no reactions or bot message; deleted items carry reactions but no bot
 * message; `textVersion` is how many edits the text reflects.
 */
export function serialiseMessage(ds: SimDataset, m: number, kind: VersionKind, textVersion: number, actionMs: number, includes: ItemIncludes): string {
  const sessionIndex = ds.messages.sessionIndex[m] ?? 0;
  const session = ds.sessions[sessionIndex] as SimSession;
  const sender = ds.users[ds.messages.senderIndex[m] ?? 0];
  if (!sender) throw new Error(`message ${m} has no sender`);
  const sentMs = ds.messages.sentMs[m] ?? 0;
  const flags = ds.messages.flags[m] ?? 0;
  const quoted = (flags & MessageFlag.numbersAsStrings) !== 0;
  const num = (n: number) => (quoted ? `"${n}"` : String(n));
  const text = messageText(ds, m, textVersion);
  const parts: string[] = [];

  if ((flags & MessageFlag.missingId) === 0) parts.push(`"id":${str(messageId(ds, m))}`);
  parts.push(`"message":${str(text)}`);
  // Zoom leaves `sender` empty for people outside the account; `sender_member_id` still identifies them.
  parts.push(`"sender":${str(sender.external ? '' : sender.email)}`);
  parts.push(`"sender_member_id":${str(sender.memberId)}`);
  parts.push(`"sender_display_name":${str(sender.displayName)}`);
  if (session.type === '1:1') {
    const receiverIndex = session.memberIndices.find((u) => u !== sender.index) ?? sender.index;
    parts.push(`"receiver":${str(ds.users[receiverIndex]?.email ?? '')}`);
    parts.push(`"is_sender_external":${sender.external}`);
  }
  if ((flags & MessageFlag.badTimestamp) !== 0) {
    parts.push('"timestamp":"abc"', '"action_timestamp":"abc"');
  } else {
    parts.push(`"date_time":${str(formatDateTime(sentMs))}`, `"timestamp":${num(sentMs)}`, `"action_timestamp":${num(actionMs)}`);
  }
  if ((flags & MessageFlag.files) !== 0) parts.push(`"files":${str(messageFiles(ds, m))}`);
  const parent = ds.messages.replyTo[m] ?? -1;
  if (parent >= 0) {
    parts.push(`"reply_main_message_id":${str(messageId(ds, parent))}`);
    parts.push(`"reply_main_message_timestamp":${num(ds.messages.sentMs[parent] ?? 0)}`);
  }
  if ((flags & MessageFlag.forward) !== 0) parts.push(`"forward_id":${str(messageForwardId(ds, m))}`);
  if ((flags & MessageFlag.richText) !== 0) parts.push(`"rich_text":${str(messageRichText(ds, m, text))}`);
  if ((flags & MessageFlag.giphy) !== 0) parts.push(`"giphy_information":${str(messageGiphy(ds, m))}`);
  if (kind !== 'edited') {
    if (includes.reactions && (flags & MessageFlag.reactions) !== 0) parts.push(`"reactions":${str(messageReactions(ds, session, m))}`);
    if (includes.customEmojiReactions && (flags & MessageFlag.customEmoji) !== 0) {
      parts.push(`"custom_emoji_reactions":${str(messageCustomEmojiReactions(ds, session, m))}`);
    }
  }
  if (kind === 'original' && includes.botMessage && (flags & MessageFlag.bot) !== 0) parts.push(`"bot_message":${str(messageBotMessage(ds, m))}`);
  if (hasFlag(ds, m, MessageFlag.unknownFields)) parts.push(messageUnknownFields(m));
  return `{${parts.join(',')}}`;
}

/** One item of `sessions`; `lastSentMs` is the latest send as of the request. */
export function serialiseSession(session: SimSession, lastSentMs: number): string {
  const parts = [`"id":${str(session.id)}`, `"name":${str(session.name)}`, `"type":${str(session.type)}`];
  if (session.channelId !== null) parts.push(`"channel_id":${str(session.channelId)}`);
  parts.push(`"last_message_sent_time":${str(formatDateTime(lastSentMs))}`);
  if (session.memberEmails !== null) parts.push(`"member_emails":${str(session.memberEmails)}`);
  // The spec: status is "not applicable for 1:1".
  if (session.type !== '1:1') parts.push(`"status":${str(session.status)}`);
  parts.push(`"has_external_member":${session.hasExternalMember}`);
  if (session.unknownFields) parts.push(SESSION_UNKNOWN_FIELDS);
  return `{${parts.join(',')}}`;
}
