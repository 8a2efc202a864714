import type { LegalHoldDeps } from './deps.js';
import { downloadReadyFiles, type DownloadSummary } from './file-download.js';
import { refreshFiles, type FileRefreshSummary } from './file-catalog.js';
import { syncMatters, type MatterSyncSummary } from './matter-sync.js';

/**
 * One full legal-hold pass, what `legal-hold sync` and the scheduler run: refresh the matters from
 * Zoom, list every active matter's files per custodian, download what is ready. Each step keeps
 * what it did even when a later one fails.
 */

export interface LegalHoldPassSummary {
  matters: MatterSyncSummary;
  files: FileRefreshSummary;
  downloads: DownloadSummary | null;
}

export async function runLegalHoldPass(deps: LegalHoldDeps, options: { download?: boolean } = {}): Promise<LegalHoldPassSummary> {
  const matters = await syncMatters(deps);
  const files = await refreshFiles(deps);
  const downloads = options.download === false ? null : await downloadReadyFiles(deps);
  return { matters, files, downloads };
}

/** True when the pass left something undone that a person should look at. */
export function passHasFailures(summary: LegalHoldPassSummary): boolean {
  return (
    summary.files.failures.length > 0 ||
    summary.matters.malformed.length > 0 ||
    (summary.downloads !== null && (summary.downloads.failed.length > 0 || summary.downloads.stoppedBy !== null))
  );
}
