import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AtomicFile,
  FileConflictError,
  commitTempFile,
  nodeFileSystem,
  placeWithoutOverwrite,
  sweepStaleTemps,
  type AtomicFileSystem,
} from '../../src/storage/atomic-file.js';
import { ROOT } from '../helpers/cli.js';

// The atomic-file module on a real file system (a temp directory). File systems without hard links
// are simulated through the module's own seam: `link` fails as they fail; every other call is real.

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'zca-atomic-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const digest = (content: string | Buffer) => ({ bytes: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex') });

/** The real file system, counting renames. */
function countingRenames(): AtomicFileSystem & { renames: number } {
  const fs = {
    ...nodeFileSystem,
    renames: 0,
    rename: async (from: string, to: string) => {
      fs.renames++;
      await nodeFileSystem.rename(from, to);
    },
  };
  return fs;
}

/** A file system whose `link` fails with `code`, as one without hard links does; counts renames. */
function withoutHardLinks(code: string): AtomicFileSystem & { renames: number } {
  return Object.assign(countingRenames(), {
    link: async () => {
      throw Object.assign(new Error(`${code}: link not supported here`), { code });
    },
  });
}

/** The directory holds one entry: the file `name`, with exactly `content`. */
function expectOnlyFile(name: string, content: string): void {
  expect(readdirSync(dir)).toEqual([name]);
  expect(readFileSync(path.join(dir, name), 'utf8')).toBe(content);
}

async function writeAtomically(finalPath: string, content: string, options: { fs?: AtomicFileSystem; expected?: boolean } = {}): Promise<'placed' | 'identical-existing'> {
  const file = await AtomicFile.create(finalPath, options.fs ? { fs: options.fs } : {});
  file.stream.write(content);
  try {
    return await file.commit(options.expected ? { expected: digest(content) } : {});
  } finally {
    await file.discard();
  }
}

describe('writing and placing', () => {
  it('writes under <final>.tmp and gives the final name only on commit; the temp is gone afterwards', async () => {
    const finalPath = path.join(dir, 'bundle.zip');
    const file = await AtomicFile.create(finalPath);
    expect(file.tempPath).toBe(`${finalPath}.tmp`);
    await new Promise<void>((resolve, reject) => file.stream.write('complete content', (err) => (err ? reject(err) : resolve())));
    expect(existsSync(finalPath)).toBe(false);
    expect(readFileSync(file.tempPath, 'utf8')).toBe('complete content');
    expect(await file.commit()).toBe('placed');
    expectOnlyFile('bundle.zip', 'complete content');
    await file.discard(); // after a commit: touches nothing
    expect(readFileSync(finalPath, 'utf8')).toBe('complete content');
  });

  it('never opens an existing temp file (wx) and keeps a temp beside its final name', async () => {
    const finalPath = path.join(dir, 'a.zip');
    writeFileSync(`${finalPath}.tmp`, 'someone else is writing this');
    await expect(AtomicFile.create(finalPath)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(`${finalPath}.tmp`, 'utf8')).toBe('someone else is writing this');
    mkdirSync(path.join(dir, 'elsewhere'));
    await expect(AtomicFile.create(finalPath, { tempPath: path.join(dir, 'elsewhere', 'a.zip.tmp') })).rejects.toThrow(/beside/);
  });

  it('discard removes the temp at any point and never the final name', async () => {
    const finalPath = path.join(dir, 'kept.txt');
    writeFileSync(finalPath, 'already here');
    const file = await AtomicFile.create(finalPath, { tempPath: `${finalPath}.run-1.tmp` });
    file.stream.write('half');
    await file.discard();
    await file.discard();
    expectOnlyFile('kept.txt', 'already here');
  });

  it('passes on any other failure of link (a permission problem is not a missing feature)', async () => {
    const fs: AtomicFileSystem = {
      ...nodeFileSystem,
      link: async () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      },
    };
    const tempPath = path.join(dir, 'x.tmp');
    writeFileSync(tempPath, 'x');
    await expect(placeWithoutOverwrite(tempPath, path.join(dir, 'x'), { fs })).rejects.toMatchObject({ code: 'EACCES' });
    expect(readdirSync(dir)).toEqual(['x.tmp']);
  });
});

// Whichever way a file is placed (link, or rename once the name is seen free: rename alone would
// replace), a file already at the final name is never replaced, and one with the expected bytes is kept.
describe.each([
  { placed: 'by hard link', fs: countingRenames },
  { placed: 'by rename (EPERM from link)', fs: () => withoutHardLinks('EPERM') },
  { placed: 'by rename (EXDEV from link)', fs: () => withoutHardLinks('EXDEV') },
])('an existing file at the final name, placing $placed', ({ fs: makeFs }) => {
  it('is never replaced: other content is a conflict, left as it was', async () => {
    const fs = makeFs();
    const finalPath = path.join(dir, 'evidence.zip');
    writeFileSync(finalPath, 'the original evidence');
    const err = await writeAtomically(finalPath, 'something else', { fs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileConflictError);
    expect(err).toMatchObject({ code: 'FILE_CONFLICT', finalPath });
    expectOnlyFile('evidence.zip', 'the original evidence');

    const compared = await writeAtomically(finalPath, 'something else', { fs, expected: true }).catch((e: unknown) => e);
    expect(compared).toMatchObject({ code: 'FILE_CONFLICT', existing: digest('the original evidence') });
    expect((compared as Error).message).toMatch(/already exists with other content/);
    expect(fs.renames).toBe(0);
    expectOnlyFile('evidence.zip', 'the original evidence');
  });

  it('with exactly the expected bytes is kept (an interrupted run got that far) and the temp removed', async () => {
    const fs = makeFs();
    const finalPath = path.join(dir, 'same.zip');
    writeFileSync(finalPath, 'same bytes');
    expect(await writeAtomically(finalPath, 'same bytes', { fs, expected: true })).toBe('identical-existing');
    expect(fs.renames).toBe(0);
    expectOnlyFile('same.zip', 'same bytes');
  });
});

describe('file systems without hard links', () => {
  it.each(['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])('%s from link: renames into a free name', async (code) => {
    const fs = withoutHardLinks(code);
    expect(await writeAtomically(path.join(dir, 'placed.zip'), 'content', { fs })).toBe('placed');
    expect(fs.renames).toBe(1);
    expectOnlyFile('placed.zip', 'content');
  });

  it('fsyncs the file and the directory whichever way the file is placed', async () => {
    const synced: string[] = [];
    const base = withoutHardLinks('ENOTSUP');
    const fs: AtomicFileSystem = {
      ...base,
      open: async (filePath, flags, mode) => {
        const handle = await nodeFileSystem.open(filePath, flags, mode);
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          synced.push(path.relative(dir, filePath) || '.');
          await sync();
        };
        return handle;
      },
    };
    const tempPath = path.join(dir, 'f.tmp');
    writeFileSync(tempPath, 'f');
    expect(await commitTempFile(tempPath, path.join(dir, 'f'), { fs })).toBe('placed');
    expect(synced).toEqual(['f.tmp', '.']);
  });
});

describe('a writer killed mid-write', () => {
  it('SIGKILL leaves at most a temp file, never a final name with partial content; the sweep removes the temp', async () => {
    const finalPath = path.join(dir, 'download.zip');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/atomic-writer.fixture.ts', finalPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const writing = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /writing (.+)\n/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.on('exit', () => reject(new Error(`the writer exited before writing: ${stderr}`)));
    });
    expect(statSync(writing).size).toBe(16 * 64 * 1024);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    expect(existsSync(finalPath)).toBe(false);
    expect(readdirSync(dir)).toEqual(['download.zip.tmp']);
    const swept = await sweepStaleTemps({ root: dir, isTemp: (name) => name.endsWith('.tmp') });
    expect(swept).toEqual({ removed: [writing], failed: [] });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('sweeping stale temps', () => {
  function makeTree(): { fresh: string; old: string; spool: string; other: string; deep: string } {
    mkdirSync(path.join(dir, 'matter', 'custodian'), { recursive: true });
    const fresh = path.join(dir, 'matter', 'custodian', 'fresh.zip.tmp');
    const old = path.join(dir, 'matter', 'custodian', 'old.zip.tmp');
    const spool = path.join(dir, 'matter', 'custodian', 'bundle.zip.spool.tmp');
    const other = path.join(dir, 'matter', 'custodian', 'stored.zip');
    const deep = path.join(dir, 'matter', 'top-level.tmp');
    writeFileSync(fresh, 'being written');
    writeFileSync(old, 'left by a crash');
    mkdirSync(spool);
    writeFileSync(path.join(spool, '00000001.deflate'), 'x');
    writeFileSync(other, 'a stored file');
    writeFileSync(deep, 'not at the depth asked for');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(old, hourAgo, hourAgo);
    utimesSync(spool, hourAgo, hourAgo);
    return { fresh, old, spool, other, deep };
  }

  it('by default removes temps (files and directories) not modified for minAgeMs, at the depth asked, and nothing else', async () => {
    const t = makeTree();
    const swept = await sweepStaleTemps({ root: dir, depth: 2, isTemp: (n) => n.endsWith('.tmp'), minAgeMs: 30 * 60_000 });
    expect(swept.removed.sort()).toEqual([t.old, t.spool].sort());
    expect(swept.failed).toEqual([]);
    for (const kept of [t.fresh, t.other, t.deep]) expect(existsSync(kept)).toBe(true);
    for (const gone of [t.old, t.spool]) expect(existsSync(gone)).toBe(false);
  });

  it('lets the caller decide and hold a lock around the removal; a failure is reported and the sweep goes on', async () => {
    const t = makeTree();
    const events: string[] = [];
    const swept = await sweepStaleTemps({
      root: dir,
      depth: 2,
      isTemp: (n) => n.endsWith('.zip.tmp'),
      decide: async (temp, remove) => {
        if (temp.name === 'fresh.zip.tmp') throw new Error('cannot judge this one');
        events.push(`lock ${temp.name}`);
        try {
          return await remove();
        } finally {
          events.push(`unlock ${temp.name}`);
        }
      },
    });
    expect(swept.removed).toEqual([t.old]);
    expect(swept.failed).toEqual([{ path: t.fresh, error: new Error('cannot judge this one') }]);
    expect(events).toEqual(['lock old.zip.tmp', 'unlock old.zip.tmp']);
    expect(existsSync(t.fresh)).toBe(true);
    expect(existsSync(t.spool)).toBe(true);
  });

  it('finds nothing to do in a directory that does not exist', async () => {
    expect(await sweepStaleTemps({ root: path.join(dir, 'missing'), depth: 2, isTemp: () => true })).toEqual({ removed: [], failed: [] });
  });
});
