import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFiles, loadMatters } from '../../src/legal-hold/index.js';
import { startLegalHoldHarness, type LegalHoldHarness } from './harness.js';
import { simulatorEnv } from '../helpers/simulator-env.js';

// The `legal-hold` commands as an operator runs them: a child process, the simulator, a real
// database and data directory. Exit codes: 0 done, 1 something failed, 2 bad input (nothing done).

const ROOT = path.resolve(import.meta.dirname, '../..');
let h: LegalHoldHarness;

beforeAll(async () => {
  h = await startLegalHoldHarness({ legalHold: { fileReadyAfterListings: 2, filesPerCustodian: 2, zipBytes: 20_000 } });
});
afterAll(async () => {
  await h?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    DATABASE_URL: h.db.url,
    ARCHIVE_DATA_DIR: h.dataDir,
    ...simulatorEnv(h.sim),
    ZOOM_RATE_RESOURCE_INTENSIVE: '600000',
    ZOOM_RATE_LIGHT: '5000',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'legal-hold', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('legal-hold CLI', () => {
  it('rejects bad input with exit 2 and a clear message before calling Zoom', async () => {
    const email = h.users[0]!.email;
    const many = Array.from({ length: 21 }, (_, i) => ['--custodian', `p${i}@example.com`]).flat();
    const [emptyName, tooMany, badDate, noYes] = await Promise.all([
      cli('create', '--name', '', '--custodian', email),
      cli('create', '--name', 'M', ...many),
      cli('create', '--name', 'M', '--custodian', email, '--from', '2026-13-01'),
      cli('delete', 'some-matter'),
    ]);
    expect(emptyName).toMatchObject({ code: 2, stderr: expect.stringContaining('the matter name must not be empty') });
    expect(tooMany).toMatchObject({ code: 2, stderr: expect.stringContaining('at most 20 custodians') });
    expect(badDate).toMatchObject({ code: 2, stderr: expect.stringContaining('from must be a calendar date as yyyy-mm-dd') });
    expect(noYes).toMatchObject({ code: 2, stderr: expect.stringContaining('add --yes to confirm') });
    expect(h.sim.stats().requests).toBe(0);
  });

  it('creates, lists, downloads and verifies; an unknown matter is exit 2; a tampered file makes verify exit 1', async () => {
    const created = await cli('create', '--name', 'CLI matter', '--custodian', h.users[0]!.email, '--from', '2026-05-01', '--to', '2026-06-30', '--json');
    expect(created.code, created.stderr).toBe(0);
    const matterId = (JSON.parse(created.stdout) as { matterId: string }).matterId;
    expect(h.sim.legalHold.matters().map((m) => m.matterId)).toEqual([matterId]);
    const [entry] = await h.audit('legal_hold.matter.create');
    expect(entry?.actor).toMatch(/^cli:/);

    // A matter someone made in Zoom's portal, which the next sync discovers.
    const portal = h.sim.legalHold.addMatter({ name: 'Portal matter', identifiers: [h.users[1]!.email] });
    const first = await cli('sync');
    // Files are not ready on the first listing: nothing to download yet, and that is not a failure.
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('1 discovered');
    expect(first.stdout).toContain('4 new, 0 became ready');
    // One CLI process at a time: each fetches its own token, and Zoom (like the simulator) may
    // invalidate one process's token when another asks for a new one (README, "Running as a service").
    const unknown = await cli('show', 'no such matter');
    const download = await cli('download', 'CLI matter', '--json');
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('neither here nor in Zoom') });
    expect(download.code, download.stderr).toBe(0);
    expect((JSON.parse(download.stdout) as { downloads: { stored: unknown[] } }).downloads.stored).toHaveLength(2);

    const list = await cli('list');
    const files = await cli('files', matterId);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('CLI matter');
    expect(list.stdout).toContain('2/2 stored');
    expect(list.stdout).toContain('Portal matter');
    expect(files.code).toBe(0);
    expect(files.stdout.match(/stored/g)?.length).toBeGreaterThanOrEqual(2);

    const [row] = await loadFiles(h.db.pool, { matterId });
    const stored = path.join(h.dataDir, row!.storedPath!);
    const bytes = await readFile(stored);
    bytes[50] = (bytes[50] ?? 0) ^ 1;
    await writeFile(stored, bytes);
    const verify = await cli('verify', matterId);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('hash-mismatch');

    h.sim.legalHold.deleteMatter(portal.matterId);
    const afterDeletion = await cli('list', '--json');
    expect(afterDeletion.code).toBe(0);
    const states = (JSON.parse(afterDeletion.stdout) as { matters: Array<{ matterName: string; state: string }> }).matters.map((m) => [m.matterName, m.state]);
    expect(states).toEqual([
      ['CLI matter', 'active'],
      ['Portal matter', 'deleted_in_zoom'],
    ]);
    expect((await loadMatters(h.db.pool, { states: ['deleted_in_zoom'] })).map((m) => m.matterId)).toEqual([portal.matterId]);
  });
});
