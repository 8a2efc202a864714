/**
 * Files shared in chat (issue 13): references from archived versions, the capture stage into the
 * content-addressed store under ARCHIVE_DATA_DIR/files/, and its verification. Reads for people and
 * the API: src/read-model/chat-files.ts (view `chat_files`).
 */
export { captureFiles, captureOutcomes, fileLockName, urlExpired, type CaptureOptions, type CaptureSummary, type FileCaptureDeps } from './capture.js';
export { FilesStorageError, contentRelativePath, resolveInDataDir, FILES_DIR, INCOMING_DIR, type OpenSink } from './content-store.js';
export { FILE_STATES, referenceNewVersions, resetFailedFiles, type FileState, type ReferenceSummary } from './file-store.js';
export { verifyStoredFiles, type FilesVerifyProblem, type FilesVerifyReport } from './verify.js';
