import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { fenceOf, tryAdvisoryLock } from '../../src/db/advisory-lock.js';
import {
  createMatter,
  downloadReadyFiles,
  fromSafeName,
  loadFiles,
  refreshFiles,
  storedRelativePath,
  syncMatters,
  verifyStoredFiles,
  type FileRecord,
} from '../../src/legal-hold/index.js';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import { harnessPerTest, type HarnessOptions, type LegalHoldHarness } from './harness.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { smallDiskForAll } from '../helpers/temp-dirs.js';

// Files end to end: listing per custodian, downloads into a real directory, verification.

const harness = harnessPerTest();

/** A harness with one matter held for `custodians` users, created through the project, its files listed once. */
async function withMatter(options: HarnessOptions = {}, custodians = 1): Promise<{ t: LegalHoldHarness; matterId: string }> {
  const t = await harness(options);
  const matter = await createMatter(t.deps, { name: 'Files matter', custodians: t.users.slice(0, custodians).map((u) => u.email), from: '2026-01-01', to: '2026-06-30' }, 'cli:x');
  await refreshFiles(t.deps);
  return { t, matterId: matter.matterId };
}

async function files(t: LegalHoldHarness): Promise<FileRecord[]> {
  return loadFiles(t.db.pool);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every file below the data directory, relative, sorted. */
async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(path.relative(root, full));
    }
  };
  await walk(root).catch(() => undefined);
  return out.sort();
}

describe('listing and downloading', () => {
  it('polls a file until Zoom makes it ready, then stores it verified, once; a re-run downloads nothing', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 2, filesPerCustodian: 2, zipBytes: 200_000 } });
    let rows = await files(t);
    expect(rows.map((f) => f.state)).toEqual(['pending', 'pending']);
    let run = await downloadReadyFiles(t.deps);
    expect(run).toMatchObject({ candidates: 0, stored: [], failed: [] });
    expect(t.apiCalls('legalhold.files.download')).toBe(0);

    const refresh = await refreshFiles(t.deps);
    expect(refresh).toMatchObject({ filesListed: 2, added: 0, becameReady: 2, failures: [] });
    run = await downloadReadyFiles(t.deps);
    expect(run.stored).toHaveLength(2);
    expect(run.failed).toEqual([]);
    rows = await files(t);
    const sim = t.sim.legalHold.matters()[0]!;
    for (const row of rows) {
      const simFile = sim.files.find((f) => f.fileKey === row.fileKey)!;
      expect(row).toMatchObject({ state: 'stored', attempts: 1, zipEntries: 3, storedBytes: simFile.zipBytes, lastError: null });
      expect(row.storedPath).toBe(storedRelativePath(row));
      const bytes = await readFile(path.join(t.dataDir, row.storedPath!));
      expect(sha256(bytes)).toBe(row.sha256);
      expect(row.sha256).toBe(t.sim.legalHold.sha256(matterId, row.fileKey));
      const unzip = spawnSync('unzip', ['-t', path.join(t.dataDir, row.storedPath!)], { encoding: 'utf8' });
      if (unzip.error === undefined) expect(unzip.stdout).toContain('No errors detected');
    }
    // File keys carry '/', '+' and '=': the names on disk are safe and reversible.
    const names = await listTree(t.dataDir);
    expect(names).toHaveLength(2);
    for (const name of names) {
      const [, matter, custodian, file] = name.split(path.sep);
      expect(fromSafeName(matter!)).toBe(matterId);
      expect(fromSafeName(custodian!)).toBe(t.users[0]!.email);
      expect(rows.map((r) => r.fileKey)).toContain(fromSafeName(file!.replace(/\.zip$/, '')));
      expect(file).toMatch(/^\+%2F\+%2F/);
    }
    const before = await stat(path.join(t.dataDir, rows[0]!.storedPath!));

    const rerun = await downloadReadyFiles(t.deps);
    expect(rerun).toMatchObject({ candidates: 0, stored: [], failed: [], skipped: 0 });
    await refreshFiles(t.deps);
    expect((await downloadReadyFiles(t.deps)).stored).toEqual([]);
    expect(t.apiCalls('legalhold.files.download')).toBe(2);
    const after = await stat(path.join(t.dataDir, rows[0]!.storedPath!));
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });

    // Each step of the file's life is in the audit log, with Zoom as the actor for what Zoom did.
    const audit = (await t.audit()).filter((e) => e.action.startsWith('legal_hold.file.'));
    expect(audit.map((e) => `${e.actor} ${e.action}`).sort()).toEqual(
      ['zoom legal_hold.file.discovered', 'zoom legal_hold.file.discovered', 'zoom legal_hold.file.ready', 'zoom legal_hold.file.ready', 'cli:test-officer legal_hold.file.stored', 'cli:test-officer legal_hold.file.stored'].sort(),
    );
  });

  it('pages a custodian with more than 20 files and stores files of several custodians', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 23, zipBytes: 2000 } }, 2);
    const rows = await files(t);
    expect(rows).toHaveLength(46);
    expect(t.apiCalls('legalhold.files.list')).toBe(4);
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored).toHaveLength(46);
    expect(new Set(run.stored.map((s) => s.custodian)).size).toBe(2);
    expect((await files(t)).every((f) => f.state === 'stored')).toBe(true);
    expect(await listTree(t.dataDir)).toHaveLength(46);
  });

  it('reads odd listings: numbers as strings, unknown fields, a size that is not the zip’s (warned, stored)', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 50_000, quirks: { numbersAsStrings: true, unknownFields: true, announcedSize: 'content' } } });
    const [row] = await files(t);
    expect(row).toMatchObject({ fileCount: 3, announcedBytes: 50_000, state: 'ready' });
    const raw = await t.db.pool.query<{ raw: Record<string, unknown> }>('SELECT raw FROM archive.legal_hold_files');
    expect(raw.rows[0]?.raw).toMatchObject({ file_count: '3', zm_sim_file_extra: { region: 'us' } });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored).toHaveLength(1);
    expect(run.stored[0]!.warnings.join(' ')).toContain('differs from the 50000 bytes');
    const [stored] = await t.audit('legal_hold.file.stored');
    expect(JSON.stringify(stored?.details)).toContain('total_file_size');
  });

  it('stores a download sent without Content-Length, on the strength of the zip check', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, quirks: { omitContentLength: true } } });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored).toHaveLength(1);
    expect(run.stored[0]!.warnings.join(' ')).toContain('no Content-Length');
  });
});

describe('files Zoom does not make ready', () => {
  it('reports a file still unready after LEGAL_HOLD_UNREADY_WARN_HOURS, on every run until it is ready', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 100 }, env: { LEGAL_HOLD_UNREADY_WARN_HOURS: '72' } });
    expect((await refreshFiles(t.deps)).unready).toEqual([]);
    t.clock.advance(71 * 3_600_000);
    expect((await refreshFiles(t.deps)).unready).toEqual([]);
    t.clock.advance(2 * 3_600_000);
    const late = await refreshFiles(t.deps);
    expect(late.unready).toMatchObject([{ matterId, matterName: 'Files matter', custodian: t.users[0]!.email, waitingHours: 73 }]);
    const [row] = await files(t);
    t.sim.legalHold.setFileReady(matterId, row!.fileKey, true);
    const ready = await refreshFiles(t.deps);
    expect(ready).toMatchObject({ becameReady: 1, unready: [] });
  });
});

describe('broken transfers', () => {
  it('retries a download reset mid-body with backoff, never leaving a file that looks complete', async () => {
    const logs = captureLogs('info');
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 3_000_000 }, logger: logs.logger });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'reset-mid-body' }, times: 2 });
    logs.clear();
    const run = await downloadReadyFiles(t.deps);
    expect(run.failed).toEqual([]);
    expect(run.stored).toHaveLength(1);
    expect(run.stored[0]!.attempts).toBe(3);
    const [row] = await files(t);
    expect(row).toMatchObject({ state: 'stored', attempts: 3, sha256: t.sim.legalHold.sha256(matterId, row!.fileKey) });
    expect(await listTree(t.dataDir)).toEqual([row!.storedPath!.split('/').join(path.sep)]);
    // The operator's view: each failed attempt and its wait, the file stored, the run's totals.
    const file = { job: 'legal-hold', step: 'download', matterId, custodian: row!.custodian, fileKey: row!.fileKey };
    const retries = logs.find(/^download attempt \d of 3 failed; the partial file was removed; retrying in \d+ ms$/);
    expect(retries.map((r) => ({ level: r.level, attempt: r.attempt, maxAttempts: r.maxAttempts, code: (r.err as { code?: string }).code }))).toEqual([
      { level: LEVEL.warn, attempt: 1, maxAttempts: 3, code: 'ZOOM_NETWORK_ERROR' },
      { level: LEVEL.warn, attempt: 2, maxAttempts: 3, code: 'ZOOM_NETWORK_ERROR' },
    ]);
    for (const r of retries) expect(r).toMatchObject({ ...file, msg: `download attempt ${String(r.attempt)} of 3 failed; the partial file was removed; retrying in ${String(r.delayMs)} ms` });
    expect(logs.find('legal-hold file stored and verified')).toEqual([
      expect.objectContaining({ ...file, level: LEVEL.info, attempt: 3, bytes: row!.storedBytes, zipEntries: row!.zipEntries, storedPath: row!.storedPath, durationMs: expect.any(Number) }),
    ]);
    expect(logs.find('legal-hold download run finished')).toEqual([
      expect.objectContaining({ level: LEVEL.info, job: 'legal-hold', step: 'download', candidates: 1, stored: 1, failed: 0, skipped: 0, bytes: row!.storedBytes }),
    ]);
  });

  it('gives up for this run after LEGAL_HOLD_DOWNLOAD_ATTEMPTS broken transfers, keeps the reason, and stores it on a later run', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 1_000_000 }, logger: logs.logger });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'reset-mid-body' }, times: 3 });
    logs.clear();
    const first = await downloadReadyFiles(t.deps);
    expect(logs.find('giving up on this file for this run after 3 attempts; the next run tries again')).toEqual([
      expect.objectContaining({ level: LEVEL.warn, attempt: 3, retryable: true, err: expect.objectContaining({ code: 'ZOOM_NETWORK_ERROR' }) }),
    ]);
    expect(logs.find('legal-hold download run finished')).toEqual([expect.objectContaining({ candidates: 1, stored: 0, failed: 1, bytes: 0 })]);
    expect(first.stored).toEqual([]);
    expect(first.failed).toHaveLength(1);
    expect(first.failed[0]).toMatchObject({ attempts: 3, error: expect.stringContaining('ZOOM_NETWORK_ERROR') });
    expect(await files(t)).toMatchObject([{ state: 'failed', attempts: 3, lastError: expect.stringContaining('broke off') }]);
    expect(await listTree(t.dataDir)).toEqual([]);
    expect(await t.audit('legal_hold.file.download_failed')).toHaveLength(1);
    const second = await downloadReadyFiles(t.deps);
    expect(second.stored).toHaveLength(1);
    expect(await files(t)).toMatchObject([{ state: 'stored', attempts: 4, lastError: null }]);
  });

  it('leaves no temporary file when bodies break at once, before the file is even open', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 6, zipBytes: 64 } });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'reset-mid-body' }, times: 18 });
    const run = await downloadReadyFiles(t.deps);
    expect(run.failed).toHaveLength(6);
    expect(await listTree(t.dataDir)).toEqual([]);
  });

  it('rejects a corrupt zip (complete by its length, broken as a zip) and stores the good one on retry', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 100_000 } });
    const [row] = await files(t);
    // A body cut short with a matching Content-Length: only the zip check can tell.
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'invalid-json' } });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored).toHaveLength(1);
    expect(run.stored[0]!.attempts).toBe(2);

    // A file Zoom keeps serving broken ends failed, with nothing on disk.
    const other = await withMatterIn(t, 'Second');
    t.sim.legalHold.corruptFile(other.matterId, other.fileKey, 'central-directory');
    const bad = await downloadReadyFiles(t.deps);
    expect(bad.failed).toMatchObject([{ fileKey: other.fileKey, attempts: 3, error: expect.stringMatching(/zip/) }]);
    expect((await listTree(t.dataDir)).filter((n) => n.includes(path.sep + 'Second'))).toEqual([]);
    expect(await listTree(t.dataDir)).toHaveLength(1);
    t.sim.legalHold.corruptFile(other.matterId, other.fileKey, 'truncate');
    expect((await downloadReadyFiles(t.deps)).failed).toHaveLength(1);
    t.sim.legalHold.corruptFile(other.matterId, other.fileKey, null);
    expect((await downloadReadyFiles(t.deps)).stored).toHaveLength(1);
    expect(row!.matterId).toBe(matterId);
  });

  it('does not retry within the run what Zoom refuses (403, 404), and stops the run at the daily limit', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 3 }, logger: logs.logger });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'status', status: 403, body: { code: 403, message: 'No permission to download legal hold files' } } });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'status', status: 404, body: { code: 1001, message: 'File does not exist.' } }, afterMatches: 1 });
    const run = await downloadReadyFiles({ ...t.deps, config: loadConfig({ ...envOf(t), LEGAL_HOLD_DOWNLOAD_CONCURRENCY: '1' }) });
    expect(run.failed.map((f) => [f.attempts, f.error.split(':')[0]])).toEqual([
      [1, 'ZOOM_FORBIDDEN'],
      [1, 'ZOOM_NOT_FOUND'],
    ]);
    expect(run.stored).toHaveLength(1);
    expect(logs.find('download refused; the next run tries again').map((r) => ({ level: r.level, attempt: r.attempt, retryable: r.retryable, code: (r.err as { code?: string }).code }))).toEqual([
      { level: LEVEL.warn, attempt: 1, retryable: false, code: 'ZOOM_FORBIDDEN' },
      { level: LEVEL.warn, attempt: 1, retryable: false, code: 'ZOOM_NOT_FOUND' },
    ]);

    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'rate-limit', type: 'daily', retryAfter: 'date' }, times: 5 });
    logs.clear();
    const limited = await downloadReadyFiles(t.deps);
    expect(limited.stoppedBy).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED' });
    expect(logs.find('stopping the download run: every other file would fail the same way')).toEqual([
      expect.objectContaining({ level: LEVEL.error, job: 'legal-hold', err: expect.objectContaining({ code: 'ZOOM_DAILY_LIMIT_REACHED' }) }),
    ]);
    expect(logs.find('legal-hold download run finished')).toEqual([expect.objectContaining({ stored: 0, stoppedBy: 'ZOOM_DAILY_LIMIT_REACHED' })]);
    expect(limited.stored).toEqual([]);
    expect((await files(t)).filter((f) => f.state === 'stored')).toHaveLength(1);
  });
});

/** Adds a second matter (one ready file) through the project and lists its files. */
async function withMatterIn(t: LegalHoldHarness, name: string): Promise<{ matterId: string; fileKey: string }> {
  const matter = await createMatter(t.deps, { name, custodians: [t.users[1]!.email] }, 'cli:x');
  await refreshFiles(t.deps, matter.matterId);
  const [file] = await loadFiles(t.db.pool, { matterId: matter.matterId });
  return { matterId: matter.matterId, fileKey: file!.fileKey };
}

function envOf(t: LegalHoldHarness): Record<string, string> {
  return {
    DATABASE_URL: t.db.url,
    ARCHIVE_DATA_DIR: t.dataDir,
    ...simulatorEnv(t.sim),
    ZOOM_RATE_LIGHT: '5000',
    ZOOM_RATE_RESOURCE_INTENSIVE: '600000',
    LEGAL_HOLD_DOWNLOAD_ATTEMPTS: '3',
  };
}

describe('crashes, concurrency and what is already on disk', () => {
  it('stops cleanly when aborted: the file goes back to ready, nothing is left on disk', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 2 } });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.download' }, fault: { kind: 'slow', delayMs: 400 }, times: 2 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGTERM')), 100);
    const run = await downloadReadyFiles({ ...t.deps, signal: controller.signal });
    expect(run.stoppedBy).toMatchObject({ code: 'ABORTED' });
    expect(run.stored).toEqual([]);
    expect((await files(t)).map((f) => [f.state, f.attempts])).toEqual([
      ['ready', 0],
      ['ready', 0],
    ]);
    expect(await listTree(t.dataDir)).toEqual([]);
    expect((await downloadReadyFiles(t.deps)).stored).toHaveLength(2);
  });

  it('downloads each file once when two runs race (advisory lock per file)', async () => {
    // Two processes with the same app would invalidate each other's tokens at Zoom (one token per
    // process is the client's rule); the race under test is the downloads', so tokens are left alone.
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 8, zipBytes: 400_000 }, simulator: { invalidatePreviousTokens: false } }, 2);
    const [a, b] = await Promise.all([downloadReadyFiles(t.newDeps()), downloadReadyFiles(t.newDeps())]);
    expect(a.stored.length + b.stored.length).toBe(16);
    expect(a.failed.concat(b.failed)).toEqual([]);
    const keys = [...a.stored, ...b.stored].map((s) => `${s.custodian}/${s.fileKey}`);
    expect(new Set(keys).size).toBe(16);
    expect(t.apiCalls('legalhold.files.download')).toBe(16);
    expect(a.skipped + b.skipped).toBe(16);
    expect(await t.audit('legal_hold.file.stored')).toHaveLength(16);
  });

  it('a pass whose job lock was taken over writes nothing: listings, claims and stored copies are fenced', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 2 } });
    // This pass held job:legal-hold once; another replica has taken the job over since.
    const stale = (await tryAdvisoryLock(t.db.pool, 'job:legal-hold'))!;
    await stale.release();
    const current = (await tryAdvisoryLock(t.db.pool, 'job:legal-hold'))!;
    try {
      const superseded = { ...t.deps, fences: [fenceOf(stale)] };
      const before = await files(t);
      const run = await downloadReadyFiles(superseded);
      expect(run.stoppedBy?.code).toBe('LOCK_SUPERSEDED');
      expect(run.stored).toEqual([]);
      expect(await files(t)).toEqual(before);
      expect(t.apiCalls('legalhold.files.download')).toBe(0);
      const listing = await refreshFiles(superseded).catch((err: unknown) => err);
      expect((listing as { code?: string }).code).toBe('LOCK_SUPERSEDED');
      const matters = await syncMatters(superseded).catch((err: unknown) => err);
      expect((matters as { code?: string }).code).toBe('LOCK_SUPERSEDED');
      // The current holder's pass goes on as usual.
      const ok = await downloadReadyFiles({ ...t.deps, fences: [fenceOf(current)] });
      expect(ok.stored).toHaveLength(2);
      expect((await files(t)).every((f) => f.matterId === matterId && f.state === 'stored')).toBe(true);
    } finally {
      await current.release();
    }
  });

  it('takes over a file a dead process left "downloading", sweeping its temporary file', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    const [row] = await files(t);
    await t.db.pool.query(`UPDATE archive.legal_hold_files SET state = 'downloading'`);
    const finalPath = path.join(t.dataDir, storedRelativePath(row!));
    await mkdir(path.dirname(finalPath), { recursive: true });
    await writeFile(`${finalPath}.tmp`, 'half a zip from a process that was killed');
    const run = await downloadReadyFiles(t.deps);
    expect(run).toMatchObject({ sweptTempFiles: 1, failed: [] });
    expect(run.stored).toHaveLength(1);
    expect(await listTree(t.dataDir)).toEqual([storedRelativePath(row!).split('/').join(path.sep)]);
  });

  it('never overwrites a file already at the final path: an identical one is kept, a different one is a conflict', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 2 } });
    const [first, second] = await files(t);
    const firstPath = path.join(t.dataDir, storedRelativePath(first!));
    await mkdir(path.dirname(firstPath), { recursive: true });
    // As if a run had moved the file into place and died before recording it.
    const zip = await downloadBytes(t, matterId, first!.fileKey);
    await writeFile(firstPath, zip);
    const secondPath = path.join(t.dataDir, storedRelativePath(second!));
    await writeFile(secondPath, 'someone else’s file');
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored.map((s) => s.fileKey)).toEqual([first!.fileKey]);
    expect(run.stored[0]!.warnings.join(' ')).toContain('identical copy was already in place');
    expect(run.failed).toMatchObject([{ fileKey: second!.fileKey, attempts: 1, error: expect.stringContaining('LEGAL_HOLD_PATH_CONFLICT') }]);
    expect(await readFile(secondPath, 'utf8')).toBe('someone else’s file');
    expect(await listTree(t.dataDir)).toHaveLength(2);
  });

  it('keeps files of a matter deleted in Zoom, and does not try to download what Zoom no longer has', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 2 } });
    await downloadReadyFiles(t.deps);
    const second = await withMatterIn(t, 'Deleted before download');
    t.clock.advance(11 * 60_000);
    t.sim.legalHold.deleteMatter(matterId);
    t.sim.legalHold.deleteMatter(second.matterId);
    await syncMatters(t.deps);
    const calls = t.apiCalls('legalhold.files.download');
    const run = await downloadReadyFiles(t.deps);
    expect(run.candidates).toBe(0);
    expect(t.apiCalls('legalhold.files.download')).toBe(calls);
    const rows = await files(t);
    expect(rows.filter((f) => f.matterId === matterId).map((f) => f.state)).toEqual(['stored', 'stored']);
    expect((await verifyStoredFiles(t.deps)).problems).toEqual([]);
    const view = await t.db.pool.query<{ matter_state: string; state: string }>('SELECT matter_state, state FROM public.legal_hold_files ORDER BY matter_state, state');
    expect(view.rows).toEqual([
      { matter_state: 'deleted_in_zoom', state: 'ready' },
      { matter_state: 'deleted_in_zoom', state: 'ready' },
      { matter_state: 'deleted_in_zoom', state: 'stored' },
      { matter_state: 'deleted_in_zoom', state: 'stored' },
    ]);
  });

  it('makes a stored row immutable in the database and never deletes a file row', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    await downloadReadyFiles(t.deps);
    for (const change of [`sha256 = 'x'`, `stored_path = 'elsewhere.zip'`, `stored_bytes = 1`, `state = 'ready'`, `zip_entries = 0`, `stored_at = now()`]) {
      await expect(t.db.pool.query(`UPDATE archive.legal_hold_files SET ${change}`), change).rejects.toThrow(/is stored/);
    }
    await expect(t.db.pool.query('DELETE FROM archive.legal_hold_files')).rejects.toThrow(/never forgotten/);
    await expect(t.db.pool.query('TRUNCATE archive.legal_hold_files')).rejects.toThrow(/never forgotten/);
    await expect(t.db.pool.query(`UPDATE archive.legal_hold_files SET state = 'pending', stored_path = NULL, sha256 = NULL`)).rejects.toThrow(/is stored/);
    // What Zoom says about it may still be refreshed.
    await refreshFiles(t.deps);
    expect((await files(t))[0]?.state).toBe('stored');
  });
});

/** The zip as the simulator serves it, fetched directly. */
async function downloadBytes(t: LegalHoldHarness, matterId: string, fileKey: string): Promise<Buffer> {
  const basic = Buffer.from(`${SIM_CREDENTIALS.clientId}:${SIM_CREDENTIALS.clientSecret}`).toString('base64');
  const token = (await (
    await fetch(t.sim.tokenUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=account_credentials&account_id=${SIM_CREDENTIALS.accountId}`,
    })
  ).json()) as { access_token: string };
  const url = `${t.sim.apiBaseUrl}/chat/legalhold/matters/${matterId}/files/download?file_key=${encodeURIComponent(fileKey)}`;
  return Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${token.access_token}` } })).arrayBuffer());
}

describe('verify', () => {
  it('re-hashes stored files and reports tampering, truncation and loss, auditing each problem', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, filesPerCustodian: 4, zipBytes: 30_000 }, logger: logs.logger });
    await downloadReadyFiles(t.deps);
    expect(await verifyStoredFiles(t.deps)).toMatchObject({ checked: 4, ok: 4, problems: [] });
    expect(logs.find(/^stored legal-hold file failed verification/)).toEqual([]);
    const rows = await files(t);
    const at = (i: number) => path.join(t.dataDir, rows[i]!.storedPath!);
    const tampered = await readFile(at(0));
    tampered[100] = (tampered[100] ?? 0) ^ 0xff;
    await chmod(at(0), 0o640);
    await writeFile(at(0), tampered);
    await writeFile(at(1), (await readFile(at(1))).subarray(0, 1000));
    await rm(at(2));
    const report = await verifyStoredFiles(t.deps);
    expect(report).toMatchObject({ checked: 4, ok: 1 });
    expect(report.problems.map((p) => [p.fileKey, p.problem]).sort()).toEqual(
      [
        [rows[0]!.fileKey, 'hash-mismatch'],
        [rows[1]!.fileKey, 'size-mismatch'],
        [rows[2]!.fileKey, 'missing'],
      ].sort(),
    );
    expect(await t.audit('legal_hold.file.verify_failed')).toHaveLength(3);
    expect(await t.audit('legal_hold.files.verify')).toHaveLength(2);
    // Each problem is an error line naming the file and what is wrong; the totals close the run.
    const failed = logs.find(/^stored legal-hold file failed verification: /);
    expect(failed.map((r) => [r.level, r.fileKey, r.problem, r.storedPath, r.matterId, r.custodian]).sort()).toEqual(
      report.problems.map((p) => [LEVEL.error, p.fileKey, p.problem, rows.find((r) => r.fileKey === p.fileKey)!.storedPath, rows[0]!.matterId, rows[0]!.custodian]).sort(),
    );
    expect(logs.find('verified stored legal-hold files').map((r) => [r.checked, r.ok, r.problems])).toEqual([
      [4, 4, 0],
      [4, 1, 3],
    ]);
    // Verification changes nothing.
    expect((await files(t)).map((f) => f.state)).toEqual(['stored', 'stored', 'stored', 'stored']);
  });
});

describe('the disk refuses', () => {
  it('reports a blocked data directory clearly, writes nothing, and keeps what is stored', async () => {
    const { t, matterId } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    await downloadReadyFiles(t.deps);
    const second = await withMatterIn(t, 'Blocked');
    // A regular file where the matter's directory must go.
    const blocked = path.join(t.dataDir, 'legal-hold', second.matterId);
    await writeFile(blocked, 'not a directory');
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toMatchObject({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringMatching(/cannot create the directory .*(EEXIST|ENOTDIR)/) });
    expect(run.stored).toEqual([]);
    const rows = await files(t);
    expect(rows.find((f) => f.matterId === second.matterId)).toMatchObject({ state: 'failed', lastError: expect.stringContaining('LEGAL_HOLD_STORAGE_FAILED') });
    expect(rows.find((f) => f.matterId === matterId)?.state).toBe('stored');
    expect((await verifyStoredFiles(t.deps)).problems).toEqual([]);
    await rm(blocked);
    expect((await downloadReadyFiles(t.deps)).stored).toHaveLength(1);
  });

  it('reports an unwritable directory (EACCES) when not running as root', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    const root = path.join(t.dataDir, 'legal-hold');
    await mkdir(root, { recursive: true });
    await chmod(root, 0o555);
    try {
      const run = await downloadReadyFiles(t.deps);
      if (process.getuid?.() === 0) {
        // Root writes anyway: the download succeeds, which is right for root.
        expect(run.stored).toHaveLength(1);
      } else {
        expect(run.stoppedBy).toMatchObject({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringContaining('EACCES: permission denied') });
        expect(await listTree(t.dataDir)).toEqual([]);
      }
    } finally {
      await chmod(root, 0o755);
    }
  });
});

// A real full disk: a 4 MiB tmpfs. Mounting needs root; elsewhere these two tests are skipped.
describe('a full disk (ENOSPC)', () => {
  const disk = smallDiskForAll('zca-enospc-', '4m');

  async function onSmallDisk(quirks: HarnessOptions['legalHold']): Promise<{ t: LegalHoldHarness; dataDir: string }> {
    const t = await harness({ legalHold: { fileReadyAfterListings: 0, ...quirks } });
    const dataDir = path.join(disk.mountPoint, `run-${Date.now()}`);
    await mkdir(dataDir);
    t.deps = { ...t.deps, config: { ...t.config, dataDir } };
    await createMatter(t.deps, { name: 'Disk', custodians: [t.users[0]!.email] }, 'cli:x');
    await refreshFiles(t.deps);
    return { t, dataDir };
  }

  it.runIf(process.getuid?.() === 0)('refuses before writing when Content-Length says the file will not fit', async () => {
    if (!disk.mounted) return expect.fail('tmpfs could not be mounted although running as root');
    const { t, dataDir } = await onSmallDisk({ zipBytes: 6 * 1024 * 1024 });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toMatchObject({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringContaining('ENOSPC') });
    expect(await listTree(dataDir)).toEqual([]);
    expect((await files(t))[0]).toMatchObject({ state: 'failed', lastError: expect.stringContaining('ENOSPC') });
  });

  it.runIf(process.getuid?.() === 0)('fails cleanly when the disk fills up mid-write (no Content-Length to check first)', async () => {
    if (!disk.mounted) return expect.fail('tmpfs could not be mounted although running as root');
    const { t, dataDir } = await onSmallDisk({ zipBytes: 6 * 1024 * 1024, quirks: { omitContentLength: true } });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stoppedBy).toMatchObject({ code: 'LEGAL_HOLD_STORAGE_FAILED', message: expect.stringContaining('ENOSPC: no space left on the device') });
    expect(await listTree(dataDir)).toEqual([]);
    expect(t.apiCalls('legalhold.files.download')).toBe(1);
  });
});
