import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { link, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import archiver, { type Archiver } from 'archiver';
import { fsyncDirectory, fsyncFile } from '../util/files.js';
import { DeflatingWriter, HashingTransform, type DeflatedDigest, type EntryDigest } from './hashing-writer.js';

/**
 * The bundle on disk: a streaming zip (archiver, deflate level 6) written to `<final>.<id>.tmp`,
 * hashed as it is written, fsynced, and moved to its final name only when complete — a bundle that
 * did not finish never has a name that looks complete.
 *
 * ZIP64: every entry carries ZIP64 fields (a local extra field, a 64-bit data descriptor, a central
 * directory extra) and the archive a ZIP64 end record. archiver 7 (compress-commons 6) only adds
 * them per entry once an entry turns out to be over 4 GiB, and then writes a data descriptor that
 * disagrees with its central directory for small entries stored after the 4 GiB mark (see
 * archiverjs/node-compress-commons#33); always-ZIP64 is the layout Info-ZIP's own `zip` uses when
 * streaming, costs ~40 bytes per entry, and keeps bundles over 4 GiB (and entries over 4 GiB)
 * readable by unzip, 7-Zip, Windows, macOS and yauzl alike.
 *
 * Pre-deflated entries: text entries are deflated by DeflatingWriter (several at once, on the
 * thread pool, with a native CRC-32) and handed to the zip already compressed; the zip copies them
 * as they are and takes their CRC-32 and size from the writer. archiver itself only deflates the
 * manifest and stores the legal-hold zips.
 */

const ZIP64_EXTRA_ID = 0x0001;
const ENTRY_HIGH_WATER_MARK_BYTES = 256 * 1024;
/** zlib output chunk: fewer round trips to the thread pool than the 16 KB default. */
const ZLIB_CHUNK_BYTES = 64 * 1024;

/** The parts of compress-commons' ZipArchiveEntry and ZipArchiveOutputStream (v6) touched here. */
interface ZipEntryInternals {
  isZip64(): boolean;
  setExtra(extra: Buffer): void;
  getName(): string;
  setCrc(crc: number): void;
  setSize(size: number): void;
  setCompressedSize(size: number): void;
}
type EntryCallback = (err: Error | null, entry: ZipEntryInternals) => void;
interface ZipEngineInternals extends NodeJS.WritableStream {
  _writeLocalFileHeader(this: ZipEngineInternals, entry: ZipEntryInternals): void;
  _smartStream(this: ZipEngineInternals, entry: ZipEntryInternals, callback: EntryCallback): Transform;
  _afterAppend(entry: ZipEntryInternals): void;
}

/** CRC-32 and size of a pre-deflated entry's uncompressed bytes, known once it has been written. */
interface PredeflatedEntry {
  crc32(): number;
  size(): number;
}

function engineOf(archive: Archiver): ZipEngineInternals {
  const engine = (archive as unknown as { _module?: { engine?: ZipEngineInternals } })._module?.engine;
  if (!engine || typeof engine._writeLocalFileHeader !== 'function' || typeof engine._smartStream !== 'function' || typeof engine._afterAppend !== 'function') {
    throw new Error('archiver internals changed (compress-commons 6 expected): check the archiver version');
  }
  return engine;
}

/**
 * An entry whose name is registered in `predeflated` is copied as it comes (it already is raw
 * deflate data); its CRC-32 and size come from the registry when its data ends. Everything else
 * goes through archiver's own compressor.
 */
function acceptPredeflatedEntries(archive: Archiver, predeflated: Map<string, PredeflatedEntry>): void {
  const engine = engineOf(archive);
  const smartStream = engine._smartStream;
  engine._smartStream = function (entry, callback) {
    const known = predeflated.get(entry.getName());
    if (!known) return smartStream.call(this, entry, callback);
    predeflated.delete(entry.getName());
    let compressedBytes = 0;
    let error: Error | null = null;
    const copy = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
        compressedBytes += chunk.length;
        done(null, chunk);
      },
    });
    copy.once('end', () => {
      entry.setCrc(known.crc32());
      entry.setSize(known.size());
      entry.setCompressedSize(compressedBytes);
      this._afterAppend(entry);
      callback(error, entry);
    });
    copy.once('error', (err: Error) => {
      error = err;
    });
    copy.pipe(this, { end: false });
    return copy;
  };
}

function makeEveryEntryZip64(archive: Archiver): void {
  const engine = engineOf(archive);
  const writeLocalFileHeader = engine._writeLocalFileHeader;
  engine._writeLocalFileHeader = function (entry) {
    // Sizes are unknown when a streamed entry starts: zeros here, the real 64-bit sizes in the data descriptor.
    const extra = Buffer.alloc(20);
    extra.writeUInt16LE(ZIP64_EXTRA_ID, 0);
    extra.writeUInt16LE(16, 2);
    entry.setExtra(extra);
    entry.isZip64 = () => true;
    writeLocalFileHeader.call(this, entry);
  };
}

export interface BundleEntryOptions {
  /** No compression (for content that is already compressed, such as legal-hold zips). */
  store?: boolean;
}

export interface BundleResult extends EntryDigest {
  path: string;
}

export class BundleWriter {
  private readonly archive: Archiver;
  private readonly output: HashingTransform;
  private readonly file: WriteStream;
  private readonly pendingEntries: Array<{ resolve: () => void }> = [];
  private readonly predeflated = new Map<string, PredeflatedEntry>();
  private readonly openWriters = new Set<DeflatingWriter>();
  private readonly openSources = new Set<Readable>();
  private failed: Error | undefined;
  private readonly failure: Promise<never>;
  private rejectFailure!: (err: Error) => void;
  private finished = false;

  private constructor(
    readonly tmpPath: string,
    readonly finalPath: string,
    private readonly date: Date,
  ) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    // Nobody may be waiting when it fails; the failure is re-raised by the next call.
    this.failure.catch(() => undefined);
    this.archive = archiver('zip', { zlib: { level: 6, chunkSize: ZLIB_CHUNK_BYTES }, forceZip64: true });
    makeEveryEntryZip64(this.archive);
    acceptPredeflatedEntries(this.archive, this.predeflated);
    this.output = new HashingTransform();
    this.file = createWriteStream(tmpPath, { flags: 'wx' });
    this.archive.on('entry', () => this.pendingEntries.shift()?.resolve());
    this.archive.on('warning', (err: Error) => this.fail(err));
    this.archive.on('error', (err: Error) => this.fail(err));
    this.output.on('error', (err: Error) => this.fail(err));
    this.file.on('error', (err: Error) => this.fail(err));
    this.archive.pipe(this.output).pipe(this.file);
  }

  /** Creates `tmpPath` (never overwriting) and starts the zip. */
  static async open(tmpPath: string, finalPath: string, date: Date): Promise<BundleWriter> {
    const writer = new BundleWriter(tmpPath, finalPath, date);
    await Promise.race([once(writer.file, 'open'), writer.failure]);
    return writer;
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

  private entryDone(): Promise<void> {
    return new Promise<void>((resolve) => this.pendingEntries.push({ resolve }));
  }

  /** An entry to write into piece by piece, deflated as it goes; `end()` resolves once the zip has all of it. */
  openEntry(name: string): BundleEntryStream {
    this.throwIfFailed();
    const stream = new PassThrough({ highWaterMark: ENTRY_HIGH_WATER_MARK_BYTES });
    const done = this.entryDone();
    const writer = new DeflatingWriter(stream, this.failure);
    this.openWriters.add(writer);
    void done.then(() => this.openWriters.delete(writer));
    this.predeflated.set(name, { crc32: () => writer.crc32, size: () => writer.bytesWritten });
    this.archive.append(stream, { name, date: this.date });
    return new BundleEntryStream(writer, done, this.failure);
  }

  /**
   * Copies an already deflated file (a spooled entry) into the zip, checking on the way that its
   * bytes are still the ones that were written.
   */
  async appendDeflatedFile(name: string, filePath: string, digest: DeflatedDigest): Promise<void> {
    this.predeflated.set(name, { crc32: () => digest.crc32, size: () => digest.bytes });
    const copied = await this.appendStream(name, createReadStream(filePath, { highWaterMark: ENTRY_HIGH_WATER_MARK_BYTES }));
    if (copied.sha256 !== digest.compressedSha256 || copied.bytes !== digest.compressedBytes) {
      throw new Error(`the spooled data of ${name} changed on disk before it was zipped (${digest.compressedBytes} → ${copied.bytes} bytes)`);
    }
  }

  /** Copies a whole stream (a spooled file, a legal-hold zip) into an entry, hashing it on the way. */
  async appendStream(name: string, source: Readable, options: BundleEntryOptions = {}): Promise<EntryDigest> {
    this.throwIfFailed();
    const hasher = new HashingTransform();
    const done = this.entryDone();
    this.openSources.add(source);
    void done.then(() => this.openSources.delete(source));
    source.on('error', (err: Error) => hasher.destroy(err));
    hasher.on('error', (err: Error) => this.fail(err));
    this.archive.append(source.pipe(hasher), { name, date: this.date, ...(options.store ? { store: true } : {}) });
    await Promise.race([done, this.failure]);
    return hasher.digest();
  }

  async appendFile(name: string, filePath: string, options: BundleEntryOptions = {}): Promise<EntryDigest> {
    return this.appendStream(name, createReadStream(filePath, { highWaterMark: ENTRY_HIGH_WATER_MARK_BYTES }), options);
  }

  async appendBuffer(name: string, content: Buffer): Promise<void> {
    this.throwIfFailed();
    const done = this.entryDone();
    this.archive.append(content, { name, date: this.date });
    await Promise.race([done, this.failure]);
  }

  /** Writes the central directory, flushes and fsyncs the .tmp file. */
  async finish(): Promise<EntryDigest> {
    this.throwIfFailed();
    const closed = once(this.file, 'close');
    await Promise.race([this.archive.finalize(), this.failure]);
    await Promise.race([closed, this.failure]);
    this.throwIfFailed();
    await fsyncFile(this.tmpPath);
    this.finished = true;
    return this.output.digest();
  }

  /** Gives the finished bundle its final name (never replacing a file there) and fsyncs the directory. */
  async commit(): Promise<void> {
    if (!this.finished) throw new Error('commit before finish');
    // link + unlink instead of rename: rename would silently replace a file someone put there meanwhile.
    await link(this.tmpPath, this.finalPath);
    await unlink(this.tmpPath);
    await fsyncDirectory(path.dirname(this.finalPath));
  }

  /** Stops writing and removes the .tmp file. Safe to call at any point, more than once. */
  async abort(): Promise<void> {
    this.fail(new Error('bundle aborted'));
    for (const writer of this.openWriters) await writer.abort();
    this.openWriters.clear();
    for (const source of this.openSources) source.destroy();
    this.openSources.clear();
    try {
      this.archive.abort();
    } catch {
      // already finished or aborted
    }
    this.file.destroy();
    await once(this.file, 'close').catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}

export class BundleEntryStream {
  constructor(
    private readonly writer: DeflatingWriter,
    private readonly done: Promise<void>,
    private readonly failure: Promise<never>,
  ) {}

  get bytesWritten(): number {
    return this.writer.bytesWritten;
  }

  write(data: string | Buffer): Promise<void> | undefined {
    return this.writer.write(data);
  }

  async end(): Promise<DeflatedDigest> {
    const digest = await this.writer.end('sent');
    await Promise.race([this.done, this.failure]);
    return digest;
  }
}

