import type { DeflatingWriter } from './hashing-writer.js';

/**
 * An entry's text on its way through a DeflatingWriter, into the zip (BundleEntryStream) or into a
 * spool file (SpoolFile). The two differ only in what ending waits for and what it reports.
 */
export abstract class DeflatingEntry<D> {
  protected constructor(protected readonly writer: DeflatingWriter) {}

  /** Uncompressed bytes taken so far. */
  get bytesWritten(): number {
    return this.writer.bytesWritten;
  }

  /** Returns a promise only when the caller must wait (backpressure). */
  write(data: string | Buffer): Promise<void> | undefined {
    return this.writer.write(data);
  }

  abstract end(): Promise<D>;
}
