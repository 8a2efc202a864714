import { describe, expect, it } from 'vitest';
import { closeAbandonedRuns, finishRun, startRun } from '../../src/archive/run-store.js';
import { isTransientConflict, retryTransientConflicts, SqlParams } from '../../src/archive/sql-values.js';
import { useTestDatabase } from '../helpers/database.js';

// sync_runs bookkeeping (run-store.ts) and the parameter builder and conflict retry every page
// write uses (sql-values.ts).

const db = useTestDatabase();

interface RunRow {
  mode: string;
  outcome: string;
  horizon_start: string;
  horizon_end: string;
  started_at: Date;
  finished_at: Date | null;
  api_calls: number;
  units_attempted: number;
  units_failed: number;
  versions_seen: number;
  versions_added: number;
  error: string | null;
  calls: unknown;
  reads: unknown;
  sessions_new: number;
  listing_misses: number;
}

async function run(id: number): Promise<RunRow> {
  const res = await db.pool.query<RunRow>(
    `SELECT mode, outcome, horizon_start::text, horizon_end::text, started_at, finished_at, api_calls, units_attempted, units_failed, versions_seen, versions_added, error, calls, reads, sessions_new, listing_misses FROM archive.sync_runs WHERE id = $1`,
    [id],
  );
  return res.rows[0]!;
}

describe('run store', () => {
  it('starts a run (running, with its mode, horizon and start time) and finishes it with every total', async () => {
    const startedAt = new Date('2026-11-21T10:00:00.000Z');
    const id = await startRun(db.pool, { mode: 'all', horizonStart: '2026-05-22', horizonEnd: '2026-11-21', startedAt });
    const other = await startRun(db.pool, { mode: 'incremental', horizonStart: '2026-05-22', horizonEnd: '2026-11-21', startedAt });
    expect(other).toBeGreaterThan(id);
    expect(await run(id)).toMatchObject({ mode: 'all', outcome: 'running', horizon_start: '2026-05-22', horizon_end: '2026-11-21', started_at: startedAt, finished_at: null });

    const finishedAt = new Date('2026-11-21T10:05:00.000Z');
    await finishRun(db.pool, id, {
      outcome: 'incomplete',
      finishedAt,
      apiCalls: 17,
      calls: { listing: 3, backfill: 14 },
      reads: { backfill: 5 },
      sessionsNew: 4,
      listingMisses: 2,
      unitsAttempted: 6,
      unitsFailed: 1,
      versionsSeen: 90,
      versionsAdded: 80,
      error: '0 listing(s) and 1 session window(s) failed',
    });
    expect(await run(id)).toEqual({
      mode: 'all',
      outcome: 'incomplete',
      horizon_start: '2026-05-22',
      horizon_end: '2026-11-21',
      started_at: startedAt,
      finished_at: finishedAt,
      api_calls: 17,
      units_attempted: 6,
      units_failed: 1,
      versions_seen: 90,
      versions_added: 80,
      error: '0 listing(s) and 1 session window(s) failed',
      calls: { listing: 3, backfill: 14 },
      reads: { backfill: 5 },
      sessions_new: 4,
      listing_misses: 2,
    });
    // Only that run.
    expect((await run(other)).outcome).toBe('running');
  });

  it('closes runs left running as aborted, keeping an error they already had, and counts them', async () => {
    await db.pool.query(`UPDATE archive.sync_runs SET outcome = 'aborted', finished_at = now() WHERE outcome = 'running'`);
    const base = { mode: 'incremental' as const, horizonStart: '2026-05-22', horizonEnd: '2026-11-21', startedAt: new Date() };
    const a = await startRun(db.pool, base);
    const b = await startRun(db.pool, base);
    const done = await startRun(db.pool, base);
    await finishRun(db.pool, done, { outcome: 'complete', finishedAt: new Date(), apiCalls: 0, calls: {}, reads: {}, sessionsNew: 0, listingMisses: 0, unitsAttempted: 0, unitsFailed: 0, versionsSeen: 0, versionsAdded: 0, error: null });
    await db.pool.query(`UPDATE archive.sync_runs SET error = 'earlier note' WHERE id = $1`, [b]);

    expect(await closeAbandonedRuns(db.pool)).toBe(2);
    const ra = await run(a);
    expect(ra.outcome).toBe('aborted');
    expect(ra.finished_at).toBeInstanceOf(Date);
    expect(ra.error).toBe('the process ended before the run finished (killed or crashed); its progress was kept');
    expect((await run(b)).error).toBe('earlier note');
    expect(await run(done)).toMatchObject({ outcome: 'complete', error: null });
    expect(await closeAbandonedRuns(db.pool)).toBe(0);
  });
});

describe('SqlParams', () => {
  it('numbers parameters in order of use', () => {
    const p = new SqlParams();
    expect(p.add('a')).toBe('$1');
    expect(p.add(2)).toBe('$2');
    expect(p.values).toEqual(['a', 2]);
  });

  it('adds a named parameter once, on first use', () => {
    const p = new SqlParams();
    p.add('x');
    expect(p.named$('fence', 'f1')).toBe('$2');
    expect(p.named$('fence', 'ignored')).toBe('$2');
    expect(p.named$('run', 7)).toBe('$3');
    expect(p.values).toEqual(['x', 'f1', 7]);
  });

  it('writes VALUES rows with a cast per column, text where none is given', () => {
    const p = new SqlParams();
    const sql = p.rows(
      [
        ['s1', { a: 1 }, 3],
        ['s2', { b: 2 }, 4],
      ],
      ['text', 'jsonb'],
    );
    expect(sql).toBe('($1::text, $2::jsonb, $3::text),\n($4::text, $5::jsonb, $6::text)');
    expect(p.values).toEqual(['s1', { a: 1 }, 3, 's2', { b: 2 }, 4]);
  });

  it('the rows run as SQL', async () => {
    const p = new SqlParams();
    const values = p.rows([['a', '1'], ['b', '2']], ['text', 'int']);
    const res = await db.pool.query<{ k: string; n: number }>(`SELECT k, n FROM (VALUES ${values}) AS v(k, n) ORDER BY k`, p.values);
    expect(res.rows).toEqual([{ k: 'a', n: 1 }, { k: 'b', n: 2 }]);
  });
});

describe('transient conflicts', () => {
  it('are deadlocks and serialization failures only', () => {
    expect(isTransientConflict({ code: '40P01' })).toBe(true);
    expect(isTransientConflict({ code: '40001' })).toBe(true);
    expect(isTransientConflict({ code: '23505' })).toBe(false);
    expect(isTransientConflict(new Error('x'))).toBe(false);
    expect(isTransientConflict(null)).toBe(false);
  });

  /** A task that throws an error with PostgreSQL's `code` on its first `failures` calls and then returns 'done'; counts its calls. */
  function failing(code: string, message: string, failures = Infinity) {
    const task = {
      calls: 0,
      run: async () => {
        task.calls++;
        if (task.calls <= failures) throw Object.assign(new Error(message), { code });
        return 'done';
      },
    };
    return task;
  }

  it('are retried up to the attempts given, other errors not at all', async () => {
    const deadlockedTwice = failing('40P01', 'deadlock', 2);
    await expect(retryTransientConflicts(deadlockedTwice.run)).resolves.toBe('done');
    expect(deadlockedTwice.calls).toBe(3);

    const serialization = failing('40001', 'serialization');
    await expect(retryTransientConflicts(serialization.run, 2)).rejects.toThrow('serialization');
    expect(serialization.calls).toBe(2);

    const unique = failing('23505', 'unique');
    await expect(retryTransientConflicts(unique.run)).rejects.toThrow('unique');
    expect(unique.calls).toBe(1);

    const deadlocked = failing('40P01', 'deadlock');
    await expect(retryTransientConflicts(deadlocked.run)).rejects.toThrow('deadlock');
    expect(deadlocked.calls).toBe(5);
  });
});
