import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAT_FILE_ENDPOINTS } from '../../src/domain/zoom-endpoints.js';
import { harnessPerTest } from './harness.js';

const harness = harnessPerTest();

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
});
