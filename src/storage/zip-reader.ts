import type { Readable } from 'node:stream';
import yauzl, { type Entry, type Options, type ZipFile } from 'yauzl';
import { InternalError } from '../errors.js';

/**
 * Reading zips without extracting them (yauzl behind promises): the bundle verifier, the export
 * proof check, the legal-hold zip check and tests all walk a zip's central directory the same way.
 * Entries are read lazily, so a zip of any size costs its central directory in memory.
 */

export type { Entry, ZipFile };

/** Opens a zip for lazy reading; the caller closes it. `options` adds to lazy entries without auto-close. */
export function openZip(file: string, options: Omit<Options, 'lazyEntries' | 'autoClose'> = {}): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { ...options, lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err || !zip) reject(err ?? new InternalError(`cannot open zip ${file}`));
      else resolve(zip);
    });
  });
}

/** Every central-directory entry, in order; rejects on the first unreadable one. */
export function readEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** The entry's uncompressed content as a stream (checked against its CRC and size by yauzl). */
export function openEntryStream(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) reject(err ?? new InternalError(`cannot read zip entry ${entry.fileName}`));
      else resolve(stream);
    });
  });
}

/** The entry's whole content (for small entries: a manifest, a test's expectations). */
export async function readEntryBuffer(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of (await openEntryStream(zip, entry)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
