import { ArchiverError } from '../errors.js';

/** Export and bundle errors: part of the family in src/errors.ts. Handlers branch on `code`. */
export type ExportErrorCode =
  /** The export ran and failed; `exportId` names the row marked `failed`. */
  | 'EXPORT_FAILED'
  /** The filesystem is full (ENOSPC/EDQUOT) while writing the bundle. */
  | 'EXPORT_DISK_FULL'
  /** A stored legal-hold zip is missing on disk or its bytes differ from what the database recorded. */
  | 'EXPORT_LEGAL_HOLD_FILE_INVALID';

export class ExportError extends ArchiverError {
  declare readonly code: ExportErrorCode;
  readonly exportId: string | undefined;

  constructor(code: ExportErrorCode, message: string, options?: { cause?: unknown; exportId?: string }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exportId = options?.exportId;
  }
}

export function isExportError(err: unknown): err is ExportError {
  return err instanceof ExportError;
}

/** ENOSPC/EDQUOT anywhere in the cause chain. */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}
