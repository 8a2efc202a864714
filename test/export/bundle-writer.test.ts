import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BundleWriter } from '../../src/export/bundle-writer.js';
import { verifyBundle } from '../../src/export/verify-bundle.js';
import { FileConflictError, nodeFileSystem, type AtomicFileSystem } from '../../src/storage/atomic-file.js';
import { readBundle } from './bundle-helpers.js';

// Where a finished bundle gets its name (src/storage/atomic-file.ts): on file systems without hard
// links too (simulated through the module's seam: `link` fails as there; the rest is the real disk),
// and never over a file already there.

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-bundle-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const withoutHardLinks: AtomicFileSystem = {
  ...nodeFileSystem,
  link: async () => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  },
};

async function writeBundle(finalPath: string, fs?: AtomicFileSystem): Promise<BundleWriter> {
  const bundle = await BundleWriter.open(`${finalPath}.id.tmp`, finalPath, new Date('2026-11-21T15:00:00Z'), fs ? { fs } : {});
  await bundle.appendBuffer('manifest.json', Buffer.from('{}'));
  await bundle.finish();
  return bundle;
}

describe('placing a finished bundle', () => {
  it('names it on a file system without hard links (EPERM from link), leaving no temp', async () => {
    const finalPath = path.join(dir, 'bundle.zip');
    const bundle = await writeBundle(finalPath, withoutHardLinks);
    await bundle.commit();
    expect(readdirSync(dir)).toEqual(['bundle.zip']);
    expect([...(await readBundle(finalPath)).keys()]).toEqual(['manifest.json']);
    expect((await verifyBundle(finalPath)).problem?.kind).toBe('manifest-invalid'); // readable; '{}' is no manifest
  });

  for (const [label, fs] of [['with hard links', undefined], ['without hard links', withoutHardLinks]] as const) {
    it(`never replaces a file that appeared at its name meanwhile (${label}); abort removes the temp`, async () => {
      const finalPath = path.join(dir, 'bundle.zip');
      const bundle = await writeBundle(finalPath, fs);
      writeFileSync(finalPath, 'someone else put this here');
      await expect(bundle.commit()).rejects.toBeInstanceOf(FileConflictError);
      await bundle.abort();
      expect(readdirSync(dir)).toEqual(['bundle.zip']);
      expect(readFileSync(finalPath, 'utf8')).toBe('someone else put this here');
    });
  }
});
