import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createPool, type Pool } from '../../src/db/pool.js';
import { withDatabase } from '../setup/test-server.js';

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  /** Closes the pool and drops the database (whatever else is still connected to it). */
  close(): Promise<void>;
}

/** A fresh, migrated database cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(inject('testDb').templateDatabase);
}

/** A fresh database with nothing in it (never migrated), for the migration tests. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase('template0');
}

/**
 * One fresh, migrated database for a whole test file: created before its first test, closed after
 * its last. Call it at the top of the file; the handle reads through to the database once made.
 */
export function useTestDatabase(): TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });
  const made = (): TestDatabase => {
    if (!db) throw new Error('the test database is made in beforeAll: use it inside a hook or a test');
    return db;
  };
  return {
    get name() {
      return made().name;
    },
    get url() {
      return made().url;
    },
    get pool() {
      return made().pool;
    },
    close: () => made().close(),
  };
}

/**
 * Databases a test file makes as its tests need them, fresh (migrated) or empty, every one closed
 * after the file's last test.
 */
export function databasesClosedAfterAll(): { fresh: () => Promise<TestDatabase>; empty: () => Promise<TestDatabase> } {
  const made: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of made) await db.close();
  });
  const keep = (db: TestDatabase): TestDatabase => {
    made.push(db);
    return db;
  };
  return {
    fresh: async () => keep(await createTestDatabase()),
    empty: async () => keep(await createEmptyDatabase()),
  };
}

async function createDatabase(template: string): Promise<TestDatabase> {
  const { adminUrl, runId } = inject('testDb');
  const name = `zca_t_${runId}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        break;
      } catch (err) {
        // Two files cloning the template at the same instant can collide; a short retry settles it.
        if (attempt >= 10 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pool = createPool({ connectionString: url, max: 10 });
  return { name, url, pool, close: () => pool.end().finally(() => dropDatabase(adminUrl, name)) };
}

/**
 * Dropped at once rather than when the run ends: a run that never ends cleanly (StrykerJS stops its
 * workers without a teardown, a killed `vitest`) would otherwise leave one database per test file
 * behind — thousands of them, tens of GB, in one mutation run.
 */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch {
    // The run's teardown (or the next run's set-up) drops what is left.
  } finally {
    await admin.end().catch(() => undefined);
  }
}
