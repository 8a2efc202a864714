/** The export module's public surface: what the CLI and (later) the HTTP API call. */
export { runExport, type ExportDeps, type RunExportOptions } from './run-export.js';
export { verifyBundle, type BundleVerification, type BundleProblem, type BundleProblemKind, type VerifyOptions } from './verify-bundle.js';
export { parseExportRequest, checkExportRequest, parseFormats, API_WORDS, CLI_WORDS, type ExportRequestInput, type ExportRequestWords } from './request.js';
export { getExport, findExportsByPrefix, listExports, listExportAudit, type ExportAuditEntry } from './export-store.js';
export { sweepStaleExports, type SweepResult } from './stale-exports.js';
export { summariseFilter } from './filter-summary.js';
export { resolveRecordedPath } from './bundle-paths.js';
export { ExportError, isExportError, type ExportErrorCode } from './errors.js';
export { MANIFEST_PATH, type BundleManifest, type ManifestEntry } from './manifest.js';
export * from './types.js';
