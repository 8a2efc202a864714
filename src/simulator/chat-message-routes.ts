import { randomUUID } from 'node:crypto';
import { CHAT_MESSAGE_ENDPOINTS } from '../domain/zoom-endpoints.js';
import type { SimDataset, SimUser } from './dataset.js';
import { VALIDATION_FAILED, type FieldError } from './report-params.js';
import { jsonResponse, zoomError, type RouteDefinition, type RouteModule, type RouteRequest, type SimResponse } from './route-table.js';

/**
 * "Send a chat message" (`POST /chat/users/{userId}/messages`, Chat Messages; label MEDIUM), as the
 * OpenAPI document and the reference example describe it, for the archiver's alerts:
 *
 * - body: JSON (`application/json`, as the OpenAPI document) or form fields
 *   (`application/x-www-form-urlencoded`; the reference example uses form fields): `message`
 *   (required, at most 1,024 characters), `to_channel` or `to_contact`, optional
 *   `reply_main_message_id`, `at_items`;
 * - answers 201 `{"id": "<uuid>"}`;
 * - errors: validation → 400 / 300 "Validation Failed." with `errors[{field, message}]`; an unknown
 *   sender or contact → 404 / 1001 "User does not exist: <id>"; an unknown channel → 404 / 4130
 *   "Channel does not exist: <id>"; sending switched off by the handle → 400 / 5301 "Message sending
 *   failed.". Guesses where the documents are silent: both or neither of `to_channel` and
 *   `to_contact` is a validation error; channel membership is not checked.
 *
 * Every message accepted is recorded, so tests read back exactly what was posted: through the
 * simulator's handle (`chatMessages.sent()`) or `GET /__sim/chat-messages` (`DELETE` clears them).
 */

export { CHAT_MESSAGE_ENDPOINTS };

const MESSAGE_MAX_CHARS = 1024;
const CLASSIC = ['chat_message:write', 'chat_message:write:admin'];
const GRANULAR = ['team_chat:write:user_message', 'team_chat:write:user_message:admin'];

export interface SentChatMessage {
  id: string;
  /** The `{userId}` of the path, as sent. */
  userId: string;
  toChannel: string | null;
  toContact: string | null;
  message: string;
  replyMainMessageId: string | null;
  contentType: string;
  atMs: number;
}

/** The account's chat as far as sending goes: who exists, which channels, what was sent. */
export class SimChatMessages {
  private readonly messages: SentChatMessage[] = [];
  private readonly channels = new Set<string>();
  private readonly users: readonly SimUser[];
  /** False: every send fails with 400 / 5301 (a user who may not chat, an archived channel). */
  sendingAllowed = true;

  constructor(dataset: SimDataset) {
    this.users = dataset.users.filter((u) => !u.external);
    for (const s of dataset.sessions) if (s.channelId) this.channels.add(s.channelId);
  }

  findUser(idOrEmail: string): SimUser | undefined {
    const lower = idOrEmail.toLowerCase();
    return this.users.find((u) => u.userId === idOrEmail || u.memberId === idOrEmail || u.email.toLowerCase() === lower);
  }

  hasChannel(channelId: string): boolean {
    return this.channels.has(channelId);
  }

  /** A channel the account has besides those of the dataset. */
  addChannel(channelId: string): void {
    this.channels.add(channelId);
  }

  /** The channel ids of the account (dataset channels and added ones), sorted. */
  channelIds(): string[] {
    return [...this.channels].sort();
  }

  record(message: Omit<SentChatMessage, 'id'>): SentChatMessage {
    const sent = { id: randomUUID(), ...message };
    this.messages.push(sent);
    return sent;
  }

  /** Every message accepted, oldest first. */
  sent(): SentChatMessage[] {
    return this.messages.map((m) => ({ ...m }));
  }

  clear(): void {
    this.messages.length = 0;
  }
}

export const chatMessageRoutes: RouteModule = (context) => [
  {
    method: 'POST',
    pattern: '/chat/users/{userId}/messages',
    endpoint: CHAT_MESSAGE_ENDPOINTS.send,
    rateLabel: 'medium',
    scopes: { classic: CLASSIC, granular: GRANULAR },
    handle: (request) => sendMessage(context.chatMessages, request),
  },
] satisfies RouteDefinition[];

function readBody(request: RouteRequest): { fields: Record<string, unknown>; contentType: string } | null {
  const contentType = String(request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const text = request.body.toString('utf8');
  if (contentType === 'application/x-www-form-urlencoded') return { fields: Object.fromEntries(new URLSearchParams(text)), contentType };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    return { fields: value as Record<string, unknown>, contentType: contentType || 'application/json' };
  } catch {
    return null;
  }
}

function optionalString(fields: Record<string, unknown>, name: string, errors: FieldError[]): string | null {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    errors.push({ field: name, message: `Invalid field: ${name} must be a string.` });
    return null;
  }
  return value;
}

function sendMessage(chat: SimChatMessages, request: RouteRequest): SimResponse {
  const body = readBody(request);
  if (body === null) return zoomError(400, 300, 'Request body must be a JSON object or form fields.');
  const errors: FieldError[] = [];
  const message = body.fields['message'];
  if (typeof message !== 'string' || message === '') errors.push({ field: 'message', message: 'Parameter message is required and must be a string.' });
  else if ([...message].length > MESSAGE_MAX_CHARS) errors.push({ field: 'message', message: `Invalid field: message must be at most ${MESSAGE_MAX_CHARS} characters.` });
  const toChannel = optionalString(body.fields, 'to_channel', errors);
  const toContact = optionalString(body.fields, 'to_contact', errors);
  if ((toChannel === null) === (toContact === null)) errors.push({ field: 'to_channel', message: 'Exactly one of to_channel or to_contact is required.' });
  const reply = optionalString(body.fields, 'reply_main_message_id', errors);
  if (errors.length > 0) return zoomError(400, 300, VALIDATION_FAILED, errors);

  const userId = request.params['userId'] ?? '';
  if (!chat.findUser(userId)) return zoomError(404, 1001, `User does not exist: ${userId}.`);
  if (toContact !== null && !chat.findUser(toContact)) return zoomError(404, 1001, `User does not exist: ${toContact}.`);
  if (toChannel !== null && !chat.hasChannel(toChannel)) return zoomError(404, 4130, `Channel does not exist: ${toChannel}.`);
  if (!chat.sendingAllowed) return zoomError(400, 5301, 'Message sending failed.');
  const sent = chat.record({ userId, toChannel, toContact, message: message as string, replyMainMessageId: reply, contentType: body.contentType, atMs: request.nowMs });
  return jsonResponse(201, { id: sent.id });
}

/** `/__sim/chat-messages`: GET → `{messages, channels}`; DELETE → clears them; POST `/__sim/chat-messages/sending` `{"allowed": bool}`. */
export function handleChatMessageControl(chat: SimChatMessages, method: string, path: string, body: Buffer): SimResponse {
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /__sim/chat-messages':
      return jsonResponse(200, { messages: chat.sent(), channels: chat.channelIds() });
    case 'DELETE /__sim/chat-messages':
      chat.clear();
      return jsonResponse(200, { messages: [] });
    case 'POST /__sim/chat-messages/sending': {
      let allowed: unknown;
      try {
        allowed = (JSON.parse(body.toString('utf8')) as { allowed?: unknown }).allowed;
      } catch {
        allowed = undefined;
      }
      if (typeof allowed !== 'boolean') return jsonResponse(400, { error: 'expected {"allowed": true|false}' });
      chat.sendingAllowed = allowed;
      return jsonResponse(200, { allowed });
    }
    default:
      return jsonResponse(404, { error: `no simulator control route ${route}` });
  }
}
