import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleEntryBook } from '../../src/export/bundle-entries.js';
import { BundleWriter } from '../../src/export/bundle-writer.js';
import { Spool } from '../../src/export/spool.js';
import { readBundle } from './bundle-helpers.js';

// How format writers' entries reach the zip (format-writer.ts's BundleEntries): one entry streams,
// the rest are spooled and packed by owner and by opening order; the manifest follows the zip.

let dir: string;
let bundle: BundleWriter;
let spool: Spool;
let book: BundleEntryBook;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-entries-'));
  const finalPath = path.join(dir, 'bundle.zip');
  bundle = await BundleWriter.open(`${finalPath}.x.tmp`, finalPath, new Date('2026-11-21T15:00:00Z'));
  spool = await Spool.create(`${finalPath}.x.spool.tmp`);
  book = new BundleEntryBook(bundle, spool);
});

afterEach(async () => {
  await bundle.abort();
  await spool.remove();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('bundle entries', () => {
  it('streams the first entry that asks, spools the rest, and packs them by owner and by the order they were opened', async () => {
    const a = book.forOwner('a');
    const b = book.forOwner('b');
    const streamed = a.openText('first.txt', { streamIntoZip: true });
    const secondAsker = b.openText('second-asker.txt', { streamIntoZip: true });
    const index = b.openText('index.txt'); // opened before the pages, finished after them
    await b.writeWhole('b/page-1.txt', Buffer.from('page 1'));
    const late = a.openText('a-late.txt');
    await streamed.write('streamed');
    await secondAsker.write('spooled although it asked');
    await index.write('index');
    await late.write('late');
    expect(book.contentBytes).toBe('streamed'.length + 'spooled although it asked'.length + 'index'.length + 'page 1'.length + 'late'.length);
    await streamed.end();
    await late.end();
    await index.end();
    await secondAsker.end();
    await book.packSpooled(
      () => undefined,
      () => undefined,
    );
    expect(book.manifest.map((e) => e.path)).toEqual(['first.txt', 'a-late.txt', 'second-asker.txt', 'index.txt', 'b/page-1.txt']);
    expect(book.manifest[0]).toEqual({ path: 'first.txt', bytes: 8, sha256: sha('streamed') });
    await bundle.appendBuffer('manifest.json', Buffer.from('{}'));
    await bundle.finish();
    await bundle.commit();
    const zip = await readBundle(path.join(dir, 'bundle.zip'));
    expect([...zip.keys()]).toEqual([...book.manifest.map((e) => e.path), 'manifest.json']);
    expect(zip.get('second-asker.txt')?.toString()).toBe('spooled although it asked');
  });

  it('refuses to pack an entry that was never finished, and to copy files while entries are open', async () => {
    const owner = book.forOwner('html');
    const page = owner.openText('page.html');
    await page.write('<p>');
    writeFileSync(path.join(dir, 'stored.zip'), 'stored');
    const file = { path: 'legal-hold/x.zip', absolutePath: path.join(dir, 'stored.zip'), store: true, expected: { bytes: 6, sha256: sha('stored') }, mismatch: () => new Error('mismatch') };
    await expect(owner.addFile(file)).rejects.toThrow(/while entries are still being written/);
    await expect(
      book.packSpooled(
        () => undefined,
        () => undefined,
      ),
    ).rejects.toThrow(/html never finished page.html/);
    expect(() => book.forOwner('html')).toThrow(/twice/);
  });

  it('copies a stored file only when it is what was recorded', async () => {
    const owner = book.forOwner('files');
    writeFileSync(path.join(dir, 'stored.zip'), 'stored bytes');
    const base = { absolutePath: path.join(dir, 'stored.zip'), store: true, mismatch: (actual: { sha256: string }) => new Error(`differs: ${actual.sha256}`) };
    expect(await owner.addFile({ ...base, path: 'ok.zip', expected: { bytes: 12, sha256: sha('stored bytes') } })).toEqual({ bytes: 12, sha256: sha('stored bytes') });
    await expect(owner.addFile({ ...base, path: 'changed.zip', expected: { bytes: 12, sha256: sha('other bytes!') } })).rejects.toThrow(`differs: ${sha('stored bytes')}`);
    expect(book.manifest.map((e) => e.path)).toEqual(['ok.zip']);
  });
});
