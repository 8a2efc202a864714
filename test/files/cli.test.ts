import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { referenceNewVersions } from '../../src/files/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { harnessPerTest, type FilesHarness } from './harness.js';

// The `files` commands as real processes against the simulator and PostgreSQL, and a download
// killed with SIGKILL half way.

const harness = harnessPerTest();

function env(t: FilesHarness): Record<string, string> {
  return { DATABASE_URL: t.db.url, ARCHIVE_DATA_DIR: t.dataDir, ...simulatorEnv(t.sim), ZOOM_RATE_LIGHT: '1000', FILES_CONCURRENCY: '1', LOG_LEVEL: 'warn' };
}

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('files commands', () => {
  it('kill -9 during a download leaves no visible partial file; the next run sweeps the temp and finishes it', async () => {
    const t = await harness();
    await t.sync('all');
    await referenceNewVersions(t.db.pool);
    const res = await t.db.pool.query<{ file_id: string }>(`SELECT file_id FROM archive.files ORDER BY declared_bytes DESC LIMIT 1`);
    const slowId = res.rows[0]!.file_id;
    t.sim.files.addQuirk(slowId, { kind: 'slow', delayMs: 400 });
    const child = spawnCli(['files', 'sync', '--file', slowId], env(t));
    const incoming = path.join(t.dataDir, 'files', '.incoming');
    const temp = await waitFor(async () => {
      const names = await readdir(incoming).catch(() => [] as string[]);
      return names.find((n) => n.endsWith('.tmp'));
    }, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGKILL');
    const result = await child.result;
    expect(result.signal).toBe('SIGKILL');
    // Nothing under a content name, nothing recorded as stored.
    expect((await t.storeTree()).filter((p) => !p.startsWith(path.join('files', '.incoming')))).toEqual([]);
    const row = (await t.rows()).find((r) => r['file_id'] === slowId)!;
    expect(row['state']).toBe('pending');
    expect(temp).toMatch(/\.tmp$/);

    t.sim.files.clearQuirks(slowId);
    // The killed process's lock lives until PostgreSQL notices the dead connection: a run meanwhile
    // leaves that temp alone (and may skip or store the file); the runs after it sweep it.
    let swept = 0;
    await waitFor(async () => {
      const r = await t.capture();
      swept += r.sweptTempFiles;
      const stored = (await t.rows()).find((row) => row['file_id'] === slowId)?.['state'] === 'stored';
      return stored && (await readdir(incoming)).length === 0 ? r : undefined;
    }, 15_000);
    expect(swept).toBe(1);
    expect(await readdir(incoming)).toEqual([]);
    expect((await t.rows()).find((r) => r['file_id'] === slowId)).toMatchObject({ state: 'stored', sha256: t.sim.files.sha256(slowId) });
  });

  it('sync, list and verify as processes; verify exits 1 on a changed or missing file', async () => {
    const t = await harness();
    await t.sync('all');
    const synced = await runCli(['files', 'sync', '--json'], env(t));
    expect(synced.code, synced.stderr).toBe(0);
    const summary = JSON.parse(synced.stdout) as { stored: number; failed: number };
    expect(summary.failed).toBe(0);
    expect(summary.stored).toBeGreaterThan(5);

    const listed = await runCli(['files', 'list', '--state', 'stored', '--json'], env(t));
    expect(listed.code, listed.stderr).toBe(0);
    const list = JSON.parse(listed.stdout) as { figures: { byState: Record<string, number> }; rows: Array<{ state: string; sha256: string }> };
    expect(list.figures.byState['stored']).toBe(summary.stored);
    expect(list.rows.length).toBeGreaterThanOrEqual(summary.stored);

    const ok = await runCli(['files', 'verify'], env(t));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`verified ${summary.stored} stored file\\(s\\)`));

    const [first, second] = (await t.storeTree()).filter((p) => !p.includes('.incoming'));
    await writeFile(path.join(t.dataDir, first!), 'tampered');
    await rm(path.join(t.dataDir, second!));
    const bad = await runCli(['files', 'verify', '--json'], env(t));
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { problems: Array<{ problem: string; storedPath: string }> };
    expect(report.problems.map((p) => p.problem).sort()).toEqual(['corrupt', 'missing']);

    const badState = await runCli(['files', 'list', '--state', 'nope'], env(t));
    expect(badState.code).toBe(2);
  });
});
