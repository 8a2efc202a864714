import { asLockSuperseded } from '../db/advisory-lock.js';
import { ArchiverError, DatabaseError, isArchiverError } from '../errors.js';

/**
 * How a failure inside a pass (sync, legal hold) is handled:
 * - `unit`: this piece of work (a (window, session), a listing, a download) failed; record it,
 *   carry on with the rest.
 * - `fatal`: every other piece of work would fail the same way (credentials, scopes, daily cap,
 *   Zoom unreachable, database gone) or must not happen at all (the lock the work runs under was
 *   lost or taken over); stop the pass, keep what was stored.
 */
export type FailureScope = 'unit' | 'fatal';

const FATAL_CODES = new Set([
  'ZOOM_AUTH_FAILED',
  'ZOOM_MISSING_SCOPES',
  'ZOOM_DAILY_LIMIT_REACHED',
  // Connection refused or no such host: every other call goes to the same place.
  'ZOOM_UNREACHABLE',
  'DATABASE_UNAVAILABLE',
  'LOCK_LOST',
  'LOCK_SUPERSEDED',
  'ABORTED',
]);

/** node-postgres connection-level failures (server gone, restarting, refused). */
export function isDatabaseConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET')) {
    return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(err.message);
}

export function classifyFailure(err: unknown): FailureScope {
  const typed = asLockSuperseded(err);
  if (isArchiverError(typed) && FATAL_CODES.has(typed.code)) return 'fatal';
  if (isDatabaseConnectionError(err)) return 'fatal';
  return 'unit';
}

/** Wraps connection-level database errors in the typed error the rest of the program expects. */
export function asTypedError(err: unknown): unknown {
  const superseded = asLockSuperseded(err);
  if (superseded !== err) return superseded;
  if (!isArchiverError(err) && isDatabaseConnectionError(err)) {
    return new DatabaseError('DATABASE_UNAVAILABLE', `lost the database connection: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/** A one-line description safe to store and log: no bodies, no tokens. */
export function describeFailure(err: unknown): string {
  // Zoom errors already name the HTTP status, Zoom code and tracking id in their message.
  if (err instanceof ArchiverError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
