import { z } from 'zod';
import { InputError } from '../../errors.js';
import type { VersionRow } from '../../read-model/content-read.js';
import { isSearchableQuery, searchVersions, type SearchPosition } from '../../read-model/message-search.js';
import { findSession, findSessions, sessionExists, type SessionRow } from '../../read-model/sessions.js';
import { readTranscriptPage, type TranscriptPosition } from '../../read-model/transcript.js';
import { readAuditFor, type ApiContext } from '../api-context.js';
import { pageOf, Session, SessionDetail, Version } from '../api-schemas.js';
import { exactInstantKey, keysetListing } from '../cursor.js';
import type { ApiApp } from '../http-server.js';
import { notFound } from '../http-errors.js';
import { booleanFlag, instant, NO_PARAMS, pageCursor, pageLimit, requireOrderedRange, text } from '../request-params.js';
import { serialisedFast } from '../response-serializer.js';
import { errorResponse, json, securedBy } from '../route-contract.js';

/**
 * Archive queries (role `reader`): sessions, one session, a session's transcript, message search,
 * answered by the read model (src/read-model). Reads of message content (transcript, search) are
 * written to the audit log with the token's name and the parameters, in the same statement as the
 * read.
 */

const SESSION_TYPES = ['Group', '1:1'] as const;
const EMAIL_MAX = 320;
const ID_MAX = 200;
const Q_MAX = 500;

const sessionIdParam = z.object({ sessionId: text('session id', ID_MAX).meta({ description: 'The Zoom session id.' }) });

const sessionType = z
  .string({ error: 'type must be Group or 1:1' })
  .transform((v) => (v.trim().toLowerCase() === 'group' ? 'Group' : v.trim()))
  .refine((v) => (SESSION_TYPES as readonly string[]).includes(v), { error: 'type must be Group or 1:1' })
  .meta({ enum: [...SESSION_TYPES], description: 'Group or 1:1 (group in any case).' });

// Pages of message content, the API's hot path: serialised by fast-json-stringify (response-serializer.ts).
const VersionPage = serialisedFast(pageOf(Version));
const Transcript = serialisedFast(z.object({ session_id: z.string(), ...pageOf(Version).shape }));

/** '2026-06-01T10:00:00.123456Z' → '2026-06-01T10:00:00.123Z', the form the rest of the API uses. */
function millisecondsIso(exact: string): string {
  return `${exact.slice(0, 23)}Z`;
}

export function presentVersion(row: VersionRow): z.output<typeof Version> {
  return {
    version_id: row.version_id,
    session_id: row.session_id,
    message_id: row.message_id,
    kind: row.kind,
    sent_at: row.sent_key === null ? null : millisecondsIso(row.sent_key),
    action_at: millisecondsIso(row.action_key),
    sender: row.sender,
    sender_member_id: row.sender_member_id,
    sender_display_name: row.sender_display_name,
    receiver: row.receiver,
    body: row.body,
    reply_main_message_id: row.reply_main_message_id,
    files: row.files,
    content_sha256: row.content_sha256,
    archived_at: row.archived_at,
    ...(row.raw !== undefined ? { raw: row.raw } : {}),
  };
}

export function registerArchiveRoutes(app: ApiApp, ctx: ApiContext): void {
  const { pool, config } = ctx;
  const maxPageSize = config.service.maxPageSize;
  const reader = securedBy(ctx.auth, 'reader');
  const tags = ['archive'];
  // Schemas are built once: building zod schemas per request costs more than the query.
  const sessionsQuery = z.object({
    type: sessionType.optional(),
    name: text('name', ID_MAX).optional().meta({ description: 'Substring of the session name, case-insensitive.' }),
    member: text('member', EMAIL_MAX, 'an email address').optional().meta({ description: 'An email: a 1:1 member, or anyone who sent or received a message in the session (case-insensitive).' }),
    active_from: instant('active_from', 'from').optional().meta({ description: 'Sessions with a message sent at or after this instant (yyyy-mm-dd is a UTC day).' }),
    active_to: instant('active_to', 'to').optional().meta({ description: 'Sessions with a message sent before this instant; a day (yyyy-mm-dd) includes that whole day.' }),
    limit: pageLimit(maxPageSize),
    cursor: pageCursor().optional(),
  });
  const includeRaw = booleanFlag('include_raw').meta({ description: "Also return each version's raw JSON exactly as Zoom sent it (default false)." });
  const transcriptQuery = z.object({ limit: pageLimit(maxPageSize), cursor: pageCursor().optional(), include_raw: includeRaw });
  const searchQuery = z.object({
    sender: text('sender', EMAIL_MAX, 'an email address').optional().meta({ description: 'Sender email (case-insensitive).' }),
    receiver: text('receiver', EMAIL_MAX, 'an email address').optional().meta({ description: 'Receiver email of 1:1 messages (case-insensitive).' }),
    session: text('session', ID_MAX, 'a session id').optional().meta({ description: 'A session id.' }),
    from: instant('from', 'from').optional().meta({ description: 'Sent at or after (yyyy-mm-dd is a UTC day, or a date-time with zone).' }),
    to: instant('to', 'to').optional().meta({ description: 'Sent before (a day includes that whole day).' }),
    q: text('q', Q_MAX, 'words to search for').optional().meta({ description: 'Full-text query over message bodies (web-search syntax: words, "a phrase", -excluded, or).' }),
    limit: pageLimit(maxPageSize),
    cursor: pageCursor().optional(),
    include_raw: includeRaw,
  });
  const noSession = errorResponse('No such session in the archive.');

  app.get(
    '/v1/sessions',
    reader({ operationId: 'listSessions', summary: 'Chat sessions, newest activity first', tags }, { querystring: sessionsQuery, response: { 200: json('A page of sessions.', pageOf(Session)) } }),
    async (request) => {
      const params = request.query;
      requireOrderedRange(params.active_from, params.active_to, ['active_from', 'active_to']);
      const filters = { type: params.type, name: params.name, member: params.member, activeFrom: params.active_from, activeTo: params.active_to };
      const { after, page } = sessionPages.open(filters, params.cursor);
      const rows = await findSessions(pool, filters, after ? { sortKey: after[0], sessionId: after[1] } : undefined, params.limit + 1);
      return page(rows, params.limit, ({ sort_key: _sortKey, ...session }) => session);
    },
  );

  app.get(
    '/v1/sessions/:sessionId',
    reader({ operationId: 'getSession', summary: 'One session with its version and message counts', tags }, { params: sessionIdParam, querystring: NO_PARAMS, response: { 200: json('The session.', SessionDetail), 404: noSession } }),
    async (request) => {
      const { sessionId } = request.params;
      const session = await findSession(pool, sessionId);
      if (!session) throw notFound(`no session ${JSON.stringify(sessionId)} in the archive`);
      return session;
    },
  );

  app.get(
    '/v1/sessions/:sessionId/transcript',
    reader(
      {
        operationId: 'getTranscript',
        summary: "A session's transcript: every version in order",
        description:
          'Every archived version (original, each edit, the deletion) ordered by send time, message id, version time and version id. Versions without a send time come last. Each request is written to the audit log.',
        tags,
      },
      { params: sessionIdParam, querystring: transcriptQuery, response: { 200: json('A page of versions.', Transcript), 404: noSession } },
    ),
    async (request) => {
      const { sessionId } = request.params;
      const params = request.query;
      const { after: position, page } = transcriptPages.open({ sessionId }, params.cursor);
      const audit = readAuditFor(request, {
        action: 'api.sessions.transcript',
        subjectType: 'session',
        subjectId: sessionId,
        parameters: { limit: params.limit, cursor: params.cursor ?? null, include_raw: params.include_raw },
      });
      const rows = await readTranscriptPage(pool, sessionId, position, params.limit + 1, params.include_raw, audit);
      if (rows.length === 0 && position === undefined && !(await sessionExists(pool, sessionId))) throw notFound(`no session ${JSON.stringify(sessionId)} in the archive`);
      return { session_id: sessionId, ...page(rows, params.limit, presentVersion) };
    },
  );

  app.get(
    '/v1/messages/search',
    reader(
      {
        operationId: 'searchMessages',
        summary: 'Search message versions',
        description:
          'At least one of sender, receiver, session or q; from and to narrow. Results are ordered by send time, then version id. Senders and receivers match case-insensitively; q uses PostgreSQL websearch syntax ("a phrase", -excluded, or) with the simple configuration (no stemming). Each request is written to the audit log.',
        tags,
      },
      { querystring: searchQuery, response: { 200: json('A page of versions.', VersionPage) } },
    ),
    async (request) => {
      const params = request.query;
      if (params.sender === undefined && params.receiver === undefined && params.session === undefined && params.q === undefined) {
        throw new InputError('give at least one of sender, receiver, session or q (from and to only narrow a search)', 'sender');
      }
      requireOrderedRange(params.from, params.to);
      const filters = { sender: params.sender, receiver: params.receiver, sessionId: params.session, from: params.from, to: params.to, q: params.q };
      const { after: position, page } = searchPages.open(filters, params.cursor);
      if (params.q !== undefined && !(await isSearchableQuery(pool, params.q))) {
        throw new InputError('q has no searchable words (give words, "a phrase", -excluded or or)', 'q');
      }
      const audit = readAuditFor(request, {
        action: 'api.messages.search',
        ...(params.session !== undefined ? { subjectType: 'session', subjectId: params.session } : {}),
        parameters: { ...filters, limit: params.limit, cursor: params.cursor ?? null, include_raw: params.include_raw },
      });
      const rows = await searchVersions(pool, filters, position, params.limit + 1, params.include_raw, audit);
      return page(rows, params.limit, presentVersion);
    },
  );
}

// Cursor parts are checked for shape, so a hand-made cursor can never reach SQL as a malformed value.
// eslint-disable-next-line no-control-regex
const key = z.string().max(ID_MAX).refine((v) => !/[\u0000-\u001f]/.test(v));
const versionId = z.number().int().nonnegative();

const sessionPages = keysetListing('sessions', z.tuple([z.union([exactInstantKey, z.literal('-infinity')]), key]), (last: SessionRow) => [last.sort_key, last.session_id]);

// Versions with a send time come first, in send order; those without, after them: a cursor says which phase it is in.
const transcriptPages = keysetListing(
  'transcript',
  z
    .union([z.tuple([z.literal('s'), exactInstantKey, key, exactInstantKey, versionId]), z.tuple([z.literal('u'), key, exactInstantKey, versionId])])
    .transform((p): TranscriptPosition => (p[0] === 's' ? { phase: 'sent', sentKey: p[1], messageId: p[2], actionKey: p[3], versionId: p[4] } : { phase: 'unsent', messageId: p[1], actionKey: p[2], versionId: p[3] })),
  (last: VersionRow) => (last.sent_key === null ? ['u', last.message_id, last.action_key, last.version_id] : ['s', last.sent_key, last.message_id, last.action_key, last.version_id]),
);

const searchPages = keysetListing(
  'search',
  z
    .union([z.tuple([z.literal('s'), exactInstantKey, versionId]), z.tuple([z.literal('u'), versionId])])
    .transform((p): SearchPosition => (p[0] === 's' ? { phase: 'sent', sentKey: p[1], versionId: p[2] } : { phase: 'unsent', versionId: p[1] })),
  (last: VersionRow) => (last.sent_key === null ? ['u', last.version_id] : ['s', last.sent_key, last.version_id]),
);
