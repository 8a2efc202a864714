import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { AbortError } from '../errors.js';
import { openEntryStream, openZip, readEntries, type Entry, type ZipFile } from '../storage/zip-reader.js';
import { hashFile } from '../util/files.js';
import { MANIFEST_PATH, manifestSchema, type ParsedManifest } from './manifest.js';

/**
 * Re-reads a bundle from anywhere, without the database: every entry is streamed through CRC-32
 * (the zip's own check) and SHA-256, and compared with manifest.json. Reports the first difference:
 * an unreadable zip or entry, a missing or invalid manifest, an entry missing from the zip, an
 * entry the manifest does not list, a size or SHA-256 that differs. The bundle's own SHA-256 is
 * computed too, to compare with the one the archive recorded (`export show`) — the anchor that
 * detects a bundle rewritten as a whole, manifest included.
 */

export type BundleProblemKind =
  | 'bundle-unreadable'
  | 'bundle-sha256-mismatch'
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'duplicate-entry'
  | 'entry-unreadable'
  | 'entry-missing'
  | 'entry-not-in-manifest'
  | 'size-mismatch'
  | 'sha256-mismatch';

export interface BundleProblem {
  kind: BundleProblemKind;
  /** The entry at fault, when there is one. */
  path?: string;
  message: string;
  expected?: string | number;
  actual?: string | number;
}

export interface BundleVerification {
  ok: boolean;
  bundlePath: string;
  bundleBytes: number;
  bundleSha256: string;
  bundleId?: string;
  manifest?: ParsedManifest;
  entriesChecked: number;
  /** The first difference found; absent when ok. */
  problem?: BundleProblem;
}

export interface VerifyOptions {
  /** The SHA-256 the archive recorded for this bundle (`export show`); checked when given. */
  expectedSha256?: string;
  signal?: AbortSignal;
}

interface EntryCheck {
  bytes: number;
  sha256: string;
  crc32: number;
  content?: Buffer;
}

async function digestEntry(zip: ZipFile, entry: Entry, keepContent: boolean, signal?: AbortSignal): Promise<EntryCheck> {
  const stream = await openEntryStream(zip, entry);
  const hash = createHash('sha256');
  let crc = 0;
  let bytes = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (signal?.aborted) {
      stream.destroy();
      throw new AbortError('verification aborted');
    }
    hash.update(chunk);
    crc = crc32(chunk, crc);
    bytes += chunk.length;
    if (keepContent) chunks.push(chunk);
  }
  return { bytes, sha256: hash.digest('hex'), crc32: crc >>> 0, ...(keepContent ? { content: Buffer.concat(chunks) } : {}) };
}

const isDirectory = (entry: Entry) => entry.fileName.endsWith('/');

export async function verifyBundle(bundlePath: string, options: VerifyOptions = {}): Promise<BundleVerification> {
  const info = await stat(bundlePath);
  const { sha256: bundleSha256 } = await hashFile(bundlePath);
  const result: BundleVerification = { ok: false, bundlePath, bundleBytes: info.size, bundleSha256, entriesChecked: 0 };
  const fail = (problem: BundleProblem): BundleVerification => ({ ...result, problem });

  if (options.expectedSha256 !== undefined && options.expectedSha256.toLowerCase() !== bundleSha256) {
    return fail({ kind: 'bundle-sha256-mismatch', message: `the bundle's SHA-256 is ${bundleSha256}, not the recorded ${options.expectedSha256.toLowerCase()}`, expected: options.expectedSha256.toLowerCase(), actual: bundleSha256 });
  }

  let zip: ZipFile;
  let entries: Entry[];
  try {
    zip = await openZip(bundlePath, { validateEntrySizes: true, strictFileNames: false, decodeStrings: true });
    entries = await readEntries(zip);
  } catch (err) {
    return fail({ kind: 'bundle-unreadable', message: `not a readable zip: ${(err as Error).message}` });
  }
  try {
    const files = entries.filter((e) => !isDirectory(e));
    const seen = new Set<string>();
    for (const entry of files) {
      if (seen.has(entry.fileName)) return fail({ kind: 'duplicate-entry', path: entry.fileName, message: `${entry.fileName} appears more than once in the zip` });
      seen.add(entry.fileName);
    }
    const manifestEntry = files.find((e) => e.fileName === MANIFEST_PATH);
    if (!manifestEntry) return fail({ kind: 'manifest-missing', path: MANIFEST_PATH, message: `${MANIFEST_PATH} is missing: this is not a complete export bundle` });

    let manifestCheck: EntryCheck;
    try {
      manifestCheck = await digestEntry(zip, manifestEntry, true, options.signal);
    } catch (err) {
      if (err instanceof AbortError) throw err;
      return fail({ kind: 'manifest-invalid', path: MANIFEST_PATH, message: `${MANIFEST_PATH} cannot be read: ${(err as Error).message}` });
    }
    if (manifestCheck.crc32 !== manifestEntry.crc32 >>> 0) {
      return fail({ kind: 'manifest-invalid', path: MANIFEST_PATH, message: `${MANIFEST_PATH} is corrupt: its CRC-32 does not match the zip directory` });
    }
    let manifest: ParsedManifest;
    try {
      const parsed = manifestSchema.safeParse(JSON.parse((manifestCheck.content as Buffer).toString('utf8')));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return fail({ kind: 'manifest-invalid', path: MANIFEST_PATH, message: `${MANIFEST_PATH} is not a valid manifest: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}` });
      }
      manifest = parsed.data;
    } catch (err) {
      return fail({ kind: 'manifest-invalid', path: MANIFEST_PATH, message: `${MANIFEST_PATH} is not valid JSON: ${(err as Error).message}` });
    }
    result.manifest = manifest;
    result.bundleId = manifest.bundle_id;

    const listed = new Map(manifest.entries.map((e) => [e.path, e]));
    if (listed.size !== manifest.entries.length) return fail({ kind: 'manifest-invalid', path: MANIFEST_PATH, message: `${MANIFEST_PATH} lists an entry twice` });
    for (const entry of files) {
      if (entry === manifestEntry) continue;
      const expected = listed.get(entry.fileName);
      if (!expected) return fail({ kind: 'entry-not-in-manifest', path: entry.fileName, message: `${entry.fileName} is in the zip but not in ${MANIFEST_PATH}: something was added` });
      let check: EntryCheck;
      try {
        check = await digestEntry(zip, entry, false, options.signal);
      } catch (err) {
        if (err instanceof AbortError) throw err;
        return fail({ kind: 'entry-unreadable', path: entry.fileName, message: `${entry.fileName} cannot be read: ${(err as Error).message}` });
      }
      if (check.bytes !== expected.bytes) {
        return fail({ kind: 'size-mismatch', path: entry.fileName, message: `${entry.fileName} is ${check.bytes} bytes; the manifest says ${expected.bytes}`, expected: expected.bytes, actual: check.bytes });
      }
      if (check.sha256 !== expected.sha256) {
        return fail({ kind: 'sha256-mismatch', path: entry.fileName, message: `${entry.fileName} has SHA-256 ${check.sha256}; the manifest says ${expected.sha256}`, expected: expected.sha256, actual: check.sha256 });
      }
      if (check.crc32 !== entry.crc32 >>> 0) {
        return fail({ kind: 'entry-unreadable', path: entry.fileName, message: `${entry.fileName} is corrupt: its CRC-32 does not match the zip directory` });
      }
      result.entriesChecked++;
    }
    for (const expected of manifest.entries) {
      if (!seen.has(expected.path)) return fail({ kind: 'entry-missing', path: expected.path, message: `${expected.path} is listed in ${MANIFEST_PATH} but missing from the zip` });
    }
    // Each attachment said to be in the bundle is an entry with the content's SHA-256.
    for (const attachment of manifest.attachments ?? []) {
      if (attachment.path === null) continue;
      const entry = listed.get(attachment.path);
      if (!entry) return fail({ kind: 'entry-missing', path: attachment.path, message: `attachment ${attachment.file_id} is said to be at ${attachment.path}, which is not an entry of the bundle` });
      if (entry.sha256 !== attachment.sha256) {
        return fail({ kind: 'sha256-mismatch', path: attachment.path, message: `attachment ${attachment.file_id} at ${attachment.path} has SHA-256 ${entry.sha256}; it was stored as ${attachment.sha256 ?? '(none)'}`, expected: attachment.sha256 ?? '', actual: entry.sha256 });
      }
    }
    return { ...result, ok: true };
  } finally {
    zip.close();
  }
}
