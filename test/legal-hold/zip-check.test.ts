import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import archiver from 'archiver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectZip, ZipInvalidError } from '../../src/legal-hold/zip-check.js';

// The check a downloaded legal-hold zip passes before it is stored (src/legal-hold/zip-check.ts):
// readable central directory, entry count as announced, every local header where it should be.

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-zipcheck-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function zipOf(name: string, entries: Record<string, string>, store = false, comment?: string): Promise<string> {
  const file = path.join(dir, name);
  const archive = archiver('zip', { ...(store ? { store: true } : { zlib: { level: 6 } }), ...(comment !== undefined ? { comment } : {}) });
  const out = createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    archive.on('error', reject);
  });
  archive.pipe(out);
  for (const [entry, content] of Object.entries(entries)) archive.append(content, { name: entry });
  await archive.finalize();
  await closed;
  return file;
}

/** Offset of the end-of-central-directory record and of each central-directory header. */
function layout(bytes: Buffer): { eocd: number; central: number[] } {
  let eocd = -1;
  for (let i = bytes.length - 22; i >= 0; i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  const central: number[] = [];
  let at = bytes.readUInt32LE(eocd + 16);
  for (let n = 0; n < bytes.readUInt16LE(eocd + 10); n++) {
    central.push(at);
    at += 46 + bytes.readUInt16LE(at + 28) + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
  }
  return { eocd, central };
}

async function refusal(file: string): Promise<ZipInvalidError> {
  const err: unknown = await inspectZip(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ZipInvalidError);
  expect((err as ZipInvalidError).code).toBe('ZOOM_INVALID_RESPONSE');
  return err as ZipInvalidError;
}

describe('inspectZip', () => {
  it('counts the entries of a sound zip, deflated or stored, including an empty one', async () => {
    expect(await inspectZip(await zipOf('a.zip', { 'a.txt': 'hello', 'b/c.json': '{"x":1}', 'empty.txt': '' }))).toEqual({ entries: 3 });
    expect(await inspectZip(await zipOf('s.zip', { 'a.bin': 'x'.repeat(1000) }, true))).toEqual({ entries: 1 });
    expect(await inspectZip(await zipOf('none.zip', {}))).toEqual({ entries: 0 });
  });

  it('refuses a file that is not a zip', async () => {
    const file = path.join(dir, 'not.zip');
    writeFileSync(file, 'no zip here, only text that is long enough to be read as a tail');
    const err = await refusal(file);
    expect(err.message).toMatch(/^not a readable zip: ./);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('refuses a zip whose central directory is damaged', async () => {
    const file = await zipOf('cd.zip', { 'a.txt': 'hello', 'b.txt': 'world' });
    const bytes = readFileSync(file);
    const { central } = layout(bytes);
    bytes.writeUInt32LE(0x12345678, central[1]!); // the second header's signature
    writeFileSync(file, bytes);
    const err = await refusal(file);
    expect(err.message).toMatch(/^the zip's central directory is damaged: ./);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('refuses an entry whose local header is not where the central directory says', async () => {
    const file = await zipOf('lh.zip', { 'a.txt': 'hello', 'b.txt': 'world' });
    const bytes = readFileSync(file);
    const { central } = layout(bytes);
    const local = bytes.readUInt32LE(central[1]! + 42);
    bytes.writeUInt32LE(0, local); // the second entry's local header signature
    writeFileSync(file, bytes);
    expect((await refusal(file)).message).toBe('zip entry 2 of 2 has no local file header where the central directory says');
  });

  it('refuses an entry that claims bytes beyond the end of the file', async () => {
    const file = await zipOf('far.zip', { 'a.txt': 'hello', 'b.txt': 'world' }, true);
    const bytes = readFileSync(file);
    const { central } = layout(bytes);
    // The first entry's local header offset moved to just before the central directory: its 30
    // header bytes plus its data run past the end of the file.
    bytes.writeUInt32LE(bytes.length - 31, central[0]! + 42);
    writeFileSync(file, bytes);
    const message = (await refusal(file)).message;
    expect(message).toBe('zip entry 1 of 2 claims bytes beyond the end of the file');
  });

  it('passes an entry whose header and data end exactly at the end of the file', async () => {
    // The zip comment is a local header signature and 31 more bytes; the entry ('hello', stored,
    // 5 bytes) is pointed at it, so its 30 header bytes and 5 data bytes end exactly at the file's end.
    const file = await zipOf('edge.zip', { 'a.txt': 'hello' }, true, `PK\u0003\u0004${'x'.repeat(31)}`);
    const bytes = readFileSync(file);
    const { central } = layout(bytes);
    bytes.writeUInt32LE(bytes.length - 35, central[0]! + 42);
    writeFileSync(file, bytes);
    expect(await inspectZip(file)).toEqual({ entries: 1 });
  });

});
