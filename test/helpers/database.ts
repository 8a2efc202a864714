import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPool, type Pool } from '../../src/db/pool.js';
import { withDatabase } from '../setup/test-server.js';

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  /** Closes the pool; the database itself is dropped when the run ends. */
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
  return { name, url, pool, close: () => pool.end() };
}
