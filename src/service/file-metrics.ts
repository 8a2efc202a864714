import type { Registry } from 'prom-client';
import type { Queryable } from '../db/pool.js';
import { FILE_STATES, type CaptureSummary } from '../files/index.js';
import { loadFileFigures } from '../read-model/chat-files.js';
import { definingIn } from './metric-definitions.js';

/**
 * /metrics for the files shared in chat: what the store holds by capture state, read from the
 * database at scrape time like the other archive gauges (ServiceMetrics calls `refresh`), and what
 * the capture runs of this process did (`recordCapture`, after each run of the files job). Every
 * series is present from start-up.
 */
export class FileMetrics {
  private readonly byState;
  private readonly storedBytes;
  private readonly storedContents;
  private readonly digestMismatches;
  private readonly captured;
  private readonly captureErrors;
  private readonly bytesCaptured;

  constructor(registry: Registry) {
    const define = definingIn(registry);
    this.byState = define.gauge('zca_files', 'Distinct files shared in chat (by Zoom file id) by capture state: pending, stored, failed, gone, too_large, skipped', ['state']);
    this.storedBytes = define.gauge('zca_files_stored_bytes', 'Bytes in the content-addressed file store (each distinct content once)');
    this.storedContents = define.gauge('zca_files_stored_contents', 'Distinct contents in the file store');
    this.digestMismatches = define.gauge('zca_files_digest_mismatches', "Stored files whose SHA-256 differs from Zoom's digest (recorded, kept)");
    this.captured = define.counter('zca_files_captured_total', 'Files the capture stage finished in this process, by outcome (stored, deduplicated, failed, gone, too_large)', ['outcome']);
    this.captureErrors = define.counter('zca_files_capture_errors_total', 'File capture runs in this process that stopped early (disk full, unwritable store, credentials), by error code', ['code']);
    this.bytesCaptured = define.counter('zca_files_captured_bytes_total', 'Bytes downloaded and stored by the capture stage in this process');
    for (const state of FILE_STATES) this.byState.set({ state }, 0);
    for (const outcome of ['stored', 'deduplicated', 'failed', 'gone', 'too_large']) this.captured.inc({ outcome }, 0);
    for (const code of ['FILES_STORAGE_FULL', 'FILES_STORAGE_FAILED']) this.captureErrors.inc({ code }, 0);
  }

  /** What one file capture run did (job `files`). */
  recordCapture(summary: CaptureSummary): void {
    this.captured.inc({ outcome: 'stored' }, summary.stored - summary.deduplicated);
    this.captured.inc({ outcome: 'deduplicated' }, summary.deduplicated);
    this.captured.inc({ outcome: 'failed' }, summary.failed);
    this.captured.inc({ outcome: 'gone' }, summary.gone);
    this.captured.inc({ outcome: 'too_large' }, summary.tooLarge);
    this.bytesCaptured.inc(summary.bytes);
    if (summary.stoppedBy && summary.stoppedBy.code !== 'ABORTED') this.captureErrors.inc({ code: summary.stoppedBy.code });
  }

  async refresh(db: Queryable): Promise<void> {
    const files = await loadFileFigures(db);
    this.byState.reset();
    for (const state of FILE_STATES) this.byState.set({ state }, files.byState[state] ?? 0);
    this.storedBytes.set(files.storedBytes);
    this.storedContents.set(files.storedContents);
    this.digestMismatches.set(files.digestMismatches);
  }
}
