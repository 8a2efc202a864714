import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createSilentLogger } from '../../src/logging/logger.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { resolveTestServer, withDatabase } from './test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testDb: { adminUrl: string; templateDatabase: string; runId: string };
  }
}

/**
 * One server per run; a migrated template database; every test file clones its own database from
 * the template (test/helpers/database.ts). KEEP_TEST_DATABASES=1 keeps them for debugging.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await resolveTestServer();
  console.log(`[tests] PostgreSQL: ${server.source}`);
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const templateDatabase = `zca_tpl_${runId}`;

  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${templateDatabase}`);
  const templatePool = createPool({ connectionString: withDatabase(server.adminUrl, templateDatabase), max: 2 });
  try {
    await runMigrations(templatePool, createSilentLogger());
  } finally {
    await templatePool.end();
  }
  project.provide('testDb', { adminUrl: server.adminUrl, templateDatabase, runId });

  return async () => {
    if (process.env['KEEP_TEST_DATABASES'] !== '1') {
      const res = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`zca_%${runId}%`]);
      for (const { datname } of res.rows) {
        await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
      }
    }
    await admin.end();
    await server.stop();
  };
}
