import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExportRequest, runExport, verifyBundle } from '../../src/export/index.js';
import { STALE_EXPORT_ERROR } from '../../src/export/stale-exports.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { entryDataRange, flipByte, HAS_INFO_ZIP } from './bundle-helpers.js';

// The CLI as an operator runs it, in its own process: killed with SIGKILL and SIGTERM mid-export,
// run next to another export, verify/list/show, and bad input.
const ROOT = path.resolve(import.meta.dirname, '../..');
const BULK_SESSION = 'bulk-session';
const BULK_VERSIONS = 80_000;
let db: TestDatabase;
let dataDir: string;
const logger = createSilentLogger();

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'zca-export-cli-'));
  await db.pool.query(`INSERT INTO archive.sessions (session_id, type, name, raw) VALUES ($1, 'Group', 'Bulk channel', '{}'::jsonb), ('small-session', 'Group', 'Small', '{}'::jsonb)`, [BULK_SESSION]);
  // ~1 KB of raw JSON per version; a short body keeps the full-text index cheap to build.
  await db.pool.query(
    `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_display_name, body, raw, content_sha256)
     SELECT $1, 'm' || g, 'original', t, t, 'bulk@example.com', 'Bulk Sender', 'bulk message ' || g,
            jsonb_build_object('id', 'm' || g, 'message', 'bulk message ' || g, 'sender', 'bulk@example.com', 'padding', repeat('lorem ipsum dolor ', 55)),
            sha256(convert_to('m' || g, 'UTF8'))
     FROM generate_series(1, $2::int) AS g, LATERAL (SELECT timestamptz '2026-10-01T00:00:00Z' + g * interval '1 second' AS t) x`,
    [BULK_SESSION, BULK_VERSIONS],
  );
  await db.pool.query(
    `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, body, raw, content_sha256)
     SELECT 'small-session', 's' || g, 'original', now(), now(), 'small@example.com', 'small ' || g, jsonb_build_object('id', 's' || g, 'message', 'small ' || g), sha256(convert_to('s' || g, 'UTF8'))
     FROM generate_series(1, 20) AS g`,
  );
}, 120_000);

afterAll(async () => {
  await db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: db.url, ARCHIVE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...extra };
}

function startCli(args: string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: cliEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exit };
}

function runCli(args: string[], extraEnv: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, env: cliEnv(extraEnv), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const exportsDir = () => path.join(dataDir, 'exports');
const leftovers = () => (existsSync(exportsDir()) ? readdirSync(exportsDir()).filter((n) => n.endsWith('.tmp')) : []);

/** Waits until a running export's .tmp file holds at least `bytes`. */
async function waitForPartialBundle(bytes: number, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const tmp = leftovers().find((n) => !n.endsWith('.spool.tmp'));
    if (tmp && statSync(path.join(exportsDir(), tmp)).size >= bytes) return tmp;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the export never started writing');
}

async function runningRows(): Promise<Array<{ export_id: string; state: string; error: string | null }>> {
  return (await db.pool.query<{ export_id: string; state: string; error: string | null }>('SELECT export_id, state, error FROM archive.exports ORDER BY requested_at')).rows;
}

describe('an export process that dies', () => {
  it('SIGKILL: leaves only a .tmp (no complete-looking file); the next export marks it failed and removes the leftovers', async () => {
    const { child, exit } = startCli(['export', '--session', BULK_SESSION, '--formats', 'jsonl,csv']);
    const tmp = await waitForPartialBundle(512 * 1024);
    child.kill('SIGKILL');
    const result = await exit;
    expect(result.signal).toBe('SIGKILL');
    const names = readdirSync(exportsDir());
    expect(names.filter((n) => n.endsWith('.zip'))).toEqual([]);
    expect(names).toContain(tmp);
    const dead = (await runningRows()).find((r) => tmp.includes(r.export_id));
    expect(dead?.state).toBe('running');

    const next = await runExport({ pool: db.pool, config: { dataDir }, logger }, parseExportRequest({ sessions: ['small-session'], formats: 'jsonl' }), 'cli:test');
    expect(next.state).toBe('complete');
    const after = (await runningRows()).find((r) => r.export_id === dead?.export_id);
    expect(after).toMatchObject({ state: 'failed', error: STALE_EXPORT_ERROR });
    expect(leftovers()).toEqual([]);
    const audit = await db.pool.query<{ action: string; actor: string }>('SELECT action, actor FROM public.audit_log WHERE subject_id = $1 ORDER BY audit_id', [dead?.export_id]);
    expect(audit.rows).toEqual([
      { action: 'export.create', actor: expect.stringMatching(/^cli:/) as unknown as string },
      { action: 'export.fail', actor: 'system:export-sweeper' },
    ]);
  });

  it('SIGTERM: stops, removes its partial files, marks the row failed and exits 130', async () => {
    const { child, exit } = startCli(['export', '--session', BULK_SESSION, '--formats', 'jsonl,html']);
    const tmp = await waitForPartialBundle(256 * 1024);
    child.kill('SIGTERM');
    const result = await exit;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/stopped before it finished; nothing was kept/);
    expect(readdirSync(exportsDir()).filter((n) => n.includes(tmp.split('.').at(-2) ?? '@'))).toEqual([]);
    expect(leftovers()).toEqual([]);
    const row = (await runningRows()).find((r) => tmp.includes(r.export_id));
    expect(row).toMatchObject({ state: 'failed', error: 'stopped by a signal before it finished' });
  });

  it('never touches an export that is still running in another process', async () => {
    const { exit } = startCli(['export', '--session', BULK_SESSION, '--formats', 'jsonl', '--requested-by', 'Long Runner', '--json']);
    const tmp = await waitForPartialBundle(128 * 1024);
    // Another export starts meanwhile and sweeps: the live one must survive it.
    await runExport({ pool: db.pool, config: { dataDir }, logger }, parseExportRequest({ sessions: ['small-session'], formats: 'csv' }), 'cli:test');
    expect(existsSync(path.join(exportsDir(), tmp))).toBe(true);
    const result = await exit;
    expect(result.code, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout) as { exportId: string; state: string; path: string; sha256: string; counts: { versions: number } };
    expect(record).toMatchObject({ state: 'complete', counts: { versions: BULK_VERSIONS } });
    expect(tmp).toContain(record.exportId);
    const verification = await verifyBundle(path.join(dataDir, record.path), { expectedSha256: record.sha256 });
    expect(verification.ok).toBe(true);
    expect(leftovers()).toEqual([]);
  });
});

describe('the export commands', () => {
  let bundle: string;
  let sha256: string;
  let exportId: string;

  beforeAll(() => {
    const created = runCli(['export', '--session', 'small-session', '--out', path.join(dataDir, 'small.zip'), '--requested-by', 'Ticket LEGAL-42']);
    expect(created.code, created.stderr).toBe(0);
    bundle = path.join(dataDir, 'small.zip');
    sha256 = /sha256\s+([0-9a-f]{64})/.exec(created.stdout)?.[1] as string;
    exportId = /^Export ([0-9a-f-]{36}): complete/m.exec(created.stdout)?.[1] as string;
    expect(created.stdout).toContain(bundle);
    expect(created.stdout).toMatch(/counts\s+1 sessions · 20 messages · 20 versions/);
  });

  it('verify: exit 0 on an intact bundle, with no database at all', () => {
    const ok = runCli(['export', 'verify', bundle, '--sha256', sha256], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: /);
    expect(ok.stdout).toContain(sha256);
  });

  it('verify: the first difference for a flipped byte in an entry, in the manifest, an added or a removed entry', async () => {
    const copy = async (name: string) => {
      const target = path.join(dataDir, name);
      const { copyFileSync } = await import('node:fs');
      copyFileSync(bundle, target);
      return target;
    };
    const jsonl = await copy('tampered-jsonl.zip');
    const jsonlRange = await entryDataRange(jsonl, 'messages.jsonl');
    flipByte(jsonl, jsonlRange.start + Math.floor(jsonlRange.length / 2));
    const r1 = await verifyBundle(jsonl);
    expect(r1.ok).toBe(false);
    expect(r1.problem?.path).toBe('messages.jsonl');
    expect(['sha256-mismatch', 'entry-unreadable', 'size-mismatch']).toContain(r1.problem?.kind);

    const manifest = await copy('tampered-manifest.zip');
    const manifestRange = await entryDataRange(manifest, 'manifest.json');
    flipByte(manifest, manifestRange.start + Math.floor(manifestRange.length / 2));
    const r2 = await verifyBundle(manifest);
    expect(r2.ok).toBe(false);
    expect(r2.problem).toMatchObject({ kind: 'manifest-invalid', path: 'manifest.json' });

    const cli = runCli(['export', 'verify', jsonl]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^FAILED: .*\n\s+messages\.jsonl /);

    const wrongSha = await verifyBundle(bundle, { expectedSha256: '0'.repeat(64) });
    expect(wrongSha.problem?.kind).toBe('bundle-sha256-mismatch');

    if (HAS_INFO_ZIP) {
      const added = await copy('added.zip');
      const extra = path.join(dataDir, 'extra.txt');
      (await import('node:fs')).writeFileSync(extra, 'smuggled');
      expect(spawnSync('zip', ['-j', '-q', added, extra]).status).toBe(0);
      expect((await verifyBundle(added)).problem).toMatchObject({ kind: 'entry-not-in-manifest', path: 'extra.txt' });

      const removed = await copy('removed.zip');
      expect(spawnSync('zip', ['-q', '-d', removed, 'messages.csv']).status).toBe(0);
      expect((await verifyBundle(removed)).problem).toMatchObject({ kind: 'entry-missing', path: 'messages.csv' });
    }

    const notZip = path.join(dataDir, 'not-a-zip.zip');
    (await import('node:fs')).writeFileSync(notZip, 'hello');
    expect((await verifyBundle(notZip)).problem?.kind).toBe('bundle-unreadable');
  });

  it('list and show tell what was exported, by whom, when', () => {
    const list = runCli(['export', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(exportId);
    expect(list.stdout).toContain('Ticket LEGAL-42');
    const show = runCli(['export', 'show', exportId.slice(0, 8)]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`Export ${exportId}: complete`);
    expect(show.stdout).toContain(sha256);
    expect(show.stdout).toMatch(/export\.create\s+cli:/);
    expect(show.stdout).toMatch(/export\.complete\s+cli:/);
  });

  it('rejects bad input with exit 2 and a clear message, before any work', () => {
    const reversed = runCli(['export', '--custodian', 'a@example.com', '--from', '2026-03-10', '--to', '2026-03-01']);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(/date range is reversed/);
    const unknownMatter = runCli(['export', 'create', '--matter', 'ghost']);
    expect(unknownMatter.code).toBe(2);
    expect(unknownMatter.stderr).toMatch(/unknown matter "ghost"/);
  });
});
