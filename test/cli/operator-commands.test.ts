import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli } from '../helpers/cli.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

// The commands an operator reaches for, as real CLI processes over a real archive: `sql` (several
// statements, standard input, NULL told apart from '', no way to write), `status` (every section),
// `db url` (psql and BI tools on the embedded database), `simulator --help`, and what a bad
// ARCHIVE_DATA_DIR gives. What is real: the CLI, PostgreSQL (local and embedded), the simulator.

let harness: SyncHarness;
const dirs: string[] = [];

beforeAll(async () => {
  const clock = new ManualClock(new Date());
  harness = await startSyncHarness({ dataset: generateDataset({ seed: 61, now: clock.now(), sessions: 8, totalMessages: 400 }), clock });
  expect((await harness.sync()).outcome).toBe('complete');
}, 90_000);

afterAll(async () => {
  await harness?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ DATABASE_URL: harness.db.url });

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'zca-ops-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

describe('sql', () => {
  it('runs several statements in order and prints each result', async () => {
    const r = await runCli(['sql', "select 1 as one; select 'a;b' as text, $$x;y$$ as dollar; -- a comment; \n select 3 as three"], env());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/one\n---\n1\n\(1 row\)/);
    expect(r.stdout).toMatch(/text\s+dollar\n-+\s+-+\na;b\s+x;y\n\(1 row\)/);
    expect(r.stdout).toMatch(/three\n-----\n3\n\(1 row\)/);
  });

  it('reads the query from standard input (no argument, or -)', async () => {
    for (const args of [['sql'], ['sql', '-']]) {
      const r = await runCli([...args, '--json'], env(), { stdin: 'select count(*)::int as windows from sync_windows;\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim())).toEqual({ windows: expect.any(Number) });
    }
  });

  it('tells NULL from an empty string, in tables and in JSON', async () => {
    const r = await runCli(['sql', "select null::text as n, '' as e, 'x' as x"], env());
    expect(r.stdout.split('\n')[2]).toMatch(/^\(null\)\s+x$/);
    const j = await runCli(['sql', '--json', "select null::text as n, '' as e"], env());
    expect(JSON.parse(j.stdout.trim())).toEqual({ n: null, e: '' });
  });

  it('cannot write, whatever the statements try', async () => {
    const before = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.audit_log');
    const attempts = [
      "insert into archive.audit_log (actor, action) values ('x', 'y')",
      "commit; insert into archive.audit_log (actor, action) values ('x', 'y')",
      "set transaction read write; insert into archive.audit_log (actor, action) values ('x', 'y')",
      "rollback; begin; insert into archive.audit_log (actor, action) values ('x', 'y'); commit",
    ];
    for (const sql of attempts) {
      const r = await runCli(['sql', sql], env());
      expect(r.code, sql).toBe(2);
      expect(r.stderr, sql).toMatch(/read-only transaction|read-write mode/);
    }
    const after = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.audit_log');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('names the failing statement and exits 2', async () => {
    const r = await runCli(['sql', 'select 1; select no_such_column from sync_windows'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/query failed \(statement 2 of 2\): column "no_such_column" does not exist/);
  });
});

describe('status', () => {
  it('--json is one object with every named section', async () => {
    await harness.db.pool.query(`UPDATE archive.sync_units SET failures = 2, last_error = 'ZOOM_SERVER_ERROR: test' WHERE session_id = (SELECT min(session_id) FROM archive.sync_units)`);
    const r = await runCli(['status', '--json'], env());
    expect([0, 3]).toContain(r.code);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(['format_version', 'generated_at', 'last_sync', 'horizon', 'windows', 'totals', 'failing_units', 'legal_hold', 'files', 'exports', 'jobs', 'locks', 'sync_cost', 'audit']);
    expect(report).toMatchObject({
      format_version: 1,
      last_sync: { last_finished: { outcome: 'complete', age_seconds: expect.any(Number) }, last_complete: { outcome: 'complete' }, running: null },
      totals: { sessions: 8, versions: expect.any(Number), messages: expect.any(Number) },
      failing_units: { count: expect.any(Number), items: expect.arrayContaining([expect.objectContaining({ last_error: 'ZOOM_SERVER_ERROR: test', failures: 2 })]) },
      legal_hold: { files: { pending: 0, ready: 0, downloading: 0, stored: 0, failed: 0 }, not_stored: [] },
      exports: { running: [], failed_last_7_days: 0 },
      // The same shape /v1/status shows.
      sync_cost: { known_sessions: 8, last_day: { calls_by_kind: { backfill: expect.any(Number), listing: expect.any(Number) } }, projected: { recurring_peak: expect.any(Number) }, warnings: [] },
    });
    const text = await runCli(['status'], env());
    for (const heading of ['Last sync', 'Horizon', 'Totals', 'Failing session windows', 'Legal hold', 'Exports', 'Sync cost']) expect(text.stdout).toContain(heading);
    expect(text.stdout).toMatch(/pass #\d+ \(incremental\) finished complete, \d+ s ago/);
  });
});

describe('db url', () => {
  it('prints DATABASE_URL with its password masked unless asked', async () => {
    const url = 'postgres://archiver:s3cret@db.internal:5432/zoom_archive';
    expect((await runCli(['db', 'url'], { DATABASE_URL: url })).stdout.trim()).toBe('postgres://archiver:***@db.internal:5432/zoom_archive');
    expect((await runCli(['db', 'url', '--show-password'], { DATABASE_URL: url })).stdout.trim()).toBe(url);
  });

  it('starts the embedded PostgreSQL for psql and BI tools, leaves it running, and `db stop` ends it', async () => {
    const dataDir = tempDir();
    const r = await runCli(['db', 'url'], { ARCHIVE_DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    const url = r.stdout.trim();
    expect(url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/zoom_chat_archiver$/);
    expect(r.stderr).toMatch(/keeps running for your tools/);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const res = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM public.sync_windows');
      expect(res.rows[0]?.n).toBe(0);
    } finally {
      await client.end();
    }
    const stop = await runCli(['db', 'stop'], { ARCHIVE_DATA_DIR: dataDir });
    expect(stop.stdout).toMatch(/stopped the embedded PostgreSQL/);
    const after = new pg.Client({ connectionString: url });
    await expect(after.connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('ARCHIVE_DATA_DIR that cannot be used', () => {
  it.each([
    ['a file', () => {
      const file = path.join(tempDir(), 'not-a-folder');
      writeFileSync(file, 'x');
      return file;
    }, /exists but is a file, not a folder/],
    ['under a file', () => {
      const file = path.join(tempDir(), 'file');
      writeFileSync(file, 'x');
      return path.join(file, 'data');
    }, /a part of the path is a file/],
    ['under /sys', () => '/sys/zoom-chat-archiver-test', /does not allow creating files there/],
  ])('%s: one line naming the folder and the problem, exit 2', async (_what, make, problem) => {
    const dir = make();
    for (const args of [['status'], ['serve', '--no-jobs', '--embedded-database']]) {
      const r = await runCli(args, { ARCHIVE_DATA_DIR: dir, HTTP_PORT: '0' });
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`ARCHIVE_DATA_DIR ${dir} cannot be used`);
      expect(lines[0]).toMatch(problem);
    }
  });
});

describe('simulator --help', () => {
  it('prints every flag and exits 0', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await runCli(['simulator', flag], {});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: zoom-chat-archiver simulator \[options\]/);
      for (const option of ['--port', '--sessions', '--messages', '--seed', '--quirks', '--rate-medium', '--latency-ms', '--record-requests']) expect(r.stdout).toContain(option);
    }
  });
});
