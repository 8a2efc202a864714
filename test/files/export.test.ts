import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExportRequest, runExport, verifyBundle } from '../../src/export/index.js';
import type { BundleManifest } from '../../src/export/manifest.js';
import { referenceNewVersions } from '../../src/files/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { entryDataRange, flipByte, readBundle } from '../export/bundle-helpers.js';
import { harnessPerTest } from './harness.js';

// Bundles with the files of their messages: stored content once under attachments/, every file
// listed in the manifest with its state, export verify passing, and failing once an attachment is changed.

const harness = harnessPerTest();

describe('exports with attachments', () => {
  it('packs each stored file once, lists gone ones, links them in HTML; export verify passes and fails when an attachment changes', async () => {
    const t = await harness();
    await t.sync('all');
    await referenceNewVersions(t.db.pool);
    const ids = (await t.db.pool.query<{ file_id: string }>('SELECT file_id FROM archive.files ORDER BY file_id')).rows.map((r) => r.file_id);
    const [gone, twinA, twinB] = ids;
    t.sim.files.delete(gone!);
    t.sim.files.sameContent(twinB!, twinA!);
    const run = await t.capture();
    expect(run).toMatchObject({ gone: 1, failed: 0, deduplicated: 1 });

    const sessions = (await t.db.pool.query<{ session_id: string }>('SELECT DISTINCT session_id FROM public.chat_files')).rows.map((r) => r.session_id);
    const record = await runExport({ pool: t.db.pool, config: { dataDir: t.dataDir }, logger: createSilentLogger() }, parseExportRequest({ sessions }), 'cli:test');
    expect(record.state).toBe('complete');
    const file = path.isAbsolute(record.path ?? '') ? (record.path as string) : path.join(t.dataDir, record.path as string);
    const entries = await readBundle(file);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as BundleManifest;

    const stored = (await t.rows()).filter((r) => r['state'] === 'stored');
    expect(manifest.attachments.map((a) => a.file_id).sort()).toEqual([...ids].sort());
    expect(manifest.attachments.find((a) => a.file_id === gone)).toMatchObject({ state: 'gone', path: null, sha256: null });
    expect(manifest.attachments.find((a) => a.file_id === gone)?.first_missing_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const attachmentEntries = [...entries.keys()].filter((p) => p.startsWith('attachments/'));
    // One entry per distinct content: the twins share one.
    expect(attachmentEntries.length).toBe(new Set(stored.map((r) => r['sha256'])).size);
    expect(attachmentEntries.length).toBe(stored.length - 1);
    const a = manifest.attachments.find((x) => x.file_id === twinA)!;
    const b = manifest.attachments.find((x) => x.file_id === twinB)!;
    expect(b.path).toBe(a.path);
    expect(entries.get(a.path!)!.equals(t.sim.files.content(twinA!))).toBe(true);
    expect(a.path).toMatch(new RegExp(`^attachments/${a.sha256}/.+`));
    expect(manifest.entries.find((e) => e.path === a.path)?.sha256).toBe(a.sha256);

    const html = [...entries.entries()].filter(([p]) => p.startsWith('transcripts/')).map(([, c]) => c.toString('utf8')).join('\n');
    expect(html).toContain(`href="../attachments/${a.sha256}/`);
    expect(html).toMatch(/gone from Zoom \(missing since [^)]+\): not captured/);

    const verified = await verifyBundle(file);
    expect(verified.problem).toBeUndefined();
    expect(verified.ok).toBe(true);

    // Change one byte of an attachment inside the bundle: verify names it.
    const range = await entryDataRange(file, a.path!);
    flipByte(file, range.start + Math.floor(range.length / 2));
    const broken = await verifyBundle(file);
    expect(broken.ok).toBe(false);
    expect(broken.problem?.path).toBe(a.path);
  });

  it('fails the export when a stored file changed on disk, rather than ship it', async () => {
    const t = await harness();
    await t.sync('all');
    await t.capture();
    const row = (await t.rows()).find((r) => r['state'] === 'stored')!;
    await writeFile(path.join(t.dataDir, 'files', String(row['sha256']).slice(0, 2), String(row['sha256'])), 'not the content');
    const sessions = (await t.db.pool.query<{ session_id: string }>('SELECT DISTINCT session_id FROM public.chat_files WHERE file_id = $1', [row['file_id']])).rows.map((r) => r.session_id);
    await expect(runExport({ pool: t.db.pool, config: { dataDir: t.dataDir }, logger: createSilentLogger() }, parseExportRequest({ sessions }), 'cli:test')).rejects.toThrow(/does not match what was stored|files verify/);
  });
});
