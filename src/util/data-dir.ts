import { randomBytes } from 'node:crypto';
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ArchiverError } from '../errors.js';

/**
 * ARCHIVE_DATA_DIR must be a folder this process can create files in (the embedded database, legal-
 * hold zips, export bundles). Checked before any work, so a wrong value is one line naming the
 * folder and the problem (exit 2) instead of an unexpected error from deep inside a job.
 */

const REASONS: Readonly<Record<string, string>> = {
  EEXIST: 'exists but is a file, not a folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'this user may not create files there',
  EPERM: 'the operating system does not allow creating files there (a system folder such as /sys or /proc?)',
  EROFS: 'it is on a read-only file system',
  ENOSPC: 'its disk is full',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'the path has a symbolic-link loop',
};

export async function ensureDataDir(dir: string): Promise<void> {
  const unusable = (err: unknown): ArchiverError => {
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? (REASONS[code] ?? `${code}`) : (err as Error).message;
    const who = code === 'EACCES' && process.getuid ? ` (uid ${process.getuid()})` : '';
    return new ArchiverError('DATA_DIR_UNUSABLE', `ARCHIVE_DATA_DIR ${dir} cannot be used: ${why}${who}; set ARCHIVE_DATA_DIR to a writable folder`, { cause: err });
  };
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw unusable(err);
  }
  const info = await stat(dir).catch((err: unknown) => {
    throw unusable(err);
  });
  if (!info.isDirectory()) throw unusable(Object.assign(new Error('not a folder'), { code: 'EEXIST' }));
  // Permission bits do not tell the whole story (root, read-only mounts, /sys): try it.
  const probe = path.join(dir, `.zca-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '');
  } catch (err) {
    throw unusable(err);
  }
  await unlink(probe).catch(() => undefined);
}

/**
 * The absolute path of a path recorded relative to ARCHIVE_DATA_DIR (with `/` separators, as the
 * database records legal-hold zips and captured files), refusing anything that would leave it.
 */
export function resolveInDataDir(dataDir: string, relative: string): string {
  const root = path.resolve(dataDir);
  const absolute = path.resolve(root, ...relative.split('/'));
  if (absolute !== root && !absolute.startsWith(`${root}${path.sep}`)) throw new RangeError(`stored path ${JSON.stringify(relative)} points outside ARCHIVE_DATA_DIR`);
  return absolute;
}
