import { VERSION } from '../version.js';

/**
 * The OpenAPI 3.1 description of the HTTP API, written by hand in one place. A test compares it with
 * the routes the server actually registers, so a route cannot be added without being documented.
 * Paths use OpenAPI's `{param}` form; `toOpenApiPath` converts fastify's `:param` form.
 */

type Json = Record<string, unknown>;

export function toOpenApiPath(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string): Json => ({ description, content: { 'application/json': { schema: ref('Error') } } });
const json = (description: string, schema: Json): Json => ({ description, content: { 'application/json': { schema } } });
const query = (name: string, description: string, schema: Json = { type: 'string' }, required = false): Json => ({ name, in: 'query', required, description, schema });
const pathParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const page = (item: string): Json => ({
  type: 'object',
  required: ['items', 'next_cursor'],
  properties: { items: { type: 'array', items: ref(item) }, next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page.' } },
});

const limitParam = query('limit', 'Rows per page, 1 to API_MAX_PAGE_SIZE (default 500); default 100.', { type: 'integer', minimum: 1 });
const cursorParam = query('cursor', 'Opaque cursor from the previous page (`next_cursor`). Keep the other parameters unchanged while paging.');
const includeRawParam = query('include_raw', 'Also return each version\'s raw JSON exactly as Zoom sent it.', { type: 'boolean' });

const authErrors: Json = {
  '400': errorResponse('Bad parameters; the body names the parameter.'),
  '401': errorResponse('No token, or a token that is unknown or revoked (`WWW-Authenticate: Bearer`).'),
  '403': errorResponse('The token\'s role is too small for this route.'),
  '503': errorResponse('The database is unavailable, or the query took too long (`QUERY_TIMEOUT`).'),
};

function secured(role: 'reader' | 'exporter' | 'admin', operation: Json): Json {
  return {
    security: [{ bearerToken: [] }],
    'x-required-role': role,
    ...operation,
    description: `${(operation['description'] as string | undefined) ?? ''}\n\nRequires a token with role \`${role}\`${role === 'admin' ? '' : ' or higher'}.`.trim(),
    responses: { ...authErrors, ...(operation['responses'] as Json) },
  };
}

const archivePaths: Json = {
  '/v1/sessions': {
    get: secured('reader', {
      operationId: 'listSessions',
      summary: 'Chat sessions, newest activity first',
      parameters: [
        query('type', 'Group or 1:1.', { type: 'string', enum: ['Group', '1:1'] }),
        query('name', 'Substring of the session name, case-insensitive.'),
        query('member', 'An email: a 1:1 member, or anyone who sent or received a message in the session (case-insensitive).'),
        query('active_from', 'Sessions with a message sent at or after this instant (yyyy-mm-dd is a UTC day).', { type: 'string' }),
        query('active_to', 'Sessions with a message sent before this instant; a day (yyyy-mm-dd) includes that whole day.', { type: 'string' }),
        limitParam,
        cursorParam,
      ],
      responses: { '200': json('A page of sessions.', page('Session')) },
    }),
  },
  '/v1/sessions/{sessionId}': {
    get: secured('reader', {
      operationId: 'getSession',
      summary: 'One session with its version and message counts',
      parameters: [pathParam('sessionId', 'The Zoom session id.')],
      responses: { '200': json('The session.', ref('SessionDetail')), '404': errorResponse('No such session in the archive.') },
    }),
  },
  '/v1/sessions/{sessionId}/transcript': {
    get: secured('reader', {
      operationId: 'getTranscript',
      summary: "A session's transcript: every version in order",
      description:
        'Every archived version (original, each edit, the deletion) ordered by send time, message id, version time and version id. Versions without a send time come last. Each request is written to the audit log.',
      parameters: [pathParam('sessionId', 'The Zoom session id.'), limitParam, cursorParam, includeRawParam],
      responses: {
        '200': json('A page of versions.', { ...page('Version'), properties: { session_id: { type: 'string' }, ...(page('Version')['properties'] as Json) } }),
        '404': errorResponse('No such session in the archive.'),
      },
    }),
  },
  '/v1/messages/search': {
    get: secured('reader', {
      operationId: 'searchMessages',
      summary: 'Search message versions',
      description:
        'At least one of sender, receiver, session or q; from and to narrow. Results are ordered by send time, then version id. Senders and receivers match case-insensitively; q uses PostgreSQL websearch syntax ("a phrase", -excluded, or) with the simple configuration (no stemming). Each request is written to the audit log.',
      parameters: [
        query('sender', 'Sender email (case-insensitive).'),
        query('receiver', 'Receiver email of 1:1 messages (case-insensitive).'),
        query('session', 'A session id.'),
        query('from', 'Sent at or after (yyyy-mm-dd is a UTC day, or a date-time with zone).'),
        query('to', 'Sent before (a day includes that whole day).'),
        query('q', 'Full-text query over message bodies.'),
        limitParam,
        cursorParam,
        includeRawParam,
      ],
      responses: { '200': json('A page of versions.', page('Version')) },
    }),
  },
};

const operationsPaths: Json = {
  '/healthz': {
    get: {
      operationId: 'health',
      summary: 'Liveness: the process is up',
      responses: { '200': json('Up.', { type: 'object', properties: { status: { const: 'ok' }, version: { type: 'string' }, started_at: { type: 'string', format: 'date-time' }, uptime_seconds: { type: 'integer' } } }) },
    },
  },
  '/readyz': {
    get: {
      operationId: 'ready',
      summary: 'Readiness to serve requests: database reachable, migrations current, not shutting down (for load balancers and readinessProbes)',
      responses: { '200': json('Ready.', ref('Readiness')), '503': json('Not ready; `failing` names the checks that failed; Retry-After is set.', ref('Readiness')) },
    },
  },
  '/readyz/strict': {
    get: {
      operationId: 'readyStrict',
      summary: 'Readiness and archive health: as /readyz, and the last sync did not fail and no window is at horizon risk (for alerting probes)',
      responses: { '200': json('Ready and healthy.', ref('Readiness')), '503': json('Not ready or not healthy; `failing` names the checks that failed; Retry-After is set.', ref('Readiness')) },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format)',
      responses: { '200': { description: 'Metrics.', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } } },
    },
  },
  '/openapi.json': {
    get: { operationId: 'openapi', summary: 'This document', responses: { '200': json('OpenAPI 3.1 document.', { type: 'object' }) } },
  },
  '/v1/status': {
    get: secured('reader', {
      operationId: 'status',
      summary: 'Windows of the horizon, horizon risk, and each job with its schedule and last run',
      responses: { '200': json('Status.', { type: 'object' }) },
    }),
  },
  '/v1/jobs/runs': {
    get: secured('reader', {
      operationId: 'listJobRuns',
      summary: 'Job runs on any replica, newest first',
      parameters: [query('job', 'sync, deep-sync, legal-hold, horizon-check, audit, alerts or retention.'), limitParam, cursorParam],
      responses: { '200': json('A page of job runs.', page('JobRun')) },
    }),
  },
  '/v1/jobs/{job}/run': {
    post: secured('admin', {
      operationId: 'runJob',
      summary: 'Run a job now, in the background',
      description: 'The same guarantees as a scheduled run: one runner per job across replicas (if another replica is running it, this run is recorded as skipped), recorded in job_runs with trigger "manual".',
      parameters: [pathParam('job', 'sync, deep-sync, legal-hold, horizon-check, audit, alerts or retention.')],
      responses: {
        '202': json('Started.', { type: 'object', properties: { job: { type: 'string' }, status: { const: 'started' }, runs_url: { type: 'string' } } }),
        '409': errorResponse('The job is already running on this instance.'),
      },
    }),
  },
};

const legalHoldPaths: Json = {
  '/v1/legal-hold/matters': {
    get: secured('reader', {
      operationId: 'listMatters',
      summary: 'Legal-hold matters known here (deleted ones included), with file counts by state',
      parameters: [query('state', 'active, deleted_in_zoom or deleted_here.', { type: 'string', enum: ['active', 'deleted_in_zoom', 'deleted_here'] })],
      responses: { '200': json('Matters.', { type: 'object', properties: { items: { type: 'array', items: ref('Matter') } } }) },
    }),
    post: secured('admin', {
      operationId: 'createMatter',
      summary: 'Create a matter in Zoom and record it here',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['name', 'custodians'],
              additionalProperties: false,
              properties: {
                name: { type: 'string', minLength: 1, maxLength: 128 },
                custodians: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 20, description: 'Emails or Zoom user ids.' },
                from: { type: 'string', format: 'date' },
                to: { type: 'string', format: 'date' },
              },
            },
          },
        },
      },
      responses: { '201': json('Created.', ref('Matter')), '502': errorResponse('Zoom refused or could not answer.') },
    }),
  },
  '/v1/legal-hold/matters/{matter}': {
    get: secured('reader', {
      operationId: 'getMatter',
      summary: 'One matter with its custodians and files',
      parameters: [pathParam('matter', 'Matter id or exact name.')],
      responses: { '200': json('The matter.', ref('Matter')), '404': errorResponse('Unknown matter.') },
    }),
    patch: secured('admin', {
      operationId: 'renameMatter',
      summary: 'Rename a matter in Zoom and here',
      parameters: [pathParam('matter', 'Matter id or exact name.')],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' } } } } } },
      responses: { '200': json('Renamed (changed false when the name was already that).', { type: 'object', properties: { changed: { type: 'boolean' }, matter: ref('Matter') } }), '404': errorResponse('Unknown matter.') },
    }),
    delete: secured('admin', {
      operationId: 'deleteMatter',
      summary: 'Delete a matter in Zoom; here it stays, marked deleted_here, with its stored files',
      parameters: [pathParam('matter', 'Matter id or exact name.'), query('force', 'Delete even though some of its files are not stored here yet.', { type: 'boolean' })],
      responses: { '200': json('Deleted.', ref('Matter')), '404': errorResponse('Unknown matter.') },
    }),
  },
};

const exportPaths: Json = {
  '/v1/exports': {
    post: secured('exporter', {
      operationId: 'createExport',
      summary: 'Start an export; answers 202 with its id at once',
      description: 'Exactly one of matter, custodians (with from and to) or sessions. The bundle is written in the background; poll the status URL.',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              properties: {
                matter: { type: 'string' },
                custodians: { type: 'array', items: { type: 'string', format: 'email' } },
                sessions: { type: 'array', items: { type: 'string' } },
                from: { type: 'string', format: 'date' },
                to: { type: 'string', format: 'date' },
                query: { type: 'string' },
                formats: { type: 'array', items: { type: 'string', enum: ['jsonl', 'csv', 'html', 'rsmf'] } },
                requested_by: { type: 'string', description: 'Who asked, or a ticket reference (default: the token).' },
              },
            },
          },
        },
      },
      responses: { '202': json('Accepted; `Location` is the status URL.', ref('Export')), '429': errorResponse('Too many exports running on this instance.') },
    }),
    get: secured('exporter', {
      operationId: 'listExports',
      summary: 'Exports, newest first',
      parameters: [query('state', 'running, complete or failed.', { type: 'string', enum: ['running', 'complete', 'failed'] }), limitParam, cursorParam],
      responses: { '200': json('A page of exports.', page('Export')) },
    }),
  },
  '/v1/exports/{exportId}': {
    get: secured('exporter', {
      operationId: 'getExport',
      summary: 'An export: state, progress, counts, SHA-256',
      parameters: [pathParam('exportId', 'The export id (UUID).')],
      responses: { '200': json('The export.', ref('Export')), '404': errorResponse('Unknown export.') },
    }),
  },
  '/v1/exports/{exportId}/bundle': {
    get: secured('exporter', {
      operationId: 'downloadExport',
      summary: 'Download the bundle (Range supported)',
      description:
        'One byte range per request (`bytes=0-99`, `bytes=100-`, `bytes=-100`); `If-Range` with the ETag. The bundle\'s SHA-256 is in `X-Content-SHA256` (hex) and `Repr-Digest`. Every download is written to the audit log.',
      parameters: [pathParam('exportId', 'The export id (UUID).')],
      responses: {
        '200': { description: 'The whole bundle.', headers: digestHeaders(), content: { 'application/zip': { schema: { type: 'string', contentEncoding: 'binary' } } } },
        '206': { description: 'The requested range.', headers: { ...digestHeaders(), 'Content-Range': { schema: { type: 'string' } } }, content: { 'application/zip': { schema: { type: 'string', contentEncoding: 'binary' } } } },
        '404': errorResponse('Unknown export.'),
        '409': errorResponse('The export is still running, or failed.'),
        '410': errorResponse('The bundle is no longer on disk.'),
        '416': errorResponse('The range is outside the bundle (`Content-Range: bytes */size`).'),
      },
    }),
  },
};

function digestHeaders(): Json {
  return {
    'X-Content-SHA256': { description: 'SHA-256 of the whole bundle, lower-case hex.', schema: { type: 'string' } },
    'Repr-Digest': { description: 'RFC 9530 digest of the whole bundle.', schema: { type: 'string' } },
    ETag: { schema: { type: 'string' } },
    'Accept-Ranges': { schema: { const: 'bytes' } },
  };
}

/**
 * One version as the API returns it. Also the response schema of the transcript and search routes,
 * so fastify serialises their pages with fast-json-stringify (and drops anything not listed here).
 */
export const VERSION_SCHEMA: Json = {
  type: 'object',
  description: 'One archived version of a message (columns of the chat_message_versions view).',
  properties: {
    version_id: { type: 'integer' },
    session_id: { type: 'string' },
    message_id: { type: 'string' },
    kind: { type: 'string', enum: ['original', 'edited', 'deleted'] },
    sent_at: { type: ['string', 'null'], format: 'date-time' },
    action_at: { type: 'string', format: 'date-time' },
    sender: { type: ['string', 'null'] },
    sender_member_id: { type: ['string', 'null'] },
    sender_display_name: { type: ['string', 'null'] },
    receiver: { type: ['string', 'null'] },
    body: { type: ['string', 'null'] },
    reply_main_message_id: { type: ['string', 'null'] },
    files: {},
    content_sha256: { type: 'string' },
    archived_at: { type: 'string', format: 'date-time' },
    raw: { description: 'Only with include_raw=true.' },
  },
};

/** A page of versions (transcript, search): the route's 200 response schema. */
export const VERSION_PAGE_SCHEMA: Json = {
  type: 'object',
  properties: {
    session_id: { type: 'string' },
    items: { type: 'array', items: VERSION_SCHEMA },
    next_cursor: { type: ['string', 'null'] },
  },
};

const schemas: Json = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'Stable: INPUT_INVALID, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, GONE, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, RANGE_NOT_SATISFIABLE, TOO_MANY_EXPORTS, QUERY_TIMEOUT, SERVICE_UNAVAILABLE, INTERNAL, ZOOM_*…' },
          message: { type: 'string' },
          parameter: { type: 'string', description: 'The parameter or field at fault.' },
          request_id: { type: 'string', description: 'Also in the X-Request-Id header and the service log.' },
        },
      },
    },
  },
  Session: {
    type: 'object',
    properties: {
      session_id: { type: 'string' },
      type: { type: ['string', 'null'] },
      name: { type: ['string', 'null'] },
      channel_id: { type: ['string', 'null'] },
      member_emails: { type: ['array', 'null'], items: { type: 'string' } },
      status: { type: ['string', 'null'] },
      has_external_member: { type: ['boolean', 'null'] },
      last_message_sent_at: { type: ['string', 'null'], format: 'date-time' },
      first_archived_at: { type: 'string', format: 'date-time' },
      last_archived_at: { type: 'string', format: 'date-time' },
    },
  },
  SessionDetail: {
    allOf: [
      ref('Session'),
      { type: 'object', properties: { versions: { type: 'integer' }, messages: { type: 'integer' }, first_sent_at: { type: ['string', 'null'], format: 'date-time' }, last_sent_at: { type: ['string', 'null'], format: 'date-time' } } },
    ],
  },
  Version: VERSION_SCHEMA,
  JobRun: {
    type: 'object',
    properties: {
      job_run_id: { type: 'integer' },
      job: { type: 'string' },
      instance: { type: 'string' },
      started_at: { type: 'string', format: 'date-time' },
      finished_at: { type: ['string', 'null'], format: 'date-time' },
      outcome: { type: 'string', enum: ['running', 'succeeded', 'failed', 'skipped', 'aborted'] },
      figures: { type: ['object', 'null'] },
      error: { type: ['string', 'null'] },
    },
  },
  Readiness: {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ready', 'not_ready'] },
      strict: { type: 'boolean', description: 'true for /readyz/strict (archive health judged too)' },
      failing: { type: 'array', items: { type: 'string', enum: ['database', 'migrations', 'last_sync', 'horizon'] } },
      shutting_down: { type: 'boolean' },
      checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: ['boolean', 'null'] }, detail: { type: 'string' } } } },
    },
  },
  Matter: {
    type: 'object',
    properties: {
      matter_id: { type: 'string' },
      name: { type: 'string' },
      state: { type: 'string', enum: ['active', 'deleted_in_zoom', 'deleted_here'] },
      start_date: { type: ['string', 'null'], format: 'date' },
      end_date: { type: ['string', 'null'], format: 'date' },
      custodians: { type: 'array', items: { type: 'object' } },
      files: { description: 'Counts by state in lists; the files themselves for one matter.' },
    },
  },
  Export: {
    type: 'object',
    properties: {
      export_id: { type: 'string', format: 'uuid' },
      state: { type: 'string', enum: ['running', 'complete', 'failed'] },
      requested_by: { type: 'string' },
      requested_at: { type: 'string', format: 'date-time' },
      selection: { type: 'string' },
      filter: { type: 'object' },
      formats: { type: 'array', items: { type: 'string' } },
      progress: { type: ['object', 'null'] },
      counts: { type: ['object', 'null'] },
      bytes: { type: ['integer', 'null'] },
      sha256: { type: ['string', 'null'] },
      error: { type: ['string', 'null'] },
      finished_at: { type: ['string', 'null'], format: 'date-time' },
      download_url: { type: ['string', 'null'] },
    },
  },
};

export function buildOpenApiDocument(options: { legalHold: boolean; exports: boolean }): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'zoom-chat-archiver API',
      version: VERSION,
      description:
        'Query the Zoom Team Chat archive, manage legal-hold matters and fetch export bundles. Bearer tokens (`zoom-chat-archiver token create`) carry a role: reader (queries), exporter (+ exports), admin (+ legal-hold changes). Reads of message content and bundle downloads are written to the audit log with the token\'s name.',
    },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'A token created with `zoom-chat-archiver token create` (`zca_…`).' } }, schemas },
    paths: { ...operationsPaths, ...archivePaths, ...(options.legalHold ? legalHoldPaths : {}), ...(options.exports ? exportPaths : {}) },
  };
}
