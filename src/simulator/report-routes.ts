import { DERIVE, findSession, type SimDataset } from './dataset.js';
import { PAGE_TOKEN_INVALID_MESSAGE, type PageCursor } from './page-tokens.js';
import { hash32, unitFromHash } from './random.js';
import { messageBinding, parseMessageParams, parseSessionListParams, windowBinding } from './report-params.js';
import {
  currentState,
  isDeletedAsOf,
  lastSentAsOf,
  listSessionsIn,
  modificationsByActionTime,
  modificationsBySendTime,
  sentRange,
  textVersionAtDeletion,
  windowMs,
} from './report-selection.js';
import { zoomError, type RouteContext, type RouteDefinition, type RouteModule, type RouteRequest, type SimResponse } from './route-table.js';
import { serialiseMessage, serialiseSession, type ItemIncludes } from './serialise.js';
import { REPORT_ENDPOINTS } from '../domain/zoom-endpoints.js';

/**
 * `GET /report/chat/sessions` and `GET /report/chat/sessions/{sessionId}` (both MEDIUM).
 *
 * Semantics of the message report (they define the ground truth; Zoom documents only part of them):
 * - `messages`: the session's messages sent in [from 00:00:00.000Z, to 23:59:59.999Z] and not deleted,
 *   each in its current state (latest edit's text; `action_timestamp` = that edit's time, else the send
 *   time), ascending by send time then id, paged by `page_size`.
 * - `edited_messages` (only if `include_fields` asks): one entry per edit with the text after that
 *   edit, `action_timestamp` = edit time, `timestamp`/`date_time` = original send time.
 * - `deleted_messages` (only if asked): one entry per deleted message with its text at deletion,
 *   `action_timestamp` = deletion time.
 * - With `query_all_modifications=true` edits and deletions are selected by when they happened;
 *   otherwise by their message's send time. Either way ordered by when they happened.
 * - `page_size` applies to `messages` only. Whether Zoom repeats the modification arrays on every page
 *   is unknown: `modificationsPaging` chooses `first-page` (later pages carry empty arrays) or
 *   `every-page` (the full arrays on every page).
 * - `reactions`/`custom_emoji_reactions`/`bot_message` only with their include flag set to `true`.
 * - Unknown session: 404 `{code: 1001, message: "Session does not exist: <id>"}`. A guess: the spec
 *   lists no 404 for this endpoint; 1001 is Zoom's usual "does not exist" code.
 * - The account is shown as of the clock: nothing sent, edited or deleted after it is visible.
 */

export { REPORT_ENDPOINTS };

const REPORT_CLASSIC_SCOPES = ['report_chat:read:admin', 'imchat:read:admin'];

/** Both reports are GETs, MEDIUM, allowed by the same classic scopes; each has its own granular scope. */
function reportRoute(pattern: string, endpoint: string, granularScope: string, handle: RouteDefinition['handle']): RouteDefinition {
  return { method: 'GET', pattern, endpoint, rateLabel: 'medium', scopes: { classic: REPORT_CLASSIC_SCOPES, granular: [granularScope] }, handle };
}

export const reportRoutes: RouteModule = (context) => [
  reportRoute('/report/chat/sessions', REPORT_ENDPOINTS.sessions, 'report:read:list_chat_sessions:admin', (request) => listChatSessions(context, request)),
  reportRoute('/report/chat/sessions/{sessionId}', REPORT_ENDPOINTS.sessionMessages, 'report:read:chat_session:admin', (request) => getChatSessionMessages(context, request)),
];

const FIRST_PAGE: PageCursor = { position: -1, previous: -1, pageNumber: 0 };

function invalidPageToken(): SimResponse {
  return zoomError(400, 300, PAGE_TOKEN_INVALID_MESSAGE);
}

/** The duplicate-across-pages quirk: does this page boundary repeat the previous page's last item? */
function repeatsPreviousItem(ds: SimDataset, salt: number, cursor: PageCursor, pageSize: number): boolean {
  const rate = ds.options.quirks.duplicateAcrossPages;
  if (rate === 0 || cursor.pageNumber === 0 || cursor.previous < 0 || pageSize < 2) return false;
  return unitFromHash(hash32(ds.seed, DERIVE.page, salt, cursor.position)) < rate;
}

function json(body: string): SimResponse {
  return { status: 200, body };
}

function listChatSessions(context: RouteContext, request: RouteRequest): SimResponse {
  const parsed = parseSessionListParams(request.query, request.today);
  if (!parsed.ok) return parsed.response;
  const p = parsed.value;
  const ds = context.dataset;
  const binding = windowBinding(p);
  let cursor = { ...FIRST_PAGE, position: 0 };
  if (p.nextPageToken !== null) {
    const lookup = context.pageTokens.lookup(p.nextPageToken, REPORT_ENDPOINTS.sessions, binding);
    if (!lookup.ok) return invalidPageToken();
    cursor = lookup.cursor;
  }

  const listed = listSessionsIn(ds, p.from, p.to, context.sessionListing, request.nowMs);
  const positions: number[] = [];
  if (repeatsPreviousItem(ds, -1, cursor, p.pageSize) && cursor.previous < listed.length) positions.push(cursor.previous);
  let next = Math.min(cursor.position, listed.length);
  for (; next < listed.length && positions.length < p.pageSize; next++) positions.push(next);

  const nextPageToken =
    next < listed.length
      ? context.pageTokens.issue(REPORT_ENDPOINTS.sessions, binding, { position: next, previous: positions.at(-1) ?? -1, pageNumber: cursor.pageNumber + 1 })
      : '';
  const items = positions.map((i) => {
    const session = listed[i];
    if (!session) throw new Error(`listing position ${i} out of range`);
    return serialiseSession(session, lastSentAsOf(ds, session, request.nowMs) ?? session.lastMessageSentMs);
  });
  return json(
    `{"from":${JSON.stringify(p.from)},"to":${JSON.stringify(p.to)},"page_size":${p.pageSize},` +
      `"next_page_token":${JSON.stringify(nextPageToken)},"sessions":[${items.join(',')}]}`,
  );
}

function getChatSessionMessages(context: RouteContext, request: RouteRequest): SimResponse {
  const parsed = parseMessageParams(request.query, request.today);
  if (!parsed.ok) return parsed.response;
  const p = parsed.value;
  const ds = context.dataset;
  const sessionId = request.params['sessionId'] ?? '';
  const session = findSession(ds, sessionId);
  if (!session) return zoomError(404, 1001, `Session does not exist: ${sessionId}`);

  const binding = messageBinding(session.id, p);
  let cursor = FIRST_PAGE;
  if (p.nextPageToken !== null) {
    const lookup = context.pageTokens.lookup(p.nextPageToken, REPORT_ENDPOINTS.sessionMessages, binding);
    if (!lookup.ok) return invalidPageToken();
    cursor = lookup.cursor;
  }

  const nowMs = request.nowMs;
  const window = windowMs(p.from, p.to);
  const [start, end] = sentRange(ds, session, window, nowMs);
  const page: number[] = [];
  if (repeatsPreviousItem(ds, session.index, cursor, p.pageSize) && !isDeletedAsOf(ds, cursor.previous, nowMs)) page.push(cursor.previous);
  let m = Math.max(cursor.position, start);
  for (; m < end && page.length < p.pageSize; m++) if (!isDeletedAsOf(ds, m, nowMs)) page.push(m);
  while (m < end && isDeletedAsOf(ds, m, nowMs)) m++;
  const nextPageToken =
    m < end
      ? context.pageTokens.issue(REPORT_ENDPOINTS.sessionMessages, binding, { position: m, previous: page.at(-1) ?? -1, pageNumber: cursor.pageNumber + 1 })
      : '';

  const includes: ItemIncludes = {
    reactions: p.includeReactions,
    botMessage: p.includeBotMessage,
    customEmojiReactions: p.includeCustomEmojiReactions,
  };
  const messages = page.map((i) => {
    const state = currentState(ds, i, nowMs);
    return serialiseMessage(ds, i, 'original', state.textVersion, state.actionMs, includes);
  });

  let body =
    `{"from":${JSON.stringify(p.from)},"to":${JSON.stringify(p.to)},"page_size":${p.pageSize},` +
    `"next_page_token":${JSON.stringify(nextPageToken)},"messages":[${messages.join(',')}]`;
  if (p.editedMessages || p.deletedMessages) {
    const withModifications = cursor.pageNumber === 0 || context.modificationsPaging === 'every-page';
    const kinds = { edited: p.editedMessages, deleted: p.deletedMessages };
    const mods = !withModifications
      ? []
      : p.queryAllModifications
        ? modificationsByActionTime(ds, session, window, nowMs, kinds)
        : modificationsBySendTime(ds, session, window, nowMs, kinds);
    const edited: string[] = [];
    const deleted: string[] = [];
    for (const mod of mods) {
      if (mod.ordinal === 0) deleted.push(serialiseMessage(ds, mod.messageIndex, 'deleted', textVersionAtDeletion(ds, mod.messageIndex), mod.actionMs, includes));
      else edited.push(serialiseMessage(ds, mod.messageIndex, 'edited', mod.ordinal, mod.actionMs, includes));
    }
    if (p.editedMessages) body += `,"edited_messages":[${edited.join(',')}]`;
    if (p.deletedMessages) body += `,"deleted_messages":[${deleted.join(',')}]`;
  }
  return json(`${body}}`);
}
