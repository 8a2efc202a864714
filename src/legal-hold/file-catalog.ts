import { describeFailure, classifyFailure, asTypedError } from '../util/failure.js';
import { listMatterFilePages } from '../zoom/legal-hold.js';
import type { LegalHoldDeps } from './deps.js';
import { recordListedFiles } from './file-store.js';
import { loadMatters, type MatterRecord } from './matter-store.js';
import { findUnreadyFiles, type UnreadyFile } from './unready-report.js';

/**
 * Asks Zoom which zip files it has prepared for each custodian of each active matter (files are
 * listed per custodian, 20 a page, LIGHT calls) and records them: new files, files that became
 * ready. Files that are not ready yet are simply listed again next time; one that stays unready
 * longer than `legalHold.unreadyWarnHours` is reported. A custodian whose listing fails is
 * reported and the others go on; a failure every call would share (scopes, credentials, daily
 * cap, database, abort) stops the refresh.
 */

export interface CustodianFailure {
  matterId: string;
  custodian: string;
  error: string;
}

export interface FileRefreshSummary {
  matters: number;
  custodians: number;
  filesListed: number;
  added: number;
  becameReady: number;
  malformed: number;
  failures: CustodianFailure[];
  unready: UnreadyFile[];
}

export async function refreshFiles(deps: LegalHoldDeps, matterId?: string): Promise<FileRefreshSummary> {
  const matters = await loadMatters(deps.pool, { states: ['active'], ...(matterId !== undefined ? { matterId } : {}) });
  const summary: FileRefreshSummary = { matters: matters.length, custodians: 0, filesListed: 0, added: 0, becameReady: 0, malformed: 0, failures: [], unready: [] };
  for (const matter of matters) await refreshMatterFiles(deps, matter, summary);
  summary.unready = await findUnreadyFiles(deps.pool, { now: deps.clock.now(), warnHours: deps.config.legalHold.unreadyWarnHours, matterId });
  for (const file of summary.unready) {
    deps.logger.warn(
      { job: 'legal-hold', matterId: file.matterId, custodian: file.custodian, fileKey: file.fileKey, waitingHours: file.waitingHours },
      `Zoom has not made this legal-hold file ready for ${file.waitingHours} hours; it is polled again on every run`,
    );
  }
  return summary;
}

async function refreshMatterFiles(deps: LegalHoldDeps, matter: MatterRecord, summary: FileRefreshSummary): Promise<void> {
  const logger = deps.logger.child({ job: 'legal-hold', matterId: matter.matterId });
  for (const custodian of matter.custodians) {
    summary.custodians++;
    try {
      for await (const page of listMatterFilePages(deps.zoom, matter.matterId, custodian.identifier, { signal: deps.signal })) {
        const outcome = await recordListedFiles(deps.pool, matter.matterId, custodian.identifier, page.files, deps.clock.now(), deps.fences);
        summary.filesListed += outcome.seen;
        summary.added += outcome.added.length;
        summary.becameReady += outcome.becameReady.length;
        summary.malformed += page.malformed.length;
        for (const item of page.malformed) logger.warn({ custodian: custodian.identifier, reason: item.reason }, 'Zoom listed a legal-hold file without a usable file_key; reported, not stored');
      }
    } catch (err) {
      const typed = asTypedError(err);
      if (classifyFailure(typed) === 'fatal') throw typed;
      const error = describeFailure(typed);
      summary.failures.push({ matterId: matter.matterId, custodian: custodian.identifier, error });
      logger.warn({ err: typed, custodian: custodian.identifier }, 'listing this custodian\'s legal-hold files failed; the other custodians go on and the next run retries');
    }
  }
}
