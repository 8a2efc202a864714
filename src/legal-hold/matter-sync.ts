import { assertFences } from '../db/advisory-lock.js';
import { withTransaction } from '../db/pool.js';
import { listMatterPages, type MalformedLegalHoldItem, type ZoomMatter } from '../zoom/legal-hold.js';
import type { LegalHoldDeps } from './deps.js';
import { applyListedMatter, findVanishedMatters, listingChangesMatter, loadMatters, recordDeletedInZoom, touchListedMatters, type ListingOutcome } from './matter-store.js';

/**
 * Refreshes the local mirror from Zoom's list of matters (RESOURCE-INTENSIVE: one call per 100
 * matters). New matters are discovered, changes made in Zoom's portal are recorded, and an active
 * matter missing from a *complete* listing becomes `deleted_in_zoom` — it keeps holding what it
 * held. A listing that failed part-way, or held an item without a usable id, proves nothing about
 * absence, so then nothing is marked deleted.
 */

export interface MatterSyncSummary {
  listed: number;
  discovered: string[];
  changed: string[];
  reappeared: string[];
  deletedInZoom: string[];
  /** Items Zoom sent without a usable matter id (kept in the log, never guessed at). */
  malformed: MalformedLegalHoldItem[];
  /** False when malformed items prevented marking absent matters as deleted. */
  absenceChecked: boolean;
  apiPages: number;
}

export async function syncMatters(deps: LegalHoldDeps): Promise<MatterSyncSummary> {
  const logger = deps.logger.child({ job: 'legal-hold', step: 'sync-matters' });
  const fences = deps.fences ?? [];
  const listingStartedAt = deps.clock.now();
  const listed = new Map<string, ZoomMatter>();
  const malformed: MalformedLegalHoldItem[] = [];
  let apiPages = 0;
  for await (const page of listMatterPages(deps.zoom, { signal: deps.signal })) {
    apiPages++;
    // A restarted walk sees earlier pages again; the map keeps one entry per matter.
    for (const matter of page.matters) listed.set(matter.matterId, matter);
    malformed.push(...page.malformed);
  }
  for (const item of malformed) logger.warn({ reason: item.reason, bytes: item.rawJson.length }, 'Zoom listed a matter without a usable id; it is reported, and no matter is marked deleted this time');

  const summary: MatterSyncSummary = { listed: listed.size, discovered: [], changed: [], reappeared: [], deletedInZoom: [], malformed, absenceChecked: malformed.length === 0, apiPages };
  const now = deps.clock.now();
  const known = new Map((await loadMatters(deps.pool)).map((m) => [m.matterId, m]));
  const unchanged: ZoomMatter[] = [];
  for (const matter of listed.values()) {
    const local = known.get(matter.matterId);
    if (local && !listingChangesMatter(local, matter)) {
      unchanged.push(matter);
      continue;
    }
    const outcome: ListingOutcome = await withTransaction(deps.pool, async (client) => {
      await assertFences(client, fences);
      return applyListedMatter(client, matter, now, listingStartedAt);
    });
    if (outcome === 'discovered') summary.discovered.push(matter.matterId);
    else if (outcome === 'changed') summary.changed.push(matter.matterId);
    else if (outcome === 'reappeared') summary.reappeared.push(matter.matterId);
    if (outcome !== 'unchanged') logger.info({ matterId: matter.matterId, outcome }, `matter ${outcome} in Zoom's listing; mirror updated and audited`);
  }
  await withTransaction(deps.pool, async (client) => {
    await assertFences(client, fences);
    await touchListedMatters(client, unchanged, now);
  });

  if (summary.absenceChecked) {
    // Only matters last seen before this listing began: one created here meanwhile is not missing.
    for (const matterId of await findVanishedMatters(deps.pool, [...listed.keys()], listingStartedAt)) {
      // Fenced: a pass whose listing is stale (its lock was taken over meanwhile) must not mark a
      // matter deleted that the current holder's newer listing still shows.
      const after = await withTransaction(deps.pool, async (client) => {
        await assertFences(client, fences);
        return recordDeletedInZoom(client, matterId, now, { reason: 'absent from a complete listing of matters', listedMatters: listed.size });
      });
      if (after) {
        summary.deletedInZoom.push(matterId);
        logger.warn({ matterId }, 'matter is gone from Zoom; marked deleted_in_zoom: what it held stays held and its stored files are kept');
      }
    }
  }
  logger.info(
    { listed: summary.listed, discovered: summary.discovered.length, changed: summary.changed.length, deletedInZoom: summary.deletedInZoom.length, apiPages },
    'legal-hold matters refreshed from Zoom',
  );
  return summary;
}
