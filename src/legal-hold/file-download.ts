/**
 * Downloads of legal-hold zip files Zoom marked ready: claim, stream to a temporary file with hashing,
 * check (size, zip structure), place without overwrite, record; disk-space checks and stale-temp
 * sweep. Over 400 lines because the claim, attempt and record steps share one failure model
 * (retryable, lost lock, disk full) that reads best in one file.
 */
import { createHash } from 'node:crypto';
import type { WriteStream } from 'node:fs';
import { mkdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { fenceOf, tryAdvisoryLock, type Fence } from '../db/advisory-lock.js';
import { AbortError, ZoomApiError, hasCode, isArchiverError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { asTypedError, classifyFailure, describeFailure } from '../util/failure.js';
import { runConcurrently } from '../util/run-concurrently.js';
import {
  FileConflictError,
  createTempWriteStream,
  placeWithoutOverwrite as placeFile,
  removeIfPresent as removeFile,
  sweepStaleTemps,
  syncDirectory as syncDirectoryEntry,
  syncFile as syncFileContent,
} from '../storage/atomic-file.js';
import { abortErrorFor, sleepOrAbort } from '../zoom/abort.js';
import { computeBackoffMs, type BackoffOptions } from '../zoom/backoff.js';
import { discard, headerValue, networkErrorCode, readErrorBodyText } from '../zoom/http-transport.js';
import { LEGAL_HOLD_ENDPOINTS, openFileDownload } from '../zoom/legal-hold.js';
import { actorOf, type LegalHoldDeps } from './deps.js';
import { LegalHoldStorageError, storageFailure } from './errors.js';
import { claimFile, fileSubject, loadFiles, recordAttemptFailure, recordStored, releaseFile, type FileRecord } from './file-store.js';
import { LEGAL_HOLD_DIR, TEMP_SUFFIX, storedRelativePath, tempPathFor, type FileIdentity } from './storage-paths.js';
import { inspectZip } from './zip-check.js';
import { resolveInDataDir } from '../util/data-dir.js';

/**
 * Downloads every ready legal-hold file that is not stored yet, so that what Zoom prepared for a
 * matter ends up here complete and verified — even if the matter is later deleted in Zoom.
 *
 * One file: take its advisory lock (two processes never download the same file; a crashed one's
 * lock dies with its connection, so a `downloading` row it left is simply taken over; a download
 * whose lock is lost stops, and its row writes carry the lock's fence, so one that was taken over
 * can no longer record anything), stream the
 * body into `<file_key>.zip.tmp` beside its final place while hashing it (SHA-256) and counting its
 * bytes, check the count against Content-Length, fsync, check that it is a readable zip, then move
 * it into place without ever replacing an existing file and fsync the directory
 * (src/storage/atomic-file.ts: `link`, or a checked `rename` where there are no hard links; the
 * file's lock owns the name meanwhile). Only then is the row marked stored. Any failure removes the temporary file, so a
 * file that looks complete always is. Memory stays flat: the body streams with backpressure.
 *
 * A broken transfer (reset, short body, bad zip, 5xx) is retried with capped, jittered backoff up
 * to `legalHold.downloadAttempts` times per run, then left `failed` for the next run. Zoom's "no
 * such file" and "no permission" are not retried within the run. A full or unwritable disk, missing
 * scopes, the daily rate limit, a lost database or an abort stop the whole run: every other file
 * would fail the same way.
 */

export interface StoredFileSummary extends FileIdentity {
  storedPath: string;
  bytes: number;
  sha256: string;
  zipEntries: number;
  /** Attempts in this run, the successful one included. */
  attempts: number;
  /** Request to recorded, for the successful attempt. */
  durationMs: number;
  /** Receiving the body (hashing and writing included), for the successful attempt. */
  transferMs: number;
  warnings: string[];
}

export interface FailedFileSummary extends FileIdentity {
  attempts: number;
  error: string;
}

export interface DownloadSummary {
  /** Files that were ready (or failed, or left downloading) when the run started. */
  candidates: number;
  stored: StoredFileSummary[];
  failed: FailedFileSummary[];
  /** Being downloaded by another process, or stored meanwhile. */
  skipped: number;
  /** Temporary files an interrupted run had left, removed. */
  sweptTempFiles: number;
  /** Why the run stopped early (disk full, missing scopes, daily limit, abort), or null. */
  stoppedBy: { code: string; message: string } | null;
  bytes: number;
  durationMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 1000, maxDelayMs: 60_000 };
const WRITE_HIGH_WATER_MARK = 1024 * 1024;
/** An unknown temporary file is only removed once nobody has written to it for this long. */
const ORPHAN_TEMP_MIN_AGE_MS = 60 * 60_000;
/** Room kept free on the disk beyond the file itself. */
const DISK_HEADROOM_BYTES = 64 * 1024 * 1024;
/** Worth retrying within a run: the next attempt may well succeed. */
const RETRYABLE_CODES = new Set(['ZOOM_NETWORK_ERROR', 'ZOOM_SERVER_ERROR', 'ZOOM_RATE_LIMITED', 'ZOOM_INVALID_RESPONSE']);

export function fileLockName(file: FileIdentity): string {
  return `legal-hold-file:${file.matterId}\n${file.custodian}\n${file.fileKey}`;
}

export async function downloadReadyFiles(deps: LegalHoldDeps, matterId?: string): Promise<DownloadSummary> {
  const started = performance.now();
  const logger = deps.logger.child({ job: 'legal-hold', step: 'download', ...(matterId !== undefined ? { matterId } : {}) });
  const summary: DownloadSummary = { candidates: 0, stored: [], failed: [], skipped: 0, sweptTempFiles: 0, stoppedBy: null, bytes: 0, durationMs: 0 };
  summary.sweptTempFiles = await sweepStaleTempFiles(deps, logger);
  // Only matters Zoom still has: a deleted matter's files are gone from Zoom, and its stored ones stay here.
  const candidates = await loadFiles(deps.pool, { matterId, states: ['ready', 'failed', 'downloading'], matterStates: ['active'] });
  summary.candidates = candidates.length;
  const stop = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, stop.signal]) : stop.signal;

  await runConcurrently(
    candidates,
    deps.config.legalHold.downloadConcurrency,
    async (file) => {
      try {
        const outcome = await downloadClaimedFile(deps, file, signal, logger);
        if (outcome.kind === 'stored') {
          summary.stored.push(outcome.file);
          summary.bytes += outcome.file.bytes;
        } else if (outcome.kind === 'failed') summary.failed.push(outcome.file);
        else summary.skipped++;
      } catch (err) {
        // Fatal for the run: stop every lane, remember the first reason.
        if (summary.stoppedBy === null) {
          const aborted = deps.signal?.aborted === true;
          summary.stoppedBy = aborted ? { code: 'ABORTED', message: 'stopped by a signal' } : { code: errorCode(err), message: describeDownloadError(err) };
          if (!aborted) logger.error({ err, matterId: file.matterId, custodian: file.custodian }, 'stopping the download run: every other file would fail the same way');
        }
        stop.abort(err);
      }
    },
    signal,
  );
  summary.durationMs = Math.round(performance.now() - started);
  logger.info(
    { candidates: summary.candidates, stored: summary.stored.length, failed: summary.failed.length, skipped: summary.skipped, bytes: summary.bytes, stoppedBy: summary.stoppedBy?.code },
    'legal-hold download run finished',
  );
  return summary;
}

type FileOutcome = { kind: 'stored'; file: StoredFileSummary } | { kind: 'failed'; file: FailedFileSummary } | { kind: 'skipped' };

async function downloadClaimedFile(deps: LegalHoldDeps, candidate: FileRecord, signal: AbortSignal, runLogger: Logger): Promise<FileOutcome> {
  if (signal.aborted) return { kind: 'skipped' };
  const lock = await tryAdvisoryLock(deps.pool, fileLockName(candidate));
  if (!lock) return { kind: 'skipped' };
  try {
    const fences = [...(deps.fences ?? []), fenceOf(lock)];
    const file = await claimFile(deps.pool, candidate, deps.clock.now(), fences);
    if (!file) return { kind: 'skipped' };
    const logger = runLogger.child({ matterId: file.matterId, custodian: file.custodian, fileKey: file.fileKey });
    // Losing the file's lock stops this download: another process may be downloading it now.
    return await downloadWithRetries(deps, file, AbortSignal.any([signal, lock.lost]), fences, logger);
  } finally {
    await lock.release();
  }
}

async function downloadWithRetries(deps: LegalHoldDeps, file: FileRecord, signal: AbortSignal, fences: readonly Fence[], logger: Logger): Promise<FileOutcome> {
  const maxAttempts = deps.config.legalHold.downloadAttempts;
  const actor = actorOf(deps);
  const backoff = { ...DEFAULT_BACKOFF, ...deps.downloadBackoff };
  const release = (state: 'failed' | 'ready', details: Record<string, unknown>) => releaseQuietly(deps, file, state, actor, details, fences, logger);
  for (let attempt = 1; ; attempt++) {
    const startedMs = performance.now();
    try {
      const copy = await downloadOnce(deps, file, signal, logger);
      const durationMs = Math.round(performance.now() - startedMs);
      await recordStored(
        deps.pool,
        file,
        { storedPath: copy.storedPath, bytes: copy.bytes, sha256: copy.sha256, zipEntries: copy.zipEntries, storedAt: deps.clock.now() },
        actor,
        { attempt, durationMs, warnings: copy.warnings, zoomTrackingId: copy.trackingId ?? null },
        fences,
      );
      logger.info({ bytes: copy.bytes, zipEntries: copy.zipEntries, attempt, durationMs, storedPath: copy.storedPath }, 'legal-hold file stored and verified');
      return { kind: 'stored', file: { ...identity(file), ...copy, attempts: attempt, durationMs } };
    } catch (caught) {
      const err = asTypedError(caught);
      if (hasCode(err, 'LOCK_SUPERSEDED')) throw err;
      if (signal.aborted || hasCode(err, 'ABORTED')) {
        await release('ready', {});
        if (hasCode(signal.reason, 'LOCK_LOST')) throw signal.reason as Error;
        throw err instanceof AbortError ? err : abortErrorFor(signal);
      }
      const message = describeDownloadError(err);
      const fatal = (err instanceof LegalHoldStorageError && err.code === 'LEGAL_HOLD_STORAGE_FAILED') || classifyFailure(err) === 'fatal';
      try {
        await recordAttemptFailure(deps.pool, file, message, deps.clock.now(), fences);
      } catch (recordErr) {
        logger.error({ err: recordErr }, 'could not record the failed attempt');
        if (fatal) throw err;
        throw asTypedError(recordErr);
      }
      if (fatal) {
        await release('failed', { attempts: attempt, error: message });
        throw err;
      }
      const retryable = isRetryable(err);
      if (!retryable || attempt >= maxAttempts) {
        await release('failed', { attemptsThisRun: attempt, error: message });
        logger.warn({ err, attempt, retryable }, retryable ? `giving up on this file for this run after ${attempt} attempts; the next run tries again` : 'download refused; the next run tries again');
        return { kind: 'failed', file: { ...identity(file), attempts: attempt, error: message } };
      }
      const delayMs = computeBackoffMs(attempt - 1, backoff);
      logger.warn({ err, attempt, maxAttempts, delayMs }, `download attempt ${attempt} of ${maxAttempts} failed; the partial file was removed; retrying in ${delayMs} ms`);
      await sleepOrAbort(delayMs, signal).catch(async (sleepErr: unknown) => {
        await release('ready', {});
        throw sleepErr;
      });
    }
  }
}

async function releaseQuietly(
  deps: LegalHoldDeps,
  file: FileRecord,
  state: 'failed' | 'ready',
  actor: string,
  details: Record<string, unknown>,
  fences: readonly Fence[],
  logger: Logger,
): Promise<void> {
  try {
    await releaseFile(deps.pool, file, state, actor, deps.clock.now(), details, fences);
  } catch (err) {
    // The advisory lock is released all the same; a later run takes the row over (and a superseded
    // run's release is refused: the new holder owns the row).
    logger.error({ err: asTypedError(err) }, `could not mark the file ${state}; a later run takes it over`);
  }
}

function identity(file: FileIdentity): FileIdentity {
  return { matterId: file.matterId, custodian: file.custodian, fileKey: file.fileKey };
}

function isRetryable(err: unknown): boolean {
  if (err instanceof LegalHoldStorageError) return false;
  if (isArchiverError(err)) return RETRYABLE_CODES.has(err.code);
  return true;
}

function errorCode(err: unknown): string {
  if (err instanceof LegalHoldStorageError) return err.code;
  if (isArchiverError(err)) return err.code;
  return 'UNEXPECTED';
}

function describeDownloadError(err: unknown): string {
  if (err instanceof LegalHoldStorageError) return `${err.code}: ${err.message}`;
  return describeFailure(err);
}

interface DownloadedCopy {
  storedPath: string;
  bytes: number;
  sha256: string;
  zipEntries: number;
  transferMs: number;
  warnings: string[];
  trackingId: string | undefined;
}

/** One attempt: request, stream to the temporary file, check, move into place. Leaves no temporary file behind. */
async function downloadOnce(deps: LegalHoldDeps, file: FileRecord, signal: AbortSignal, logger: Logger): Promise<DownloadedCopy> {
  const storedPath = storedRelativePath(file);
  const finalPath = resolveInDataDir(deps.config.dataDir, storedPath);
  const directory = path.dirname(finalPath);
  const tempPath = tempPathFor(finalPath);
  const warnings: string[] = [];
  try {
    await mkdir(directory, { recursive: true, mode: 0o750 });
  } catch (err) {
    throw storageFailure(err, 'create the directory', directory);
  }
  await removeIfPresent(tempPath);

  const response = await openFileDownload(deps.zoom, file.matterId, file.fileKey, { signal });
  const details = { endpoint: LEGAL_HOLD_ENDPOINTS.downloadFile, method: 'GET', status: response.status, trackingId: response.trackingId };
  const contentType = headerValue(response.headers, 'content-type') ?? '';
  if (/json|text\/html/i.test(contentType)) {
    const text = await readErrorBodyText(response.body, 2048);
    throw new ZoomApiError('ZOOM_INVALID_RESPONSE', `Zoom answered ${contentType} instead of a zip (${text.slice(0, 200).replace(/\s+/g, ' ')})`, details);
  }
  const contentLength = parseContentLength(headerValue(response.headers, 'content-length'));
  if (contentLength === undefined) warnings.push('Zoom sent no Content-Length; completeness rests on the zip check alone');
  if (contentLength !== undefined && file.announcedBytes !== null && contentLength !== file.announcedBytes) {
    warnings.push(`Content-Length ${contentLength} differs from the ${file.announcedBytes} bytes Zoom's listing announced (total_file_size); Content-Length and the zip check decide`);
  }
  try {
    await requireFreeSpace(directory, contentLength);
  } catch (err) {
    discard(response.body);
    throw err;
  }

  try {
    const transferStarted = performance.now();
    const { bytes, sha256 } = await streamToFile(response.body, tempPath, contentLength, signal, details);
    const transferMs = Math.round(performance.now() - transferStarted);
    if (contentLength !== undefined && bytes !== contentLength) {
      throw new ZoomApiError('ZOOM_INVALID_RESPONSE', `the download ended after ${bytes} of the ${contentLength} bytes Zoom announced (Content-Length)`, details);
    }
    await syncFile(tempPath);
    const zip = await inspectZip(tempPath);
    if (file.fileCount !== null && zip.entries !== file.fileCount) {
      warnings.push(`the zip holds ${zip.entries} entries where Zoom's listing announced file_count ${file.fileCount}`);
    }
    const placed = await placeWithoutOverwrite(tempPath, finalPath, { bytes, sha256 });
    if (placed === 'identical-existing') warnings.push('an identical copy was already in place (left by an interrupted run); it was kept');
    await syncDirectory(directory);
    for (const warning of warnings) logger.warn({ warning }, 'legal-hold file stored with a warning');
    return { storedPath, bytes, sha256, zipEntries: zip.entries, transferMs, warnings, trackingId: response.trackingId };
  } catch (err) {
    if (!response.body.destroyed) discard(response.body);
    await removeIfPresent(tempPath).catch((removeErr: unknown) => logger.error({ err: removeErr, tempPath }, 'could not remove the temporary file; the next run sweeps it'));
    throw err;
  }
}

function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Hashes and counts while writing to a new file (`wx`: never an existing one). Read-side failures
 * become network errors, write-side ones (ENOSPC, EACCES…) storage errors.
 */
async function streamToFile(
  body: Readable,
  tempPath: string,
  contentLength: number | undefined,
  signal: AbortSignal,
  details: { endpoint: string; method: string; status: number; trackingId: string | undefined },
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let tooLong = false;
  // Which side failed first decides the error: pipeline hands a failure on to the other streams,
  // so the file stream also "errors" when the network broke, and the body when the disk is full.
  let firstFailure: { side: 'read' | 'write'; err: unknown } | undefined;
  body.once('error', (err) => (firstFailure ??= { side: 'read', err }));
  let sink: WriteStream;
  try {
    sink = await createTempWriteStream(tempPath, { mode: 0o640, highWaterMark: WRITE_HIGH_WATER_MARK });
  } catch (err) {
    throw storageFailure(err, 'write', tempPath);
  }
  sink.once('error', (err) => (firstFailure ??= { side: 'write', err }));
  // A Transform rather than an async generator: one callback per chunk, no promise per chunk, so
  // a 2 GiB body does not churn the young generation (peak RSS stays lower).
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (contentLength !== undefined && bytes > contentLength) {
        tooLong = true;
        callback(new Error('body longer than Content-Length'));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(body, tap, sink, { signal });
  } catch (err) {
    const failure = firstFailure;
    // Wait until the stream has closed its descriptor, so the caller's unlink is last.
    await closedStream(sink);
    if (signal.aborted) throw abortErrorFor(signal);
    if (tooLong) throw new ZoomApiError('ZOOM_INVALID_RESPONSE', `Zoom sent more bytes than its Content-Length (${contentLength})`, details);
    if (failure?.side === 'write') throw storageFailure(failure.err, 'write', tempPath);
    const code = networkErrorCode(err) ?? (err instanceof Error ? err.message : String(err));
    throw new ZoomApiError('ZOOM_NETWORK_ERROR', `the download broke off after ${bytes} bytes (${code})`, details, { cause: err });
  }
  return { bytes, sha256: hash.digest('hex') };
}

function closedStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

/** Fails before writing a byte when the disk cannot hold the file: a clear ENOSPC instead of a half-written one. */
async function requireFreeSpace(directory: string, bytes: number | undefined): Promise<void> {
  if (bytes === undefined) return;
  let free: number;
  try {
    const fs = await statfs(directory);
    free = Number(fs.bavail) * Number(fs.bsize);
  } catch {
    return; // Not every file system reports it; the write itself still fails cleanly.
  }
  if (free < bytes + DISK_HEADROOM_BYTES) {
    throw new LegalHoldStorageError(
      'LEGAL_HOLD_STORAGE_FAILED',
      `cannot store a ${bytes}-byte file in ${directory} (ENOSPC: ${free} bytes free, ${bytes + DISK_HEADROOM_BYTES} needed with headroom); nothing already stored was changed`,
      directory,
      { systemCode: 'ENOSPC' },
    );
  }
}

/**
 * Moves the checked temporary file to its final name without ever replacing a file there. An
 * existing file with the same bytes (an interrupted run got that far) is kept; one with other bytes
 * is a conflict, reported, and left untouched.
 */
async function placeWithoutOverwrite(tempPath: string, finalPath: string, expected: { bytes: number; sha256: string }): Promise<'placed' | 'identical-existing'> {
  try {
    return await placeFile(tempPath, finalPath, { expected });
  } catch (err) {
    if (err instanceof FileConflictError) throw new LegalHoldStorageError('LEGAL_HOLD_PATH_CONFLICT', `${err.message} — check the file and the legal_hold_files view`, finalPath);
    throw storageFailure(err, 'move into place', finalPath);
  }
}

async function syncFile(filePath: string): Promise<void> {
  try {
    await syncFileContent(filePath);
  } catch (err) {
    throw storageFailure(err, 'flush to disk', filePath);
  }
}

async function syncDirectory(directory: string): Promise<void> {
  try {
    await syncDirectoryEntry(directory);
  } catch (err) {
    throw storageFailure(err, 'flush the directory', directory);
  }
}

async function removeIfPresent(filePath: string): Promise<boolean> {
  try {
    return await removeFile(filePath);
  } catch (err) {
    throw storageFailure(err, 'remove', filePath);
  }
}

/**
 * Removes temporary files a crashed or killed run left: one whose file's lock is free is nobody's
 * (we take the lock, and remove it while holding it), one that belongs to no known file only once
 * it is an hour old.
 */
export async function sweepStaleTempFiles(deps: LegalHoldDeps, logger: Logger): Promise<number> {
  const root = path.join(deps.config.dataDir, LEGAL_HOLD_DIR);
  let known: Map<string, FileIdentity> | undefined;
  const ownerOf = async (temp: string) => {
    if (!known) {
      known = new Map();
      for (const f of await loadFiles(deps.pool)) known.set(tempPathFor(resolveInDataDir(deps.config.dataDir, storedRelativePath(f))), f);
    }
    return known.get(temp);
  };
  let swept;
  try {
    // legal-hold/<matter>/<custodian>/<file>.zip.tmp: two directory levels below the root.
    swept = await sweepStaleTemps({
      root,
      depth: 2,
      isTemp: (name) => name.endsWith(TEMP_SUFFIX),
      decide: async (temp, remove) => {
        if (!temp.info.isFile()) return false;
        const owner = await ownerOf(temp.path);
        let removed: boolean;
        if (owner) {
          const lock = await tryAdvisoryLock(deps.pool, fileLockName(owner));
          if (!lock) return false; // Being downloaded right now.
          try {
            removed = await remove();
          } finally {
            await lock.release();
          }
        } else {
          if (deps.clock.now().getTime() - temp.info.mtimeMs < ORPHAN_TEMP_MIN_AGE_MS) return false;
          removed = await remove();
        }
        if (removed) logger.info({ tempPath: temp.path, file: owner ? fileSubject(owner) : null }, 'removed a temporary file an interrupted download left');
        return removed;
      },
    });
  } catch (err) {
    logger.warn({ err, root }, 'could not look for stale temporary files; downloads will report any problem with the directory');
    return 0;
  }
  for (const { path: tempPath, error } of swept.failed) logger.warn({ err: error, tempPath }, 'could not remove a stale temporary file');
  return swept.removed.length;
}
