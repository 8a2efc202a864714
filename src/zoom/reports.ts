import type { IsoDate, MessagePage, SessionPage } from '../domain/types.js';
import { InputError } from '../errors.js';
import { addMonths, isIsoDate } from '../util/dates.js';
import type { QueryValue, ZoomClient } from './client.js';
import { listPages, type PageMeta } from './pagination.js';
import { parseMessagePage, parseSessionPage } from './report-parser.js';
import { REPORT_ENDPOINTS } from '../domain/zoom-endpoints.js';

/**
 * The two chat report endpoints (both MEDIUM). The report functions validate their window before
 * anything is sent, because Zoom's answer to a bad range is an undocumented 400, and they return the
 * pager directly so that a bad argument throws at the call site.
 */

export const SESSIONS_ENDPOINT = REPORT_ENDPOINTS.sessions;
export const SESSION_MESSAGES_ENDPOINT = REPORT_ENDPOINTS.sessionMessages;
/** Zoom's maximum for each endpoint: fewer calls for the same data. */
const SESSIONS_PAGE_SIZE = 300;
const MESSAGES_PAGE_SIZE = 100;

export interface ReportWindowOptions {
  from: IsoDate;
  /** Inclusive. */
  to: IsoDate;
  signal?: AbortSignal;
  /** Continue from a saved `nextPageToken`. */
  resumeToken?: string;
  /** Restarts from page 1 after an expired page token before giving up. Default 3. */
  maxRestarts?: number;
}

/** Rejects what Zoom would: not a real `yyyy-mm-dd`, `from` after `to`, or more than one month. */
export function validateReportWindow(from: string, to: string): void {
  if (!isIsoDate(from)) throw new InputError(`from must be a calendar date as yyyy-mm-dd, got ${JSON.stringify(from)}`, 'from');
  if (!isIsoDate(to)) throw new InputError(`to must be a calendar date as yyyy-mm-dd, got ${JSON.stringify(to)}`, 'to');
  if (from > to) throw new InputError(`from (${from}) must not be after to (${to})`, 'from');
  // Zoom's own example asks for 2020-03-01..2020-04-01, so the limit is one calendar month inclusive.
  const latest = addMonths(from, 1);
  if (to > latest) throw new InputError(`a chat report window may span one month at most: ${from}..${to} ends after ${latest}`, 'to');
}

export function listChatSessionPages(client: ZoomClient, options: ReportWindowOptions): AsyncGenerator<SessionPage & PageMeta, void, undefined> {
  return reportPages(client, { endpoint: SESSIONS_ENDPOINT, path: '/report/chat/sessions', pageSize: SESSIONS_PAGE_SIZE, parse: parseSessionPage }, options);
}

/** Everything the message report can tell, on every page. */
const MESSAGE_REPORT_QUERY = {
  include_fields: 'edited_messages,deleted_messages',
  include_reactions: true,
  include_bot_message: true,
  include_custom_emoji_reactions: true,
  // Selects edits and deletions by when they happened, so today's edit of an old message is
  // caught (see ZOOM-API-NOTES.md, "Chat reports").
  query_all_modifications: true,
} as const;

export function fetchSessionMessagePages(
  client: ZoomClient,
  sessionId: string,
  options: ReportWindowOptions,
): AsyncGenerator<MessagePage & PageMeta, void, undefined> {
  if (sessionId === '') throw new InputError('sessionId must not be empty', 'sessionId');
  const path = `/report/chat/sessions/${encodeURIComponent(sessionId)}`;
  return reportPages(client, { endpoint: SESSION_MESSAGES_ENDPOINT, path, pageSize: MESSAGES_PAGE_SIZE, query: MESSAGE_REPORT_QUERY, parse: parseMessagePage }, options);
}

/** A report's pages (MEDIUM): the window is checked before anything is sent, then asked for on every page. */
function reportPages<P extends { nextPageToken: string }>(
  client: ZoomClient,
  report: { endpoint: string; path: string; pageSize: number; query?: Record<string, QueryValue>; parse: (bodyText: string) => P },
  options: ReportWindowOptions,
): AsyncGenerator<P & PageMeta, void, undefined> {
  validateReportWindow(options.from, options.to);
  const { from, to } = options;
  return listPages(
    client,
    {
      endpoint: report.endpoint,
      label: 'medium',
      path: report.path,
      query: (pageToken) => ({ from, to, page_size: report.pageSize, next_page_token: pageToken, ...report.query }),
      parse: report.parse,
    },
    options,
  );
}
