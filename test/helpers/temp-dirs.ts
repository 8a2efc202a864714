import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * Temporary directories a test file makes as its tests need them, every one removed after the file's
 * last test. Returns the maker: `tempDir('zca-heads-')` is a new, empty directory under the OS's tmp.
 */
export function tempDirsRemovedAfterAll(): (prefix: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

export interface SmallDisk {
  /** Where the tmpfs is mounted (an empty directory until `beforeAll` ran). */
  readonly mountPoint: string;
  /** False when mounting failed (not root): tests that need it skip or fail, saying so. */
  readonly mounted: boolean;
}

/**
 * A real small disk for a test file: a tmpfs of `size` (mount's syntax, e.g. `4m`) mounted before
 * its first test and removed after its last. Mounting needs root; elsewhere `mounted` is false.
 */
export function smallDiskForAll(prefix: string, size: string): SmallDisk {
  const disk = { mountPoint: '', mounted: false };
  beforeAll(() => {
    disk.mountPoint = mkdtempSync(path.join(tmpdir(), prefix));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', disk.mountPoint], { stdio: 'ignore' });
      disk.mounted = true;
    } catch {
      disk.mounted = false;
    }
  });
  afterAll(() => {
    if (disk.mounted) execFileSync('umount', [disk.mountPoint], { stdio: 'ignore' });
    rmSync(disk.mountPoint, { recursive: true, force: true });
  });
  return disk;
}
