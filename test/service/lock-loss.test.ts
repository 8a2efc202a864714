import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness, type SyncHarness, expectArchiveExact } from '../helpers/sync-harness.js';
import {
  createTestToken,
  getJson,
  loadRuns,
  overlappingRuns,
  serviceEnv,
  serviceProcesses,
  waitFor,
  type RunInterval,
  type ServiceProcess,
} from './service-process.js';

// Two replicas (real `serve` processes) whose lock connections die under them, as in the report
// that found the bug: the server's idle_session_timeout, and pg_terminate_backend on the backends
// holding the job's locks. What is real: PostgreSQL, the simulator, the processes, the wall clock.

const fixture = serviceProcesses();

async function admin(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: inject('testDb').adminUrl });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function syncPasses(h: SyncHarness): Promise<RunInterval[]> {
  const res = await h.db.pool.query<{ id: number; outcome: string; started_at: Date; finished_at: Date | null; error: string | null }>(
    'SELECT id, outcome, started_at, finished_at, error FROM archive.sync_runs ORDER BY id',
  );
  return res.rows.map((r) => ({ id: r.id, job: 'sync-pass', instance: '', outcome: r.outcome, startedMs: r.started_at.getTime(), finishedMs: r.finished_at?.getTime() ?? null, error: r.error, figures: null }));
}

describe('two replicas whose lock connections die', () => {
  it("never run a job twice at once when the server's idle_session_timeout is shorter than a run", async () => {
    const clock = new ManualClock(new Date());
    // A sync pass of a few seconds: far longer than the 1 s the server lets a session sit idle.
    const harness = (fixture.harness = await startSyncHarness({ dataset: generateDataset({ seed: 41, now: clock.now(), sessions: 16, totalMessages: 2500 }), clock, simulator: { latencyMs: 40 } }));
    await admin(`ALTER DATABASE ${harness.db.name} SET idle_session_timeout = '1s'`);
    const env = serviceEnv(harness, { SCHEDULE_SYNC: '*/2 * * * * *', SYNC_CONCURRENCY: '2', DATABASE_LOCK_HEARTBEAT_MS: '250' });
    const [a, b] = await Promise.all([fixture.start(env, ['--jobs', 'sync']), fixture.start(env, ['--jobs', 'sync'])]);
    const db = harness.db;
    await waitFor(async () => (await loadRuns(db, 'sync')).filter((r) => r.outcome === 'succeeded').length >= 3, 90_000, 'three successful sync runs');
    await Promise.all([a.stop('SIGTERM'), b.stop('SIGTERM')]);

    const runs = await loadRuns(db, 'sync');
    expect(overlappingRuns(runs)).toEqual([]);
    expect(overlappingRuns(await syncPasses(harness))).toEqual([]);
    // No run lost its lock: the lock connections were never cut for idleness.
    expect(runs.filter((r) => /LOCK_LOST|LOCK_SUPERSEDED/.test(r.error ?? ''))).toEqual([]);
    expect(runs.some((r) => r.outcome === 'skipped')).toBe(true);
    await expectArchiveExact(harness);
  });

  it('a run whose lock backends are terminated stops and says why; the other replica then runs the job alone', async () => {
    const clock = new ManualClock(new Date());
    const harness = (fixture.harness = await startSyncHarness({ dataset: generateDataset({ seed: 42, now: clock.now(), sessions: 24, totalMessages: 5000 }), clock, simulator: { latencyMs: 40 } }));
    const env = serviceEnv(harness, { SYNC_CONCURRENCY: '2', DATABASE_LOCK_HEARTBEAT_MS: '250' });
    const [a, b] = await Promise.all([fixture.start(env, ['--jobs', 'sync,deep-sync']), fixture.start(env, ['--jobs', 'sync,deep-sync'])]);
    const db = harness.db;
    const token = await createTestToken(db, 'ops', 'admin');
    // One replica ran the catch-up sync at start (the other skipped it). Then a deep sync (every
    // session over the whole horizon: a few seconds here) on A, as POST /v1/jobs/{job}/run.
    await waitFor(async () => (await loadRuns(db, 'sync')).some((r) => r.outcome === 'succeeded'), 60_000, 'the catch-up sync');
    const trigger = (p: ServiceProcess) => getJson(`${p.url}/v1/jobs/deep-sync/run`, token, { method: 'POST' });
    expect((await trigger(a)).status).toBe(202);
    const victim = await waitFor(
      async () => ((await harness!.db.pool.query('SELECT 1 FROM archive.sync_runs WHERE finished_at IS NULL')).rowCount ? (await loadRuns(db, 'deep-sync')).find((r) => r.outcome === 'running') : undefined),
      20_000,
      'a deep sync running on A',
    );
    expect(victim.instance.endsWith(`:${a.pid}`)).toBe(true);

    const killed = await harness.db.pool.query(
      `SELECT h.name, pg_terminate_backend(h.backend_pid) AS done FROM public.lock_holders h WHERE h.name IN ('job:deep-sync', 'zoom', 'sync')`,
    );
    expect(killed.rows.map((r: { name: string }) => r.name)).toContain('job:deep-sync');
    await a.waitForLog((l) => l.msg === 'job run finished' && l['jobRunId'] === victim.id, 20_000);

    // B can now run the job (a first try may find A's engine still unwinding: skipped, tried again).
    const takeover = await waitFor(
      async () => {
        const mine = (await loadRuns(db, 'deep-sync')).find((r) => r.id > victim.id && r.instance.endsWith(`:${b.pid}`) && r.outcome === 'succeeded');
        if (mine) return mine;
        if (!(await loadRuns(db, 'deep-sync')).some((r) => r.outcome === 'running')) await trigger(b);
        await new Promise((r) => setTimeout(r, 300));
        return undefined;
      },
      60_000,
      'a successful deep sync on B',
    );
    const runs = await loadRuns(db, 'deep-sync');
    const lost = runs.find((r) => r.id === victim.id)!;
    expect(lost.outcome).toBe('aborted');
    expect(lost.error).toMatch(/LOCK_LOST: lost the lock "(job:deep-sync|zoom)"/);
    expect(takeover.startedMs).toBeGreaterThanOrEqual(lost.finishedMs!);
    expect(overlappingRuns(runs)).toEqual([]);
    expect(overlappingRuns(await syncPasses(harness))).toEqual([]);
    expect(a.logs.some((l) => l.msg === 'lost a lock this job run holds; stopping the run before it does more work')).toBe(true);
    // Nothing A wrote after the loss claims success.
    expect(a.logs.filter((l) => l.msg === 'job run finished' && l['jobRunId'] === victim.id).map((l) => l['outcome'])).toEqual(['aborted']);
    await expectArchiveExact(harness);
    const metrics = await getJson<string>(`${a.url}/metrics`);
    expect(metrics.body).toMatch(/zca_lock_lost_total\{lock="(job:deep-sync|zoom)"\} [1-9]/);
  });
});
