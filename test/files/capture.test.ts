import { createHash } from 'node:crypto';
import { open, readdir, readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAT_FILE_ENDPOINTS } from '../../src/domain/zoom-endpoints.js';
import { captureFiles, referenceNewVersions } from '../../src/files/index.js';
import { harnessPerTest, type FilesHarness } from './harness.js';

const harness = harnessPerTest();

/** The files the archive references after a sync (the dataset also shares files outside the horizon). */
async function archivedFiles(t: FilesHarness): Promise<Array<{ fileId: string }>> {
  await referenceNewVersions(t.db.pool);
  const res = await t.db.pool.query<{ file_id: string }>('SELECT file_id FROM archive.files ORDER BY file_id');
  return res.rows.map((r) => ({ fileId: r.file_id }));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('file capture', () => {
  it('stores every referenced file once with the right bytes, refreshing expired URLs; a second run downloads nothing', async () => {
    const t = await harness();
    await t.sync('all');
    const files = t.sim.files.all();
    expect(files.length).toBeGreaterThan(10);
    const run = await t.capture();
    expect(run.stoppedBy).toBeNull();
    expect(run.failed).toBe(0);
    const rows = await t.rows();
    const archived = new Set(rows.map((r) => r['file_id']));
    expect(rows.every((r) => r['state'] === 'stored')).toBe(true);
    for (const row of rows) {
      const id = row['file_id'] as string;
      const bytes = await readFile(path.join(t.dataDir, 'files', (row['sha256'] as string).slice(0, 2), row['sha256'] as string));
      expect(bytes.equals(t.sim.files.content(id))).toBe(true);
      expect(sha256(bytes)).toBe(row['sha256']);
      expect(row['digest_mismatch']).toBe(false);
    }
    expect(run.stored).toBe(rows.length);
    // Reports older than a day hand out expired URLs: refreshed through Get file info, counted.
    expect(run.infoCalls).toBeGreaterThan(0);
    expect(t.calls(CHAT_FILE_ENDPOINTS.getInfo)).toBe(run.infoCalls);
    expect(t.calls(CHAT_FILE_ENDPOINTS.download)).toBe(run.downloads);
    expect(run.bearerToken).toBe(false);
    const view = await t.db.pool.query(`SELECT state, count(*)::int AS n FROM public.chat_files GROUP BY state`);
    expect(view.rows).toEqual([{ state: 'stored', n: expect.any(Number) }]);
    expect(archived.size).toBe(rows.length);

    const again = await t.capture();
    expect(again).toMatchObject({ candidates: 0, stored: 0, downloads: 0, infoCalls: 0 });
  });

  it('stops starting downloads when its run budget is spent (the Zoom turn is not held for ever); the next run takes the rest', async () => {
    const t = await harness();
    await t.sync('all');
    const spent = await captureFiles(t.deps(), { runBudgetMs: 1 });
    expect(spent).toMatchObject({ budgetReached: true, stoppedBy: null, stored: 0, downloads: 0 });
    expect((await t.rows()).every((r) => r['state'] === 'pending')).toBe(true);
    const rest = await t.capture();
    expect(rest.budgetReached).toBe(false);
    expect((await t.rows()).every((r) => r['state'] === 'stored')).toBe(true);
  });
});

describe('what can go wrong', () => {
  it('stores the same content shared under two file ids once', async () => {
    const t = await harness();
    await t.sync('all');
    const [a, b] = await archivedFiles(t);
    t.sim.files.sameContent(b!.fileId, a!.fileId);
    const run = await t.capture();
    expect(run.deduplicated).toBe(1);
    const rows = await t.rows();
    const ra = rows.find((r) => r['file_id'] === a!.fileId)!;
    const rb = rows.find((r) => r['file_id'] === b!.fileId)!;
    expect(rb['sha256']).toBe(ra['sha256']);
    expect(rb['state']).toBe('stored');
    const contents = await t.db.pool.query('SELECT count(*)::int AS n FROM archive.file_contents');
    expect(contents.rows[0].n).toBe(rows.length - 1);
    expect((await t.storeTree()).length).toBe(rows.length - 1);
  });

  it('records a deleted file as gone, with when it was first seen missing, and does not retry it', async () => {
    const t = await harness();
    await t.sync('all');
    const victim = (await archivedFiles(t))[0]!;
    t.sim.files.delete(victim.fileId);
    const run = await t.capture();
    expect(run.gone).toBe(1);
    const row = (await t.rows()).find((r) => r['file_id'] === victim.fileId)!;
    expect(row).toMatchObject({ state: 'gone', sha256: null });
    expect(row['first_missing_at']).toEqual(t.clock.now());
    t.clock.advance(7 * 24 * 3600_000);
    const again = await t.capture();
    expect(again.candidates).toBe(0);
    const view = await t.db.pool.query(`SELECT DISTINCT state, first_missing_at FROM public.chat_files WHERE file_id = $1`, [victim.fileId]);
    expect(view.rows).toEqual([{ state: 'gone', first_missing_at: row['first_missing_at'] }]);
  });

  it('lists files over FILES_MAX_BYTES as too_large without downloading them', async () => {
    const t = await harness({ env: { FILES_MAX_BYTES: '100000' } });
    await t.sync('all');
    const run = await t.capture();
    const rows = await t.rows();
    const big = rows.filter((r) => Number(r['declared_bytes']) > 100_000);
    expect(big.length).toBeGreaterThan(0);
    expect(run.tooLarge).toBe(big.length);
    for (const row of big) {
      expect(row).toMatchObject({ state: 'too_large', sha256: null });
      expect(t.sim.files.downloads.get(row['file_id'] as string)).toBeUndefined();
    }
    expect(rows.filter((r) => r['state'] === 'stored').length).toBe(rows.length - big.length);
  });

  it("records a digest that differs from Zoom's, keeps the content as received, and shows it", async () => {
    const t = await harness();
    await t.sync('all');
    const odd = (await archivedFiles(t))[0]!;
    t.sim.files.addQuirk(odd.fileId, { kind: 'wrong-digest' });
    const run = await t.capture();
    expect(run.digestMismatches).toBe(1);
    const row = (await t.rows()).find((r) => r['file_id'] === odd.fileId)!;
    expect(row).toMatchObject({ state: 'stored', digest_mismatch: true, sha256: t.sim.files.sha256(odd.fileId) });
    expect(row['zoom_digest']).not.toBe(row['sha256']);
    expect(String(row['last_error'])).toMatch(/differs from the content's SHA-256/);
    const view = await t.db.pool.query(`SELECT digest_mismatch FROM public.chat_files WHERE file_id = $1`, [odd.fileId]);
    expect(view.rows.every((r: { digest_mismatch: boolean }) => r.digest_mismatch)).toBe(true);
  });

  it('retries a cut body and a short Content-Length, never storing a short file; gives up after FILES_DOWNLOAD_ATTEMPTS', async () => {
    const t = await harness();
    await t.sync('all');
    const [cut, short, broken] = await archivedFiles(t);
    t.sim.files.addQuirk(cut!.fileId, { kind: 'truncate' }, 1);
    t.sim.files.addQuirk(short!.fileId, { kind: 'short-content-length' }, 1);
    t.sim.files.addQuirk(broken!.fileId, { kind: 'truncate' });
    const run = await t.capture();
    const rows = await t.rows();
    expect(rows.find((r) => r['file_id'] === broken!.fileId), JSON.stringify(run)).toMatchObject({ state: 'failed' });
    expect(run.failed).toBe(1);
    for (const f of [cut!, short!]) {
      const row = rows.find((r) => r['file_id'] === f.fileId)!;
      expect(row).toMatchObject({ state: 'stored', sha256: t.sim.files.sha256(f.fileId) });
      expect(Number(row['attempts'])).toBeGreaterThanOrEqual(2);
    }
    const failed = rows.find((r) => r['file_id'] === broken!.fileId)!;
    expect(failed).toMatchObject({ state: 'failed', sha256: null, attempts: 3 });
    expect(String(failed['last_error'])).toMatch(/broke off|ended after/);
    expect((await t.storeTree()).filter((p) => p.includes('.incoming'))).toEqual([]);
    // Not before its backoff; then again, and it succeeds once Zoom serves it whole.
    expect((await t.capture()).candidates).toBe(0);
    const contents = await t.db.pool.query('SELECT count(*)::int AS n FROM archive.file_contents');
    expect(contents.rows[0].n).toBe(rows.length - 1);
    t.sim.files.clearQuirks(broken!.fileId);
    t.clock.advance(3600_000);
    const later = await t.capture();
    expect(later).toMatchObject({ candidates: 1, stored: 1 });
    expect((await t.rows()).find((r) => r['file_id'] === broken!.fileId)).toMatchObject({ state: 'stored', attempts: 4, sha256: t.sim.files.sha256(broken!.fileId) });
  });

  it('retries 5xx answers of the download', async () => {
    const t = await harness();
    t.sim.faults.inject({ match: { endpoint: CHAT_FILE_ENDPOINTS.download }, fault: { kind: 'status', status: 503 }, times: 2 });
    await t.sync('all');
    const run = await t.capture();
    expect(run.failed).toBe(0);
    expect((await t.rows()).every((r) => r['state'] === 'stored')).toBe(true);
  });

  it('follows a redirect of the download (a CDN in front of the file host) and stores the content', async () => {
    const t = await harness();
    await t.sync('all');
    const [first] = await archivedFiles(t);
    t.sim.files.addQuirk(first!.fileId, { kind: 'redirect' });
    const run = await t.capture();
    expect(run.failed).toBe(0);
    const row = (await t.rows()).find((r) => r['file_id'] === first!.fileId);
    expect(row).toMatchObject({ state: 'stored', sha256: t.sim.files.sha256(first!.fileId) });
    // The redirect is one more request than the files: counted as a download call.
    expect(run.downloads).toBe(t.calls(CHAT_FILE_ENDPOINTS.download));
    expect(run.downloads).toBe(run.stored + 1);
  });

  it('sends the bearer token when the download wants it, and learns it once per run', async () => {
    const t = await harness({ simulator: { serveFiles: { requireBearer: true } } });
    await t.sync('all');
    const run = await t.capture();
    expect(run.bearerToken).toBe(true);
    expect((await t.rows()).filter((r) => r['state'] !== 'stored')).toEqual([]);
    expect(run.failed).toBe(0);
    const rows = await t.rows();
    expect(rows.every((r) => r['state'] === 'stored')).toBe(true);
    // One refused attempt without the token per lane at most, not one per file.
    expect(run.downloads).toBeLessThanOrEqual(rows.length + t.config.files.concurrency);
  });
});

describe('disk full', () => {
  it('stops the stage with FILES_STORAGE_FULL, records nothing against the file, leaves no partial file; the next run stores everything', async () => {
    const t = await harness();
    await t.sync('all');
    // The storage layer's write side fails like a full disk after 4 KiB (a real file, a real error code).
    const openSink = async (tempPath: string): Promise<Writable> => {
      const handle = await open(tempPath, 'wx', 0o640);
      let written = 0;
      return new Writable({
        write(chunk: Buffer, _encoding, callback) {
          written += chunk.length;
          if (written > 4096) {
            callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }));
            return;
          }
          handle.write(chunk).then(() => callback(), callback);
        },
        final(callback) {
          handle.close().then(() => callback(), callback);
        },
        destroy(err, callback) {
          handle.close().then(() => callback(err), () => callback(err));
        },
      });
    };
    const run = await t.capture({ openSink });
    expect(run.stoppedBy?.code).toBe('FILES_STORAGE_FULL');
    expect(run.stoppedBy?.message).toMatch(/ENOSPC: no space left on the device/);
    const rows = await t.rows();
    // Files are small here; some may have fit. None is failed, none half-stored.
    expect(rows.filter((r) => r['state'] !== 'pending' && r['state'] !== 'stored')).toEqual([]);
    expect(rows.filter((r) => r['state'] === 'pending').every((r) => r['attempts'] === 0)).toBe(true);
    expect(await readdir(path.join(t.dataDir, 'files', '.incoming'))).toEqual([]);
    const next = await t.capture();
    expect(next.stoppedBy).toBeNull();
    expect((await t.rows()).every((r) => r['state'] === 'stored')).toBe(true);
  });
});
