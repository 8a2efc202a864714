import { mkdir, readdir, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fenceOf, tryAdvisoryLock } from '../../src/db/advisory-lock.js';
import { fileLockName } from '../../src/legal-hold/file-download.js';
import { createMatter, downloadReadyFiles, loadFiles, refreshFiles, storedRelativePath, sweepStaleTempFiles } from '../../src/legal-hold/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { smallDiskForAll } from '../helpers/temp-dirs.js';
import { filesOnDisk, harnessPerTest, withOneFileMatter, NOW, type HarnessOptions, type LegalHoldHarness } from './harness.js';

// Downloads whose local side fails: the database refusing a write, the job's lock taken over
// mid-run, what a crashed run left on disk (the stale-temp sweep), a disk too small for the file,
// and something other than a file at the final path.

const harness = harnessPerTest();
const DOWNLOAD = 'legalhold.files.download';
const withMatter = (options: HarnessOptions = {}) => withOneFileMatter(harness, options, 'Failures matter');

/** The database refuses file-row updates matching `when` (a trigger of the test's, on the test's own database). */
async function refuseUpdates(t: LegalHoldHarness, when: string, message: string): Promise<() => Promise<void>> {
  await t.db.pool.query(`CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${message}'; END $$`);
  await t.db.pool.query(`CREATE TRIGGER test_refuse BEFORE UPDATE ON archive.legal_hold_files FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION test_refuse()`);
  return async () => {
    await t.db.pool.query('DROP TRIGGER test_refuse ON archive.legal_hold_files');
    await t.db.pool.query('DROP FUNCTION test_refuse()');
  };
}

describe('the database refuses a write', () => {
  it('retries a copy whose record is refused, as any unexpected failure, then leaves the file failed', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    await refuseUpdates(t, `NEW.state = 'stored'`, 'test: storing refused');
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toBeNull();
    expect(run.failed).toEqual([expect.objectContaining({ attempts: 3, error: 'test: storing refused' })]);
    expect(t.apiCalls(DOWNLOAD)).toBe(3);
    expect(await loadFiles(t.db.pool)).toMatchObject([{ state: 'failed', attempts: 3, lastError: 'test: storing refused' }]);
  });

  it('stops the run when a failed attempt cannot be recorded, naming the database’s error as unexpected', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 100_000 }, logger: logs.logger });
    await refuseUpdates(t, 'NEW.last_error IS NOT NULL', 'test: no failures recorded');
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'reset-mid-body' } });
    logs.clear();
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toEqual({ code: 'UNEXPECTED', message: 'test: no failures recorded' });
    expect(t.apiCalls(DOWNLOAD)).toBe(1);
    expect(logs.find('could not record the failed attempt')).toEqual([
      expect.objectContaining({ level: LEVEL.error, job: 'legal-hold', err: expect.objectContaining({ message: 'test: no failures recorded' }) }),
    ]);
  });

  it('stops with the storage failure, not the database’s, when both go wrong', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    await mkdir(path.join(t.dataDir, 'legal-hold'), { recursive: true });
    await writeFile(path.join(t.dataDir, 'legal-hold', matterId), 'not a directory');
    await refuseUpdates(t, 'NEW.last_error IS NOT NULL', 'test: no failures recorded');
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toEqual({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringMatching(/^LEGAL_HOLD_STORAGE_FAILED: cannot create the directory /) });
  });

  it('logs a release the database refuses; the row stays claimed and a later run takes it over', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 }, logger: logs.logger });
    const allow = await refuseUpdates(t, `NEW.state = 'failed'`, 'test: no failed state');
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'status', status: 404, body: { code: 1001, message: 'File does not exist.' } } });
    logs.clear();
    const run = await downloadReadyFiles(t.deps);
    expect(run.failed).toEqual([expect.objectContaining({ attempts: 1, error: expect.stringMatching(/^ZOOM_NOT_FOUND: /) })]);
    expect(logs.find('could not mark the file failed; a later run takes it over')).toEqual([
      expect.objectContaining({ level: LEVEL.error, err: expect.objectContaining({ message: 'test: no failed state' }) }),
    ]);
    expect(await loadFiles(t.db.pool)).toMatchObject([{ state: 'downloading', attempts: 1 }]);
    expect(await t.audit('legal_hold.file.download_failed')).toEqual([]);
    await allow();
    expect((await downloadReadyFiles(t.deps)).stored).toHaveLength(1);
  });

  it('audits a fatal failure with its attempt number and error', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    await mkdir(path.join(t.dataDir, 'legal-hold'), { recursive: true });
    await writeFile(path.join(t.dataDir, 'legal-hold', matterId), 'not a directory');
    const run = await downloadReadyFiles(t.deps);
    const [failed] = await t.audit('legal_hold.file.download_failed');
    expect(failed?.details).toEqual({ attempts: 1, error: run.stoppedBy!.message });
  });
});

describe('the job’s lock taken over between two attempts', () => {
  async function supersededRun(resets: number) {
    const t0 = { t: undefined as LegalHoldHarness | undefined, takeover: undefined as Promise<void> | undefined };
    const stale = { lock: undefined as Awaited<ReturnType<typeof tryAdvisoryLock>> };
    let current: Awaited<ReturnType<typeof tryAdvisoryLock>>;
    const logs = captureLogs('info', (msg) => {
      if (msg.startsWith('download attempt 1 of 3 failed')) {
        t0.takeover = (async () => {
          await stale.lock!.release();
          current = await tryAdvisoryLock(t0.t!.db.pool, 'job:legal-hold');
        })();
      }
    });
    const { t, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 100_000 }, logger: logs.logger });
    t0.t = t;
    stale.lock = await tryAdvisoryLock(t.db.pool, 'job:legal-hold');
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'reset-mid-body' }, times: resets });
    logs.clear();
    const run = await downloadReadyFiles({ ...t.deps, fences: [fenceOf(stale.lock!)], downloadBackoff: { baseDelayMs: 400, maxDelayMs: 400, random: () => 0.999 } });
    await t0.takeover;
    return { t, file, run, logs, current: current! };
  }

  it('stops at once with LOCK_SUPERSEDED when the copy is to be recorded; the new holder keeps the placed copy', async () => {
    const { t, file, run, logs, current } = await supersededRun(1);
    try {
      expect(run.stoppedBy).toMatchObject({ code: 'LOCK_SUPERSEDED' });
      expect(logs.find('could not record the failed attempt')).toEqual([]);
      expect(await loadFiles(t.db.pool)).toMatchObject([{ state: 'downloading', attempts: 1 }]);
      const next = await downloadReadyFiles({ ...t.deps, fences: [fenceOf(current)] });
      expect(next.stored.map((s) => s.warnings)).toEqual([['an identical copy was already in place (left by an interrupted run); it was kept']]);
      expect(await filesOnDisk(t.dataDir)).toEqual([storedRelativePath(file).split('/').join(path.sep)]);
    } finally {
      await current.release();
    }
  });

  it('stops with LOCK_SUPERSEDED when a failed attempt can no longer be recorded, and tries no further', async () => {
    const { t, run, logs, current } = await supersededRun(2);
    try {
      expect(run.stoppedBy).toMatchObject({ code: 'LOCK_SUPERSEDED' });
      expect(t.apiCalls(DOWNLOAD)).toBe(2);
      expect(logs.find('could not record the failed attempt')).toEqual([expect.objectContaining({ level: LEVEL.error, err: expect.objectContaining({ code: 'LOCK_SUPERSEDED' }) })]);
    } finally {
      await current.release();
    }
  });
});

describe('the stale-temp sweep', () => {
  it('removes a known file’s temp only when nobody holds its lock, and an unknown one only after an hour', async () => {
    const logs = captureLogs('info');
    const { t, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0 }, logger: logs.logger });
    const known = path.join(t.dataDir, `${storedRelativePath(file)}.tmp`);
    const dir = path.dirname(known);
    await mkdir(dir, { recursive: true });
    await writeFile(known, 'partial');
    const orphan = (name: string) => path.join(dir, name);
    const aged = async (name: string, ageMs: number) => {
      await writeFile(orphan(name), 'x');
      const at = (NOW.getTime() - ageMs) / 1000;
      await utimes(orphan(name), at, at);
    };
    await aged('young.zip.tmp', 30 * 60_000);
    await aged('hour.zip.tmp', 60 * 60_000);
    await aged('old.zip.tmp', 2 * 60 * 60_000);
    await mkdir(orphan('folder.zip.tmp'));
    await utimes(orphan('folder.zip.tmp'), (NOW.getTime() - 5 * 3_600_000) / 1000, (NOW.getTime() - 5 * 3_600_000) / 1000);

    // The known file is being downloaded by someone else: its temp stays.
    const held = (await tryAdvisoryLock(t.db.pool, fileLockName(file)))!;
    let swept: number;
    try {
      swept = await sweepStaleTempFiles(t.deps, logs.logger);
    } finally {
      await held.release();
    }
    expect(swept).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['folder.zip.tmp', path.basename(known), 'young.zip.tmp'].sort());
    const removed = logs.find('removed a temporary file an interrupted download left');
    expect(removed.map((r) => [r.tempPath, r.file]).sort()).toEqual([
      [orphan('hour.zip.tmp'), null],
      [orphan('old.zip.tmp'), null],
    ]);
    expect(logs.find('could not remove a stale temporary file')).toEqual([]);

    // Nobody holds it now.
    logs.clear();
    expect(await sweepStaleTempFiles(t.deps, logs.logger)).toBe(1);
    expect(logs.find('removed a temporary file an interrupted download left').map((r) => [r.tempPath, r.file])).toEqual([[known, `${file.matterId}/${file.custodian}/${file.fileKey}`]]);
    expect((await readdir(dir)).sort()).toEqual(['folder.zip.tmp', 'young.zip.tmp']);
    expect((await stat(orphan('folder.zip.tmp'))).isDirectory()).toBe(true);
  });

  it('reports a legal-hold directory it cannot read and lets the downloads report the problem', async () => {
    const logs = captureLogs('info');
    const t = await harness({ logger: logs.logger });
    await writeFile(path.join(t.dataDir, 'legal-hold'), 'not a directory');
    expect(await sweepStaleTempFiles(t.deps, logs.logger)).toBe(0);
    expect(logs.find('could not look for stale temporary files; downloads will report any problem with the directory')).toEqual([
      expect.objectContaining({ level: LEVEL.warn, root: path.join(t.dataDir, 'legal-hold'), err: expect.objectContaining({ code: 'ENOTDIR' }) }),
    ]);
  });
});

describe('the final path', () => {
  it('reports another file there as a conflict, pointing at the view, and stores nothing over it', async () => {
    const { t, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    const finalPath = path.join(t.dataDir, storedRelativePath(file));
    await mkdir(path.dirname(finalPath), { recursive: true });
    await writeFile(finalPath, 'someone else’s file');
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toBeNull();
    expect(run.failed).toEqual([
      expect.objectContaining({
        attempts: 1,
        error: expect.stringMatching(/^LEGAL_HOLD_PATH_CONFLICT: .* already exists with other content .*; it was not overwritten — check the file and the legal_hold_files view$/),
      }),
    ]);
  });

  it('stops the run when a directory sits where the temporary file goes: it cannot be removed', async () => {
    const { t, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    const tempPath = path.join(t.dataDir, `${storedRelativePath(file)}.tmp`);
    await mkdir(tempPath, { recursive: true });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toEqual({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringMatching(/^LEGAL_HOLD_STORAGE_FAILED: cannot remove .*\.zip\.tmp \((EISDIR|EPERM): /) });
    expect(t.apiCalls(DOWNLOAD)).toBe(0);
  });

  it('stops the run when a directory sits at the final path: the file cannot be moved into place', async () => {
    const { t, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    const finalPath = path.join(t.dataDir, storedRelativePath(file));
    await mkdir(finalPath, { recursive: true });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toEqual({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringMatching(/^LEGAL_HOLD_STORAGE_FAILED: cannot move into place .*\(EISDIR: /) });
    expect(run.failed).toEqual([]);
  });
});

// A real small disk: a 4 MiB tmpfs, too small for any file plus the 64 MiB headroom. Needs root.
describe('a disk without room for the file and its headroom', () => {
  const disk = smallDiskForAll('zca-headroom-', '4m');

  it.runIf(process.getuid?.() === 0)('refuses before writing a byte, saying how much is free and needed, even for a small file', async () => {
    if (!disk.mounted) return expect.fail('tmpfs could not be mounted although running as root');
    const logs = captureLogs('info');
    const t = await harness({ legalHold: { fileReadyAfterListings: 0, zipBytes: 20_000 }, logger: logs.logger });
    const dataDir = path.join(disk.mountPoint, 'data');
    await mkdir(dataDir);
    const deps = { ...t.deps, config: { ...t.config, dataDir } };
    await createMatter(deps, { name: 'Small disk', custodians: [t.users[0]!.email] }, 'cli:x');
    await refreshFiles(deps);
    const [file] = await loadFiles(t.db.pool);
    const directory = path.dirname(path.join(dataDir, storedRelativePath(file!)));
    const run = await downloadReadyFiles(deps);
    const fs = await statfs(directory);
    const free = Number(fs.bavail) * Number(fs.bsize);
    const bytes = file!.announcedBytes!;
    expect(run.stoppedBy).toEqual({
      code: 'LEGAL_HOLD_STORAGE_FAILED',
      message: `LEGAL_HOLD_STORAGE_FAILED: cannot store a ${bytes}-byte file in ${directory} (ENOSPC: ${free} bytes free, ${bytes + 64 * 1024 * 1024} needed with headroom); nothing already stored was changed`,
    });
    expect(logs.find('stopping the download run: every other file would fail the same way')).toEqual([expect.objectContaining({ err: expect.objectContaining({ systemCode: 'ENOSPC' }) })]);
    expect(await filesOnDisk(dataDir)).toEqual([]);
    expect(t.apiCalls(DOWNLOAD)).toBe(1);
  });

  it.runIf(process.getuid?.() === 0)('names the temporary file it could not write when the disk fills up mid-body', async () => {
    if (!disk.mounted) return expect.fail('tmpfs could not be mounted although running as root');
    const t = await harness({ legalHold: { fileReadyAfterListings: 0, zipBytes: 6 * 1024 * 1024, quirks: { omitContentLength: true } } });
    const dataDir = path.join(disk.mountPoint, 'full');
    await mkdir(dataDir);
    const deps = { ...t.deps, config: { ...t.config, dataDir } };
    await createMatter(deps, { name: 'Full disk', custodians: [t.users[0]!.email] }, 'cli:x');
    await refreshFiles(deps);
    const [file] = await loadFiles(t.db.pool);
    const run = await downloadReadyFiles(deps);
    const tempPath = path.join(dataDir, `${storedRelativePath(file!)}.tmp`);
    expect(run.stoppedBy).toEqual({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: `LEGAL_HOLD_STORAGE_FAILED: cannot write ${tempPath} (ENOSPC: no space left on the device); nothing already stored was changed` });
    expect(await filesOnDisk(dataDir)).toEqual([]);
  });
});
