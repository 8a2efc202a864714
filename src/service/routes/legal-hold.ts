import { z } from 'zod';
import {
  createMatter,
  deleteMatter,
  findMatterHere,
  loadFiles,
  loadMatters,
  renameMatter,
  type FileRecord,
  type LegalHoldDeps,
  type MatterRecord,
  type MatterState,
} from '../../legal-hold/index.js';
import { InputError } from '../../errors.js';
import { countFilesByMatter } from '../../read-model/legal-hold.js';
import type { ZoomClient } from '../../zoom/client.js';
import { tokenOf, type ApiContext } from '../api-context.js';
import { Matter, MatterWithFileCounts, MatterWithFiles } from '../api-schemas.js';
import type { ApiApp } from '../http-server.js';
import { ApiError, notFound } from '../http-errors.js';
import { booleanFlag, NO_PARAMS } from '../request-params.js';
import { errorResponse, json, securedBy } from '../route-contract.js';

/**
 * Legal-hold matters over HTTP, with the same logic as `zoom-chat-archiver legal-hold …` (the
 * functions in src/legal-hold): list and show read the local mirror (role `reader`; the legal-hold
 * job keeps it current); create, rename and delete change Zoom first and then the mirror, with an
 * audit entry whose actor is `api:<token name>` (role `admin`).
 */

export interface LegalHoldRoutesDeps {
  /** The service's Zoom client; undefined when no ZOOM_* credentials are configured (changes answer 503). */
  zoom: ZoomClient | undefined;
}

const MATTER_STATES = ['active', 'deleted_in_zoom', 'deleted_here'] as const;

export function presentMatter(m: MatterRecord): z.output<typeof Matter> {
  return {
    matter_id: m.matterId,
    name: m.matterName,
    state: m.state,
    start_date: m.startDate,
    end_date: m.endDate,
    creation_date: m.creationDate,
    custodians: m.custodians.map((c) => ({ identifier: c.identifier, email: c.email, user_id: c.userId })),
    first_seen_at: m.firstSeenAt,
    last_seen_at: m.lastSeenAt,
    created_here_at: m.createdHereAt,
    deleted_at: m.deletedAt,
    updated_at: m.updatedAt,
  };
}

export function presentMatterWithFiles(m: MatterRecord, files: readonly FileRecord[]): z.output<typeof MatterWithFiles> {
  return {
    ...presentMatter(m),
    files: files.map((f) => ({
      custodian: f.custodian,
      file_key: f.fileKey,
      state: f.state,
      file_start_date: f.fileStartDate,
      file_end_date: f.fileEndDate,
      file_count: f.fileCount,
      announced_bytes: f.announcedBytes,
      stored_bytes: f.storedBytes,
      sha256: f.sha256,
      zip_entries: f.zipEntries,
      attempts: f.attempts,
      last_error: f.lastError,
      first_seen_at: f.firstSeenAt,
      ready_at: f.readyAt,
      stored_at: f.storedAt,
    })),
  };
}

export function registerLegalHoldRoutes(app: ApiApp, ctx: ApiContext, deps: LegalHoldRoutesDeps): void {
  const reader = securedBy(ctx.auth, 'reader');
  const admin = securedBy(ctx.auth, 'admin');
  const tags = ['legal hold'];
  const matterParam = z.object({ matter: z.string({ error: 'name a matter by its id or exact name' }).meta({ description: 'Matter id or exact name.' }) });
  const listQuery = z.object({
    state: z.enum(MATTER_STATES, { error: `state must be one of ${MATTER_STATES.join(', ')}` }).optional().meta({ description: 'Only matters in this state.' }),
  });
  // Checked by the same validation as the CLI (src/legal-hold/validate.ts), whose messages name the
  // field and what a good value looks like; zod only refuses unknown fields here. The metadata is
  // what that validation accepts, for the document.
  const createBody = z.strictObject({
    name: z.unknown().optional().meta({ type: 'string', minLength: 1, maxLength: 128, description: 'The matter name (required).' }),
    custodians: z.unknown().optional().meta({ type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 20, description: 'Emails or Zoom user ids of 1–20 custodians (required).' }),
    from: z.unknown().optional().meta({ type: 'string', format: 'date', description: 'First day held (default: the creation date).' }),
    to: z.unknown().optional().meta({ type: 'string', format: 'date', description: 'Last day held (default: open-ended).' }),
  });
  const renameBody = z.strictObject({ name: z.unknown().optional().meta({ type: 'string', minLength: 1, maxLength: 128, description: 'The new name (required).' }) });
  const deleteQuery = z.object({ force: booleanFlag('force').meta({ description: 'Delete even though some of its files are not stored here yet (default false).' }) });
  const unknownMatter = errorResponse('No such matter is known here.');
  const zoomErrors = {
    502: errorResponse('Zoom refused or could not answer (`ZOOM_*`).'),
    503: errorResponse('The database is unavailable, or this instance has no Zoom credentials configured.'),
  };

  const findLocally = async (ref: string): Promise<MatterRecord> => {
    const found = await findMatterHere(ctx, ref);
    if (!found) throw notFound(`no legal-hold matter ${JSON.stringify(ref)} is known here (the legal-hold job refreshes the list from Zoom)`);
    return found;
  };

  const zoomDeps = (actor: string): LegalHoldDeps => {
    if (!deps.zoom) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'legal-hold changes need Zoom credentials, and this instance has none configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)');
    return { pool: ctx.pool, zoom: deps.zoom, config: ctx.config, logger: ctx.logger, clock: ctx.clock, actor };
  };

  app.get(
    '/v1/legal-hold/matters',
    reader({ operationId: 'listMatters', summary: 'Legal-hold matters known here (deleted ones included), with file counts by state', tags }, { querystring: listQuery, response: { 200: json('Matters.', z.object({ items: z.array(MatterWithFileCounts) })) } }),
    async (request) => {
      const params = request.query;
      const matters = await loadMatters(ctx.pool, params.state ? { states: [params.state as MatterState] } : {});
      const counts = await countFilesByMatter(ctx.pool);
      return { items: matters.map((m) => ({ ...presentMatter(m), files: counts.get(m.matterId) ?? {} })) };
    },
  );

  app.get(
    '/v1/legal-hold/matters/:matter',
    reader({ operationId: 'getMatter', summary: 'One matter with its custodians and files', tags }, { params: matterParam, querystring: NO_PARAMS, response: { 200: json('The matter.', MatterWithFiles), 404: unknownMatter } }),
    async (request) => {
      const found = await findLocally(request.params.matter);
      return presentMatterWithFiles(found, await loadFiles(ctx.pool, { matterId: found.matterId }));
    },
  );

  app.post(
    '/v1/legal-hold/matters',
    admin(
      { operationId: 'createMatter', summary: 'Create a matter in Zoom and record it here', tags },
      { querystring: NO_PARAMS, body: createBody, response: { 201: { ...json('Created; `Location` is its URL.', Matter), headers: { Location: { type: 'string' } } }, 404: errorResponse('Zoom does not know a custodian.'), ...zoomErrors } },
    ),
    async (request, reply) => {
      const body = request.body;
      if (body.custodians !== undefined && !Array.isArray(body.custodians)) throw new InputError('custodians must be a list of 1–20 emails or Zoom user ids', 'custodians');
      const created = await createMatter(
        zoomDeps(tokenOf(request).actor),
        { name: body.name as string, custodians: (body.custodians ?? []) as string[], from: body.from as string | undefined, to: body.to as string | undefined },
        tokenOf(request).actor,
      ).catch((err: unknown) => {
        // The shared validation names the CLI's --custodian as "custodian"; this body's field is "custodians".
        if (err instanceof InputError && err.field === 'custodian') throw new InputError(err.message, 'custodians');
        throw err;
      });
      reply.code(201).header('Location', `/v1/legal-hold/matters/${encodeURIComponent(created.matterId)}`);
      return presentMatter(created);
    },
  );

  app.patch(
    '/v1/legal-hold/matters/:matter',
    admin(
      { operationId: 'renameMatter', summary: 'Rename a matter in Zoom and here', tags },
      {
        params: matterParam,
        querystring: NO_PARAMS,
        body: renameBody,
        response: { 200: json('Renamed (changed is false when the name was already that).', z.object({ changed: z.boolean(), matter: Matter })), 404: unknownMatter, ...zoomErrors },
      },
    ),
    async (request) => {
      const actor = tokenOf(request).actor;
      const result = await renameMatter(zoomDeps(actor), { matter: (await findLocally(request.params.matter)).matterId, name: request.body.name as string }, actor);
      return { changed: result.changed, matter: presentMatter(result.matter) };
    },
  );

  app.delete(
    '/v1/legal-hold/matters/:matter',
    admin(
      { operationId: 'deleteMatter', summary: 'Delete a matter in Zoom; here it stays, marked deleted_here, with its stored files', tags },
      { params: matterParam, querystring: deleteQuery, response: { 200: json('Deleted.', Matter), 404: unknownMatter, ...zoomErrors } },
    ),
    async (request) => {
      const actor = tokenOf(request).actor;
      const deleted = await deleteMatter(zoomDeps(actor), { matter: (await findLocally(request.params.matter)).matterId, force: request.query.force }, actor);
      return presentMatter(deleted);
    },
  );
}
