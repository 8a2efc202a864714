import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import { InternalError } from '../errors.js';

/**
 * The bundle's zip container: local headers, entry data, data descriptors, central directory and
 * end records, written in one forward pass to a stream (the bundle's temp file, through its hasher).
 *
 * Why this is ours and not archiver's or yazl's. A bundle needs three things from its zip writer:
 *
 * 1. **Entries that arrive already deflated.** The export formats its text once and deflates each
 *    entry as it is written — several at once on the thread pool (hashing-writer.ts), the CSV, the
 *    HTML pages and the RSMF files into a spool while JSONL streams into the zip — and the zip only
 *    copies those bytes in, with the CRC-32 and sizes the deflating writer computed. Neither archiver
 *    (7 and 8: `store` or its own deflate, nothing else, per its documented entry options) nor yazl
 *    (3.x: `compress` or `compressionLevel`, the data always through its own zlib) can take data that
 *    is already compressed. With either, the spooled entries (half of a bundle's content) would be
 *    deflated again after the pass, on one thread: measured on the 1,000,000-version benchmark, its
 *    1,665 MB of spooled CSV and HTML take 25–28 s (archiver) or 27–33 s (yazl) at level 6, against
 *    0.6–1.6 s to copy them in already deflated, on exports of 53–97 s — far outside the benchmark's
 *    noise. archiver 7.0.1 did it only through a patch of its private `_module.engine._smartStream`,
 *    which pinned it to that version.
 * 2. **ZIP64 on every entry**, so any bundle and any entry may pass 4 GiB and open in unzip, 7-Zip,
 *    Windows, macOS and yauzl alike. archiver's `forceZip64` only writes the end records; per entry,
 *    compress-commons 6 switches to ZIP64 once an entry turns out to be over 4 GiB and then writes a
 *    data descriptor that disagrees with its central directory for small entries stored after the
 *    4 GiB mark (archiverjs/node-compress-commons#33). yazl's `forceZip64Format` would do.
 * 3. **Hashing as it is written**: every entry's SHA-256 and the bundle's own come from streams the
 *    export controls (hashing-writer.ts), whatever writes the container.
 *
 * (1) rules both libraries out for the bundle, so the container is written here: ~200 lines of
 * APPNOTE.TXT (PKWARE's .ZIP specification 6.3), nothing private of anyone's. The layout is exactly
 * what archiver 7.0.1 and the patch wrote — the golden-bundle test (test/export/golden-bundles.test.ts)
 * compares bundles byte for byte — and the one Info-ZIP's `zip` uses when streaming:
 *
 * - local header: version 4.5, flags 0x0008 (sizes in a data descriptor) | 0x0800 (UTF-8 name, when
 *   not ASCII), CRC and sizes zero, a ZIP64 extra field (id 0x0001, 16 zero bytes);
 * - the data: raw deflate (method 8) or stored (method 0);
 * - a ZIP64 data descriptor: signature, CRC-32, 8-byte compressed and uncompressed sizes;
 * - central directory: made by Unix 4.5, mode 0644, the 32-bit sizes and offset 0xFFFFFFFF and a
 *   ZIP64 extra field with all three;
 * - a ZIP64 end record and locator, then the classic end record with its counts and offsets at their
 *   ZIP64 markers.
 *
 * archiver stays a dependency, through its documented API only, for the small rsmf.zip inside each
 * .rsmf file (writers/rsmf.ts), whose bytes it has always written.
 */

/** What the central directory and data descriptor need to know about one entry. */
export interface ZipEntrySizes {
  /** CRC-32 of the uncompressed bytes. */
  crc32: number;
  /** Uncompressed bytes. */
  size: number;
}

export type ZipEntrySource =
  /** Raw deflate data produced elsewhere; its CRC-32 and size are asked for once it has ended. */
  | { method: 'deflated'; data: Readable; sizes: () => ZipEntrySizes }
  /** Deflated here, at level 6. */
  | { method: 'deflate'; data: Readable | Buffer }
  /** Stored as it is (content that is already compressed, such as legal-hold zips). */
  | { method: 'store'; data: Readable };

interface CentralRecord {
  name: Buffer;
  flags: number;
  method: number;
  crc32: number;
  size: number;
  compressedSize: number;
  offset: number;
}

const SIG_LOCAL_HEADER = 0x04034b50;
const SIG_DATA_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL_HEADER = 0x02014b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_END = 0x06054b50;
const ZIP64_EXTRA_ID = 0x0001;
/** 4.5: ZIP64. */
const VERSION = 45;
/** Unix, so the mode below is read. */
const MADE_BY = (3 << 8) | VERSION;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8_NAME = 0x0800;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
/** -rw-r--r-- regular file, with the MS-DOS archive bit. */
const EXTERNAL_ATTRIBUTES = (((0o100000 | 0o644) << 16) | 0x20) >>> 0;
const MAX_16 = 0xffff;
const MAX_32 = 0xffffffff;
/** As archiver: level 6 (Info-ZIP's default), 64 KB output chunks. */
const DEFLATE_OPTIONS = { level: 6, chunkSize: 64 * 1024 } as const;

/** MS-DOS date and time (UTC, 2-second resolution), clamped to the years it can hold. */
export function dosDateTime(date: Date): number {
  const year = date.getUTCFullYear();
  if (year < 1980) return 0x00210000; // 1980-01-01 00:00:00
  if (year >= 2044) return 0x7f9fbf7d; // 2043-12-31 23:59:58
  return (
    (((year - 1980) << 25) | ((date.getUTCMonth() + 1) << 21) | (date.getUTCDate() << 16) | (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1)) >>>
    0
  );
}

/** A relative path with `/` separators, as every bundle entry is named; anything else is a bug upstream. */
function checkEntryName(name: string): Buffer {
  if (name === '' || name.startsWith('/') || name.endsWith('/') || name.includes('\\') || name.includes('\u0000') || name.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new RangeError(`not a valid zip entry name: ${JSON.stringify(name)}`);
  }
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > MAX_16) throw new RangeError(`zip entry name longer than 65,535 bytes: ${name.slice(0, 80)}…`);
  return bytes;
}

function uint64(buffer: Buffer, value: number, offset: number): void {
  buffer.writeBigUInt64LE(BigInt(value), offset);
}

/** Counts and CRCs what flows through (stored entries, and the input of entries deflated here). */
class Crc32Counter extends Transform {
  crc = 0;
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** Resolves on 'drain'; rejects when the stream fails or is destroyed first (an aborted export). */
function drained(out: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (err: Error) => settle(err);
    const onClose = () => settle(out.errored ?? new InternalError('the zip output was closed'));
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onError);
  });
}

/**
 * Writes entries one after another in the order they are added (an entry added while another is
 * being written waits its turn), then the directory. A failure of `out` rejects the entry being
 * written and every later call.
 */
export class ZipWriter {
  private written = 0;
  private readonly entries: CentralRecord[] = [];
  private queue: Promise<void> = Promise.resolve();
  private finished = false;

  constructor(
    private readonly out: Writable,
    /** Every entry's modification time. */
    private readonly date: Date,
  ) {}

  /** Bytes of zip written so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Queues an entry; resolves once all of it (its data descriptor included) has been handed to `out`. */
  add(name: string, source: ZipEntrySource): Promise<void> {
    if (this.finished) throw new InternalError('zip entry added after finish');
    const nameBytes = checkEntryName(name);
    const flags = FLAG_DATA_DESCRIPTOR | (nameBytes.length !== name.length ? FLAG_UTF8_NAME : 0);
    const run = this.queue.then(() =>
      this.writeEntry(nameBytes, flags, source).catch((err: unknown) => {
        // When the output failed, that is the cause, whatever the streams feeding it then report.
        throw this.out.errored ?? err;
      }),
    );
    // The next entry waits for this one, whether it succeeded or not; the failure goes to this caller.
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes the central directory and end records after the last entry, and ends `out`. */
  async finish(): Promise<void> {
    if (this.finished) throw new InternalError('zip finished twice');
    this.finished = true;
    await this.queue;
    const centralOffset = this.written;
    for (const entry of this.entries) await this.write(this.centralHeader(entry));
    const centralSize = this.written - centralOffset;
    await this.write(this.endRecords(centralOffset, centralSize));
    this.out.end();
  }

  private async writeEntry(name: Buffer, flags: number, source: ZipEntrySource): Promise<void> {
    const method = source.method === 'store' ? METHOD_STORED : METHOD_DEFLATED;
    const offset = this.written;
    await this.write(this.localHeader(name, flags, method));
    const dataStart = this.written;
    let sizes: ZipEntrySizes;
    if (source.method === 'deflated') {
      await this.copy(source.data);
      sizes = source.sizes();
    } else {
      const counter = new Crc32Counter();
      const input = Buffer.isBuffer(source.data) ? [source.data] : source.data;
      if (source.method === 'deflate') await pipeline(input, counter, createDeflateRaw(DEFLATE_OPTIONS), (compressed: AsyncIterable<Buffer>) => this.copy(compressed));
      else await pipeline(input, counter, (data: AsyncIterable<Buffer>) => this.copy(data));
      sizes = { crc32: counter.crc >>> 0, size: counter.bytes };
    }
    const record: CentralRecord = { name, flags, method, crc32: sizes.crc32 >>> 0, size: sizes.size, compressedSize: this.written - dataStart, offset };
    await this.write(this.dataDescriptor(record));
    this.entries.push(record);
  }

  private async copy(data: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of data) await this.write(chunk);
  }

  private async write(chunk: Buffer): Promise<void> {
    if (this.out.destroyed || this.out.writableEnded) throw this.out.errored ?? new InternalError('the zip output was closed');
    this.written += chunk.length;
    if (!this.out.write(chunk)) await drained(this.out);
  }

  private localHeader(name: Buffer, flags: number, method: number): Buffer {
    const header = Buffer.alloc(30 + name.length + 20);
    header.writeUInt32LE(SIG_LOCAL_HEADER, 0);
    header.writeUInt16LE(VERSION, 4);
    header.writeUInt16LE(flags, 6);
    header.writeUInt16LE(method, 8);
    header.writeUInt32LE(dosDateTime(this.date), 10);
    // 14..25: CRC-32 and sizes, zero: they follow the data, in the data descriptor.
    header.writeUInt16LE(name.length, 26);
    header.writeUInt16LE(20, 28);
    name.copy(header, 30);
    // ZIP64 extra field with the sizes unknown yet (zeros): the data descriptor carries 8-byte sizes.
    header.writeUInt16LE(ZIP64_EXTRA_ID, 30 + name.length);
    header.writeUInt16LE(16, 32 + name.length);
    return header;
  }

  private dataDescriptor(entry: CentralRecord): Buffer {
    const descriptor = Buffer.alloc(24);
    descriptor.writeUInt32LE(SIG_DATA_DESCRIPTOR, 0);
    descriptor.writeUInt32LE(entry.crc32, 4);
    uint64(descriptor, entry.compressedSize, 8);
    uint64(descriptor, entry.size, 16);
    return descriptor;
  }

  private centralHeader(entry: CentralRecord): Buffer {
    const header = Buffer.alloc(46 + entry.name.length + 28);
    header.writeUInt32LE(SIG_CENTRAL_HEADER, 0);
    header.writeUInt16LE(MADE_BY, 4);
    header.writeUInt16LE(VERSION, 6);
    header.writeUInt16LE(entry.flags, 8);
    header.writeUInt16LE(entry.method, 10);
    header.writeUInt32LE(dosDateTime(this.date), 12);
    header.writeUInt32LE(entry.crc32, 16);
    header.writeUInt32LE(MAX_32, 20); // compressed size: in the ZIP64 extra field
    header.writeUInt32LE(MAX_32, 24); // uncompressed size: likewise
    header.writeUInt16LE(entry.name.length, 28);
    header.writeUInt16LE(28, 30);
    // 32: comment length, 34: disk number, 36: internal attributes — all zero.
    header.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
    header.writeUInt32LE(MAX_32, 42); // local header offset: likewise
    entry.name.copy(header, 46);
    const extra = 46 + entry.name.length;
    header.writeUInt16LE(ZIP64_EXTRA_ID, extra);
    header.writeUInt16LE(24, extra + 2);
    uint64(header, entry.size, extra + 4);
    uint64(header, entry.compressedSize, extra + 12);
    uint64(header, entry.offset, extra + 20);
    return header;
  }

  private endRecords(centralOffset: number, centralSize: number): Buffer {
    const records = Buffer.alloc(56 + 20 + 22);
    // ZIP64 end of central directory record.
    records.writeUInt32LE(SIG_ZIP64_END, 0);
    uint64(records, 44, 4); // size of the rest of this record
    records.writeUInt16LE(VERSION, 12);
    records.writeUInt16LE(VERSION, 14);
    // 16: this disk, 20: the directory's disk — zero.
    uint64(records, this.entries.length, 24);
    uint64(records, this.entries.length, 32);
    uint64(records, centralSize, 40);
    uint64(records, centralOffset, 48);
    // ZIP64 end of central directory locator.
    records.writeUInt32LE(SIG_ZIP64_LOCATOR, 56);
    // 60: the disk holding the ZIP64 end record — zero.
    uint64(records, centralOffset + centralSize, 64);
    records.writeUInt32LE(1, 72); // total disks
    // End of central directory record, everything at its ZIP64 marker; no comment.
    records.writeUInt32LE(SIG_END, 76);
    records.writeUInt16LE(MAX_16, 84);
    records.writeUInt16LE(MAX_16, 86);
    records.writeUInt32LE(MAX_32, 88);
    records.writeUInt32LE(MAX_32, 92);
    return records;
  }
}
