/**
 * Legal hold: Zoom's matters mirrored and audited here, and every zip Zoom prepares for them
 * downloaded, verified and kept. Plain functions taking `LegalHoldDeps`, for the CLI today and the
 * scheduler and HTTP API later.
 */
export { actorOf, SYSTEM_ACTOR, ZOOM_ACTOR, type LegalHoldDeps, type LocalLegalHoldDeps } from './deps.js';
export { LegalHoldStorageError, type LegalHoldStorageCode } from './errors.js';
export { createMatter, deleteMatter, renameMatter, resolveMatter, findMatterHere, explainZoomRefusal, type DeleteMatterInput, type RenameMatterInput } from './matter-commands.js';
export { syncMatters, type MatterSyncSummary } from './matter-sync.js';
export { loadMatter, loadMatters, type CustodianRecord, type MatterRecord, type MatterState } from './matter-store.js';
export { refreshFiles, type CustodianFailure, type FileRefreshSummary } from './file-catalog.js';
export { downloadReadyFiles, sweepStaleTempFiles, type DownloadSummary, type FailedFileSummary, type StoredFileSummary } from './file-download.js';
export { loadFiles, type FileRecord, type FileState } from './file-store.js';
export { runLegalHoldPass, passHasFailures, type LegalHoldPassSummary } from './legal-hold-pass.js';
export { verifyStoredFiles, type VerifyProblem, type VerifyProblemKind, type VerifyReport } from './file-verify.js';
export { findUnreadyFiles, type UnreadyFile } from './unready-report.js';
export { LEGAL_HOLD_DIR, fromSafeName, storedRelativePath, toSafeName } from './storage-paths.js';
export { inspectZip, ZipInvalidError, type ZipInspection } from './zip-check.js';
export {
  MATTER_NAME_MAX_CHARS,
  MAX_CUSTODIANS,
  validateCreateMatterInput,
  validateCustodians,
  validateDateRange,
  validateMatterName,
  validateMatterRef,
  type CreateMatterInput,
} from './validate.js';
