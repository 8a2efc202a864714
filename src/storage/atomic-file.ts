import type { Dirent, Stats, WriteStream } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ArchiverError, InternalError } from '../errors.js';
import { hashFile } from '../util/files.js';

/**
 * Files that appear complete or not at all: the one way the archive writes evidence to disk —
 * export bundles, legal-hold downloads and (next) attachment content.
 *
 * 1. Write under a temporary name beside the final one (same directory, so same file system),
 *    opened with `wx`: never an existing file.
 * 2. fsync the file.
 * 3. Place it without overwriting: `link(temp, final)` fails with EEXIST when the name is taken, so
 *    a file someone else put there is never replaced (`rename` would silently replace it); then
 *    unlink the temp. File systems without hard links (some FUSE and network mounts, FAT/exFAT,
 *    and Linux with protected hard links: EPERM, EXDEV, ENOTSUP, EOPNOTSUPP, ENOSYS) fall back to
 *    "is the name free? then rename". That check and the rename are two steps, so the caller must
 *    own the name meanwhile: a lock (legal-hold files), a name nobody else generates (exports),
 *    or a name derived from the content (attachments: a racing writer puts the same bytes there).
 * 4. fsync the directory, so the new name survives a crash.
 *
 * A process killed at any point leaves at most a temp file, never a final name with partial
 * content; `sweepStaleTemps` removes such leftovers later, with the caller deciding which ones are
 * stale (a lock nobody holds, an age).
 *
 * Every file-system call goes through an `AtomicFileSystem` (node:fs/promises by default), so tests
 * can make `link` fail as a file system without hard links does, on a real file system.
 */

/** The file-system calls this module makes; `nodeFileSystem` unless a test hands in another. */
export interface AtomicFileSystem {
  open(filePath: string, flags: string, mode?: number): Promise<FileHandle>;
  link(existingPath: string, newPath: string): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  unlink(filePath: string): Promise<void>;
  lstat(filePath: string): Promise<Stats>;
  readdir(directory: string, options: { withFileTypes: true }): Promise<Dirent[]>;
  rm(target: string, options: { recursive: boolean; force: boolean }): Promise<void>;
}

export const nodeFileSystem: AtomicFileSystem = {
  open: (filePath, flags, mode) => fsPromises.open(filePath, flags, mode),
  link: (existingPath, newPath) => fsPromises.link(existingPath, newPath),
  rename: (oldPath, newPath) => fsPromises.rename(oldPath, newPath),
  unlink: (filePath) => fsPromises.unlink(filePath),
  lstat: (filePath) => fsPromises.lstat(filePath),
  readdir: (directory, options) => fsPromises.readdir(directory, options),
  rm: (target, options) => fsPromises.rm(target, options),
};

/** What a file system without hard links answers to `link`. */
const NO_HARD_LINK_CODES: ReadonlySet<string> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

export const TEMP_SUFFIX = '.tmp';

/** The errno-style code of a file-system error (`ENOENT`, `EEXIST`, …), if it has one. */
export function fileErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** Size and SHA-256 (lower-case hex) of a file's content. */
export interface FileDigest {
  bytes: number;
  sha256: string;
}

/** The final name is taken (by another file, or by the same bytes when the caller gave none to compare). */
export class FileConflictError extends ArchiverError {
  constructor(
    readonly finalPath: string,
    /** What is there now, when it was compared with the expected content. */
    readonly existing: FileDigest | undefined,
    message: string,
  ) {
    super('FILE_CONFLICT', message);
  }
}

export interface FsOption {
  /** Default: node:fs/promises. */
  fs?: AtomicFileSystem;
}

/**
 * fsync through a new descriptor (Linux flushes a file's pages whichever descriptor wrote them), so
 * it works after the writing stream has closed.
 */
export async function syncFile(filePath: string, options: FsOption = {}): Promise<void> {
  const handle = await (options.fs ?? nodeFileSystem).open(filePath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The directory entry of a new, renamed or linked file is durable only once the directory itself is
 * synced. Some file systems refuse fsync on a directory (EINVAL, EISDIR); there the entry is as
 * durable as that file system makes it.
 */
export async function syncDirectory(directory: string, options: FsOption = {}): Promise<void> {
  const handle = await (options.fs ?? nodeFileSystem).open(directory, 'r');
  try {
    await handle.sync();
  } catch (err) {
    const code = fileErrorCode(err);
    if (code !== 'EINVAL' && code !== 'EISDIR') throw err;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Removes a file (or, with `recursive`, a directory) that may not exist; true when something was removed. */
export async function removeIfPresent(target: string, options: FsOption & { recursive?: boolean } = {}): Promise<boolean> {
  const fs = options.fs ?? nodeFileSystem;
  try {
    if (options.recursive) {
      await fs.lstat(target);
      await fs.rm(target, { recursive: true, force: true });
    } else {
      await fs.unlink(target);
    }
    return true;
  } catch (err) {
    if (fileErrorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/** Opens a new file for writing (`wx`: fails with EEXIST rather than touch an existing one) as a stream. */
export async function createTempWriteStream(tempPath: string, options: FsOption & { mode?: number; highWaterMark?: number } = {}): Promise<WriteStream> {
  const handle = await (options.fs ?? nodeFileSystem).open(tempPath, 'wx', options.mode ?? 0o640);
  return handle.createWriteStream(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark });
}

export type PlaceOutcome = 'placed' | 'identical-existing';

export interface PlaceOptions extends FsOption {
  /**
   * The temp file's content. When given, a final name already holding exactly these bytes (an
   * interrupted run got that far, or the same content stored twice) is kept, the temp removed, and
   * 'identical-existing' returned. Without it, any existing file is a conflict.
   */
  expected?: FileDigest;
}

/**
 * Gives a complete, synced temp file its final name without ever replacing a file there (see the
 * module comment), and removes the temp name. Does not sync the directory: see `syncDirectory`.
 * On a conflict the temp file is left for the caller to remove.
 */
export async function placeWithoutOverwrite(tempPath: string, finalPath: string, options: PlaceOptions = {}): Promise<PlaceOutcome> {
  const fs = options.fs ?? nodeFileSystem;
  try {
    await fs.link(tempPath, finalPath);
  } catch (err) {
    const code = fileErrorCode(err);
    if (code === 'EEXIST') return keepIdenticalOrConflict(tempPath, finalPath, options);
    if (code === undefined || !NO_HARD_LINK_CODES.has(code)) throw err;
    // No hard links here: rename, once the name is seen to be free (the caller owns the name).
    try {
      await fs.lstat(finalPath);
      return keepIdenticalOrConflict(tempPath, finalPath, options);
    } catch (statErr) {
      if (fileErrorCode(statErr) !== 'ENOENT') throw statErr;
    }
    await fs.rename(tempPath, finalPath);
    return 'placed';
  }
  await fs.unlink(tempPath);
  return 'placed';
}

async function keepIdenticalOrConflict(tempPath: string, finalPath: string, options: PlaceOptions): Promise<PlaceOutcome> {
  if (!options.expected) throw new FileConflictError(finalPath, undefined, `${finalPath} already exists; it was not overwritten`);
  const existing = await hashFile(finalPath);
  if (existing.bytes !== options.expected.bytes || existing.sha256 !== options.expected.sha256) {
    throw new FileConflictError(
      finalPath,
      existing,
      `${finalPath} already exists with other content (sha256 ${existing.sha256}, ${existing.bytes} bytes; the new file has ${options.expected.sha256}, ${options.expected.bytes} bytes); it was not overwritten`,
    );
  }
  await removeIfPresent(tempPath, options);
  return 'identical-existing';
}

/** fsync the temp file, place it (see `placeWithoutOverwrite`), fsync the directory. */
export async function commitTempFile(tempPath: string, finalPath: string, options: PlaceOptions = {}): Promise<PlaceOutcome> {
  await syncFile(tempPath, options);
  const outcome = await placeWithoutOverwrite(tempPath, finalPath, options);
  await syncDirectory(path.dirname(finalPath), options);
  return outcome;
}

/**
 * A new file written as a stream under `<final>.tmp` (or a temp name of the caller's, in the same
 * directory) and given its final name by `commit` only once complete and synced. `discard` removes
 * it at any point; after a crash, `sweepStaleTemps` does.
 */
export class AtomicFile {
  private committed = false;

  private constructor(
    readonly tempPath: string,
    readonly finalPath: string,
    /** Write the content here. */
    readonly stream: WriteStream,
    private readonly fs: AtomicFileSystem,
  ) {}

  static async create(finalPath: string, options: FsOption & { tempPath?: string; mode?: number; highWaterMark?: number } = {}): Promise<AtomicFile> {
    const tempPath = options.tempPath ?? `${finalPath}${TEMP_SUFFIX}`;
    if (path.dirname(tempPath) !== path.dirname(finalPath)) throw new RangeError(`a temp file must sit beside its final name (${tempPath} is not beside ${finalPath})`);
    const fs = options.fs ?? nodeFileSystem;
    const stream = await createTempWriteStream(tempPath, { ...options, fs });
    return new AtomicFile(tempPath, finalPath, stream, fs);
  }

  /** Ends the stream if the caller has not, waits for it to close, then syncs and places the file. */
  async commit(options: { expected?: FileDigest } = {}): Promise<PlaceOutcome> {
    if (this.committed) throw new InternalError(`${this.finalPath} was already committed`);
    await closeStream(this.stream, true);
    const outcome = await commitTempFile(this.tempPath, this.finalPath, { ...options, fs: this.fs });
    this.committed = true;
    return outcome;
  }

  /** Stops writing and removes the temp file; safe to call at any point, more than once. Never touches the final name. */
  async discard(): Promise<void> {
    await closeStream(this.stream, false);
    if (!this.committed) await removeIfPresent(this.tempPath, { fs: this.fs });
  }
}

function closeStream(stream: WriteStream, graceful: boolean): Promise<void> {
  if (stream.closed) {
    const failed = stream.errored;
    return graceful && failed ? Promise.reject(failed) : Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    stream.once('close', () => {
      const failed = stream.errored;
      if (graceful && failed) reject(failed);
      else resolve();
    });
    if (graceful) {
      if (!stream.writableEnded) stream.end();
    } else {
      stream.destroy();
    }
  });
}

// --- sweeping --------------------------------------------------------------------------------

export interface TempCandidate {
  path: string;
  name: string;
  info: Stats;
}

export interface SweepOptions extends FsOption {
  /** Where to look. A missing directory is nothing to sweep. */
  root: string;
  /** How many directory levels below `root` temp files sit (0: in `root` itself). */
  depth?: number;
  /** Whether a name is a temp file (or directory) of the caller's. */
  isTemp: (name: string) => boolean;
  /**
   * Decides about one temp: call `remove()` to remove it (so a lock can be held around the
   * removal) and return whether it was removed. Default: remove it once nobody has modified it for
   * `minAgeMs`.
   */
  decide?: (temp: TempCandidate, remove: () => Promise<boolean>) => Promise<boolean>;
  /** For the default decision. */
  minAgeMs?: number;
  /** For the default decision; default Date.now(). */
  nowMs?: number;
}

export interface SweepResult {
  removed: string[];
  /** Temps that could not be judged or removed; the sweep goes on with the others. */
  failed: Array<{ path: string; error: unknown }>;
}

/** Removes temp files (and temp directories, such as an export's spool) an interrupted writer left. */
export async function sweepStaleTemps(options: SweepOptions): Promise<SweepResult> {
  const fs = options.fs ?? nodeFileSystem;
  const result: SweepResult = { removed: [], failed: [] };
  const minAgeMs = options.minAgeMs ?? 0;
  const nowMs = options.nowMs ?? Date.now();
  const decide = options.decide ?? (async (temp, remove) => (nowMs - temp.info.mtimeMs >= minAgeMs ? remove() : false));
  for (const found of await findTemps(fs, options.root, options.depth ?? 0, options.isTemp)) {
    try {
      const info = await fs.lstat(found);
      const candidate = { path: found, name: path.basename(found), info };
      const remove = () => removeIfPresent(found, { fs, recursive: info.isDirectory() });
      if (await decide(candidate, remove)) result.removed.push(found);
    } catch (error) {
      if (fileErrorCode(error) === 'ENOENT') continue; // gone meanwhile: its writer finished or another sweep took it
      result.failed.push({ path: found, error });
    }
  }
  return result;
}

async function findTemps(fs: AtomicFileSystem, directory: string, depth: number, isTemp: (name: string) => boolean): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(directory, { withFileTypes: true });
  } catch (err) {
    if (fileErrorCode(err) === 'ENOENT') return [];
    throw err;
  }
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(directory, entry.name);
    if (depth === 0) {
      if ((entry.isFile() || entry.isDirectory()) && isTemp(entry.name)) found.push(full);
    } else if (entry.isDirectory()) {
      found.push(...(await findTemps(fs, full, depth - 1, isTemp)));
    }
  }
  return found;
}
