import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, inject } from 'vitest';
import { assertFences, configureAdvisoryLocks } from '../../src/db/advisory-lock.js';
import { createPool, withTransaction, type Pool } from '../../src/db/pool.js';
import { hasCode } from '../../src/errors.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { InFlightWork } from '../../src/service/in-flight-work.js';
import { JobRunner } from '../../src/service/job-runner.js';
import type { JobDefinition, JobRunContext } from '../../src/service/jobs.js';
import { ServiceMetrics } from '../../src/service/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { loadRuns, overlappingRuns } from './service-process.js';

// Two job runners on two pools stand for two replicas; killing the backend that holds a job's lock
// (or the Zoom turn) is what a server restart, a failover, idle_session_timeout or a network cut
// does to it. What is real: PostgreSQL, the runner, the locks and their heartbeats (100 ms).

let db: TestDatabase;
const pools: Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('CREATE TABLE job_effects (replica text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())');
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

afterAll(async () => {
  await db.close();
});

function replica(instance: string): { runner: JobRunner; pool: Pool; metrics: ServiceMetrics } {
  const pool = createPool({ connectionString: db.url, max: 6 });
  configureAdvisoryLocks(pool, { heartbeatMs: 100, holder: instance });
  pools.push(pool);
  const metrics = new ServiceMetrics({ jobNames: ['legal-hold'], lockNames: ['job:legal-hold', 'zoom'] });
  return { runner: new JobRunner({ pool, logger: createSilentLogger(), metrics, inFlight: new InFlightWork(), instance }), pool, metrics };
}

async function terminateHolder(lock: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('testDb').adminUrl });
  await client.connect();
  try {
    const res = await client.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [await holderPid(lock)]);
    expect(res.rows[0]?.done).toBe(true);
  } finally {
    await client.end();
  }
}

async function holderPid(lock: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const res = await db.pool.query<{ backend_pid: number }>('SELECT backend_pid FROM public.lock_holders WHERE name = $1', [lock]);
    if (res.rows[0]) return res.rows[0].backend_pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nobody took ${lock}`);
}

/**
 * A job that writes one fenced row ("it did its work") each time `step` is called, until told to
 * finish; `obeySignal: false` plays a run that does not notice its signal in time.
 */
function steppingJob(options: { usesZoom: boolean; obeySignal: boolean }) {
  let release: (() => void) | undefined;
  let started: (() => void) | undefined;
  const startedPromise = new Promise<void>((r) => (started = r));
  let ctxSeen: JobRunContext | undefined;
  const job: JobDefinition = {
    name: 'legal-hold',
    schedule: '0 0 1 1 *',
    description: 'test job',
    catchUpOnStart: false,
    usesZoom: options.usesZoom,
    async run(ctx) {
      ctxSeen = ctx;
      started?.();
      await new Promise<void>((resolve, reject) => {
        release = resolve;
        if (options.obeySignal) ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
      });
      return { outcome: 'succeeded', figures: {} };
    },
  };
  return {
    job,
    started: startedPromise,
    finish: () => release?.(),
    /** One unit of work as the job would write it: fenced with the run's job-lock fence. */
    write: (replicaName: string) =>
      withTransaction(db.pool, async (client) => {
        await assertFences(client, ctxSeen!.fences);
        await client.query('INSERT INTO job_effects (replica) VALUES ($1)', [replicaName]);
      }),
    signal: () => ctxSeen!.signal,
  };
}

describe('a run whose lock is lost', () => {
  it('stops, is recorded as aborted with the reason, and the other replica runs the job without overlap', async () => {
    const a = replica('replica-a');
    const b = replica('replica-b');
    const jobA = steppingJob({ usesZoom: false, obeySignal: true });
    const runA = a.runner.run(jobA.job, 'manual');
    await jobA.started;
    await jobA.write('a');
    // While A holds the job, B's tick is skipped.
    const jobB = steppingJob({ usesZoom: false, obeySignal: true });
    expect((await b.runner.run(jobB.job, 'schedule')).outcome).toBe('skipped');

    await terminateHolder('job:legal-hold');
    const reportA = await runA;
    expect(reportA.outcome).toBe('aborted');
    expect(reportA.error).toMatch(/^LOCK_LOST: lost the lock "job:legal-hold"/);
    expect(hasCode(jobA.signal().reason, 'LOCK_LOST')).toBe(true);
    // A's own write after the loss is refused once B holds the job.
    const runB = b.runner.run(jobB.job, 'manual');
    await jobB.started;
    const late = await jobA.write('a').catch((err: unknown) => err);
    expect(hasCode(late, 'LOCK_SUPERSEDED')).toBe(true);
    await jobB.write('b');
    jobB.finish();
    expect((await runB).outcome).toBe('succeeded');

    const runs = (await loadRuns(db, 'legal-hold')).filter((r) => r.outcome !== 'skipped');
    expect(runs.map((r) => [r.instance, r.outcome])).toEqual([
      ['replica-a', 'aborted'],
      ['replica-b', 'succeeded'],
    ]);
    expect(runs[0]!.error).toMatch(/LOCK_LOST/);
    expect(overlappingRuns(runs)).toEqual([]);
    expect((await db.pool.query('SELECT replica FROM job_effects ORDER BY at')).rows.map((r: { replica: string }) => r.replica)).toEqual(['a', 'b']);
    expect(await a.metrics.render()).toMatch(/zca_lock_lost_total\{lock="job:legal-hold"\} 1/);
  });

  it('a run that does not stop in time can never record its finish over the new holder\'s record', async () => {
    await db.pool.query('DELETE FROM job_effects');
    const a = replica('replica-a');
    const b = replica('replica-b');
    const jobA = steppingJob({ usesZoom: false, obeySignal: false });
    const runA = a.runner.run(jobA.job, 'manual');
    await jobA.started;
    await terminateHolder('job:legal-hold');
    // B takes the job over (closing A's row as aborted) while A is still "working".
    const jobB = steppingJob({ usesZoom: false, obeySignal: true });
    let reportB;
    for (;;) {
      reportB = b.runner.run(jobB.job, 'manual');
      const raced = await Promise.race([jobB.started.then(() => 'started' as const), reportB.then(() => 'done' as const)]);
      if (raced === 'started') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    jobA.finish();
    const reportA = await runA;
    expect(reportA.outcome).toBe('aborted');
    expect(reportA.error).toMatch(/LOCK_(LOST|SUPERSEDED)/);
    jobB.finish();
    expect((await reportB).outcome).toBe('succeeded');
    const runs = (await loadRuns(db, 'legal-hold')).filter((r) => r.outcome !== 'skipped').slice(-2);
    expect(runs.map((r) => [r.instance, r.outcome])).toEqual([
      ['replica-a', 'aborted'],
      ['replica-b', 'succeeded'],
    ]);
    expect(overlappingRuns(runs)).toEqual([]);
  });

  it('losing the Zoom turn stops a job that calls Zoom', async () => {
    const a = replica('replica-a');
    const job = steppingJob({ usesZoom: true, obeySignal: true });
    const run = a.runner.run(job.job, 'manual');
    await job.started;
    await terminateHolder('zoom');
    const report = await run;
    expect(report.outcome).toBe('aborted');
    expect(report.error).toMatch(/^LOCK_LOST: lost the lock "zoom"/);
    const last = (await loadRuns(db, 'legal-hold')).at(-1)!;
    expect(last.outcome).toBe('aborted');
    expect(last.error).toMatch(/lost the lock "zoom"/);
  });
});
