import type { FastifyInstance } from 'fastify';
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
import { ApiError, notFound } from '../http-errors.js';
import { booleanFlag, NO_PARAMS, parseParams } from '../request-params.js';

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

export function presentMatter(m: MatterRecord, files?: readonly FileRecord[]): Record<string, unknown> {
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
    ...(files
      ? {
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
        }
      : {}),
  };
}

export function registerLegalHoldRoutes(app: FastifyInstance, ctx: ApiContext, deps: LegalHoldRoutesDeps): void {
  const reader = ctx.auth.requireRole('reader');
  const admin = ctx.auth.requireRole('admin');
  const matterParam = { matter: z.string({ error: 'name a matter by its id or exact name' }) };
  const listQuery = { state: z.enum(MATTER_STATES, { error: `state must be one of ${MATTER_STATES.join(', ')}` }).optional() };
  // Checked by the same validation as the CLI (src/legal-hold/validate.ts), whose messages name the
  // field and what a good value looks like; zod only refuses unknown fields here.
  const createBody = { name: z.unknown().optional(), custodians: z.unknown().optional(), from: z.unknown().optional(), to: z.unknown().optional() };
  const renameBody = { name: z.unknown().optional() };
  const deleteQuery = { force: booleanFlag('force') };

  const findLocally = async (ref: string): Promise<MatterRecord> => {
    const found = await findMatterHere(ctx, ref);
    if (!found) throw notFound(`no legal-hold matter ${JSON.stringify(ref)} is known here (the legal-hold job refreshes the list from Zoom)`);
    return found;
  };

  const zoomDeps = (actor: string): LegalHoldDeps => {
    if (!deps.zoom) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'legal-hold changes need Zoom credentials, and this instance has none configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)');
    return { pool: ctx.pool, zoom: deps.zoom, config: ctx.config, logger: ctx.logger, clock: ctx.clock, actor };
  };

  app.get('/v1/legal-hold/matters', { preHandler: reader }, async (request) => {
    const params = parseParams(listQuery, request.query);
    const matters = await loadMatters(ctx.pool, params.state ? { states: [params.state as MatterState] } : {});
    const counts = await countFilesByMatter(ctx.pool);
    return { items: matters.map((m) => ({ ...presentMatter(m), files: counts.get(m.matterId) ?? {} })) };
  });

  app.get('/v1/legal-hold/matters/:matter', { preHandler: reader }, async (request) => {
    const { matter } = parseParams(matterParam, request.params);
    parseParams(NO_PARAMS, request.query);
    const found = await findLocally(matter);
    return presentMatter(found, await loadFiles(ctx.pool, { matterId: found.matterId }));
  });

  app.post('/v1/legal-hold/matters', { preHandler: admin }, async (request, reply) => {
    const body = parseParams(createBody, request.body, 'body');
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
  });

  app.patch('/v1/legal-hold/matters/:matter', { preHandler: admin }, async (request) => {
    const { matter } = parseParams(matterParam, request.params);
    const body = parseParams(renameBody, request.body, 'body');
    const actor = tokenOf(request).actor;
    const result = await renameMatter(zoomDeps(actor), { matter: (await findLocally(matter)).matterId, name: body.name as string }, actor);
    return { changed: result.changed, matter: presentMatter(result.matter) };
  });

  app.delete('/v1/legal-hold/matters/:matter', { preHandler: admin }, async (request) => {
    const { matter } = parseParams(matterParam, request.params);
    const params = parseParams(deleteQuery, request.query);
    const actor = tokenOf(request).actor;
    const deleted = await deleteMatter(zoomDeps(actor), { matter: (await findLocally(matter)).matterId, force: params.force }, actor);
    return presentMatter(deleted);
  });
}
