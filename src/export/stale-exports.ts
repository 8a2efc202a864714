import { tryAdvisoryLock } from '../db/advisory-lock.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import { removeIfPresent, sweepStaleTemps } from '../storage/atomic-file.js';
import type { Clock } from '../util/clock.js';
import { exportIdOfLeftover, exportsDir, resolveRecordedPath, spoolPathFor, tmpPathFor } from './bundle-paths.js';
import { failExportRecord, listRunningExports } from './export-store.js';

/**
 * A running export holds a session-level advisory lock named after it for its whole life; the
 * lock goes with the process's connection when it dies (SIGKILL, crash, lost host). So "can I take
 * that lock?" tells a dead export from a live one in any process on any host, and the next export
 * to start marks dead rows failed and removes their .tmp leftovers — never a live export's (the
 * removal happens while holding the dead export's lock; src/storage/atomic-file.ts does the rest).
 */

export const STALE_EXPORT_ERROR = 'the process running this export stopped before it finished (killed or crashed); its partial files were removed';
const SWEEPER_ACTOR = 'system:export-sweeper';

export function exportLockName(exportId: string): string {
  return `export:${exportId}`;
}

export interface SweepResult {
  markedFailed: string[];
  removed: string[];
}

export async function sweepStaleExports(deps: { pool: Pool; dataDir: string; logger: Logger; clock: Clock }): Promise<SweepResult> {
  const result: SweepResult = { markedFailed: [], removed: [] };
  const sweepLock = await tryAdvisoryLock(deps.pool, 'export:sweep');
  if (!sweepLock) return result;
  try {
    for (const row of await listRunningExports(deps.pool)) {
      const lock = await tryAdvisoryLock(deps.pool, exportLockName(row.exportId));
      if (!lock) continue;
      try {
        if (row.path) {
          const finalPath = resolveRecordedPath(deps.dataDir, row.path);
          for (const leftover of [tmpPathFor(finalPath, row.exportId), spoolPathFor(finalPath, row.exportId)]) {
            if (await removeIfPresent(leftover, { recursive: true })) result.removed.push(leftover);
          }
        }
        if (await failExportRecord(deps.pool, row.exportId, STALE_EXPORT_ERROR, SWEEPER_ACTOR, deps.clock.now())) {
          result.markedFailed.push(row.exportId);
          deps.logger.warn({ job: 'export', exportId: row.exportId }, 'export left running by a process that is gone: marked failed, partial files removed');
        }
      } finally {
        await lock.release();
      }
    }
    // Leftovers without a running row (e.g. the row was marked failed but removing the file failed).
    const swept = await sweepStaleTemps({
      root: exportsDir(deps.dataDir),
      isTemp: (name) => exportIdOfLeftover(name) !== undefined,
      decide: async (temp, remove) => {
        const exportId = exportIdOfLeftover(temp.name) as string;
        const lock = await tryAdvisoryLock(deps.pool, exportLockName(exportId));
        if (!lock) return false; // still running somewhere
        try {
          const removed = await remove();
          if (removed) deps.logger.info({ job: 'export', exportId, path: temp.path }, 'removed a stale partial export file');
          return removed;
        } finally {
          await lock.release();
        }
      },
    });
    result.removed.push(...swept.removed);
    for (const { path, error } of swept.failed) deps.logger.warn({ job: 'export', err: error, path }, 'could not remove a stale partial export file');
  } finally {
    await sweepLock.release();
  }
  return result;
}
