import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/**
 * A streaming SHA-256 of a file, for the evidence paths (legal-hold verification, export bundles,
 * the atomic-file module's "same bytes already there" check). Writing files that appear complete
 * or not at all — temp file, fsync, place without overwrite, sweep — is src/storage/atomic-file.ts.
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
