import { DatabaseError, InputError, ZoomApiError, hasCode } from '../errors.js';
import * as zoomLegalHold from '../zoom/legal-hold.js';
import type { ZoomClient } from '../zoom/client.js';
import type { LegalHoldDeps, LocalLegalHoldDeps } from './deps.js';
import { countUnstoredFiles } from './file-store.js';
import { findMattersByName, loadMatter, recordCreatedMatter, recordDeletedHere, recordDeletedInZoom, recordRenamedMatter, type MatterRecord } from './matter-store.js';
import { syncMatters } from './matter-sync.js';
import { validateCreateMatterInput, validateMatterName, validateMatterRef, type CreateMatterInput } from './validate.js';

/**
 * The changes a person can make to Zoom's matters: create, rename (the only update Zoom allows)
 * and delete. Each validates its input before any call, asks Zoom, then records the outcome in the
 * local mirror together with its audit entry. Deleting through this project marks the matter
 * `deleted_here`; its row, its custodians and its stored files stay.
 */

export interface RenameMatterInput {
  /** The matter's id or exact name. */
  matter: string;
  name: string;
}

export interface DeleteMatterInput {
  matter: string;
  /** Delete even though some of the matter's files are not stored here yet (they are then lost). */
  force?: boolean;
}

export async function createMatter(deps: LegalHoldDeps, input: CreateMatterInput, actor: string): Promise<MatterRecord> {
  const valid = validateCreateMatterInput(input);
  const logger = deps.logger.child({ job: 'legal-hold', action: 'create-matter' });
  // A matter Zoom creates must be recorded here: find out now if the database is there.
  await requireDatabase(deps);
  let created: { matterId: string; trackingId: string | undefined };
  try {
    created = await zoomLegalHold.createMatter(
      deps.zoom,
      { matterName: valid.name, identifiers: valid.custodians, startDate: valid.from, endDate: valid.to },
      { signal: deps.signal },
    );
  } catch (err) {
    throw explainZoomRefusal(err, 'create the matter');
  }
  logger.info({ matterId: created.matterId, custodians: valid.custodians.length, trackingId: created.trackingId }, 'Zoom created the legal-hold matter; recording it');
  let record: MatterRecord;
  try {
    record = await recordCreatedMatter(
      deps.pool,
      { matterId: created.matterId, name: valid.name, identifiers: valid.custodians, startDate: valid.from ?? null, endDate: valid.to ?? null },
      actor,
      deps.clock.now(),
      { zoomTrackingId: created.trackingId ?? null },
    );
  } catch (err) {
    logger.error({ err, matterId: created.matterId }, 'Zoom created the matter but it could not be recorded here');
    throw new DatabaseError(
      'DATABASE_UNAVAILABLE',
      `Zoom created matter ${created.matterId}, but it could not be recorded here (${(err as Error).message}); run \`legal-hold sync\` once the database is back: it finds the matter and records it`,
      { cause: err },
    );
  }
  // held_messages matches custodians by email; one named by user id gets its email from Zoom's
  // listing. One more RESOURCE-INTENSIVE call, made only then, and best effort: a later sync does it too.
  if (valid.custodians.some((c) => !c.includes('@'))) {
    try {
      await syncMatters(deps);
      record = (await loadMatter(deps.pool, record.matterId)) ?? record;
    } catch (err) {
      logger.warn({ err, matterId: record.matterId }, "could not read the new matter back from Zoom; the next `legal-hold sync` learns its custodians' emails");
    }
  }
  return record;
}

export async function renameMatter(deps: LegalHoldDeps, input: RenameMatterInput, actor: string): Promise<{ matter: MatterRecord; changed: boolean }> {
  const name = validateMatterName(input.name);
  const matter = await resolveMatter(deps, input.matter);
  requireActive(matter, 'renamed');
  if (matter.matterName === name) return { matter, changed: false };
  let response: { trackingId: string | undefined };
  try {
    response = await zoomLegalHold.renameMatter(deps.zoom, matter.matterId, name, { signal: deps.signal });
  } catch (err) {
    throw await handleMissingInZoom(deps, matter, err, 'rename the matter');
  }
  const renamed = await recordRenamedMatter(deps.pool, matter.matterId, name, actor, deps.clock.now(), { zoomTrackingId: response.trackingId ?? null });
  deps.logger.info({ job: 'legal-hold', matterId: matter.matterId }, 'matter renamed in Zoom and here');
  return { matter: renamed, changed: true };
}

export async function deleteMatter(deps: LegalHoldDeps, input: DeleteMatterInput, actor: string): Promise<MatterRecord> {
  const matter = await resolveMatter(deps, input.matter);
  requireActive(matter, 'deleted');
  const unstored = await countUnstoredFiles(deps.pool, matter.matterId);
  if (unstored > 0 && input.force !== true) {
    throw new InputError(
      `matter ${matter.matterId} has ${unstored} zip file(s) from Zoom that are not stored here yet; once the matter is deleted Zoom no longer serves them. ` +
        'Download them first (the legal-hold job does, or `legal-hold download`), or delete with force to give them up (`--force`; over HTTP `?force=true`)',
      'matter',
    );
  }
  let response: { trackingId: string | undefined };
  try {
    response = await zoomLegalHold.deleteMatter(deps.zoom, matter.matterId, { signal: deps.signal });
  } catch (err) {
    throw await handleMissingInZoom(deps, matter, err, 'delete the matter');
  }
  const deleted = await recordDeletedHere(deps.pool, matter.matterId, actor, deps.clock.now(), {
    zoomTrackingId: response.trackingId ?? null,
    unstoredFilesGivenUp: unstored,
  });
  deps.logger.info({ job: 'legal-hold', matterId: matter.matterId }, 'matter deleted in Zoom; kept here as deleted_here with its stored files');
  return deleted;
}

/**
 * A matter by id or exact name: the local mirror first, then (once) Zoom's listing, since a matter
 * created in Zoom's portal is only known here after a sync. Unknown or ambiguous → `InputError`.
 */
export async function resolveMatter(deps: LocalLegalHoldDeps & { zoom?: ZoomClient | undefined }, ref: string): Promise<MatterRecord> {
  const wanted = validateMatterRef(ref);
  const local = await findMatterHere(deps, wanted);
  if (local) return local;
  if (deps.zoom === undefined) {
    throw new InputError(`no legal-hold matter ${JSON.stringify(wanted)} is known here (Zoom was not asked: no ZOOM_* credentials are configured); list the matters to see their ids`, 'matter');
  }
  deps.logger.info({ job: 'legal-hold', matter: wanted }, 'matter unknown here; refreshing the list of matters from Zoom');
  await syncMatters({ ...deps, zoom: deps.zoom });
  const refreshed = await findMatterHere(deps, wanted);
  if (refreshed) return refreshed;
  throw new InputError(`no legal-hold matter ${JSON.stringify(wanted)}, neither here nor in Zoom; list the matters to see their ids`, 'matter');
}

/**
 * A matter known here, by id or exact name (undefined when none); a name several matters share is
 * refused rather than guessed.
 */
export async function findMatterHere(deps: Pick<LocalLegalHoldDeps, 'pool'>, ref: string): Promise<MatterRecord | undefined> {
  ref = validateMatterRef(ref);
  const byId = await loadMatter(deps.pool, ref);
  if (byId) return byId;
  const byName = await findMattersByName(deps.pool, ref);
  if (byName.length > 1) {
    throw new InputError(`${byName.length} matters are named ${JSON.stringify(ref)} (${byName.map((m) => `${m.matterId} [${m.state}]`).join(', ')}); name one by its id`, 'matter');
  }
  return byName[0];
}

function requireActive(matter: MatterRecord, verb: string): void {
  if (matter.state === 'deleted_here') {
    throw new InputError(`matter ${matter.matterId} (${matter.matterName}) was deleted through this project${matter.deletedAt ? ` on ${matter.deletedAt.toISOString()}` : ''}; it cannot be ${verb}`, 'matter');
  }
  if (matter.state === 'deleted_in_zoom') {
    throw new InputError(`matter ${matter.matterId} (${matter.matterName}) no longer exists in Zoom; it cannot be ${verb}. What it held stays held here`, 'matter');
  }
}

async function requireDatabase(deps: LegalHoldDeps): Promise<void> {
  try {
    await deps.pool.query('SELECT 1');
  } catch (err) {
    throw new DatabaseError('DATABASE_UNAVAILABLE', `the database is unreachable (${(err as Error).message}); nothing was sent to Zoom`, { cause: err });
  }
}

/** A rename or delete Zoom answers with "does not exist": the matter went behind our back. */
async function handleMissingInZoom(deps: LegalHoldDeps, matter: MatterRecord, err: unknown, action: string): Promise<unknown> {
  if (hasCode(err, 'ZOOM_NOT_FOUND')) {
    await recordDeletedInZoom(deps.pool, matter.matterId, deps.clock.now(), { reason: `Zoom answered "does not exist" when asked to ${action}` });
    const zoomError = err as ZoomApiError;
    return new ZoomApiError(
      'ZOOM_NOT_FOUND',
      `matter ${matter.matterId} no longer exists in Zoom (${zoomError.zoomMessage ?? 'not found'}); it is now marked deleted_in_zoom here, and what it held stays held`,
      detailsOf(zoomError),
      { cause: err },
    );
  }
  return explainZoomRefusal(err, action);
}

function detailsOf(err: ZoomApiError) {
  return { endpoint: err.endpoint, method: err.method, status: err.status, zoomCode: err.zoomCode, zoomMessage: err.zoomMessage, trackingId: err.trackingId };
}

/** Zoom's refusals in words an operator can act on; the code stays, so handlers still branch on it. */
export function explainZoomRefusal(err: unknown, action: string): unknown {
  if (!(err instanceof ZoomApiError) || err.code === 'ZOOM_MISSING_SCOPES') return err;
  const tracking = err.trackingId ? ` (trackingId ${err.trackingId})` : '';
  const zoomSaid = err.zoomMessage ? `: "${err.zoomMessage}"` : '';
  switch (err.code) {
    case 'ZOOM_FORBIDDEN':
      return new ZoomApiError(
        'ZOOM_FORBIDDEN',
        `Zoom refused to ${action}: no permission to manage legal holds${zoomSaid}${tracking}. The account needs the Legal Hold feature (Zoom's archiving add-on), and the app's owner must be an admin allowed to manage it`,
        detailsOf(err),
        { cause: err },
      );
    case 'ZOOM_NOT_FOUND':
      return new ZoomApiError('ZOOM_NOT_FOUND', `Zoom refused to ${action}: a custodian is not a user of this Zoom account${zoomSaid}${tracking}`, detailsOf(err), { cause: err });
    case 'ZOOM_BAD_REQUEST':
      return new ZoomApiError('ZOOM_BAD_REQUEST', `Zoom rejected the request to ${action}${zoomSaid}${tracking}`, detailsOf(err), { cause: err });
    case 'ZOOM_NETWORK_ERROR':
    case 'ZOOM_SERVER_ERROR':
      if (err.method === 'POST') {
        return new ZoomApiError(
          err.code,
          `${err.message}. The matter may or may not exist in Zoom now: run \`legal-hold list\` before trying again, so it is not created twice`,
          detailsOf(err),
          { cause: err },
        );
      }
      return err;
    default:
      return err;
  }
}
