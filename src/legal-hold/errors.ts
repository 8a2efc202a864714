import { ArchiverError } from '../errors.js';

/**
 * Failures of the local side of a download. Zoom's side fails with `ZoomApiError` (src/errors.ts);
 * these are the disk's: no space, no permission, a path that is not a directory, or a stored file
 * already at the destination with other content. They stop a download run, because every other file
 * would fail the same way, and never leave a file that looks complete.
 */
export type LegalHoldStorageCode = 'LEGAL_HOLD_STORAGE_FAILED' | 'LEGAL_HOLD_PATH_CONFLICT';

export class LegalHoldStorageError extends ArchiverError {
  declare readonly code: LegalHoldStorageCode;
  /** The file or directory at fault. */
  readonly path: string;
  /** The operating system's code (ENOSPC, EACCES, EROFS, ENOTDIR, …) when there is one. */
  readonly systemCode: string | undefined;

  constructor(code: LegalHoldStorageCode, message: string, path: string, options?: { cause?: unknown; systemCode?: string | undefined }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.path = path;
    this.systemCode = options?.systemCode;
  }
}

const SYSTEM_MESSAGES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOTDIR: 'a path component is a file, not a directory',
  EISDIR: 'the path is a directory',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** The errno-style code of a Node file-system error. */
export function systemErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** Turns a file-system error into a storage error that says what failed, where, and why. */
export function storageFailure(err: unknown, action: string, path: string): LegalHoldStorageError {
  if (err instanceof LegalHoldStorageError) return err;
  const systemCode = systemErrorCode(err);
  const why = systemCode ? `${systemCode}: ${SYSTEM_MESSAGES[systemCode] ?? (err as Error).message}` : err instanceof Error ? err.message : String(err);
  return new LegalHoldStorageError('LEGAL_HOLD_STORAGE_FAILED', `cannot ${action} ${path} (${why}); nothing already stored was changed`, path, { cause: err, systemCode });
}
