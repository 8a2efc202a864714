import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { crc32, createDeflateRaw, type DeflateRaw } from 'node:zlib';
import { InternalError } from '../errors.js';

/**
 * Every entry's SHA-256, size and CRC-32 are computed as it is written, so the manifest and the zip
 * directory never need a second read of anything.
 */

export interface EntryDigest {
  /** Uncompressed size. */
  bytes: number;
  /** Lower-case hex SHA-256 of the uncompressed bytes. */
  sha256: string;
}

export interface DeflatedDigest extends EntryDigest {
  /** CRC-32 of the uncompressed bytes, as the zip directory needs it. */
  crc32: number;
  compressedBytes: number;
  /** SHA-256 of the compressed bytes: proves a spooled file is unchanged when it is copied into the zip. */
  compressedSha256: string;
}

/**
 * Deflate level 6, as Info-ZIP's default, with 64 KB output chunks. Input goes to the compressor in
 * pieces of 1 MB (each a ~15 ms job on the thread pool) and up to 4 MB may wait: the main thread
 * formats the next megabyte while the pool compresses the last one. With small pieces and zlib's
 * 16 KB default buffer, every piece would wait for the main thread to hand over the next, and
 * formatting and compressing would take turns instead of overlapping.
 */
export const DEFLATE_OPTIONS = { level: 6, chunkSize: 64 * 1024, writableHighWaterMark: 4 * 1024 * 1024 } as const;
const DEFLATE_INPUT_BYTES = 1024 * 1024;

/** A pass-through that hashes and counts what flows through it. */
export class HashingTransform extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** Only after the stream has ended. */
  digest(): EntryDigest {
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/**
 * Takes an entry's text, hashes it (SHA-256, CRC-32, size), deflates it on the libuv thread pool and
 * writes the compressed bytes to `target` — the zip (see BundleWriter.openEntry) or a spool file.
 * Several of these deflate in parallel, which is what lets an export use more than one core.
 * `write` returns a promise only when the caller must wait (backpressure). A failure downstream (the
 * zip, the disk) rejects pending waits and is re-raised by the next call, never lost.
 */
export class DeflatingWriter {
  private readonly sha256: Hash = createHash('sha256');
  private crc = 0;
  private bytes = 0;
  private ended = false;
  private error: Error | undefined;
  private readonly errored: Promise<never>;
  private readonly deflate: DeflateRaw;
  private readonly compressed = new HashingTransform();
  /** Text is encoded straight into this buffer (no per-string Buffer), which goes to zlib when full. */
  private staging = Buffer.allocUnsafeSlow(DEFLATE_INPUT_BYTES);
  private staged = 0;

  constructor(
    private readonly target: Writable,
    private readonly failure?: Promise<never>,
  ) {
    this.deflate = createDeflateRaw(DEFLATE_OPTIONS);
    this.errored = new Promise<never>((_, reject) => {
      const onError = (err: Error) => {
        this.error ??= err;
        reject(err);
      };
      this.deflate.on('error', onError);
      this.compressed.on('error', onError);
      target.on('error', onError);
    });
    this.errored.catch(() => undefined);
    this.deflate.pipe(this.compressed).pipe(target);
  }

  /** Uncompressed bytes taken so far. */
  get bytesWritten(): number {
    return this.bytes + this.staged;
  }

  /** CRC-32 of everything taken (final once `end` has resolved). */
  get crc32(): number {
    return this.crc >>> 0;
  }

  write(data: string | Buffer): Promise<void> | undefined {
    if (this.ended) throw new InternalError('write after end');
    if (this.error) throw this.error;
    if (typeof data === 'string') {
      // UTF-8 needs at most 3 bytes per UTF-16 code unit.
      const maxBytes = data.length * 3;
      if (maxBytes > DEFLATE_INPUT_BYTES) return this.writeLarge(Buffer.from(data, 'utf8'));
      const wait = this.staged + maxBytes > DEFLATE_INPUT_BYTES ? this.flushStaging() : undefined;
      this.staged += this.staging.write(data, this.staged, 'utf8');
      return wait;
    }
    return this.writeLarge(data);
  }

  private writeLarge(buffer: Buffer): Promise<void> | undefined {
    if (buffer.length === 0) return undefined;
    const staged = this.flushStaging();
    const wait = this.push(buffer);
    return staged && wait ? Promise.all([staged, wait]).then(() => undefined) : (staged ?? wait);
  }

  private flushStaging(): Promise<void> | undefined {
    if (this.staged === 0) return undefined;
    const chunk = this.staging.subarray(0, this.staged);
    this.staging = Buffer.allocUnsafeSlow(DEFLATE_INPUT_BYTES);
    this.staged = 0;
    return this.push(chunk);
  }

  private push(chunk: Buffer): Promise<void> | undefined {
    this.sha256.update(chunk);
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    if (this.deflate.write(chunk)) return undefined;
    return this.wait(once(this.deflate, 'drain').then(() => undefined));
  }

  /** Flushes the compressor; resolves once `target` has everything (`close` for files). */
  async end(waitFor: 'close' | 'sent'): Promise<DeflatedDigest> {
    if (this.ended) throw new InternalError('ended twice');
    this.ended = true;
    const done = waitFor === 'close' ? once(this.target, 'close').then(() => undefined) : finished(this.compressed);
    void this.flushStaging()?.catch(() => undefined);
    this.deflate.end();
    await this.wait(done);
    if (this.error) throw this.error;
    const compressed = this.compressed.digest();
    return { bytes: this.bytes, sha256: this.sha256.digest('hex'), crc32: this.crc >>> 0, compressedBytes: compressed.bytes, compressedSha256: compressed.sha256 };
  }

  /** Stops at once: the compressor and the target are destroyed (their file descriptors closed). */
  async abort(): Promise<void> {
    this.ended = true;
    this.deflate.destroy();
    this.compressed.destroy();
    if (!this.target.destroyed) {
      const closed = once(this.target, 'close').catch(() => undefined);
      this.target.destroy();
      await closed;
    }
  }

  private wait(promise: Promise<void>): Promise<void> {
    return Promise.race([promise, this.errored, ...(this.failure ? [this.failure] : [])]);
  }
}
