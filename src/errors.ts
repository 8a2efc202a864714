/**
 * One small family of errors. Handlers branch on the stable string `code`, never on the class or the
 * message text; every error carries the fields its handler needs and chains its `cause`.
 */

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'INPUT_INVALID'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_VERSION_UNSUPPORTED'
  | 'MIGRATION_FAILED'
  | 'EMBEDDED_POSTGRES_FAILED'
  | 'DATA_DIR_UNUSABLE'
  | 'FILE_CONFLICT'
  | 'LOCK_LOST'
  | 'LOCK_SUPERSEDED'
  | 'ZOOM_AUTH_FAILED'
  | 'ZOOM_MISSING_SCOPES'
  | 'ZOOM_RATE_LIMITED'
  | 'ZOOM_DAILY_LIMIT_REACHED'
  | 'ZOOM_PAGE_TOKEN_EXPIRED'
  | 'ZOOM_NOT_FOUND'
  | 'ZOOM_FORBIDDEN'
  | 'ZOOM_BAD_REQUEST'
  | 'ZOOM_SERVER_ERROR'
  | 'ZOOM_NETWORK_ERROR'
  | 'ZOOM_UNREACHABLE'
  | 'ZOOM_INVALID_RESPONSE'
  | 'ZOOM_RESPONSE_TOO_LARGE'
  | 'SYNC_ALREADY_RUNNING'
  | 'LEGAL_HOLD_STORAGE_FAILED'
  | 'LEGAL_HOLD_PATH_CONFLICT'
  | 'FILES_STORAGE_FULL'
  | 'FILES_STORAGE_FAILED'
  | 'EXPORT_FAILED'
  | 'EXPORT_DISK_FULL'
  | 'EXPORT_LEGAL_HOLD_FILE_INVALID'
  | 'RETENTION_PLAN_STALE'
  | 'RETENTION_HELD'
  | 'ALERT_SEND_FAILED'
  | 'ABORTED'
  | 'INTERNAL_ERROR';

export class ArchiverError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface ConfigIssue {
  /** The environment variable at fault, e.g. `ZOOM_RATE_MEDIUM`. */
  variable: string;
  /** What is wrong and what a good value looks like. */
  message: string;
}

export class ConfigError extends ArchiverError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n');
    super('CONFIG_INVALID', `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`);
    this.issues = issues;
  }
}

/** Bad input from a person (a CLI flag, an HTTP parameter): reported before any work is done. */
export class InputError extends ArchiverError {
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super('INPUT_INVALID', message);
    this.field = field;
  }
}

export class DatabaseError extends ArchiverError {}

/**
 * A write was refused because the lock it was made under has a newer holder (archive.assert_fence
 * raised SQLSTATE ZC409): this process lost the lock and another took it over. The work must stop;
 * what the current holder wrote stands.
 */
export class LockSupersededError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCK_SUPERSEDED', message, options);
  }
}

export interface ZoomErrorDetails {
  /** Logical endpoint name, e.g. `report.chat.sessions` (never a URL with ids or tokens). */
  endpoint: string;
  method: string;
  status?: number | undefined;
  /** Zoom's `code` from the error body, when it sent one. */
  zoomCode?: number | undefined;
  /** Zoom's `message` from the error body. */
  zoomMessage?: string | undefined;
  /** `x-zm-trackingid` response header: Zoom support asks for it. */
  trackingId?: string | undefined;
  retryAfterMs?: number | undefined;
}

export class ZoomApiError extends ArchiverError {
  readonly endpoint: string;
  readonly method: string;
  readonly status: number | undefined;
  readonly zoomCode: number | undefined;
  readonly zoomMessage: string | undefined;
  readonly trackingId: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, details: ZoomErrorDetails, options?: { cause?: unknown }) {
    super(code, message, options);
    this.endpoint = details.endpoint;
    this.method = details.method;
    this.status = details.status;
    this.zoomCode = details.zoomCode;
    this.zoomMessage = details.zoomMessage;
    this.trackingId = details.trackingId;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** Fields safe to log: no tokens, no bodies. */
  toLog(): Record<string, unknown> {
    return {
      code: this.code,
      endpoint: this.endpoint,
      method: this.method,
      status: this.status,
      zoomCode: this.zoomCode,
      zoomMessage: this.zoomMessage,
      trackingId: this.trackingId,
    };
  }
}

export class ZoomScopeError extends ZoomApiError {
  readonly missingScopes: readonly string[];

  constructor(missingScopes: readonly string[], details: ZoomErrorDetails) {
    const list = missingScopes.length > 0 ? missingScopes.join(', ') : '(Zoom did not name them)';
    super(
      'ZOOM_MISSING_SCOPES',
      `the Zoom app lacks the scopes this call needs: ${list}. Add them to the Server-to-Server OAuth app in the Zoom App Marketplace and re-activate it.`,
      details,
    );
    this.missingScopes = missingScopes;
  }
}

export class AbortError extends ArchiverError {
  constructor(message = 'operation aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/** A broken invariant of this program (a bug, never bad input): says what was expected. */
export class InternalError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL_ERROR', message, options);
  }
}

export function isArchiverError(err: unknown): err is ArchiverError {
  return err instanceof ArchiverError;
}

export function hasCode(err: unknown, code: ErrorCode): boolean {
  return err instanceof ArchiverError && err.code === code;
}

/** Throws an AbortError carrying the signal's reason when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('operation aborted', { cause: signal.reason });
}
