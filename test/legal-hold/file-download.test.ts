import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { downloadReadyFiles, loadFiles, storedRelativePath } from '../../src/legal-hold/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { filesOnDisk, harnessPerTest, withOneFileMatter, type HarnessOptions } from './harness.js';

// One download as Zoom and the run see it: the summary and audit a stored file leaves, the
// warnings a listing that disagrees with the download earns, answers that are not zips, the
// backoff between attempts, and how a run ends when it is aborted or loses a file's lock.

const harness = harnessPerTest();
const DOWNLOAD = 'legalhold.files.download';
const withMatter = (options: HarnessOptions = {}) => withOneFileMatter(harness, options, 'Download matter');

describe('a stored file', () => {
  it('is summed up exactly: identity, copy, one attempt, timings within the run, no warnings, Zoom’s tracking id in the audit', async () => {
    const logs = captureLogs('info');
    const { t, matterId, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 40_000 }, logger: logs.logger });
    logs.clear();
    const started = performance.now();
    const run = await downloadReadyFiles(t.deps, matterId);
    const elapsed = performance.now() - started;
    const [row] = await loadFiles(t.db.pool);
    const stored = run.stored[0]!;
    expect(run).toEqual({
      candidates: 1,
      stored: [
        {
          matterId,
          custodian: t.users[0]!.email,
          fileKey: file.fileKey,
          storedPath: storedRelativePath(file),
          bytes: row!.storedBytes,
          sha256: t.sim.legalHold.sha256(matterId, file.fileKey),
          zipEntries: 3,
          attempts: 1,
          durationMs: expect.any(Number),
          transferMs: expect.any(Number),
          warnings: [],
          // The copy's Zoom tracking id rides along (not in the type, but in the object).
          trackingId: expect.stringMatching(/^v=2\.0;clid=sim;rid=SIM_/),
        },
      ],
      failed: [],
      skipped: 0,
      sweptTempFiles: 0,
      stoppedBy: null,
      bytes: row!.storedBytes,
      durationMs: expect.any(Number),
    });
    // Timings are spans inside this run, not clock readings.
    expect(stored.transferMs).toBeLessThanOrEqual(stored.durationMs);
    expect(stored.durationMs).toBeLessThanOrEqual(run.durationMs);
    expect(run.durationMs).toBeLessThanOrEqual(Math.ceil(elapsed));
    const [audit] = await t.audit('legal_hold.file.stored');
    expect(audit?.details).toEqual({ attempt: 1, durationMs: stored.durationMs, warnings: [], zoomTrackingId: expect.stringMatching(/^v=2\.0;clid=sim;rid=SIM_/) });
    // A run for one matter says so on its own lines too.
    expect(logs.find('legal-hold download run finished')).toEqual([expect.objectContaining({ job: 'legal-hold', step: 'download', matterId, stored: 1 })]);
    expect(logs.find('legal-hold file stored with a warning')).toEqual([]);
  });
});

describe('what the listing announced and what arrived', () => {
  it('warns when the zip holds another number of entries than Zoom’s file_count', async () => {
    const logs = captureLogs('info');
    const { t, file } = await withMatter({ legalHold: { fileReadyAfterListings: 0 }, logger: logs.logger });
    await t.db.pool.query('UPDATE archive.legal_hold_files SET file_count = 7');
    const run = await downloadReadyFiles(t.deps);
    const warning = "the zip holds 3 entries where Zoom's listing announced file_count 7";
    expect(run.stored.map((s) => s.warnings)).toEqual([[warning]]);
    expect(logs.find('legal-hold file stored with a warning')).toEqual([expect.objectContaining({ level: LEVEL.warn, fileKey: file.fileKey, warning })]);
  });

  it('compares nothing Zoom did not announce: no file_count and no total_file_size, no warning', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, quirks: { announcedSize: 'absent' } } });
    await t.db.pool.query('UPDATE archive.legal_hold_files SET file_count = NULL');
    expect((await loadFiles(t.db.pool))[0]).toMatchObject({ fileCount: null, announcedBytes: null });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored.map((s) => s.warnings)).toEqual([[]]);
  });

  it('without Content-Length, only says so: the announced size is not compared with a length it does not have', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, quirks: { omitContentLength: true } } });
    expect((await loadFiles(t.db.pool))[0]?.announcedBytes).toBeGreaterThan(0);
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored.map((s) => s.warnings)).toEqual([['Zoom sent no Content-Length; completeness rests on the zip check alone']]);
  });
});

describe('answers that are not a zip', () => {
  it('refuses an HTML page served as the download, quoting its start with whitespace collapsed, and retries it', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    const page = `<html>\n\n  <head><title>Down for maintenance</title></head>\t<body>${'x'.repeat(300)}</body></html>`;
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'status', status: 200, body: page, contentType: 'text/html; charset=utf-8' }, times: 3 });
    const run = await downloadReadyFiles(t.deps);
    const quoted = page.slice(0, 200).replace(/\s+/g, ' ');
    const error = `ZOOM_INVALID_RESPONSE: Zoom answered text/html; charset=utf-8 instead of a zip (${quoted})`;
    expect(run.failed).toEqual([expect.objectContaining({ attempts: 3, error })]);
    expect(run.stoppedBy).toBeNull();
    expect(t.apiCalls(DOWNLOAD)).toBe(3);
    expect(await loadFiles(t.db.pool)).toMatchObject([{ state: 'failed', attempts: 3, lastError: error }]);
    expect(await filesOnDisk(t.dataDir)).toEqual([]);
    const [failed] = await t.audit('legal_hold.file.download_failed');
    expect(failed?.details).toEqual({ attemptsThisRun: 3, error });
  });

  it('refuses a JSON answer once and stores the zip on the next attempt', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'status', status: 200, body: { code: 200, message: 'ok' } } });
    const run = await downloadReadyFiles(t.deps);
    expect(run.stored.map((s) => s.attempts)).toEqual([2]);
    expect(t.apiCalls(DOWNLOAD)).toBe(2);
  });
});

describe('between attempts', () => {
  it('waits the configured, capped exponential backoff before each retry', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 200_000 }, logger: logs.logger });
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'reset-mid-body' }, times: 2 });
    // The jitter pinned to its top: the delays are the ceilings, base·2^(attempt-1).
    const run = await downloadReadyFiles({ ...t.deps, downloadBackoff: { baseDelayMs: 8, maxDelayMs: 100, random: () => 0.999 } });
    expect(run.stored.map((s) => s.attempts)).toEqual([3]);
    const retries = logs.find(/^download attempt \d of 3 failed/);
    expect(retries.map((r) => r.delayMs)).toEqual([8, 16]);
    // The broken transfer is named by the socket's code, with the bytes that arrived.
    // The socket's own error stays attached as the cause (the logged message lists it after the colon).
    const broke = { message: expect.stringMatching(/^the download broke off after \d+ bytes \(UND_ERR_SOCKET\): other side closed$/) };
    const where = { code: 'ZOOM_NETWORK_ERROR', endpoint: DOWNLOAD, method: 'GET', status: 200, trackingId: expect.stringMatching(/^v=2\.0;clid=sim;rid=SIM_/) };
    expect(retries.map((r) => r.err)).toEqual([expect.objectContaining({ ...broke, ...where }), expect.objectContaining({ ...broke, ...where })]);
  });
});

describe('a run that is stopped', () => {
  it('aborted while waiting to retry: the file goes back to ready, the run says it was a signal, and logs no error', async () => {
    const controller = new AbortController();
    const logs = captureLogs('info', (msg) => {
      if (msg.startsWith('download attempt 1 of 3 failed')) controller.abort(new Error('SIGTERM'));
    });
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0, zipBytes: 200_000 }, logger: logs.logger });
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'reset-mid-body' }, times: 1 });
    const run = await downloadReadyFiles({ ...t.deps, signal: controller.signal, downloadBackoff: { baseDelayMs: 5000, maxDelayMs: 5000, random: () => 0.999 } });
    expect(run.stoppedBy).toEqual({ code: 'ABORTED', message: 'stopped by a signal' });
    expect(run.stored).toEqual([]);
    expect(t.apiCalls(DOWNLOAD)).toBe(1);
    expect(await loadFiles(t.db.pool)).toMatchObject([{ state: 'ready', attempts: 1, lastError: expect.stringContaining('ZOOM_NETWORK_ERROR') }]);
    expect(logs.find('stopping the download run: every other file would fail the same way')).toEqual([]);
    expect(await filesOnDisk(t.dataDir)).toEqual([]);
  });

  it('aborted while Zoom has not answered yet: the request itself is cancelled, the run does not wait for Zoom', async () => {
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 } });
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'slow', delayMs: 4000 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('SIGTERM')), 150);
    const started = performance.now();
    const run = await downloadReadyFiles({ ...t.deps, signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(2500);
    expect(run.stoppedBy).toEqual({ code: 'ABORTED', message: 'stopped by a signal' });
    expect((await loadFiles(t.db.pool)).map((f) => f.state)).toEqual(['ready']);
  });

  it('stops with LOCK_LOST when the file’s lock connection dies mid-download, handing the file back', async () => {
    const logs = captureLogs('info');
    const { t } = await withMatter({ legalHold: { fileReadyAfterListings: 0 }, logger: logs.logger });
    t.sim.faults.inject({ match: { endpoint: DOWNLOAD }, fault: { kind: 'slow', delayMs: 1500 } });
    const running = downloadReadyFiles(t.deps);
    // Wait until the file is claimed, then kill the session that holds its advisory lock.
    for (let i = 0; i < 100 && (await loadFiles(t.db.pool))[0]?.state !== 'downloading'; i++) await new Promise((r) => setTimeout(r, 10));
    const killed = await t.db.pool.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    expect(killed.rows).toEqual([{ ok: true }]);
    const run = await running;
    expect(run.stoppedBy).toEqual({ code: 'LOCK_LOST', message: expect.stringMatching(/^LOCK_LOST: lost the lock "legal-hold-file:/) });
    expect(run.stored).toEqual([]);
    expect(await filesOnDisk(t.dataDir)).toEqual([]);
    expect(logs.find('stopping the download run: every other file would fail the same way')).toEqual([expect.objectContaining({ level: LEVEL.error, err: expect.objectContaining({ code: 'LOCK_LOST' }) })]);
  });
});
