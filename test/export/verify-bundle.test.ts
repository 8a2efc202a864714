import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import archiver from 'archiver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError } from '../../src/errors.js';
import { verifyBundle } from '../../src/export/verify-bundle.js';
import { entryDataRange, flipByte } from './bundle-helpers.js';

// `export verify` (src/export/verify-bundle.ts) on small zips built here, each broken in one way:
// every kind of problem it reports, with the entry at fault and the figures it compares.

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-verify-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const CONTENT: Record<string, Buffer> = {
  'messages.jsonl': Buffer.from('{"id":"m1"}\n{"id":"m2"}\n'),
  'sessions/s1.csv': Buffer.from('a,b\n1,2\n'),
};

function manifestFor(entries: Record<string, Buffer>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'zoom-chat-archiver/export-bundle',
    format_version: 1,
    bundle_id: 'b-123',
    tool: { name: 'zoom-chat-archiver', version: '0.1.0' },
    created_at: '2026-11-21T15:00:00.000Z',
    requested_by: 'test',
    filter: { kind: 'all' },
    formats: ['jsonl'],
    counts: { sessions: 1, messages: 2, versions: 2, edits: 0, deletions: 0, files: 0 },
    entries: Object.entries(entries).map(([p, b]) => ({ path: p, bytes: b.length, sha256: sha256(b) })),
    ...overrides,
  };
}

type ZipItem = { name: string; data: Buffer | null };

/** A zip with these entries in this order (a null data is a directory entry). */
async function zip(name: string, items: ZipItem[]): Promise<string> {
  const file = path.join(dir, name);
  const archive = archiver('zip', { zlib: { level: 6 } });
  const out = createWriteStream(file);
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    archive.on('error', reject);
  });
  archive.pipe(out);
  for (const item of items) {
    if (item.data === null) archive.append(null as unknown as Buffer, { name: item.name, type: 'directory' } as archiver.EntryData);
    else archive.append(item.data, { name: item.name });
  }
  await archive.finalize();
  await closed;
  return file;
}

const manifestItem = (m: unknown): ZipItem => ({ name: 'manifest.json', data: Buffer.from(typeof m === 'string' ? m : JSON.stringify(m)) });
const contentItems = (entries: Record<string, Buffer> = CONTENT): ZipItem[] => Object.entries(entries).map(([name, data]) => ({ name, data }));

/** Sets an entry's CRC-32 in the central directory to a wrong value (its data stays intact). */
function corruptCentralCrc(file: string, name: string): void {
  const bytes = readFileSync(file);
  const nameBytes = Buffer.from(name);
  for (let i = bytes.length - 46; i >= 0; i--) {
    if (bytes.readUInt32LE(i) === 0x02014b50 && bytes.readUInt16LE(i + 28) === nameBytes.length && bytes.subarray(i + 46, i + 46 + nameBytes.length).equals(nameBytes)) {
      bytes.writeUInt32LE((bytes.readUInt32LE(i + 16) ^ 0xffffffff) >>> 0, i + 16);
      writeFileSync(file, bytes);
      return;
    }
  }
  throw new Error(`no central directory record for ${name}`);
}

describe('verifyBundle', () => {
  it('passes an intact bundle, checking every entry but the manifest, and reports the bundle it read', async () => {
    const file = await zip('ok.zip', [{ name: 'sessions/', data: null }, ...contentItems(), manifestItem(manifestFor(CONTENT))]);
    const whole = readFileSync(file);
    const result = await verifyBundle(file, { expectedSha256: sha256(whole).toUpperCase() });
    expect(result).toMatchObject({ ok: true, bundlePath: file, bundleBytes: whole.length, bundleSha256: sha256(whole), bundleId: 'b-123', entriesChecked: 2 });
    expect(result.problem).toBeUndefined();
    expect(result.manifest?.entries.map((e) => e.path)).toEqual(['messages.jsonl', 'sessions/s1.csv']);
  });

  it('passes a bundle whose manifest lists nothing else', async () => {
    const file = await zip('empty.zip', [manifestItem(manifestFor({}))]);
    expect(await verifyBundle(file)).toMatchObject({ ok: true, entriesChecked: 0 });
  });

  it('bundle-sha256-mismatch when the bundle is not the one the archive recorded, before opening it', async () => {
    const file = await zip('ok.zip', [...contentItems(), manifestItem(manifestFor(CONTENT))]);
    const actual = sha256(readFileSync(file));
    const expected = 'AB'.repeat(32);
    const result = await verifyBundle(file, { expectedSha256: expected });
    expect(result.ok).toBe(false);
    expect(result.problem).toEqual({ kind: 'bundle-sha256-mismatch', message: `the bundle's SHA-256 is ${actual}, not the recorded ${'ab'.repeat(32)}`, expected: 'ab'.repeat(32), actual });
    expect(result.manifest).toBeUndefined();
  });

  it('bundle-unreadable for a file that is not a zip', async () => {
    const file = path.join(dir, 'not.zip');
    writeFileSync(file, 'this is not a zip file at all, just text that goes on for a while');
    const result = await verifyBundle(file);
    expect(result.ok).toBe(false);
    expect(result.problem?.kind).toBe('bundle-unreadable');
    expect(result.problem?.message).toMatch(/^not a readable zip: ./);
    expect(result.bundleBytes).toBe(readFileSync(file).length);
  });

  it('bundle-unreadable for a zip whose central directory is damaged', async () => {
    const file = await zip('cd.zip', [...contentItems(), manifestItem(manifestFor(CONTENT))]);
    const bytes = readFileSync(file);
    const second = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 4);
    bytes.writeUInt32LE(0x12345678, second);
    writeFileSync(file, bytes);
    const result = await verifyBundle(file);
    expect(result.problem?.kind).toBe('bundle-unreadable');
    expect(result.problem?.message).toMatch(/^not a readable zip: ./);
  });

  it('duplicate-entry when a path appears twice in the zip', async () => {
    const file = await zip('dup.zip', [...contentItems(), { name: 'messages.jsonl', data: CONTENT['messages.jsonl']! }, manifestItem(manifestFor(CONTENT))]);
    expect((await verifyBundle(file)).problem).toEqual({ kind: 'duplicate-entry', path: 'messages.jsonl', message: 'messages.jsonl appears more than once in the zip' });
  });

  it('manifest-missing when there is no manifest.json', async () => {
    const file = await zip('nomanifest.zip', [...contentItems(), { name: 'other/manifest.json', data: Buffer.from('{}') }]);
    expect((await verifyBundle(file)).problem).toEqual({ kind: 'manifest-missing', path: 'manifest.json', message: 'manifest.json is missing: this is not a complete export bundle' });
  });

  it('manifest-invalid: not JSON, not a manifest (naming the field, or the root), an entry listed twice, a corrupt manifest entry', async () => {
    const notJson = await verifyBundle(await zip('a.zip', [...contentItems(), manifestItem('{not json')]));
    expect(notJson.problem).toMatchObject({ kind: 'manifest-invalid', path: 'manifest.json' });
    expect(notJson.problem?.message).toMatch(/^manifest\.json is not valid JSON: ./);

    const badField = await verifyBundle(await zip('b.zip', [...contentItems(), manifestItem(manifestFor(CONTENT, { bundle_id: '' }))]));
    expect(badField.problem).toMatchObject({ kind: 'manifest-invalid', path: 'manifest.json' });
    expect(badField.problem?.message).toMatch(/^manifest\.json is not a valid manifest: bundle_id: ./);

    const badNested = await verifyBundle(await zip('b2.zip', [...contentItems(), manifestItem(manifestFor(CONTENT, { entries: [{ path: 'messages.jsonl', bytes: 1, sha256: 'XYZ' }] }))]));
    expect(badNested.problem?.message).toBe('manifest.json is not a valid manifest: entries.0.sha256: expected 64 lower-case hex characters');

    const root = await verifyBundle(await zip('c.zip', [...contentItems(), manifestItem('[]')]));
    expect(root.problem?.message).toMatch(/^manifest\.json is not a valid manifest: \(root\): ./);

    const m = manifestFor(CONTENT);
    const twice = await verifyBundle(await zip('d.zip', [...contentItems(), manifestItem({ ...m, entries: [...(m['entries'] as unknown[]), (m['entries'] as unknown[])[0]] })]));
    expect(twice.problem).toEqual({ kind: 'manifest-invalid', path: 'manifest.json', message: 'manifest.json lists an entry twice' });

    const corruptFile = await zip('e.zip', [...contentItems(), manifestItem(manifestFor(CONTENT))]);
    corruptCentralCrc(corruptFile, 'manifest.json');
    expect((await verifyBundle(corruptFile)).problem).toEqual({ kind: 'manifest-invalid', path: 'manifest.json', message: 'manifest.json is corrupt: its CRC-32 does not match the zip directory' });
  });

  it('manifest-invalid when the manifest entry cannot be inflated', async () => {
    const file = await zip('f.zip', [...contentItems(), manifestItem(manifestFor(CONTENT))]);
    const { start, length } = await entryDataRange(file, 'manifest.json');
    for (let i = 0; i < Math.min(length, 8); i++) flipByte(file, start + i);
    const result = await verifyBundle(file);
    expect(result.problem).toMatchObject({ kind: 'manifest-invalid', path: 'manifest.json' });
    expect(result.problem?.message).toMatch(/^manifest\.json (cannot be read: .|is corrupt)/);
  });

  it('entry-not-in-manifest for an entry the manifest does not list', async () => {
    const file = await zip('added.zip', [...contentItems(), { name: 'extra.txt', data: Buffer.from('x') }, manifestItem(manifestFor(CONTENT))]);
    const result = await verifyBundle(file);
    expect(result.problem).toEqual({ kind: 'entry-not-in-manifest', path: 'extra.txt', message: 'extra.txt is in the zip but not in manifest.json: something was added' });
    expect(result.bundleId).toBe('b-123');
    expect(result.entriesChecked).toBe(2); // the two listed entries before it
  });

  it('entry-missing for a listed entry the zip lacks, after checking the others', async () => {
    const { ['sessions/s1.csv']: _dropped, ...rest } = CONTENT;
    const file = await zip('removed.zip', [...contentItems(rest), manifestItem(manifestFor(CONTENT))]);
    const result = await verifyBundle(file);
    expect(result.problem).toEqual({ kind: 'entry-missing', path: 'sessions/s1.csv', message: 'sessions/s1.csv is listed in manifest.json but missing from the zip' });
    expect(result.entriesChecked).toBe(1);
    expect(result.ok).toBe(false);
  });

  it('size-mismatch, then sha256-mismatch, comparing with the manifest', async () => {
    const m = manifestFor(CONTENT);
    const entries = m['entries'] as Array<{ path: string; bytes: number; sha256: string }>;
    const sizeOff = await zip('size.zip', [...contentItems(), manifestItem({ ...m, entries: [{ ...entries[0]!, bytes: 3 }, entries[1]] })]);
    expect((await verifyBundle(sizeOff)).problem).toEqual({ kind: 'size-mismatch', path: 'messages.jsonl', message: `messages.jsonl is ${CONTENT['messages.jsonl']!.length} bytes; the manifest says 3`, expected: 3, actual: CONTENT['messages.jsonl']!.length });

    const otherSha = '0'.repeat(64);
    const shaOff = await zip('sha.zip', [...contentItems(), manifestItem({ ...m, entries: [entries[0], { ...entries[1]!, sha256: otherSha }] })]);
    const result = await verifyBundle(shaOff);
    const actual = sha256(CONTENT['sessions/s1.csv']!);
    expect(result.problem).toEqual({ kind: 'sha256-mismatch', path: 'sessions/s1.csv', message: `sessions/s1.csv has SHA-256 ${actual}; the manifest says ${otherSha}`, expected: otherSha, actual });
    expect(result.entriesChecked).toBe(1);
  });

  it('entry-unreadable for an entry whose CRC-32 differs from the zip directory, or whose data cannot be inflated', async () => {
    const crcOff = await zip('crc.zip', [...contentItems(), manifestItem(manifestFor(CONTENT))]);
    corruptCentralCrc(crcOff, 'sessions/s1.csv');
    expect((await verifyBundle(crcOff)).problem).toEqual({ kind: 'entry-unreadable', path: 'sessions/s1.csv', message: 'sessions/s1.csv is corrupt: its CRC-32 does not match the zip directory' });

    const big = { 'big.txt': Buffer.from('lorem ipsum dolor sit amet '.repeat(2000)) };
    const broken = await zip('broken.zip', [...contentItems(big), manifestItem(manifestFor(big))]);
    const { start, length } = await entryDataRange(broken, 'big.txt');
    for (let i = 0; i < 16; i++) flipByte(broken, start + Math.floor(length / 2) + i);
    const result = await verifyBundle(broken);
    expect(result.problem).toMatchObject({ kind: 'entry-unreadable', path: 'big.txt' });
    expect(result.problem?.message).toMatch(/^big\.txt cannot be read: ./);
  });

  it('stops with an AbortError when aborted, rather than reporting a problem', async () => {
    const file = await zip('ok.zip', [...contentItems(), manifestItem(manifestFor(CONTENT))]);
    await expect(verifyBundle(file, { signal: AbortSignal.abort() })).rejects.toThrow(new AbortError('verification aborted'));
    await expect(verifyBundle(file, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('stops with an AbortError when aborted while reading the entries after the manifest', async () => {
    const file = await zip('order.zip', [manifestItem(manifestFor(CONTENT)), ...contentItems()]);
    // The manifest is read first (one chunk), then each entry: aborted from the second chunk read on.
    let reads = 0;
    const signal = { get aborted() { return ++reads > 1; } } as AbortSignal;
    await expect(verifyBundle(file, { signal })).rejects.toBeInstanceOf(AbortError);
    expect(reads).toBe(2);
  });
});
