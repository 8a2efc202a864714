import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness, type SyncHarness, expectArchiveExact } from '../helpers/sync-harness.js';
import { getJson, loadRuns, overlappingRuns, serviceEnv, serviceProcesses, waitFor } from './service-process.js';

// The service as real processes against the simulator (over HTTP) and a real PostgreSQL: schedules,
// no overlap within a process, one runner per job across processes, SIGKILL take-over, SIGTERM.
// What is real: PostgreSQL, the simulator, the CLI process, node-cron, the wall clock.

const fixture = serviceProcesses();

async function storedPages(h: SyncHarness): Promise<number> {
  const r = await h.db.pool.query<{ pages: number }>('SELECT coalesce(sum(pages_fetched), 0)::int AS pages FROM archive.sync_units');
  return r.rows[0]?.pages ?? 0;
}

describe('serve: scheduled jobs', () => {
  it('fires each schedule, records every run, and never overlaps a job with itself', async () => {
    const clock = new ManualClock(new Date());
    // Slow enough that one sync outlasts several one-second ticks.
    const harness = (fixture.harness = await startSyncHarness({ dataset: generateDataset({ seed: 31, now: clock.now(), sessions: 12, totalMessages: 1500 }), clock, simulator: { latencyMs: 40 } }));
    const env = serviceEnv(harness, { SCHEDULE_SYNC: '* * * * * *', SCHEDULE_HORIZON_CHECK: '* * * * * *', SYNC_CONCURRENCY: '2' });
    const service = await fixture.start(env, ['--jobs', 'sync,horizon-check']);

    const db = harness.db;
    await waitFor(async () => (await loadRuns(db, 'sync')).filter((r) => r.outcome === 'succeeded').length >= 3, 40_000, 'three successful sync runs');
    await waitFor(async () => (await loadRuns(db, 'horizon-check')).filter((r) => r.outcome === 'succeeded' && r.figures?.['trigger'] === 'schedule').length >= 3, 10_000, 'scheduled horizon checks');

    const runs = await loadRuns(db);
    expect(overlappingRuns(runs)).toEqual([]);
    const syncRuns = runs.filter((r) => r.job === 'sync' && r.outcome !== 'running');
    expect(syncRuns.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(runs.every((r) => r.instance.endsWith(`:${service.pid}`))).toBe(true);
    // Every run carries its figures; the first one archived everything.
    const first = syncRuns[0]!;
    expect(first.figures).toMatchObject({ syncOutcome: 'complete', unitsFailed: 0, listingFailures: 0 });
    expect(Number(first.figures?.['versionsAdded'])).toBeGreaterThan(0);
    expect(typeof first.figures?.['syncRunId']).toBe('number');
    // Ticks that came while a sync was running were dropped, not queued or run alongside.
    const metrics = await getJson<string>(`${service.url}/metrics`);
    const overlapped = /zca_job_ticks_overlapped_total\{job="sync"\} (\d+)/.exec(metrics.body);
    expect(Number(overlapped?.[1] ?? 0)).toBeGreaterThan(0);

    const stopped = await service.stop('SIGTERM');
    expect(stopped.code, stopped.stderr.slice(-2000)).toBe(0);
    await expectArchiveExact(harness);
    // Nothing was left looking like it is still running.
    expect((await loadRuns(db)).filter((r) => r.outcome === 'running')).toEqual([]);
  });

  it('runs a job on one replica at a time, and another replica takes over when one is killed mid-job', async () => {
    const clock = new ManualClock(new Date());
    const harness = (fixture.harness = await startSyncHarness({ dataset: generateDataset({ seed: 32, now: clock.now(), sessions: 24, totalMessages: 4000 }), clock, simulator: { latencyMs: 25 } }));
    const env = serviceEnv(harness, { SCHEDULE_SYNC: '* * * * * *', SCHEDULE_HORIZON_CHECK: '* * * * * *', SYNC_CONCURRENCY: '2' });
    const [a, b] = await Promise.all([fixture.start(env, ['--jobs', 'sync,horizon-check']), fixture.start(env, ['--jobs', 'sync,horizon-check'])]);
    const byPid = new Map([a, b].map((p) => [String(p.pid), p]));
    const db = harness.db;

    // Wait for a sync in progress with some pages stored, and for the other replica to have skipped a tick.
    const running = await waitFor(
      async () => {
        const runs = await loadRuns(db, 'sync');
        const current = runs.find((r) => r.outcome === 'running');
        return current && runs.some((r) => r.outcome === 'skipped') && (await storedPages(harness!)) >= 15 ? current : undefined;
      },
      30_000,
      'a sync running on one replica while the other skips',
    );
    const victimPid = running.instance.split(':').pop()!;
    const victim = byPid.get(victimPid)!;
    const survivor = victim === a ? b : a;
    victim.kill('SIGKILL');
    expect((await victim.result).signal).toBe('SIGKILL');

    // The survivor takes the job's lock at its next tick, closes the dead run and completes the archive.
    const takeover = await waitFor(
      async () => (await loadRuns(db, 'sync')).find((r) => r.id > running.id && r.outcome === 'succeeded' && r.instance.endsWith(`:${survivor.pid}`)),
      40_000,
      'a successful sync on the surviving replica',
    );
    const runs = await loadRuns(db);
    const dead = runs.find((r) => r.id === running.id)!;
    expect(dead.outcome).toBe('aborted');
    expect(dead.error).toMatch(/process ended or lost the job's lock before the run finished/);
    expect(dead.finishedMs).not.toBeNull();
    expect(takeover.startedMs).toBeGreaterThanOrEqual(dead.finishedMs!);
    // Both replicas ran jobs, skipped ticks are recorded, and no job ever ran twice at once.
    expect(runs.some((r) => r.outcome === 'skipped' && r.error?.includes('another process holds this job'))).toBe(true);
    expect(new Set(runs.filter((r) => r.outcome !== 'skipped').map((r) => r.instance)).size).toBe(2);
    expect(overlappingRuns(runs)).toEqual([]);
    await expectArchiveExact(harness);
    expect((await survivor.stop('SIGTERM')).code).toBe(0);
  });

  it('stops on SIGTERM within the deadline, aborting the sync in flight; a second signal exits at once; the archive stays exact', async () => {
    const clock = new ManualClock(new Date());
    const harness = (fixture.harness = await startSyncHarness({ dataset: generateDataset({ seed: 33, now: clock.now(), sessions: 30, totalMessages: 6000 }), clock, simulator: { latencyMs: 30 } }));
    const db = harness.db;

    // 1. A second signal exits at once, whatever the deadline.
    const first = await fixture.start(serviceEnv(harness, { SHUTDOWN_TIMEOUT_MS: '60000', SYNC_CONCURRENCY: '2' }), ['--jobs', 'sync']);
    await waitFor(async () => (await storedPages(harness!)) >= 10, 20_000, 'pages stored by the catch-up sync');
    first.kill('SIGTERM');
    await first.waitForLog((l) => l.msg.startsWith('shutting down: waiting for work in flight'));
    const t0 = Date.now();
    first.kill('SIGTERM');
    const forced = await first.result;
    expect(forced.code).toBe(130);
    expect(Date.now() - t0).toBeLessThan(3_000);

    // 2. One SIGTERM: in-flight work gets SHUTDOWN_TIMEOUT_MS, then it is aborted; the process exits 0.
    const pagesBefore = await storedPages(harness);
    const second = await fixture.start(serviceEnv(harness, { SHUTDOWN_TIMEOUT_MS: '1000', SYNC_CONCURRENCY: '2' }), ['--jobs', 'sync']);
    await waitFor(async () => (await storedPages(harness!)) >= pagesBefore + 10, 20_000, 'pages stored by the second process');
    const t1 = Date.now();
    const stopped = await second.stop('SIGTERM');
    const elapsedMs = Date.now() - t1;
    expect(stopped.code, stopped.stderr.slice(-2000)).toBe(0);
    expect(elapsedMs).toBeLessThan(1000 + 5000);
    expect(second.logs.some((l) => l.msg.startsWith('shutdown deadline reached: aborting work in flight'))).toBe(true);

    const runs = await loadRuns(db, 'sync');
    // The force-exited process left its run 'running' (it had no time to record anything); the
    // second process closed it as aborted when it took the job, and its own run ended aborted.
    expect(runs.map((r) => r.outcome)).toEqual(['aborted', 'aborted']);
    expect(runs[1]!.error).toMatch(/shutdown deadline/);
    const syncRuns = await db.pool.query<{ outcome: string }>('SELECT outcome FROM public.sync_runs ORDER BY run_id');
    expect(syncRuns.rows.map((r) => r.outcome)).toEqual(['aborted', 'aborted']);

    // Nothing half-written: the next pass resumes and the archive is exact.
    const summary = await harness.sync();
    expect(summary.outcome).toBe('complete');
    await expectArchiveExact(harness);
  });
});
