import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { recordAudit } from '../audit/audit-log.js';
import { runConcurrently } from '../util/run-concurrently.js';
import { actorOf, type LocalLegalHoldDeps } from './deps.js';
import { systemErrorCode } from './errors.js';
import { hashFile } from '../util/files.js';
import { fileSubject, loadFiles } from './file-store.js';
import type { FileIdentity } from './storage-paths.js';
import { resolveInDataDir } from '../util/data-dir.js';

/**
 * Re-reads every stored legal-hold zip and compares it with what the database recorded when it was
 * stored: present, same size, same SHA-256. Stored files of deleted matters are checked too — they
 * are the ones Zoom can no longer give back. Each problem is reported and written to the audit
 * log; nothing is repaired or changed (a damaged copy is evidence too).
 */

export type VerifyProblemKind = 'missing' | 'not-a-file' | 'unreadable' | 'size-mismatch' | 'hash-mismatch';

export interface VerifyProblem extends FileIdentity {
  storedPath: string;
  problem: VerifyProblemKind;
  expected: { bytes: number | null; sha256: string | null };
  actual: { bytes: number | null; sha256: string | null };
  message: string;
}

export interface VerifyReport {
  checked: number;
  ok: number;
  bytes: number;
  problems: VerifyProblem[];
  durationMs: number;
}

const VERIFY_CONCURRENCY = 2;

export async function verifyStoredFiles(deps: LocalLegalHoldDeps, matterId?: string): Promise<VerifyReport> {
  const started = performance.now();
  const logger = deps.logger.child({ job: 'legal-hold', step: 'verify', ...(matterId !== undefined ? { matterId } : {}) });
  const files = await loadFiles(deps.pool, { matterId, states: ['stored'] });
  const report: VerifyReport = { checked: 0, ok: 0, bytes: 0, problems: [], durationMs: 0 };
  await runConcurrently(
    files,
    VERIFY_CONCURRENCY,
    async (file) => {
      const storedPath = file.storedPath ?? '';
      const expected = { bytes: file.storedBytes, sha256: file.sha256 };
      const problem = (kind: VerifyProblemKind, message: string, actual: VerifyProblem['actual'] = { bytes: null, sha256: null }): VerifyProblem => ({
        matterId: file.matterId,
        custodian: file.custodian,
        fileKey: file.fileKey,
        storedPath,
        problem: kind,
        expected,
        actual,
        message,
      });
      let found: VerifyProblem | null = null;
      let absolute: string;
      try {
        absolute = resolveInDataDir(deps.config.dataDir, storedPath);
      } catch (err) {
        found = problem('unreadable', (err as Error).message);
        absolute = '';
      }
      if (found === null) {
        try {
          const info = await stat(absolute);
          if (!info.isFile()) found = problem('not-a-file', `${absolute} is not a regular file`);
          else if (info.size !== file.storedBytes) found = problem('size-mismatch', `${absolute} has ${info.size} bytes; ${file.storedBytes} were stored`, { bytes: info.size, sha256: null });
          else {
            const actual = await hashFile(absolute, deps.signal);
            report.bytes += actual.bytes;
            if (actual.sha256 !== file.sha256) found = problem('hash-mismatch', `${absolute} hashes to ${actual.sha256}; ${file.sha256} was stored`, actual);
          }
        } catch (err) {
          const code = systemErrorCode(err);
          found = code === 'ENOENT' ? problem('missing', `${absolute} is missing`) : problem('unreadable', `cannot read ${absolute} (${code ?? (err as Error).message})`);
        }
      }
      report.checked++;
      if (found === null) {
        report.ok++;
        return;
      }
      report.problems.push(found);
      logger.error({ matterId: file.matterId, custodian: file.custodian, fileKey: file.fileKey, problem: found.problem, storedPath }, `stored legal-hold file failed verification: ${found.message}`);
      await recordAudit(deps.pool, {
        actor: actorOf(deps),
        action: 'legal_hold.file.verify_failed',
        subjectType: 'legal_hold_file',
        subjectId: fileSubject(file),
        details: { problem: found.problem, storedPath, expected: found.expected, actual: found.actual },
      });
    },
    deps.signal,
  );
  await recordAudit(deps.pool, {
    actor: actorOf(deps),
    action: 'legal_hold.files.verify',
    ...(matterId !== undefined ? { subjectType: 'legal_hold_matter', subjectId: matterId } : {}),
    details: { checked: report.checked, ok: report.ok, problems: report.problems.length, bytes: report.bytes },
  });
  report.durationMs = Math.round(performance.now() - started);
  logger.info({ checked: report.checked, ok: report.ok, problems: report.problems.length }, 'verified stored legal-hold files');
  return report;
}
