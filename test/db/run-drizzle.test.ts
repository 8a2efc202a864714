import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishRun, startRun } from '../../src/archive/run-store.js';
import { fencedWriter } from '../../src/db/fenced-writer.js';
import { createPool, runDrizzle, type Pool } from '../../src/db/pool.js';
import { apiTokens } from '../../src/db/schema.js';
import { hasCode } from '../../src/errors.js';
import { findActiveToken, hashToken } from '../../src/service/token-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// Stores build plain queries with drizzle, and their callers branch on what fails: a SQLSTATE,
// a connection error (503 with Retry-After), LOCK_SUPERSEDED from the fenced writer. drizzle wraps
// every failure in a DrizzleQueryError whose message holds the SQL and its parameters; runDrizzle
// hands back the driver's own error instead. What is real: PostgreSQL, the stores, the fenced writer.

let db: TestDatabase;
let nowhere: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  // A port nothing listens on: connecting fails at once.
  nowhere = createPool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
});

afterAll(async () => {
  await db?.close();
  await nowhere?.end();
});

const totals = { outcome: 'complete', finishedAt: new Date(), apiCalls: 0, calls: {}, reads: {}, sessionsNew: 0, listingMisses: 0, unitsAttempted: 0, unitsFailed: 0, versionsSeen: 0, versionsAdded: 0, error: null } as const;

describe('runDrizzle', () => {
  it("fails with PostgreSQL's own error: SQLSTATE and constraint kept, no SQL or parameters in the message", async () => {
    const err = await runDrizzle(db.pool, (orm) =>
      orm.insert(apiTokens).values({ name: 'n', tokenSha256: Buffer.from('secret-hash'), role: 'nobody' as 'reader' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(pg.DatabaseError);
    expect(err).toMatchObject({ code: '23514', constraint: 'api_tokens_role_check' });
    expect((err as Error).message).not.toMatch(/insert into|params|secret/i);
  });

  it("fails with the connection's own error when the database is unreachable (what the API turns into a 503)", async () => {
    const err = await findActiveToken(nowhere, hashToken('zca_x')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect((err as Error).message).not.toMatch(/Failed query|select/i);
  });

  it('passes LOCK_SUPERSEDED through from the fenced writer: a superseded pass cannot finish its run', async () => {
    const fence = async () => (await db.pool.query<{ token: string }>(`SELECT archive.take_fence('run-drizzle-test', 'test')::text AS token`)).rows[0]?.token as string;
    const first = { name: 'run-drizzle-test', token: await fence() };
    const runId = await startRun(fencedWriter(db.pool, [first]), { mode: 'incremental', horizonStart: '2026-01-01', horizonEnd: '2026-06-30', startedAt: new Date() });
    await fence(); // another holder takes the lock over
    const err = await finishRun(fencedWriter(db.pool, [first]), runId, totals).catch((e: unknown) => e);
    expect(hasCode(err, 'LOCK_SUPERSEDED'), String(err)).toBe(true);
    const row = await db.pool.query<{ outcome: string }>('SELECT outcome FROM archive.sync_runs WHERE id = $1', [runId]);
    expect(row.rows[0]?.outcome).toBe('running');
  });
});
