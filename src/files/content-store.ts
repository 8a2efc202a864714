import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArchiverError } from '../errors.js';
import { resolveInDataDir } from '../util/data-dir.js';

export { resolveInDataDir };
import { FileConflictError, TEMP_SUFFIX, createTempWriteStream, fileErrorCode, placeWithoutOverwrite, removeIfPresent, syncDirectory, syncFile } from '../storage/atomic-file.js';

/**
 * The content-addressed store of shared files: `ARCHIVE_DATA_DIR/files/<sha256[0..2]>/<sha256>`.
 * A download streams into `files/.incoming/<key>.<random>.tmp` while it is hashed and counted
 * (memory stays flat at any size); once complete and checked, the temp is fsynced and given its
 * content's name without ever replacing a file there (src/storage/atomic-file.ts: `link`, else a
 * checked `rename`), and the directory is fsynced. The same content shared twice is stored once:
 * the second placement finds the same bytes under the name and keeps them. A process killed
 * mid-download leaves only a temp in `.incoming`, which no reader looks at and the next run sweeps.
 */

export const FILES_DIR = 'files';
export const INCOMING_DIR = '.incoming';

/** Failures of the local disk: they stop the capture stage (every other file would fail the same way). */
export class FilesStorageError extends ArchiverError {
  declare readonly code: 'FILES_STORAGE_FULL' | 'FILES_STORAGE_FAILED';
  readonly path: string;
  readonly systemCode: string | undefined;

  constructor(code: 'FILES_STORAGE_FULL' | 'FILES_STORAGE_FAILED', message: string, filePath: string, options: { cause?: unknown; systemCode?: string | undefined } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = filePath;
    this.systemCode = options.systemCode;
  }
}

export function storageError(err: unknown, action: string, filePath: string): FilesStorageError {
  if (err instanceof FilesStorageError) return err;
  const systemCode = fileErrorCode(err);
  const full = systemCode === 'ENOSPC' || systemCode === 'EDQUOT';
  const why = systemCode ? `${systemCode}${full ? ': no space left on the device' : ''}` : err instanceof Error ? err.message : String(err);
  return new FilesStorageError(
    full ? 'FILES_STORAGE_FULL' : 'FILES_STORAGE_FAILED',
    `cannot ${action} ${filePath} (${why}); the file capture stage stopped, nothing stored was changed and nothing half-written was kept`,
    filePath,
    { cause: err, systemCode },
  );
}

/** What a disk answers (never a network): these stop the stage. */
const DISK_ERROR_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EMFILE', 'ENFILE', 'EFBIG', 'EBADF']);

/** `files/ab/abcdef…`: with `/` separators, relative to ARCHIVE_DATA_DIR, as the database records it. */
export function contentRelativePath(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError(`not a SHA-256: ${sha256}`);
  return `${FILES_DIR}/${sha256.slice(0, 2)}/${sha256}`;
}

export function incomingDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), FILES_DIR, INCOMING_DIR);
}

/** 32 hex digits naming a file id on disk and in its lock (file ids may hold any character). */
export function fileKey(fileId: string): string {
  return createHash('sha256').update(fileId, 'utf8').digest('hex').slice(0, 32);
}

/** The file id's key of a temp name `<key>.<random>.tmp`, or undefined. */
export function keyOfTemp(name: string): string | undefined {
  return /^([0-9a-f]{32})\.[0-9a-f]+\.tmp$/.exec(name)?.[1];
}

/** Opens the write side of a temp file; tests hand in one that fails like a full disk. */
export type OpenSink = (tempPath: string) => Promise<Writable>;

export const openTempSink: OpenSink = (tempPath) => createTempWriteStream(tempPath, { mode: 0o640, highWaterMark: 1024 * 1024 });

export interface ReceivedContent {
  tempPath: string;
  bytes: number;
  sha256: string;
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the body exceeds FILES_MAX_BYTES (${limit} bytes)`);
  }
}

export class BodyLongerThanDeclaredError extends Error {
  constructor(readonly declared: number) {
    super(`the body is longer than its Content-Length (${declared})`);
  }
}

/** Read-side failures of the body (a reset, a timeout): the stage retries them. */
export class BodyReadError extends Error {
  constructor(
    readonly bytes: number,
    options: { cause: unknown },
  ) {
    super(`the download broke off after ${bytes} bytes (${(options.cause as { code?: string } | null)?.code ?? (options.cause instanceof Error ? options.cause.message : String(options.cause))})`, options);
  }
}

/**
 * Streams `body` into a new temp file in `.incoming`, hashing and counting it. Throws
 * BodyTooLargeError past `maxBytes`, BodyLongerThanDeclaredError past `contentLength`,
 * FilesStorageError for the disk, BodyReadError for the network. Never leaves the temp behind
 * on failure.
 */
export async function receiveToTemp(
  dataDir: string,
  fileId: string,
  body: Readable,
  options: { maxBytes: number; contentLength: number | undefined; signal: AbortSignal; openSink?: OpenSink },
): Promise<ReceivedContent> {
  const directory = incomingDir(dataDir);
  try {
    await mkdir(directory, { recursive: true, mode: 0o750 });
  } catch (err) {
    body.destroy();
    throw storageError(err, 'create the directory', directory);
  }
  const tempPath = path.join(directory, `${fileKey(fileId)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const hash = createHash('sha256');
  let bytes = 0;
  let limitError: Error | undefined;
  let firstFailure: { side: 'read' | 'write'; err: unknown } | undefined;
  body.once('error', (err) => (firstFailure ??= { side: 'read', err }));
  let sink: Writable;
  try {
    sink = await (options.openSink ?? openTempSink)(tempPath);
  } catch (err) {
    body.destroy();
    throw storageError(err, 'write', tempPath);
  }
  // Only an error of the disk's counts as the write side's: pipeline also destroys the sink with
  // the body's error when the network breaks.
  sink.once('error', (err) => {
    if (DISK_ERROR_CODES.has(fileErrorCode(err) ?? '')) firstFailure ??= { side: 'write', err };
  });
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > options.maxBytes) {
        limitError = new BodyTooLargeError(options.maxBytes);
        callback(limitError);
        return;
      }
      if (options.contentLength !== undefined && bytes > options.contentLength) {
        limitError = new BodyLongerThanDeclaredError(options.contentLength);
        callback(limitError);
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(body, tap, sink, { signal: options.signal });
  } catch (err) {
    await closed(sink);
    await removeIfPresent(tempPath).catch(() => undefined);
    if (options.signal.aborted) throw err;
    if (limitError) throw limitError;
    if (firstFailure?.side === 'write') throw storageError(firstFailure.err, 'write', tempPath);
    throw new BodyReadError(bytes, { cause: firstFailure?.err ?? err });
  }
  return { tempPath, bytes, sha256: hash.digest('hex') };
}

function closed(stream: Writable): Promise<void> {
  if (stream.closed || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.destroy();
  });
}

/**
 * Gives a received temp its content's name (fsync, place without overwrite, fsync the directory).
 * 'identical-existing': the same bytes were already stored (dedup); the temp is removed.
 */
export async function commitContent(dataDir: string, received: ReceivedContent): Promise<{ storedPath: string; outcome: 'placed' | 'identical-existing' }> {
  const storedPath = contentRelativePath(received.sha256);
  const finalPath = resolveInDataDir(dataDir, storedPath);
  try {
    await mkdir(path.dirname(finalPath), { recursive: true, mode: 0o750 });
    await syncFile(received.tempPath);
    const outcome = await placeWithoutOverwrite(received.tempPath, finalPath, { expected: { bytes: received.bytes, sha256: received.sha256 } });
    await syncDirectory(path.dirname(finalPath));
    return { storedPath, outcome };
  } catch (err) {
    await removeIfPresent(received.tempPath).catch(() => undefined);
    if (err instanceof FileConflictError) {
      throw new FilesStorageError('FILES_STORAGE_FAILED', `${err.message}: the content store holds other bytes under this SHA-256 (run \`files verify\`)`, finalPath, { cause: err });
    }
    throw storageError(err, 'store', finalPath);
  }
}
