import { afterEach, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { horizonFor, startSyncHarness, type SyncHarness, expectArchiveExact } from '../helpers/sync-harness.js';
import { simulatorEnv } from '../helpers/simulator-env.js';

// The CLI as a real process against the simulator and a real PostgreSQL.
let harness: SyncHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function envFor(h: SyncHarness, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: h.db.url,
    ...simulatorEnv(h.sim),
    ZOOM_RATE_MEDIUM: '2000',
    ...extra,
  };
}

/** `sync` as a child process over an archive large and slow enough (30 sessions, 6,000 messages, 15 ms a call) to stop mid-run. */
async function syncUnderWay(seed: number): Promise<{ h: SyncHarness; child: ReturnType<typeof spawnCli> }> {
  const clock = new ManualClock(new Date());
  const h = await startSyncHarness({
    dataset: generateDataset({ seed, now: clock.now(), sessions: 30, totalMessages: 6000 }),
    clock,
    simulator: { latencyMs: 15 },
  });
  harness = h;
  return { h, child: spawnCli(['sync'], envFor(h, { SYNC_CONCURRENCY: '4' })) };
}

/** Waits until the units hold at least `pages` fetched pages. */
async function pagesStored(h: SyncHarness, pages: number): Promise<void> {
  for (;;) {
    const r = await h.db.pool.query<{ pages: number }>('SELECT coalesce(sum(pages_fetched), 0)::int AS pages FROM archive.sync_units');
    if ((r.rows[0]?.pages ?? 0) >= pages) return;
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe('configuration and environment errors', () => {
  it('names every bad variable and exits 2 without doing anything', async () => {
    const r = await runCli(['sync'], { DATABASE_URL: 'mysql://nope', ZOOM_RATE_MEDIUM: 'fast', SYNC_CONCURRENCY: '-1', ZOOM_CLIENT_SECRET: 'shh-secret' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(r.stderr).toContain('ZOOM_RATE_MEDIUM');
    expect(r.stderr).toContain('SYNC_CONCURRENCY');
    expect(r.stderr).not.toContain('shh-secret');
  });

  it('names the missing Zoom credentials before touching the database', async () => {
    const r = await runCli(['sync'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ZOOM_ACCOUNT_ID[\s\S]*ZOOM_CLIENT_ID[\s\S]*ZOOM_CLIENT_SECRET/);
  });

  it('says clearly when the database cannot be reached', async () => {
    const r = await runCli(['status'], { DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_UNAVAILABLE: cannot connect to PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none/);
    expect(r.stderr).not.toContain(':pw@');
  });

  it('rejects a bad command line with exit 2', async () => {
    const r = await runCli(['sync', '--bogus'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/);
  });
});

describe('sync from the command line', () => {
  it('archives everything, exits 0, and status and sql show it', async () => {
    const clock = new ManualClock(new Date());
    harness = await startSyncHarness({ dataset: generateDataset({ seed: 21, now: clock.now(), sessions: 12, totalMessages: 800 }), clock });
    const r = await runCli(['sync', '--json'], envFor(harness));
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { outcome: string; versionsAdded: number };
    expect(summary.outcome).toBe('complete');
    await expectArchiveExact(harness);

    const status = await runCli(['status', '--json'], envFor(harness));
    expect(status.code, status.stderr).toBe(0);
    const windows = (JSON.parse(status.stdout) as { windows: Array<{ status: string }> }).windows;
    expect(windows.filter((w) => w.status === 'complete').length).toBeGreaterThanOrEqual(5);

    const sql = await runCli(['sql', 'select count(*)::int as n from chat_message_versions', '--json'], envFor(harness));
    expect(sql.code, sql.stderr).toBe(0);
    expect(JSON.parse(sql.stdout)).toEqual({ n: summary.versionsAdded });
    // The sql command is read-only.
    const write = await runCli(['sql', 'delete from archive.sync_runs'], envFor(harness));
    expect(write.code).toBe(2);
    expect(write.stderr).toMatch(/read-only transaction/);
  });

  it('exits 3 and says so when an incomplete window is about to leave the horizon', async () => {
    const clock = new ManualClock(new Date());
    harness = await startSyncHarness({ dataset: generateDataset({ seed: 22, now: clock.now(), sessions: 6, totalMessages: 300 }), clock });
    const { horizonStart } = horizonFor(clock);
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', queryIncludes: { from: horizonStart } }, fault: { kind: 'status', status: 503 }, times: Infinity });
    const r = await runCli(['sync'], envFor(harness, { ZOOM_MAX_RETRIES: '1' }));
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/HORIZON RISK: window \d{4}-\d{2}-01 is incomplete/);
    expect(r.stderr).toMatch(/"level":50.*HORIZON RISK/);
  });

  it('survives SIGKILL mid-run: the next run completes the archive exactly', async () => {
    const { h, child } = await syncUnderWay(23);
    // Kill it once a good share of pages is stored (some units finished, some in flight).
    await pagesStored(h, 40);
    child.kill('SIGKILL');
    const killed = await child.result;
    expect(killed.signal).toBe('SIGKILL');
    const partial = await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.message_versions');
    expect(partial.rows[0]?.n).toBeGreaterThan(0);

    const again = await runCli(['sync', '--json'], envFor(h));
    expect(again.code, again.stderr).toBe(0);
    await expectArchiveExact(h);
    // The killed run is recorded as aborted, not left "running".
    const runs = await h.db.pool.query<{ outcome: string }>('SELECT outcome FROM public.sync_runs ORDER BY run_id');
    expect(runs.rows.map((r) => r.outcome)).toEqual(['aborted', 'complete']);
  });

  it('stops cleanly on SIGTERM, keeping what it stored, and the next run finishes', async () => {
    const { h, child } = await syncUnderWay(24);
    await pagesStored(h, 20);
    child.kill('SIGTERM');
    const stopped = await child.result;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/stopped by a signal/);
    const runs = await h.db.pool.query<{ outcome: string }>('SELECT outcome FROM public.sync_runs');
    expect(runs.rows.map((r) => r.outcome)).toEqual(['aborted']);
    const again = await runCli(['sync'], envFor(h));
    expect(again.code, again.stderr).toBe(0);
    await expectArchiveExact(h);
  });
});
