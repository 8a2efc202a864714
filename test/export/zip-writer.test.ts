import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { deflateRawSync, crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeflatingWriter } from '../../src/export/hashing-writer.js';
import { ZipWriter, dosDateTime } from '../../src/export/zip-writer.js';
import { openZip as openZipFile, readEntries as entriesOf, readEntryBuffer as contentOf, type Entry } from '../../src/storage/zip-reader.js';
import { HAS_INFO_ZIP } from './bundle-helpers.js';

// The bundle's zip container on its own: every kind of entry read back by yauzl and Info-ZIP, the
// ZIP64 layout on every entry, a zip past 4 GiB (written sparse, so the test is fast and small on
// disk) whose later entries still open, and failures that reach the caller.

const DATE = new Date('2026-11-21T15:00:07.000Z');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-zip-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A file sink that skips runs of zeros (leaving holes), so a 4 GiB entry of zeros costs no disk. */
class SparseFileSink extends Writable {
  private position = 0;
  private readonly fd: number;

  constructor(file: string) {
    super({ highWaterMark: 1024 * 1024 });
    this.fd = openSync(file, 'w');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk.length < 4096 || !chunk.equals(Buffer.alloc(chunk.length))) writeSync(this.fd, chunk, 0, chunk.length, this.position);
    this.position += chunk.length;
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    ftruncateSync(this.fd, this.position);
    closeSync(this.fd);
    callback();
  }
}

function zeros(totalBytes: number): Readable {
  const chunk = Buffer.alloc(1024 * 1024);
  let left = totalBytes;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

const openZip = (file: string) => openZipFile(file, { validateEntrySizes: true, strictFileNames: true });

async function writeZip(file: string, fill: (zip: ZipWriter) => Promise<void>, out: Writable = new SparseFileSink(file)): Promise<void> {
  const closed = new Promise((resolve, reject) => out.on('finish', resolve).on('error', reject));
  const zip = new ZipWriter(out, DATE);
  await fill(zip);
  await zip.finish();
  await closed;
}

describe('entries', () => {
  it('writes pre-deflated, deflated and stored entries that yauzl and unzip read back, ZIP64 on every one', async () => {
    const file = path.join(dir, 'kinds.zip');
    const text = 'line of text, compressible\n'.repeat(50_000);
    const stored = Buffer.from('PK\u0003\u0004 already compressed content');
    await writeZip(file, async (zip) => {
      // As BundleWriter.openEntry does: a DeflatingWriter into the entry, CRC and size from it.
      const pipe = new PassThrough();
      const writer = new DeflatingWriter(pipe);
      const added = zip.add('messages.jsonl', { method: 'deflated', data: pipe, sizes: () => ({ crc32: writer.crc32, size: writer.bytesWritten }) });
      await writer.write(text);
      await writer.end('sent');
      await added;
      await zip.add('transcripts/naïve café.html', { method: 'deflate', data: Buffer.from('<p>ünïcödé</p>') });
      await zip.add('legal-hold/a/file.zip', { method: 'store', data: Readable.from([stored]) });
      await zip.add('empty.txt', { method: 'deflate', data: Readable.from([]) });
    });
    const zip = await openZip(file);
    try {
      const entries = await entriesOf(zip);
      expect(entries.map((e) => [e.fileName, e.compressionMethod, e.uncompressedSize])).toEqual([
        ['messages.jsonl', 8, Buffer.byteLength(text)],
        ['transcripts/naïve café.html', 8, Buffer.byteLength('<p>ünïcödé</p>')],
        ['legal-hold/a/file.zip', 0, stored.length],
        ['empty.txt', 8, 0],
      ]);
      expect((await contentOf(zip, entries[0] as Entry)).toString()).toBe(text);
      expect((await contentOf(zip, entries[1] as Entry)).toString()).toBe('<p>ünïcödé</p>');
      expect(await contentOf(zip, entries[2] as Entry)).toEqual(stored);
      // Only the non-ASCII name is flagged UTF-8; every entry uses a data descriptor.
      expect(entries.map((e) => e.generalPurposeBitFlag)).toEqual([0x0008, 0x0808, 0x0008, 0x0008]);
      for (const e of entries) {
        expect(e.versionNeededToExtract).toBe(45);
        expect(e.extraFields.map((f) => f.id)).toEqual([0x0001]);
        expect(e.getLastModDate().toISOString()).toBe('2026-11-21T15:00:06.000Z');
      }
    } finally {
      zip.close();
    }
    // The local headers carry a ZIP64 extra field too, and the file ends with ZIP64 end records.
    const bytes = readFileSync(file);
    let at = 0;
    for (let i = 0; i < 4; i++) {
      expect(bytes.readUInt32LE(at)).toBe(0x04034b50);
      const nameLength = bytes.readUInt16LE(at + 26);
      expect(bytes.readUInt16LE(at + 28)).toBe(20);
      expect(bytes.readUInt16LE(at + 30 + nameLength)).toBe(0x0001);
      at = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]), at + 30) + 24;
    }
    expect(bytes.readUInt32LE(bytes.length - 22 - 20 - 56)).toBe(0x06064b50);
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50);
    if (HAS_INFO_ZIP) {
      const check = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
      expect(check.status, check.stdout).toBe(0);
    }
  });

  it('encodes MS-DOS times in UTC and clamps them to 1980–2043', () => {
    expect(dosDateTime(new Date('2026-11-21T15:00:07Z'))).toBe(((2026 - 1980) << 25) | (11 << 21) | (21 << 16) | (15 << 11) | (0 << 5) | 3);
    expect(dosDateTime(new Date('1970-01-01T00:00:00Z'))).toBe(dosDateTime(new Date('1980-01-01T00:00:00Z')));
    expect(dosDateTime(new Date('2100-01-01T00:00:00Z'))).toBe(dosDateTime(new Date('2043-12-31T23:59:58Z')));
  });

  it('refuses names that are not clean relative paths', () => {
    const zip = new ZipWriter(new PassThrough(), DATE);
    for (const name of ['', '/abs', 'a/../b', 'a//b', 'dir/', 'a\\b', './a', 'nul\u0000']) {
      expect(() => zip.add(name, { method: 'deflate', data: Buffer.from('x') }), name).toThrow(RangeError);
    }
  });
});

describe('ZIP64', () => {
  it('a zip past 4 GiB: a 4.1 GiB entry, then entries whose headers sit past the 4 GiB mark, all readable', async () => {
    const file = path.join(dir, 'big.zip');
    const bigBytes = 4 * 1024 ** 3 + 100 * 1024 ** 2 + 7;
    const after = Buffer.from('written after the 4 GiB mark\n'.repeat(100));
    await writeZip(file, async (zip) => {
      await zip.add('legal-hold/big.zip', { method: 'store', data: zeros(bigBytes) });
      await zip.add('after/deflated.txt', { method: 'deflate', data: after });
      await zip.add('after/stored.bin', { method: 'store', data: Readable.from([after]) });
      // Pre-deflated, with the CRC and size its writer computed.
      await zip.add('after/predeflated.txt', { method: 'deflated', data: Readable.from([deflateRawSync(after)]), sizes: () => ({ crc32: crc32(after), size: after.length }) });
    });
    expect(statSync(file).size).toBeGreaterThan(bigBytes);
    const zip = await openZip(file);
    try {
      const entries = await entriesOf(zip);
      expect(entries.map((e) => [e.fileName, e.uncompressedSize])).toEqual([
        ['legal-hold/big.zip', bigBytes],
        ['after/deflated.txt', after.length],
        ['after/stored.bin', after.length],
        ['after/predeflated.txt', after.length],
      ]);
      expect(entries[0]?.compressedSize).toBe(bigBytes);
      expect(entries[0]?.crc32).toBe(crcOfZeros(bigBytes));
      for (const e of entries.slice(1)) {
        expect(e.relativeOffsetOfLocalHeader).toBeGreaterThan(0xffffffff);
        expect(await contentOf(zip, e)).toEqual(after);
      }
    } finally {
      zip.close();
    }
    if (HAS_INFO_ZIP) {
      // Info-ZIP's own check of the entries past the mark (the big one would only read 4 GiB of zeros).
      const check = spawnSync('unzip', ['-t', file, 'after/*'], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/No errors detected/);
    }
  }, 120_000);
});

/** The CRC-32 of `bytes` zero bytes, a megabyte at a time. */
function crcOfZeros(bytes: number): number {
  const chunk = Buffer.alloc(1024 * 1024);
  let crc = 0;
  for (let left = bytes; left > 0; left -= chunk.length) crc = crc32(left >= chunk.length ? chunk : chunk.subarray(0, left), crc);
  return crc >>> 0;
}

describe('failures', () => {
  it('a destroyed output rejects the entry being written and every later one', async () => {
    const out = new Writable({ highWaterMark: 16, write: (_chunk, _encoding, callback) => setTimeout(callback, 5) });
    const zip = new ZipWriter(out, DATE);
    const first = zip.add('a.txt', { method: 'store', data: zeros(10 * 1024 * 1024) });
    setTimeout(() => out.destroy(new Error('disk gone')), 20);
    await expect(first).rejects.toThrow(/disk gone/);
    await expect(zip.add('b.txt', { method: 'deflate', data: Buffer.from('b') })).rejects.toThrow(/disk gone/);
  });

  it('a failing source fails its entry', async () => {
    const zip = new ZipWriter(new PassThrough(), DATE);
    const source = new Readable({
      read() {
        this.destroy(new Error('EIO: read failed'));
      },
    });
    await expect(zip.add('a.txt', { method: 'store', data: source })).rejects.toThrow(/EIO/);
  });
});
