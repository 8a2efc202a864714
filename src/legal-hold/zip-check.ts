import { open as openFile } from 'node:fs/promises';
import { ArchiverError } from '../errors.js';
import { openZip, readEntries, type Entry, type ZipFile } from '../storage/zip-reader.js';

/**
 * "Is this a readable zip?" without extracting it: the end-of-central-directory record must be
 * found, every central-directory entry must parse (yauzl, names not interpreted: a zip from Zoom
 * is archived as it is, whatever its entry names), their number must match the record, and each
 * entry's local header must sit inside the file with its signature. Reads the central directory and
 * 30 bytes per entry, so a 2 GiB zip is checked in milliseconds.
 */

export interface ZipInspection {
  entries: number;
}

const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_BYTES = 30;

export class ZipInvalidError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ZOOM_INVALID_RESPONSE', message, options);
  }
}

export async function inspectZip(filePath: string): Promise<ZipInspection> {
  let zipfile: ZipFile;
  try {
    zipfile = await openZip(filePath, { decodeStrings: false, validateEntrySizes: true });
  } catch (err) {
    throw new ZipInvalidError(`not a readable zip: ${(err as Error).message}`, { cause: err });
  }
  try {
    let entries: Entry[];
    try {
      entries = await readEntries(zipfile);
    } catch (err) {
      throw new ZipInvalidError(`the zip's central directory is damaged: ${(err as Error).message}`, { cause: err });
    }
    if (entries.length !== zipfile.entryCount) throw new ZipInvalidError(`the zip announces ${zipfile.entryCount} entries but its central directory lists ${entries.length}`);
    await checkLocalHeaders(filePath, entries);
    return { entries: entries.length };
  } finally {
    zipfile.close();
  }
}

async function checkLocalHeaders(filePath: string, entries: readonly Entry[]): Promise<void> {
  const handle = await openFile(filePath, 'r');
  try {
    const { size } = await handle.stat();
    const header = Buffer.alloc(LOCAL_HEADER_BYTES);
    for (const [index, entry] of entries.entries()) {
      const offset = entry.relativeOffsetOfLocalHeader;
      if (offset + LOCAL_HEADER_BYTES + entry.compressedSize > size) {
        throw new ZipInvalidError(`zip entry ${index + 1} of ${entries.length} claims bytes beyond the end of the file`);
      }
      const { bytesRead } = await handle.read(header, 0, LOCAL_HEADER_BYTES, offset);
      if (bytesRead !== LOCAL_HEADER_BYTES || header.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) {
        throw new ZipInvalidError(`zip entry ${index + 1} of ${entries.length} has no local file header where the central directory says`);
      }
    }
  } finally {
    await handle.close();
  }
}
