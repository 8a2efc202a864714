import type { BundleWriter } from './bundle-writer.js';
import type { DeflatingEntry } from './deflating-entry.js';
import type { BundleEntries, FileToCopy, TextEntry } from './format-writer.js';
import type { EntryDigest } from './hashing-writer.js';
import type { ManifestEntry } from './manifest.js';
import type { Spool, SpooledEntry } from './spool.js';
import { InternalError } from '../errors.js';

/**
 * The bookkeeping behind `BundleEntries` (format-writer.ts): which entry streams into the zip and
 * which go through the spool, the order spooled entries are packed in, the manifest's entry list,
 * and the content bytes for progress.
 *
 * - One entry per bundle streams straight into the zip: the first to ask (`streamIntoZip`), which is
 *   messages.jsonl — or messages.csv when JSONL is not exported. Everything else is deflated into
 *   the spool during the pass and copied in afterwards.
 * - Spooled entries are packed owner by owner in the order the owners (formats) were registered, and
 *   each owner's in the order its entries were *opened* — so index.html, opened first and finished
 *   last, comes before the transcripts it lists.
 * - The manifest lists every entry in zip order, each once it is complete.
 */

/** A spooled entry's place in the packing order, filled in once the entry has ended. */
interface SpoolSlot {
  path: string;
  entry?: SpooledEntry;
}

export class BundleEntryBook {
  private streaming: string | undefined;
  private readonly slots = new Map<string, SpoolSlot[]>();
  private readonly open = new Set<TextEntry>();
  private done = 0;
  /** Every complete entry, in zip order. */
  readonly manifest: ManifestEntry[] = [];

  constructor(
    private readonly bundle: BundleWriter,
    private readonly spool: Spool,
  ) {}

  /** Uncompressed bytes of every entry written so far, those still open included. */
  get contentBytes(): number {
    let inFlight = 0;
    for (const entry of this.open) inFlight += entry.bytesWritten;
    return this.done + inFlight;
  }

  /** The entries of one owner (a format), packed after those of owners registered before it. */
  forOwner(owner: string): BundleEntries {
    if (this.slots.has(owner)) throw new InternalError(`bundle entries for ${owner} asked for twice`);
    const slots: SpoolSlot[] = [];
    this.slots.set(owner, slots);
    return {
      openText: (path, options = {}) => {
        if (options.streamIntoZip && this.streaming === undefined) {
          this.streaming = path;
          return this.track(new BookedTextEntry(path, this.bundle.openEntry(path), (digest) => this.completed(path, digest)));
        }
        return this.track(this.spooled(slots, path));
      },
      writeWhole: async (path, content) => {
        const entry = this.spooled(slots, path);
        await entry.write(content);
        await entry.end();
      },
      addFile: (file) => this.addFile(file),
    };
  }

  private spooled(slots: SpoolSlot[], path: string): BookedTextEntry<SpooledEntry> {
    const slot: SpoolSlot = { path };
    slots.push(slot);
    return new BookedTextEntry(path, this.spool.createFile(path), (entry) => {
      slot.entry = entry;
      this.done += entry.bytes;
    });
  }

  private track(entry: TextEntry & { onEnded: (() => void) | undefined }): TextEntry {
    this.open.add(entry);
    entry.onEnded = () => this.open.delete(entry);
    return entry;
  }

  private completed(path: string, digest: EntryDigest): void {
    this.manifest.push({ path, bytes: digest.bytes, sha256: digest.sha256 });
    this.done += digest.bytes;
  }

  /** After the pass: copies every spooled entry into the zip, checking each is what was written. */
  async packSpooled(beforeEach: () => void, afterEach: () => void): Promise<void> {
    for (const [owner, slots] of this.slots) {
      for (const slot of slots) {
        const entry = slot.entry;
        if (!entry) throw new InternalError(`${owner} never finished ${slot.path}`);
        beforeEach();
        await this.bundle.appendDeflatedFile(entry.entryName, entry.filePath, entry);
        this.manifest.push({ path: entry.entryName, bytes: entry.bytes, sha256: entry.sha256 });
        afterEach();
      }
    }
  }

  /** Copies a stored file (a legal-hold zip; attachments next) into the zip, failing on any difference from what was recorded. */
  async addFile(file: FileToCopy): Promise<EntryDigest> {
    if (this.open.size > 0) throw new InternalError(`${file.path} added while entries are still being written`);
    const digest = await this.bundle.appendFile(file.path, file.absolutePath, { store: file.store });
    if (digest.sha256 !== file.expected.sha256 || digest.bytes !== file.expected.bytes) throw file.mismatch(digest);
    this.completed(file.path, digest);
    return digest;
  }
}

/** An entry open in the book, going into the zip or into the spool; once it has ended, `onComplete` gets its digest. */
class BookedTextEntry<D extends EntryDigest> implements TextEntry {
  onEnded: (() => void) | undefined;

  constructor(
    readonly path: string,
    private readonly entry: DeflatingEntry<D>,
    private readonly onComplete: (digest: D) => void,
  ) {}

  get bytesWritten(): number {
    return this.entry.bytesWritten;
  }

  write(data: string | Buffer): Promise<void> | undefined {
    return this.entry.write(data);
  }

  async end(): Promise<EntryDigest> {
    const digest = await this.entry.end();
    this.onEnded?.();
    this.onComplete(digest);
    return digest;
  }
}
