/**
 * Over 400 lines because one file's journey (claim, URL refresh, download, checks, store, record,
 * release) and each of its failure paths read best together; the store and its queries live in
 * content-store.ts and file-store.ts, the Zoom calls in zoom/files.ts. What the stage does is below.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config.js';
import { tryAdvisoryLock } from '../db/advisory-lock.js';
import type { Pool } from '../db/pool.js';
import { AbortError, ZoomApiError, hasCode, isArchiverError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import { asTypedError, classifyFailure, describeFailure } from '../util/failure.js';
import { runConcurrently } from '../util/run-concurrently.js';
import { abortErrorFor, sleepOrAbort } from '../zoom/abort.js';
import { computeBackoffMs, type BackoffOptions } from '../zoom/backoff.js';
import type { ZoomClient, ZoomStreamResponse } from '../zoom/client.js';
import { getFileInfo, openSignedDownload } from '../zoom/files.js';
import { discard, headerValue, readErrorBodyText } from '../zoom/http-transport.js';
import {
  BodyLongerThanDeclaredError,
  BodyReadError,
  BodyTooLargeError,
  FilesStorageError,
  commitContent,
  fileKey,
  incomingDir,
  keyOfTemp,
  receiveToTemp,
  type OpenSink,
  type ReceivedContent,
} from './content-store.js';
import { loadDueFile, loadDueFiles, recordFailed, recordGone, recordStored, recordTooLarge, referenceNewVersions, type DueFile, type FreshInfo, type ReferenceSummary } from './file-store.js';
import { removeIfPresent } from '../storage/atomic-file.js';

/**
 * The file capture stage: every distinct file referenced by any archived version (deleted
 * messages included) is downloaded once into the content-addressed store (content-store.ts) and
 * its state recorded (file-store.ts). Run after each sync pass (job `files` in `serve`) and by
 * `files sync`.
 *
 * One file, under its advisory lock (two processes never download the same file; a crashed one's
 * lock dies with its connection):
 * - declared (or Zoom-stated) size over FILES_MAX_BYTES → `too_large`, nothing downloaded;
 * - the URL's signature (`jwt`) already expired → a fresh URL from "Get file info" (LIGHT, through
 *   the client's rate limiter) before any download;
 * - download: first with the signed URL alone; a 401/403 is tried once more with the bearer token
 *   (only ever sent to Zoom's hosts), and when that works the rest of the run sends it at once
 *   (README, "Zoom notes": the choice and why);
 * - a 401/403 either way, or a 404 → refresh the URL once; "Get file info" answering 404, or the
 *   download answering 404 after a refresh → `gone`, with when it was first seen missing, not
 *   retried;
 * - the body must match its Content-Length and, when known, Zoom's `length`; when only the
 *   report's `file_size` disagrees, "Get file info" settles it (then `size_mismatch` is recorded);
 *   a short or broken body is retried with capped, jittered backoff, up to FILES_DOWNLOAD_ATTEMPTS
 *   per run, then `failed` (tried again by a later run after a backoff, up to FILES_MAX_ATTEMPTS);
 * - Zoom's `digest`, when known, is compared with the content's SHA-256: a mismatch is recorded
 *   (`digest_mismatch`) and the content kept, never silently replaced;
 * - a full or unwritable disk stops the whole stage with FILES_STORAGE_FULL / FILES_STORAGE_FAILED:
 *   the file stays as it was (nothing is recorded against it), its temp is removed.
 *
 * Over 400 lines because one file's capture (refresh, download, the checks, each outcome and its
 * retry) is one state machine, read best in one place next to the run that drives it.
 */

export interface FileCaptureDeps {
  pool: Pool;
  zoom: ZoomClient;
  config: Readonly<Config>;
  logger: Logger;
  clock: Clock;
  signal?: AbortSignal;
  /** Delays between attempts within a run; tests shorten them. */
  backoff?: Partial<BackoffOptions>;
  /** The write side of temp files; tests hand in one that fails like a full disk. */
  openSink?: OpenSink;
}

export interface CaptureOptions {
  /** Only these files (still only when due). */
  fileIds?: readonly string[];
  /** Overrides FILES_RUN_MINUTES, in milliseconds (0: no limit). */
  runBudgetMs?: number;
}

export interface CaptureSummary {
  referenced: ReferenceSummary;
  /** Files that were due when the run looked. */
  candidates: number;
  stored: number;
  /** Stored files whose content was already in the store (the same bytes under another file id). */
  deduplicated: number;
  failed: number;
  gone: number;
  tooLarge: number;
  /** Taken by another process meanwhile. */
  skipped: number;
  digestMismatches: number;
  bytes: number;
  /** HTTP attempts: "Get file info" calls and downloads. */
  infoCalls: number;
  downloads: number;
  /** Whether the downloads needed the bearer token besides the signed URL. */
  bearerToken: boolean;
  sweptTempFiles: number;
  /** The run stopped starting downloads at FILES_RUN_MINUTES; the files left are the next run's. */
  budgetReached: boolean;
  stoppedBy: { code: string; message: string } | null;
  durationMs: number;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 1000, maxDelayMs: 30_000 };
/** A failed file waits this long times 2^(attempts so far − 1) before a later run tries it, at most a day. */
const RETRY_AFTER_RUN_BASE_MS = 5 * 60_000;
const RETRY_AFTER_RUN_MAX_MS = 24 * 60 * 60_000;
/** A URL whose signature expires within this margin is refreshed first. */
const URL_EXPIRY_MARGIN_MS = 60_000;
const DUE_BATCH = 500;
/** A temp whose name gives no file away is removed once nobody has written to it for this long. */
const ORPHAN_TEMP_MIN_AGE_MS = 60 * 60_000;

export function fileLockName(fileId: string): string {
  return `chat-file:${fileKey(fileId)}`;
}

type Outcome = 'stored' | 'deduplicated' | 'failed' | 'gone' | 'too_large' | 'skipped';

/** Refusal of a download by status (401, 403, 404, 5xx…). */
class DownloadRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A transfer that must be tried again: short body, broken connection, 5xx. */
class RetryableTransfer extends Error {}

interface RunState {
  deps: FileCaptureDeps;
  logger: Logger;
  summary: CaptureSummary;
  /** Learned in this run: downloads want the bearer token too. */
  useToken: boolean;
}

export async function captureFiles(deps: FileCaptureDeps, options: CaptureOptions = {}): Promise<CaptureSummary> {
  const started = performance.now();
  const logger = deps.logger.child({ job: 'files' });
  const summary: CaptureSummary = {
    referenced: { versionsScanned: 0, referencesAdded: 0, filesAdded: 0 },
    candidates: 0,
    stored: 0,
    deduplicated: 0,
    failed: 0,
    gone: 0,
    tooLarge: 0,
    skipped: 0,
    digestMismatches: 0,
    bytes: 0,
    infoCalls: 0,
    downloads: 0,
    bearerToken: false,
    sweptTempFiles: 0,
    budgetReached: false,
    stoppedBy: null,
    durationMs: 0,
  };
  const state: RunState = { deps, logger, summary, useToken: false };
  summary.referenced = await referenceNewVersions(deps.pool);
  summary.sweptTempFiles = await sweepIncoming(deps, logger);
  const stop = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, stop.signal]) : stop.signal;
  const { config } = deps;

  // Wall time, not the injected clock: the budget bounds how long the Zoom turn is held.
  const budgetMs = options.runBudgetMs ?? config.files.runMinutes * 60_000;
  const budgetEndsAt = budgetMs > 0 ? started + budgetMs : Infinity;
  async function* due(): AsyncGenerator<DueFile> {
    let after = '';
    const now = deps.clock.now();
    for (;;) {
      const batch = await loadDueFiles(deps.pool, { now, maxAttempts: config.files.maxAttempts, afterFileId: after, limit: DUE_BATCH, ...(options.fileIds ? { fileIds: options.fileIds } : {}) });
      for (const file of batch) {
        if (performance.now() >= budgetEndsAt) {
          summary.budgetReached = true;
          logger.info({ runMinutes: config.files.runMinutes, candidates: summary.candidates }, 'file capture reached its run budget (FILES_RUN_MINUTES); the next run continues with the files left');
          return;
        }
        summary.candidates++;
        yield file;
      }
      if (batch.length < DUE_BATCH) return;
      after = batch[batch.length - 1]?.fileId ?? after;
    }
  }

  await runConcurrently(
    due(),
    config.files.concurrency,
    async (file) => {
      try {
        const outcome = await captureClaimed(state, file, signal);
        count(summary, outcome);
      } catch (caught) {
        const err = asTypedError(caught);
        if (summary.stoppedBy === null) {
          const aborted = deps.signal?.aborted === true;
          summary.stoppedBy = aborted ? { code: 'ABORTED', message: 'stopped by a signal' } : { code: isArchiverError(err) ? err.code : 'UNEXPECTED', message: describeFailure(err) };
          if (!aborted) logger.error({ err, fileId: file.fileId }, 'stopping the file capture stage: every other file would fail the same way; nothing stored was changed');
        }
        stop.abort(err);
      }
    },
    signal,
  );
  summary.bearerToken = state.useToken;
  summary.durationMs = Math.round(performance.now() - started);
  logger.info({ ...captureOutcomes(summary), bytes: summary.bytes, infoCalls: summary.infoCalls, downloads: summary.downloads, stoppedBy: summary.stoppedBy?.code }, 'file capture finished');
  return summary;
}

/** What became of a run's candidates: the counts its log line and the files job's figures both report. */
export function captureOutcomes(s: CaptureSummary): Pick<CaptureSummary, 'candidates' | 'stored' | 'deduplicated' | 'failed' | 'gone' | 'tooLarge'> {
  return { candidates: s.candidates, stored: s.stored, deduplicated: s.deduplicated, failed: s.failed, gone: s.gone, tooLarge: s.tooLarge };
}

function count(summary: CaptureSummary, outcome: Outcome): void {
  switch (outcome) {
    case 'stored':
      summary.stored++;
      break;
    case 'deduplicated':
      summary.stored++;
      summary.deduplicated++;
      break;
    case 'failed':
      summary.failed++;
      break;
    case 'gone':
      summary.gone++;
      break;
    case 'too_large':
      summary.tooLarge++;
      break;
    case 'skipped':
      summary.skipped++;
      break;
  }
}

async function captureClaimed(state: RunState, candidate: DueFile, signal: AbortSignal): Promise<Outcome> {
  if (signal.aborted) return 'skipped';
  const { deps } = state;
  const lock = await tryAdvisoryLock(deps.pool, fileLockName(candidate.fileId));
  if (!lock) return 'skipped';
  try {
    // Re-read under the lock: another process may have stored it meanwhile.
    const file = await loadDueFile(deps.pool, candidate.fileId, deps.clock.now(), deps.config.files.maxAttempts);
    if (!file) return 'skipped';
    return await captureLocked(state, file, AbortSignal.any([signal, lock.lost]));
  } finally {
    await lock.release();
  }
}

async function captureLocked(state: RunState, file: DueFile, signal: AbortSignal): Promise<Outcome> {
  const { deps, summary } = state;
  const { pool, clock, config } = deps;
  const logger = state.logger.child({ fileId: file.fileId });
  const maxBytes = config.files.maxBytes;
  const backoff = { ...DEFAULT_BACKOFF, ...deps.backoff };
  let url = file.downloadUrl;
  let zoomLength = file.zoomLength;
  let zoomDigest = file.zoomDigest;
  let refreshed = false;
  /** What "Get file info" said in this run: written with the outcome, in the same statement. */
  let fresh: FreshInfo | undefined;
  /** Downloads started in this run. */
  let attempts = 0;
  /** Retryable failures in this run (downloads, or "Get file info" failing). */
  let failures = 0;

  const tooLarge = async (bytes: number | null, source: string): Promise<Outcome> => {
    const what = bytes === null ? source : `${bytes} bytes (${source})`;
    await recordTooLarge(pool, file.fileId, attempts, `${what} is over FILES_MAX_BYTES (${maxBytes})`, clock.now(), fresh);
    logger.warn({ bytes, maxBytes }, 'file is larger than FILES_MAX_BYTES; listed as too_large, not downloaded');
    return 'too_large';
  };
  const gone = async (why: string): Promise<Outcome> => {
    await recordGone(pool, file.fileId, attempts, why, clock.now(), fresh);
    logger.warn({ why }, 'Zoom no longer has this file; recorded as gone, not retried');
    return 'gone';
  };
  /** A fresh URL, length and digest from "Get file info"; false when Zoom says the file does not exist. */
  const refresh = async (): Promise<boolean> => {
    refreshed = true;
    summary.infoCalls++;
    try {
      const info = await getFileInfo(deps.zoom, file.fileId, { signal });
      url = info.downloadUrl ?? url;
      zoomLength = info.length;
      zoomDigest = info.digest;
      fresh = { downloadUrl: info.downloadUrl, length: info.length, digest: info.digest, at: clock.now() };
      return true;
    } catch (err) {
      if (hasCode(err, 'ZOOM_NOT_FOUND')) return false;
      throw err;
    }
  };

  const declared = file.declaredBytes;
  if (declared !== null && declared > maxBytes) return tooLarge(declared, "the report's file_size");
  if (zoomLength !== null && zoomLength > maxBytes) return tooLarge(zoomLength, "Zoom's length");

  for (;;) {
    try {
      // A URL fresh from "Get file info" is tried whatever its exp says (this host's clock may be off).
      if (url === null || (!refreshed && urlExpired(url, clock.now().getTime()))) {
        if (refreshed) throw new RetryableTransfer('Get file info handed out no usable download URL');
        if (!(await refresh())) return await gone('Get file info answers 404: the file no longer exists in Zoom');
        if (url === null) throw new RetryableTransfer('Zoom knows no download URL for this file');
        if (zoomLength !== null && zoomLength > maxBytes) return await tooLarge(zoomLength, "Zoom's length");
        continue;
      }
      attempts++;
      const received = await downloadOnce(state, url, file.fileId, maxBytes, signal);
      try {
        // The report's file_size disagrees and Zoom's length is unknown: ask Zoom which is right.
        if (zoomLength === null && declared !== null && received.bytes !== declared && !refreshed) {
          if (!(await refresh())) return await gone('Get file info answers 404: the file no longer exists in Zoom');
        }
        if (zoomLength !== null && received.bytes !== zoomLength) {
          throw new RetryableTransfer(`received ${received.bytes} bytes where Zoom's file info states ${zoomLength}; not stored`);
        }
        const sizeMismatch = declared !== null && received.bytes !== declared;
        const digestMismatch = zoomDigest !== null && zoomDigest !== received.sha256;
        const placed = await commitContent(config.dataDir, received);
        const notes: string[] = [];
        if (digestMismatch) notes.push(`Zoom's digest ${zoomDigest} differs from the content's SHA-256 ${received.sha256}; the content was kept as received`);
        if (sizeMismatch) notes.push(zoomLength !== null ? `the report declared ${declared} bytes; Zoom's file info and the content agree on ${received.bytes}` : `the report declared ${declared} bytes; the content has ${received.bytes} and Zoom's file info states no length`);
        const recorded = await recordStored(
          pool,
          file.fileId,
          attempts,
          { sha256: received.sha256, bytes: received.bytes, storedPath: placed.storedPath, digestMismatch, sizeMismatch, note: notes.length === 0 ? null : notes.join('; ') },
          clock.now(),
          fresh,
        );
        if (!recorded) return 'skipped';
        summary.bytes += received.bytes;
        if (digestMismatch) {
          summary.digestMismatches++;
          logger.warn({ zoomDigest, sha256: received.sha256 }, "stored a file whose SHA-256 differs from Zoom's digest; the mismatch is recorded");
        }
        logger.debug({ bytes: received.bytes, sha256: received.sha256, outcome: placed.outcome, attempts }, 'file stored');
        return placed.outcome === 'identical-existing' ? 'deduplicated' : 'stored';
      } finally {
        await removeIfPresent(received.tempPath).catch(() => undefined);
      }
    } catch (caught) {
      const err = asTypedError(caught);
      if (signal.aborted) throw signal.reason instanceof Error && hasCode(signal.reason, 'LOCK_LOST') ? signal.reason : abortErrorFor(signal);
      if (err instanceof AbortError) throw err;
      if (err instanceof FilesStorageError) throw err;
      if (err instanceof BodyTooLargeError) return tooLarge(null, 'the body received (cut off at the limit; nothing kept)');
      if (err instanceof DownloadRefused && (err.status === 404 || err.status === 401 || err.status === 403 || err.status === 410)) {
        if (!refreshed) {
          if (!(await refresh())) return gone(`the download answered HTTP ${err.status} and Get file info answers 404`);
          continue;
        }
        if (err.status === 404 || err.status === 410) return gone(`the download answers HTTP ${err.status} even with a fresh URL`);
        return fail(err.message, 'refused');
      }
      if (isArchiverError(err) && classifyFailure(err) === 'fatal') throw err;
      const retryable = err instanceof RetryableTransfer || err instanceof BodyReadError || err instanceof BodyLongerThanDeclaredError || (err instanceof DownloadRefused && (err.status >= 500 || err.status === 429)) || isRetryableZoomError(err);
      if (!retryable) return fail(describeFailure(err), 'refused');
      failures++;
      if (failures >= config.files.downloadAttempts) return fail(describeFailure(err), 'exhausted');
      const delayMs = computeBackoffMs(failures - 1, backoff);
      logger.warn({ err, attempts, delayMs }, `file capture attempt ${failures} failed; nothing was kept; retrying in ${delayMs} ms`);
      await sleepOrAbort(delayMs, signal);
      // A stale URL may be refreshed again after a failure.
      if (url === null || urlExpired(url, clock.now().getTime())) refreshed = false;
    }
  }

  async function fail(error: string, why: 'refused' | 'exhausted'): Promise<Outcome> {
    attempts = Math.max(attempts, failures, 1);
    const total = file.attempts + attempts;
    const waitMs = Math.min(RETRY_AFTER_RUN_MAX_MS, RETRY_AFTER_RUN_BASE_MS * 2 ** Math.max(0, total - 1));
    const now = clock.now();
    await recordFailed(pool, file.fileId, attempts, error, now, new Date(now.getTime() + waitMs), fresh);
    logger.warn({ error, attempts, totalAttempts: total }, why === 'exhausted' ? `giving up on this file for this run after ${attempts} attempts; a later run tries again` : 'download refused; a later run tries again');
    return 'failed';
  }
}

function isRetryableZoomError(err: unknown): boolean {
  return err instanceof ZoomApiError && ['ZOOM_NETWORK_ERROR', 'ZOOM_SERVER_ERROR', 'ZOOM_RATE_LIMITED', 'ZOOM_INVALID_RESPONSE'].includes(err.code);
}

/** One GET of the content into a temp file; 401/403 without the token is tried once with it. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

async function downloadOnce(state: RunState, url: string, fileId: string, maxBytes: number, signal: AbortSignal): Promise<ReceivedContent> {
  const { deps, summary } = state;
  summary.downloads++;
  const withToken = state.useToken;
  // A redirect (a CDN in front of the file host) is followed a few hops; the client sends the token
  // only to Zoom's own hosts, wherever a redirect points.
  const open = async (withBearer: boolean): Promise<ZoomStreamResponse> => {
    let target = url;
    let response = await openSignedDownload(deps.zoom, target, { withToken: withBearer, signal });
    for (let hop = 0; REDIRECT_STATUSES.has(response.status) && hop < MAX_REDIRECTS; hop++) {
      const location = headerValue(response.headers, 'location');
      if (location === undefined) break;
      discard(response.body);
      summary.downloads++;
      target = new URL(location, target).toString();
      response = await openSignedDownload(deps.zoom, target, { withToken: withBearer, signal });
    }
    return response;
  };
  let response = await open(withToken);
  if ((response.status === 401 || response.status === 403) && !withToken) {
    discard(response.body);
    summary.downloads++;
    response = await open(true);
    if (response.status >= 200 && response.status < 300 && !state.useToken) {
      state.useToken = true;
      state.logger.info('file downloads need the bearer token besides the signed URL; sending it from now on in this run');
    }
  }
  if (response.status < 200 || response.status >= 300) {
    const text = await readErrorBodyText(response.body, 2048).catch(() => '');
    throw new DownloadRefused(response.status, `the download answered HTTP ${response.status}${response.trackingId ? `, trackingId ${response.trackingId}` : ''}${text ? ` (${text.slice(0, 200).replace(/\s+/g, ' ')})` : ''}`);
  }
  const contentLength = parseContentLength(headerValue(response.headers, 'content-length'));
  if (contentLength !== undefined && contentLength > maxBytes) {
    discard(response.body);
    throw new BodyTooLargeError(maxBytes);
  }
  const received = await receiveToTemp(deps.config.dataDir, fileId, response.body, {
    maxBytes,
    contentLength,
    signal,
    ...(deps.openSink ? { openSink: deps.openSink } : {}),
  });
  if (contentLength !== undefined && received.bytes !== contentLength) {
    await removeIfPresent(received.tempPath).catch(() => undefined);
    throw new RetryableTransfer(`the download ended after ${received.bytes} of the ${contentLength} bytes of its Content-Length`);
  }
  return received;
}

function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Whether a signed URL's `jwt` has expired (or does within a minute), read from its `exp` claim
 * without checking the signature (only Zoom can). A URL without a readable `exp` is tried as it is.
 */
export function urlExpired(url: string, nowMs: number): boolean {
  let jwt: string | null;
  try {
    jwt = new URL(url).searchParams.get('jwt');
  } catch {
    return true;
  }
  if (!jwt) return false;
  for (const part of jwt.split('.')) {
    try {
      const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof claims === 'object' && claims !== null && typeof claims.exp === 'number') return claims.exp * 1000 <= nowMs + URL_EXPIRY_MARGIN_MS;
    } catch {
      // not this part
    }
  }
  return false;
}

/**
 * Removes temps an interrupted run left in `.incoming`: one whose file's lock is free (its writer is
 * gone), or an unrecognised one nobody has touched for an hour.
 */
async function sweepIncoming(deps: FileCaptureDeps, logger: Logger): Promise<number> {
  const directory = incomingDir(deps.config.dataDir);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const full = path.join(directory, name);
    try {
      const key = keyOfTemp(name);
      if (key !== undefined) {
        const lock = await tryAdvisoryLock(deps.pool, `chat-file:${key}`);
        if (!lock) continue;
        try {
          if (await removeIfPresent(full)) removed++;
        } finally {
          await lock.release();
        }
      } else {
        const info = await stat(full);
        if (deps.clock.now().getTime() - info.mtimeMs >= ORPHAN_TEMP_MIN_AGE_MS && (await removeIfPresent(full))) removed++;
      }
    } catch (err) {
      logger.warn({ err, tempPath: full }, 'could not remove a stale temporary file');
    }
  }
  if (removed > 0) logger.info({ removed }, 'removed temporary files an interrupted file capture had left');
  return removed;
}
