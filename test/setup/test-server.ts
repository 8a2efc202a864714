import pg from 'pg';

/**
 * Which PostgreSQL server the tests use, in this order: TEST_DATABASE_URL when given; a throwaway
 * container from testcontainers when a Docker engine answers; else the local server on
 * 127.0.0.1:5432 (trust auth, user postgres). The run prints which one it chose.
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
  if (await canConnect(LOCAL_URL)) {
    return { adminUrl: LOCAL_URL, source: `the local server (${LOCAL_URL}; no TEST_DATABASE_URL, no Docker engine)`, stop: async () => undefined };
  }
  throw new Error(
    'no PostgreSQL for the tests: set TEST_DATABASE_URL, start a Docker engine, or start the local server ' +
      "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)",
  );
}

export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
