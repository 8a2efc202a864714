import { z } from 'zod';
import { FILE_STATES } from '../../files/index.js';
import { listChatFiles, type ChatFileRow } from '../../read-model/chat-files.js';
import { auditRead, type ApiContext } from '../api-context.js';
import { pageOf } from '../api-schemas.js';
import { keysetListing } from '../cursor.js';
import type { ApiApp } from '../http-server.js';
import { NO_PARAMS, pageCursor, pageLimit, text } from '../request-params.js';
import { errorResponse, json, securedBy } from '../route-contract.js';
import { checkedFileResponses, sendStoredFile } from '../stored-file.js';

/**
 * Files shared in chat over HTTP: the file references of a session (view chat_files; role
 * `reader`, each request audited, as file names are content) and the stored content of a file by
 * its SHA-256 (role `exporter`, Range supported, every download audited).
 */

const ID_MAX = 200;
const SHA256 = /^[0-9a-f]{64}$/;

const isoText = (description?: string) => z.string().meta({ format: 'date-time', ...(description ? { description } : {}) });

export const ChatFile = z
  .object({
    session_id: z.string(),
    message_id: z.string(),
    version_id: z.number().int(),
    version_kind: z.string().meta({ description: 'original | edited | deleted' }),
    action_at: isoText('Time of the version that carried the file.'),
    ordinal: z.number().int().meta({ description: "Position in the version's files[], from 1." }),
    file_id: z.string().nullable(),
    file_name: z.string().nullable(),
    file_size: z.number().nullable().meta({ description: "file_size as the report declared it." }),
    state: z.enum(FILE_STATES as unknown as [string, ...string[]]).meta({ description: 'Capture state of the file.' }),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    first_missing_at: isoText('When Zoom first answered that the file no longer exists (state gone).').nullable(),
    zoom_digest: z.string().nullable().meta({ description: "Zoom's SHA-256 of the file (Get file info), when known." }),
    sha256: z.string().nullable().meta({ description: 'SHA-256 of the stored content.' }),
    stored_bytes: z.number().nullable(),
    stored_at: isoText().nullable(),
    digest_mismatch: z.boolean(),
    size_mismatch: z.boolean(),
    content_url: z.string().nullable().meta({ description: 'Where the stored content is downloaded (role exporter); null until stored.' }),
  })
  .meta({ id: 'ChatFile', description: 'A file entry of an archived version, with its capture state (view chat_files).' });

function present(r: ChatFileRow): z.output<typeof ChatFile> {
  return {
    session_id: r.sessionId,
    message_id: r.messageId,
    version_id: r.versionId,
    version_kind: r.versionKind,
    action_at: r.actionAt.toISOString(),
    ordinal: r.ordinal,
    file_id: r.fileId,
    file_name: r.fileName,
    file_size: r.fileSize,
    state: r.state,
    attempts: r.attempts,
    last_error: r.lastError,
    first_missing_at: r.firstMissingAt?.toISOString() ?? null,
    zoom_digest: r.zoomDigest,
    sha256: r.sha256,
    stored_bytes: r.storedBytes,
    stored_at: r.storedAt?.toISOString() ?? null,
    digest_mismatch: r.digestMismatch,
    size_mismatch: r.sizeMismatch,
    content_url: r.state === 'stored' && r.sha256 ? `/v1/files/${r.sha256}/content` : null,
  };
}

/** A session's file entries in version order, then by position in the version's files[]. */
const filePages = keysetListing('files', z.tuple([z.number().int(), z.number().int()]), (last: ChatFileRow) => [last.versionId, last.ordinal]);

export function registerFileRoutes(app: ApiApp, ctx: ApiContext): void {
  const reader = securedBy(ctx.auth, 'reader');
  const exporter = securedBy(ctx.auth, 'exporter');
  const tags = ['files'];
  const sessionIdParam = z.object({ sessionId: text('session id', ID_MAX).meta({ description: 'The Zoom session id.' }) });
  const listQuery = z.object({
    message_id: text('message_id', ID_MAX, 'a message id').optional().meta({ description: 'Only the files of this message (every version of it).' }),
    state: z.enum(FILE_STATES as unknown as [string, ...string[]], { error: `state must be one of ${FILE_STATES.join(', ')}` }).optional(),
    limit: pageLimit(ctx.config.service.maxPageSize),
    cursor: pageCursor().optional(),
  });
  const shaParam = z.object({ sha256: z.string().regex(SHA256, { error: 'a SHA-256 is 64 lower-case hex digits' }).meta({ description: 'SHA-256 of the content (chat_files.sha256).' }) });

  app.get(
    '/v1/sessions/:sessionId/files',
    reader(
      {
        operationId: 'listSessionFiles',
        summary: "A session's shared files and what became of each",
        description: 'One item per file entry of each archived version (deleted messages included), in version order, with its capture state. Each request is written to the audit log.',
        tags,
      },
      { params: sessionIdParam, querystring: listQuery, response: { 200: json('A page of file references.', pageOf(ChatFile)) } },
    ),
    async (request) => {
      const { sessionId } = request.params;
      const params = request.query;
      const { after, page } = filePages.open({ sessionId, messageId: params.message_id ?? null, state: params.state ?? null }, params.cursor);
      await auditRead(ctx.pool, request, {
        action: 'api.sessions.files',
        subjectType: 'session',
        subjectId: sessionId,
        parameters: { message_id: params.message_id ?? null, state: params.state ?? null, limit: params.limit, cursor: params.cursor ?? null },
      });
      const rows = await listChatFiles(ctx.pool, {
        sessionId,
        limit: params.limit + 1,
        ...(params.message_id ? { messageId: params.message_id } : {}),
        ...(params.state ? { state: params.state } : {}),
        ...(after ? { after: { versionId: after[0], ordinal: after[1] } } : {}),
      });
      return page(rows, params.limit, present);
    },
  );

  app.get(
    '/v1/files/:sha256/content',
    exporter(
      {
        operationId: 'downloadFile',
        summary: 'Download a stored file by its SHA-256 (Range supported)',
        description:
          'The content as captured from Zoom. One byte range per request; `If-Range` with the ETag. The SHA-256 is in `X-Content-SHA256` and `Repr-Digest`. Every download is written to the audit log.',
        tags,
      },
      {
        params: shaParam,
        querystring: NO_PARAMS,
        response: {
          ...checkedFileResponses('application/octet-stream', 'file'),
          404: errorResponse('No stored file has this SHA-256.'),
          410: errorResponse('The stored file is missing from disk (run `files verify`).'),
        },
      },
    ),
    async (request, reply) => sendStoredFile(ctx, request, reply, request.params.sha256),
  );
}
