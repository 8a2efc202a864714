import { API_WORDS, checkExportRequest, parseExportRequest, runExport, type ExportRecord, type ExportRequestInput } from '../export/index.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import type { InFlightWork } from './in-flight-work.js';

/**
 * Starts an export in the background and returns as soon as its row exists, so POST /v1/exports
 * can answer 202 with the export's id while the bundle is written. Validation errors (an unknown
 * matter, a query without searchable words) happen before the row exists and are returned to the
 * caller as they are. The export runs under the service's in-flight tracking: at the shutdown
 * deadline it is aborted, and runExport then removes its partial file and marks the row failed.
 */

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
  // The bundle goes to the default place under ARCHIVE_DATA_DIR/exports: never a path from the request.
  // Checked here in the API's words (runExport checks again, in the CLI's, only what changed since).
  const request = parseExportRequest(input, API_WORDS);
  await checkExportRequest(deps.pool, request, API_WORDS);
  let announce: (record: ExportRecord) => void = () => undefined;
  const started = new Promise<ExportRecord>((resolve) => (announce = resolve));
  const run = deps.inFlight.track({ kind: 'export', name: 'api export' }, (signal) =>
    runExport({ pool: deps.pool, config: { dataDir: deps.dataDir }, logger: deps.logger, clock: deps.clock, signal }, request, actor, { onStarted: announce }),
  );
  const finished = run.then(
    () => undefined,
    (err: unknown) => {
      deps.logger.warn({ err }, 'export requested over HTTP failed; its row says why');
    },
  );
  // Whichever comes first: the row exists (202), or the run ended without one (bad input, database).
  const record = await Promise.race([started, run.then(() => started)]);
  return { record, finished };
}
