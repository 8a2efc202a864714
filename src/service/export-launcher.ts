import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { getExport, parseExportRequest, runExport, type ExportRecord, type ExportRequestInput } from '../export/index.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import type { InFlightWork } from './in-flight-work.js';

/**
 * Starts an export in the background and returns as soon as its row exists, so POST /v1/exports
 * can answer 202 with the export's id while the bundle is written.
 *
 * `runExport` chooses the export id itself and only returns when the bundle is done. To learn the id
 * early, the launcher picks the bundle's file name (unique: a random suffix, and an export never
 * overwrites a file) and waits for the row that records that path. Validation errors (an unknown
 * matter, a query without searchable words) happen before the row exists and are returned to the
 * caller as they are. The export runs under the service's in-flight tracking: at the shutdown
 * deadline it is aborted, and runExport then removes its partial file and marks the row failed.
 */

const ROW_POLL_INTERVAL_MS = 25;
const EXPORTS_DIR = 'exports';

export interface LaunchedExport {
  record: ExportRecord;
  /** Settles when the export finishes (never rejects). */
  finished: Promise<void>;
}

export async function launchExport(
  deps: { pool: Pool; dataDir: string; logger: Logger; clock: Clock; inFlight: InFlightWork },
  input: Omit<ExportRequestInput, 'out'>,
  actor: string,
): Promise<LaunchedExport> {
  const dir = path.join(deps.dataDir, EXPORTS_DIR);
  await mkdir(dir, { recursive: true });
  const stamp = deps.clock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const fileName = `zoom-chat-export-${stamp}-api-${randomUUID().slice(0, 8)}.zip`;
  const request = parseExportRequest({ ...input, out: path.join(dir, fileName) });
  const recorded = path.join(EXPORTS_DIR, fileName);

  let settled = false;
  let failure: unknown;
  const run = deps.inFlight.track({ kind: 'export', name: fileName }, (signal) =>
    runExport({ pool: deps.pool, config: { dataDir: deps.dataDir }, logger: deps.logger, clock: deps.clock, signal }, request, actor),
  );
  const finished = run.then(
    () => {
      settled = true;
    },
    (err: unknown) => {
      settled = true;
      failure = err;
    },
  );

  for (;;) {
    // Read before querying: a run that settled before the query cannot have a row the query missed.
    const wasSettled = settled;
    const found = await deps.pool.query<{ export_id: string }>(`SELECT export_id FROM archive.exports WHERE path = $1`, [recorded]);
    const id = found.rows[0]?.export_id;
    if (id !== undefined) {
      const record = await getExport(deps.pool, id);
      if (record) {
        void finished.then(() => {
          if (failure !== undefined) deps.logger.warn({ exportId: id, err: failure }, 'export requested over HTTP failed; its row says why');
        });
        return { record, finished };
      }
    }
    if (wasSettled) {
      // It ended before any row was written: the request was refused (bad input) or the database failed.
      throw failure ?? new Error('the export ended before it was recorded');
    }
    await new Promise((resolve) => setTimeout(resolve, ROW_POLL_INTERVAL_MS));
  }
}
