import { CHAT_MESSAGE_ENDPOINTS } from '../domain/zoom-endpoints.js';
import { ZoomApiError } from '../errors.js';
import { parseResponseBody, type ZoomClient } from './client.js';

/**
 * "Send a chat message" (`POST /chat/users/{userId}/messages`, label MEDIUM: the reports' budget, so
 * alerts must be few). Posts as `userId` (a user of the account; for a channel, one it belongs to)
 * to a channel or a contact. Scopes: `chat_message:write:admin` (granular
 * `team_chat:write:user_message:admin`). A POST is never replayed once it may have reached Zoom
 * (client.ts): at worst a message is missing, never posted twice by a retry.
 */

export { CHAT_MESSAGE_ENDPOINTS };

/** Zoom's limit on `message`. */
export const CHAT_MESSAGE_MAX_CHARS = 1024;

export interface ChatMessageRequest {
  userId: string;
  toChannel?: string | undefined;
  toContact?: string | undefined;
  message: string;
}

export async function sendChatMessage(client: ZoomClient, request: ChatMessageRequest, options: { signal?: AbortSignal } = {}): Promise<{ messageId: string; trackingId: string | undefined }> {
  const endpoint = CHAT_MESSAGE_ENDPOINTS.send;
  // JSON.stringify leaves out whichever of to_channel and to_contact is undefined.
  const body = { message: [...request.message].slice(0, CHAT_MESSAGE_MAX_CHARS).join(''), to_channel: request.toChannel, to_contact: request.toContact };
  const response = await client.request({
    endpoint,
    label: 'medium',
    method: 'POST',
    path: `/chat/users/${encodeURIComponent(request.userId)}/messages`,
    json: body,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const messageId = parseResponseBody(response, 'POST', endpoint, (text) => {
    const parsed = JSON.parse(text) as { id?: unknown };
    if (typeof parsed.id !== 'string' || parsed.id === '') {
      throw new ZoomApiError('ZOOM_INVALID_RESPONSE', 'the send-message response has no message id', { endpoint, method: 'POST', status: response.status, trackingId: response.trackingId });
    }
    return parsed.id;
  });
  return { messageId, trackingId: response.trackingId };
}
