import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import type { Fault } from './faults.js';
import type { StreamedBody } from './sim-response.js';

export type { StreamedBody };
import { Rng } from './random.js';

/**
 * Real zip files of any size without holding them in memory: stored (uncompressed) entries whose
 * content is deterministic — a short text header naming the entry, then a fixed filler block
 * repeated — so the CRC-32 of every entry is computed up front in O(log n) with `crc32Combine`
 * instead of by reading gigabytes, and the whole file streams from a few small buffers. The result
 * passes `unzip -t` and yauzl. Sizes stay below 4 GiB (no ZIP64): plenty for tests and the benchmark.
 */

export interface ZipEntryPlan {
  name: string;
  /** Bytes of content (stored, so also the compressed size). */
  size: number;
  crc32: number;
  /** The per-entry text the content starts with. */
  header: Buffer;
  localHeaderOffset: number;
}

export interface ZipPlan {
  entries: ZipEntryPlan[];
  centralDirectory: Buffer;
  totalBytes: number;
}

/** A body too large to hold in memory, by length and a generator of its bytes. */

const FILLER_BYTES = 1024 * 1024;
const ZIP32_LIMIT = 0xffff_ffff;
const LOCAL_HEADER_BYTES = 30;
const CENTRAL_HEADER_BYTES = 46;
const END_OF_CENTRAL_DIRECTORY_BYTES = 22;
// 2024-01-01 00:00 in MS-DOS format: fixed, so equal inputs give byte-identical zips.
const DOS_TIME = 0;
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1;
const FLAG_UTF8 = 0x0800;

let fillerBlock: Buffer | undefined;

/** 1 MiB of printable pseudo-text, the same in every process: content is repeatable across runs. */
export function filler(): Buffer {
  if (fillerBlock) return fillerBlock;
  const rng = new Rng(0x5eed);
  const alphabet = Buffer.from('abcdefghijklmnopqrstuvwxyz      .,\n');
  const block = Buffer.allocUnsafe(FILLER_BYTES);
  for (let i = 0; i < block.length; i++) block[i] = alphabet[rng.int(0, alphabet.length - 1)] ?? 32;
  fillerBlock = block;
  return block;
}

// --- CRC-32 combination (zlib's crc32_combine, over GF(2)) --------------------------------------

function gf2MatrixTimes(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  let v = vector >>> 0;
  for (let i = 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= matrix[i] ?? 0;
  return sum >>> 0;
}

function gf2MatrixSquare(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2MatrixTimes(matrix, matrix[n] ?? 0);
}

/** CRC-32 of A‖B from crc(A), crc(B) and the length of B. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320;
  let row = 1;
  for (let n = 1; n < 32; n++) {
    odd[n] = row;
    row = (row << 1) >>> 0;
  }
  gf2MatrixSquare(even, odd);
  gf2MatrixSquare(odd, even);
  let crc = crcA >>> 0;
  let len = lengthB;
  do {
    gf2MatrixSquare(even, odd);
    if (len % 2 === 1) crc = gf2MatrixTimes(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2MatrixSquare(odd, even);
    if (len % 2 === 1) crc = gf2MatrixTimes(odd, crc);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc ^ crcB) >>> 0;
}

/** CRC-32 of `block` repeated `times` times, by doubling. */
function crc32OfRepeats(blockCrc: number, blockLength: number, times: number): number {
  let result = 0;
  let resultLength = 0;
  let power = blockCrc;
  let powerLength = blockLength;
  for (let n = times; n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) {
      result = resultLength === 0 ? power : crc32Combine(result, power, powerLength);
      resultLength += powerLength;
    }
    if (n > 1) {
      power = crc32Combine(power, power, powerLength);
      powerLength *= 2;
    }
  }
  return result >>> 0;
}

/** CRC-32 of an entry's content: its header, then the filler repeated and cut to `size`. */
function contentCrc(header: Buffer, size: number): number {
  const block = filler();
  const headerPart = header.subarray(0, Math.min(header.length, size));
  let crc = crc32(headerPart);
  let rest = size - headerPart.length;
  if (rest <= 0) return crc >>> 0;
  const whole = Math.floor(rest / block.length);
  if (whole > 0) {
    crc = crc32Combine(crc, crc32OfRepeats(crc32(block), block.length, whole), whole * block.length);
    rest -= whole * block.length;
  }
  if (rest > 0) crc = crc32Combine(crc, crc32(block.subarray(0, rest)), rest);
  return crc >>> 0;
}

/**
 * The fields a local header (from offset 4) and a central header (from offset 6) share, in
 * APPNOTE's order: version needed (2.0), flags, method (stored), time, date, CRC-32, compressed and
 * uncompressed sizes, name length and extra length.
 */
function writeSharedHeaderFields(b: Buffer, at: number, entry: ZipEntryPlan, nameLength: number): void {
  b.writeUInt16LE(20, at);
  b.writeUInt16LE(FLAG_UTF8, at + 2);
  b.writeUInt16LE(0, at + 4);
  b.writeUInt16LE(DOS_TIME, at + 6);
  b.writeUInt16LE(DOS_DATE, at + 8);
  b.writeUInt32LE(entry.crc32, at + 10);
  b.writeUInt32LE(entry.size, at + 14);
  b.writeUInt32LE(entry.size, at + 18);
  b.writeUInt16LE(nameLength, at + 22);
  b.writeUInt16LE(0, at + 24);
}

function localHeader(entry: ZipEntryPlan, name: Buffer): Buffer {
  const b = Buffer.alloc(LOCAL_HEADER_BYTES + name.length);
  b.writeUInt32LE(0x04034b50, 0);
  writeSharedHeaderFields(b, 4, entry, name.length);
  name.copy(b, LOCAL_HEADER_BYTES);
  return b;
}

function centralHeader(entry: ZipEntryPlan, name: Buffer): Buffer {
  const b = Buffer.alloc(CENTRAL_HEADER_BYTES + name.length);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
  writeSharedHeaderFields(b, 6, entry, name.length);
  b.writeUInt16LE(0, 32); // comment
  b.writeUInt16LE(0, 34); // disk
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external: regular file, rw-r--r--
  b.writeUInt32LE(entry.localHeaderOffset, 42);
  name.copy(b, CENTRAL_HEADER_BYTES);
  return b;
}

/**
 * Lays out a zip of `entryCount` entries sharing `totalContentBytes` of content (at least one byte
 * each when there is room). Names are `messages/<prefix>_<n>.txt`.
 */
export function planZip(options: { prefix: string; entryCount: number; totalContentBytes: number; headerText?: (index: number) => string }): ZipPlan {
  const count = Math.max(1, Math.floor(options.entryCount));
  const total = Math.max(0, Math.floor(options.totalContentBytes));
  const entries: ZipEntryPlan[] = [];
  const centralParts: Buffer[] = [];
  let offset = 0;
  const base = Math.floor(total / count);
  for (let i = 0; i < count; i++) {
    const size = base + (i < total % count ? 1 : 0);
    const name = `messages/${options.prefix}_${String(i + 1).padStart(4, '0')}.txt`;
    const nameBytes = Buffer.from(name, 'utf8');
    const header = Buffer.from(options.headerText?.(i) ?? `Zoom Team Chat legal hold export\nentry ${i + 1} of ${count}: ${name}\n\n`, 'utf8');
    const entry: ZipEntryPlan = { name, size, crc32: contentCrc(header, size), header, localHeaderOffset: offset };
    entries.push(entry);
    offset += LOCAL_HEADER_BYTES + nameBytes.length + size;
    centralParts.push(centralHeader(entry, nameBytes));
  }
  const centralStart = offset;
  const central = Buffer.concat(centralParts);
  const end = Buffer.alloc(END_OF_CENTRAL_DIRECTORY_BYTES);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(centralStart, 16);
  end.writeUInt16LE(0, 20);
  const totalBytes = centralStart + central.length + end.length;
  if (totalBytes > ZIP32_LIMIT || count > 0xffff) throw new RangeError(`simulated zip of ${totalBytes} bytes / ${count} entries needs ZIP64, which the simulator does not write`);
  return { entries, centralDirectory: Buffer.concat([central, end]), totalBytes };
}

/** The zip's bytes in order, from a few shared buffers (never a copy of the content). */
export function* zipChunks(plan: ZipPlan): Generator<Buffer> {
  const block = filler();
  for (const entry of plan.entries) {
    yield localHeader(entry, Buffer.from(entry.name, 'utf8'));
    const headerPart = entry.header.subarray(0, Math.min(entry.header.length, entry.size));
    if (headerPart.length > 0) yield headerPart;
    for (let left = entry.size - headerPart.length; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
  }
  yield plan.centralDirectory;
}

export function zipBody(plan: ZipPlan): StreamedBody {
  return { length: plan.totalBytes, chunks: () => zipChunks(plan) };
}

/** The first `length` bytes of a body, as a new body (what a truncated download delivers). */
export function truncatedBody(body: StreamedBody, length: number): StreamedBody {
  const limit = Math.max(0, Math.min(length, body.length));
  return {
    length: limit,
    async *chunks() {
      let left = limit;
      for await (const chunk of body.chunks()) {
        if (left <= 0) return;
        const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
        left -= part.length;
        yield part;
      }
    },
  };
}

/** The body with some bytes overwritten (e.g. a central-directory signature), as a new body. */
export function patchedBody(body: StreamedBody, at: number, bytes: Uint8Array): StreamedBody {
  return {
    length: body.length,
    async *chunks() {
      let position = 0;
      for await (const chunk of body.chunks()) {
        const end = position + chunk.length;
        if (end <= at || position >= at + bytes.length) {
          yield chunk;
        } else {
          const copy = Buffer.from(chunk);
          for (let i = 0; i < bytes.length; i++) {
            const k = at + i - position;
            if (k >= 0 && k < copy.length) copy[k] = bytes[i] ?? 0;
          }
          yield copy;
        }
        position = end;
      }
    },
  };
}

/**
 * Writes a streamed body with backpressure. Faults act on the stream as on small bodies:
 * `reset-mid-body` sends the full Content-Length, half the bytes, then destroys the socket;
 * `invalid-json` (a "2xx-looking body cut short") sends the first half with a matching
 * Content-Length — for a zip, a file that is complete by its length and broken as a zip.
 */
export async function writeStreamedBody(res: ServerResponse, status: number, headers: Record<string, string>, body: StreamedBody, fault: Fault | null): Promise<void> {
  const half = Math.floor(body.length / 2);
  const declared = fault?.kind === 'invalid-json' ? half : body.length;
  const sendBytes = fault?.kind === 'invalid-json' || fault?.kind === 'reset-mid-body' ? half : body.length;
  res.writeHead(status, body.chunked && fault === null ? headers : { ...headers, 'Content-Length': String(declared) });
  const closed = once(res, 'close').then(
    () => false,
    () => false,
  );
  let left = sendBytes;
  for await (const chunk of body.chunks()) {
    if (left <= 0 || res.destroyed) break;
    const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
    left -= part.length;
    if (!res.write(part)) {
      const drained = once(res, 'drain').then(
        () => true,
        () => false,
      );
      if (!(await Promise.race([drained, closed])) || res.destroyed) return;
    }
  }
  if (fault?.kind === 'reset-mid-body') {
    // Let what was written reach the client, then cut the connection mid-body.
    res.write(Buffer.alloc(0), () => res.destroy());
    return;
  }
  res.end();
}
