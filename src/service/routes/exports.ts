import { z } from 'zod';
import { getExport, resolveRecordedPath, summariseFilter, type ExportRecord } from '../../export/index.js';
import { API_STATEMENT_TIMEOUT_MS, auditRead, tokenOf, type ApiContext } from '../api-context.js';
import { Export, pageOf } from '../api-schemas.js';
import { inBoundedTransaction } from '../bounded-transaction.js';
import { listExportIds } from '../../read-model/export-bundles.js';
import { exactInstantKey, keysetListing } from '../cursor.js';
import { launchExport } from '../export-launcher.js';
import type { ApiApp } from '../http-server.js';
import { ApiError, notFound } from '../http-errors.js';
import { pageCursor, pageLimit, NO_PARAMS, text } from '../request-params.js';
import { errorResponse, json, securedBy } from '../route-contract.js';
import { bundleFile, checkedFileResponses, sendCheckedFile } from '../stored-file.js';

/**
 * Export bundles over HTTP (role `exporter`), with the same logic as `zoom-chat-archiver export`
 * (src/export): POST starts an export and answers 202 with its id at once; GET shows its state and
 * progress; GET …/bundle downloads the finished zip with Range support, its SHA-256 in
 * `X-Content-SHA256` and `Repr-Digest`, and every download (each range request too) in the audit log.
 */

export interface ExportRoutesDeps {
  /** Exports this process runs at once; one more is answered 429. */
  maxConcurrentExports: number;
}

const EXPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function presentExport(r: ExportRecord): z.output<typeof Export> {
  return {
    export_id: r.exportId,
    state: r.state,
    requested_by: r.requestedBy,
    requested_at: r.requestedAt,
    selection: summariseFilter(r.filter),
    filter: r.filter,
    formats: r.formats,
    progress: r.progress,
    counts: r.counts === null ? null : { ...r.counts },
    bytes: r.bytes,
    sha256: r.sha256,
    error: r.error,
    finished_at: r.finishedAt,
    updated_at: r.updatedAt,
    download_url: r.state === 'complete' ? `/v1/exports/${r.exportId}/bundle` : null,
  };
}

/** An export as its listing pages through it: by its requested_at at full precision (`key`), then its id. */
interface ListedExport {
  record: ExportRecord;
  key: string;
}

const exportPages = keysetListing('exports', z.tuple([exactInstantKey, z.string().regex(EXPORT_ID)]), (last: ListedExport) => [last.key, last.record.exportId]);

const stringList = (name: string) =>
  z
    .union([z.string(), z.array(z.string({ error: `${name} must be a list of strings` }))], { error: `${name} must be a string or a list of strings` })
    .transform((v) => (typeof v === 'string' ? [v] : v));

export function registerExportRoutes(app: ApiApp, ctx: ApiContext, deps: ExportRoutesDeps): void {
  const exporter = securedBy(ctx.auth, 'exporter');
  const tags = ['exports'];
  const idParam = z.object({ exportId: z.string().regex(EXPORT_ID, { error: 'an export id is a UUID, e.g. 2f1c…-…' }).meta({ description: 'The export id (UUID).', format: 'uuid' }) });
  const createBody = z.strictObject({
    matter: text('matter', 200).optional().meta({ description: 'A legal-hold matter (id or exact name): everything it holds, and its stored zips.' }),
    custodians: stringList('custodians').optional().meta({ description: 'Emails (1–100), with from and to: what they sent or received, in their sessions.' }),
    sessions: stringList('sessions').optional().meta({ description: 'Session ids (1–1,000).' }),
    from: text('from', 10, 'a date as yyyy-mm-dd').optional().meta({ format: 'date', description: 'First UTC day (send time), inclusive.' }),
    to: text('to', 10, 'a date as yyyy-mm-dd').optional().meta({ format: 'date', description: 'Last UTC day, inclusive.' }),
    query: text('query', 1000, 'words to search for').optional().meta({ description: 'Only messages any version of which matches this full-text query (web-search syntax).' }),
    formats: stringList('formats').optional().meta({ description: 'A subset of jsonl, csv, html, rsmf (default all four).' }),
    requested_by: text('requested_by', 200, 'a name or ticket reference').optional().meta({ description: 'Who asked, or a ticket reference (default: the token).' }),
  });
  const listQuery = z.object({
    state: z.enum(['running', 'complete', 'failed'], { error: 'state must be running, complete or failed' }).optional().meta({ description: 'Only exports in this state.' }),
    limit: pageLimit(ctx.config.service.maxPageSize, 50),
    cursor: pageCursor().optional(),
  });
  const unknownExport = errorResponse('No such export.');

  const loadExport = async (exportId: string): Promise<ExportRecord> => {
    const record = await getExport(ctx.pool, exportId);
    if (!record) throw notFound(`no export ${exportId}`);
    return record;
  };

  app.post(
    '/v1/exports',
    exporter(
      {
        operationId: 'createExport',
        summary: 'Start an export; answers 202 with its id at once',
        description: 'Exactly one of matter, custodians (with from and to) or sessions. The bundle is written in the background; poll the status URL.',
        tags,
      },
      {
        querystring: NO_PARAMS,
        body: createBody,
        response: {
          202: { ...json('Accepted; `Location` (and `status_url`) is the status URL.', Export.extend({ status_url: z.string() })), headers: { Location: { type: 'string' } } },
          429: errorResponse('Too many exports running on this instance (Retry-After).'),
        },
      },
    ),
    async (request, reply) => {
      const body = request.body;
      const running = ctx.inFlight.list().filter((e) => e.kind === 'export').length;
      if (running >= deps.maxConcurrentExports) {
        throw new ApiError(429, 'TOO_MANY_EXPORTS', `${running} export(s) are already running on this instance; try again when one has finished`, undefined, { 'Retry-After': '30' });
      }
      if (!ctx.inFlight.isAccepting) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'the service is shutting down; try again on another instance', undefined, { 'Retry-After': '5' });
      const actor = tokenOf(request).actor;
      const launched = await launchExport(
        { pool: ctx.backgroundPool, dataDir: ctx.config.dataDir, logger: ctx.logger, clock: ctx.clock, inFlight: ctx.inFlight },
        {
          matter: body.matter,
          custodians: body.custodians,
          sessions: body.sessions,
          from: body.from,
          to: body.to,
          query: body.query,
          formats: body.formats,
          requestedBy: body.requested_by,
        },
        actor,
      );
      const location = `/v1/exports/${launched.record.exportId}`;
      reply.code(202).header('Location', location);
      return { ...presentExport(launched.record), status_url: location };
    },
  );

  app.get(
    '/v1/exports',
    exporter({ operationId: 'listExports', summary: 'Exports, newest first', tags }, { querystring: listQuery, response: { 200: json('A page of exports.', pageOf(Export)) } }),
    async (request) => {
      const params = request.query;
      const { after, page } = exportPages.open({ state: params.state }, params.cursor);
      const rows = await inBoundedTransaction(ctx.pool, { statementTimeoutMs: API_STATEMENT_TIMEOUT_MS, readOnly: true }, async (client) => {
        const ids = await listExportIds(client, { state: params.state, after: after ? { requestedAtKey: after[0], exportId: after[1] } : undefined, limit: params.limit + 1 });
        const records: ListedExport[] = [];
        for (const r of ids) {
          const record = await getExport(client, r.exportId);
          if (record) records.push({ record, key: r.key });
        }
        return records;
      });
      return page(rows, params.limit, (r) => presentExport(r.record));
    },
  );

  app.get(
    '/v1/exports/:exportId',
    exporter({ operationId: 'getExport', summary: 'An export: state, progress, counts, SHA-256', tags }, { params: idParam, querystring: NO_PARAMS, response: { 200: json('The export.', Export), 404: unknownExport } }),
    async (request) => presentExport(await loadExport(request.params.exportId)),
  );

  app.get(
    '/v1/exports/:exportId/bundle',
    exporter(
      {
        operationId: 'downloadExport',
        summary: 'Download the bundle (Range supported)',
        description:
          "One byte range per request (`bytes=0-99`, `bytes=100-`, `bytes=-100`); `If-Range` with the ETag. The bundle's SHA-256 is in `X-Content-SHA256` (hex) and `Repr-Digest`. Every download is written to the audit log.",
        tags,
      },
      {
        params: idParam,
        querystring: NO_PARAMS,
        response: {
          ...checkedFileResponses('application/zip', 'bundle'),
          404: unknownExport,
          409: errorResponse('The export is still running, or failed.'),
          410: errorResponse('The bundle is no longer on disk.'),
        },
      },
    ),
    async (request, reply) => {
      const { exportId } = request.params;
      const record = await loadExport(exportId);
      if (record.state !== 'complete' || !record.path || !record.sha256 || record.bytes === null) {
        throw new ApiError(409, 'CONFLICT', record.state === 'running' ? `export ${exportId} is still running; GET /v1/exports/${exportId} shows its progress` : `export ${exportId} failed; it has no bundle (${record.error ?? 'no reason recorded'})`);
      }
      const { sha256, bytes } = record;
      return sendCheckedFile(ctx, request, reply, {
        ...bundleFile(exportId, resolveRecordedPath(ctx.config.dataDir, record.path), { sha256, bytes }),
        audit: (range) => auditRead(ctx.pool, request, { action: 'api.exports.download', subjectType: 'export', subjectId: exportId, parameters: { range, sha256, bytes } }),
      });
    },
  );
}
