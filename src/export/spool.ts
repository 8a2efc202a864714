import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { DeflatingEntry } from './deflating-entry.js';
import { DeflatingWriter, type DeflatedDigest } from './hashing-writer.js';

/**
 * Scratch files for entries that cannot stream straight into the zip while the single pass over
 * the versions runs (a zip is written one entry at a time): the CSV, the HTML pages, the RSMF
 * files. They are deflated as they are written — on other threads, in parallel with the entry that
 * streams into the zip — so appending them afterwards is a plain copy. They sit in a directory
 * beside the bundle's .tmp file and are removed with it; the space they need is about their
 * compressed size.
 */
export class Spool {
  private next = 0;
  private readonly open = new Set<SpoolFile>();

  private constructor(readonly dir: string) {}

  static async create(dir: string): Promise<Spool> {
    await mkdir(dir, { recursive: false });
    return new Spool(dir);
  }

  createFile(entryName: string): SpoolFile {
    const filePath = path.join(this.dir, `${String(++this.next).padStart(8, '0')}.deflate`);
    const file = new SpoolFile(entryName, filePath, () => this.open.delete(file));
    this.open.add(file);
    return file;
  }

  /** Closes any file still being written (a failed export) and removes the directory. */
  async remove(): Promise<void> {
    for (const file of this.open) await file.abort();
    this.open.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface SpooledEntry extends DeflatedDigest {
  entryName: string;
  filePath: string;
}

/** An entry deflated into its own scratch file: ending waits until the file is closed. */
export class SpoolFile extends DeflatingEntry<SpooledEntry> {
  constructor(
    readonly entryName: string,
    readonly filePath: string,
    private readonly onClosed: () => void,
  ) {
    super(new DeflatingWriter(createWriteStream(filePath, { flags: 'wx' })));
  }

  async end(): Promise<SpooledEntry> {
    const digest = await this.writer.end('close');
    this.onClosed();
    return { ...digest, entryName: this.entryName, filePath: this.filePath };
  }

  async abort(): Promise<void> {
    await this.writer.abort();
    this.onClosed();
  }
}
