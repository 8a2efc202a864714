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
  await dropAbandonedDatabases(admin);
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

/** A run id starts with its start time in base 36 (8 digits until 2059). */
const RUN_DATABASE = /^zca_(?:t|tpl)_([0-9a-z]{8})/;
const ABANDONED_AFTER_MS = 24 * 60 * 60_000;

/**
 * Databases of runs that never reached their teardown (a run killed mid-way, StrykerJS's test
 * workers, which are stopped rather than torn down) would pile up on a shared server: those of runs
 * started over a day ago are dropped. A run in progress is never that old.
 */
async function dropAbandonedDatabases(admin: pg.Client): Promise<void> {
  const res = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'zca\\_t%'`);
  for (const { datname } of res.rows) {
    const started = RUN_DATABASE.exec(datname)?.[1];
    if (started === undefined || Date.now() - parseInt(started, 36) < ABANDONED_AFTER_MS) continue;
    await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}
