import type { Pool } from '../db/pool.js';
import { fileErrorCode } from '../storage/atomic-file.js';
import { hashFile } from '../util/files.js';
import { resolveInDataDir } from './content-store.js';
import { iterateStoredContents } from './file-store.js';

/**
 * `files verify`: every stored content re-hashed against its row (SHA-256 and size), read in 1 MiB
 * chunks, so memory stays flat however large the store. A missing or changed file is reported by
 * its hash and path; nothing is repaired or replaced.
 */

export interface FilesVerifyProblem {
  sha256: string;
  storedPath: string;
  problem: 'missing' | 'corrupt' | 'unreadable';
  detail: string;
}

export interface FilesVerifyReport {
  checked: number;
  ok: number;
  bytes: number;
  problems: FilesVerifyProblem[];
  durationMs: number;
}

export async function verifyStoredFiles(pool: Pool, dataDir: string, options: { signal?: AbortSignal } = {}): Promise<FilesVerifyReport> {
  const started = Date.now();
  const report: FilesVerifyReport = { checked: 0, ok: 0, bytes: 0, problems: [], durationMs: 0 };
  for await (const content of iterateStoredContents(pool)) {
    report.checked++;
    const absolute = resolveInDataDir(dataDir, content.storedPath);
    try {
      const actual = await hashFile(absolute, options.signal);
      if (actual.sha256 !== content.sha256 || actual.bytes !== content.bytes) {
        report.problems.push({
          sha256: content.sha256,
          storedPath: content.storedPath,
          problem: 'corrupt',
          detail: `holds ${actual.bytes} bytes with SHA-256 ${actual.sha256}; recorded ${content.bytes} bytes`,
        });
      } else {
        report.ok++;
        report.bytes += actual.bytes;
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const missing = fileErrorCode(err) === 'ENOENT';
      report.problems.push({ sha256: content.sha256, storedPath: content.storedPath, problem: missing ? 'missing' : 'unreadable', detail: missing ? 'no such file' : (err as Error).message });
    }
  }
  report.durationMs = Date.now() - started;
  return report;
}
