import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/**
 * File primitives the evidence paths share (legal-hold downloads and verification, export
 * bundles): a streaming SHA-256 and the two fsyncs that make a renamed or linked file durable.
 * Errors are the file system's own; callers say what they were doing.
 */

const READ_CHUNK_BYTES = 1024 * 1024;

/** Size and SHA-256 (lower-case hex) of a file, read in 1 MiB chunks: memory stays flat. */
export async function hashFile(filePath: string, signal?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    createReadStream(filePath, { highWaterMark: READ_CHUNK_BYTES }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        bytes += chunk.length;
        hash.update(chunk);
      }
    },
    signal ? { signal } : {},
  );
  return { bytes, sha256: hash.digest('hex') };
}

/** fsync through a new descriptor: Linux flushes the file's pages whichever descriptor wrote them. */
export async function fsyncFile(filePath: string): Promise<void> {
  const handle = await open(filePath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The directory entry of a new, renamed or linked file is durable only once the directory itself is
 * synced. Some file systems refuse fsync on a directory (EINVAL, EISDIR); there the entry is as
 * durable as that file system makes it, and the caller's rename or link has already succeeded.
 */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code !== 'EINVAL' && code !== 'EISDIR') throw err;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
