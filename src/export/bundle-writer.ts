import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { AtomicFile, type AtomicFileSystem } from '../storage/atomic-file.js';
import { DeflatingEntry } from './deflating-entry.js';
import { DeflatingWriter, HashingTransform, type DeflatedDigest, type EntryDigest } from './hashing-writer.js';
import { ZipWriter } from './zip-writer.js';
import { InternalError } from '../errors.js';

/**
 * The bundle on disk: a streaming zip (zip-writer.ts: ZIP64 throughout, deflate level 6) written to
 * `<final>.<id>.tmp`, hashed as it is written, fsynced, and given its final name only when complete
 * (src/storage/atomic-file.ts: never replacing a file there) — a bundle that did not finish never
 * has a name that looks complete.
 *
 * Text entries are deflated by DeflatingWriter (several at once, on the thread pool, with a native
 * CRC-32) and handed to the zip already compressed, with their CRC-32 and size. The zip deflates
 * only the manifest itself and stores the legal-hold zips (and, next, attachments) as they are.
 */

const ENTRY_HIGH_WATER_MARK_BYTES = 256 * 1024;
/** Bundles keep the permissions a new file gets from the process's umask, as before (0644 typically). */
const BUNDLE_FILE_MODE = 0o666;

export interface BundleEntryOptions {
  /** No compression (for content that is already compressed, such as legal-hold zips). */
  store?: boolean;
}

export interface BundleResult extends EntryDigest {
  path: string;
}

/** `source` through a hasher, its failure passed on so the zip sees it. */
function hashing(source: Readable): HashingTransform {
  const hasher = new HashingTransform();
  source.on('error', (err: Error) => hasher.destroy(err));
  return source.pipe(hasher);
}

export class BundleWriter {
  private readonly zip: ZipWriter;
  private readonly output = new HashingTransform();
  private readonly openWriters = new Set<DeflatingWriter>();
  private readonly openSources = new Set<Readable>();
  private failed: Error | undefined;
  private readonly failure: Promise<never>;
  private rejectFailure!: (err: Error) => void;
  private finished = false;

  private constructor(
    private readonly file: AtomicFile,
    date: Date,
  ) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    // Nobody may be waiting when it fails; the failure is re-raised by the next call.
    this.failure.catch(() => undefined);
    this.output.on('error', (err: Error) => this.fail(err));
    file.stream.on('error', (err: Error) => this.fail(err));
    this.output.pipe(file.stream);
    this.zip = new ZipWriter(this.output, date);
  }

  get tmpPath(): string {
    return this.file.tempPath;
  }

  get finalPath(): string {
    return this.file.finalPath;
  }

  /** Creates `tmpPath` (never overwriting) and starts the zip. `fs`: for tests, a file system without hard links. */
  static async open(tmpPath: string, finalPath: string, date: Date, options: { fs?: AtomicFileSystem } = {}): Promise<BundleWriter> {
    return new BundleWriter(await AtomicFile.create(finalPath, { tempPath: tmpPath, mode: BUNDLE_FILE_MODE, ...options }), date);
  }

  /** Bytes of zip written so far. */
  get bytesWritten(): number {
    return this.output.bytes;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.rejectFailure(err);
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed;
  }

  /** Queues an entry; its failure fails the bundle. */
  private add(name: string, source: Parameters<ZipWriter['add']>[1]): Promise<void> {
    const done = this.zip.add(name, source);
    done.catch((err: unknown) => this.fail(err instanceof Error ? err : new InternalError(String(err))));
    return Promise.race([done, this.failure]);
  }

  /** An entry to write into piece by piece, deflated as it goes; `end()` resolves once the zip has all of it. */
  openEntry(name: string): BundleEntryStream {
    this.throwIfFailed();
    const stream = new PassThrough({ highWaterMark: ENTRY_HIGH_WATER_MARK_BYTES });
    const writer = new DeflatingWriter(stream, this.failure);
    this.openWriters.add(writer);
    const done = this.add(name, { method: 'deflated', data: stream, sizes: () => ({ crc32: writer.crc32, size: writer.bytesWritten }) });
    void done.then(
      () => this.openWriters.delete(writer),
      () => undefined,
    );
    return new BundleEntryStream(writer, done);
  }

  /**
   * Copies an already deflated file (a spooled entry) into the zip, checking on the way that its
   * bytes are still the ones that were written.
   */
  async appendDeflatedFile(name: string, filePath: string, digest: DeflatedDigest): Promise<void> {
    this.throwIfFailed();
    const source = createReadStream(filePath, { highWaterMark: ENTRY_HIGH_WATER_MARK_BYTES });
    const copied = hashing(source);
    await this.withSource(source, this.add(name, { method: 'deflated', data: copied, sizes: () => ({ crc32: digest.crc32, size: digest.bytes }) }));
    const check = copied.digest();
    if (check.sha256 !== digest.compressedSha256 || check.bytes !== digest.compressedBytes) {
      throw new InternalError(`the spooled data of ${name} changed on disk before it was zipped (${digest.compressedBytes} → ${check.bytes} bytes)`);
    }
  }

  /** Copies a whole stream (a legal-hold zip, an attachment) into an entry, hashing it on the way. */
  async appendStream(name: string, source: Readable, options: BundleEntryOptions = {}): Promise<EntryDigest> {
    this.throwIfFailed();
    const hashed = hashing(source);
    await this.withSource(source, this.add(name, options.store ? { method: 'store', data: hashed } : { method: 'deflate', data: hashed }));
    return hashed.digest();
  }

  async appendFile(name: string, filePath: string, options: BundleEntryOptions = {}): Promise<EntryDigest> {
    return this.appendStream(name, createReadStream(filePath, { highWaterMark: ENTRY_HIGH_WATER_MARK_BYTES }), options);
  }

  async appendBuffer(name: string, content: Buffer): Promise<void> {
    this.throwIfFailed();
    await this.add(name, { method: 'deflate', data: content });
  }

  /** Writes the central directory and waits until the .tmp file has every byte. */
  async finish(): Promise<EntryDigest> {
    this.throwIfFailed();
    const closed = once(this.file.stream, 'close');
    await Promise.race([this.zip.finish(), this.failure]);
    await Promise.race([closed, this.failure]);
    this.throwIfFailed();
    this.finished = true;
    return this.output.digest();
  }

  /** fsyncs the finished bundle and gives it its final name (never replacing a file there). */
  async commit(): Promise<void> {
    if (!this.finished) throw new InternalError('commit before finish');
    await this.file.commit();
  }

  /** Stops writing and removes the .tmp file. Safe to call at any point, more than once. */
  async abort(): Promise<void> {
    this.fail(new InternalError('bundle aborted'));
    for (const writer of this.openWriters) await writer.abort();
    this.openWriters.clear();
    for (const source of this.openSources) source.destroy();
    this.openSources.clear();
    this.output.destroy();
    await this.file.discard();
  }

  private async withSource(source: Readable, done: Promise<void>): Promise<void> {
    this.openSources.add(source);
    try {
      await done;
    } finally {
      this.openSources.delete(source);
    }
  }
}

/** An entry deflated straight into the zip: ending waits until the zip has all of it. */
export class BundleEntryStream extends DeflatingEntry<DeflatedDigest> {
  constructor(
    writer: DeflatingWriter,
    private readonly done: Promise<void>,
  ) {
    super(writer);
  }

  async end(): Promise<DeflatedDigest> {
    const digest = await this.writer.end('sent');
    await this.done;
    return digest;
  }
}
