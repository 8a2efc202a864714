import { redactDatabaseUrl, type Config } from '../config/config.js';
import { DatabaseError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { configureAdvisoryLocks } from './advisory-lock.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { runMigrations } from './migrate.js';
import { normaliseSslMode, tlsHint } from './tls.js';
import { createPool, type Pool } from './pool.js';

export interface Database {
  pool: Pool;
  /** The connection URL, password included: never log it (`db url` prints it on request). */
  url: string;
  /** The connection URL with its password masked. */
  displayUrl: string;
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'embeddedPostgresPort'> & Partial<Pick<Config, 'lockHeartbeatMs'>>;
  logger: Logger;
  /** Apply pending migrations (under an advisory lock) before handing the database out. Default true. */
  migrate?: boolean;
  poolSize?: number;
  /** An embedded server this opens stays running after close (`db url`). */
  keepEmbeddedRunning?: boolean;
}

/**
 * DATABASE_URL when set, else the embedded PostgreSQL under ARCHIVE_DATA_DIR. Every command that
 * touches the database goes through here, so migrations always run first.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { config, logger } = options;
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort, logger, keepRunning: options.keepEmbeddedRunning === true });
    url = embedded.url;
  }
  const tls = normaliseSslMode(url);
  if (tls.note) logger.warn({ sslmode: 'verify-full' }, tls.note);
  url = tls.url;
  const pool = createPool({ connectionString: url, max: options.poolSize ?? 10 });
  if (config.lockHeartbeatMs !== undefined) configureAdvisoryLocks(pool, { heartbeatMs: config.lockHeartbeatMs });
  const displayUrl = redactDatabaseUrl(url);
  const close = async () => {
    await pool.end().catch(() => undefined);
    await embedded?.stop();
  };
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await close();
    const hint = tlsHint(err);
    throw new DatabaseError('DATABASE_UNAVAILABLE', `cannot connect to PostgreSQL at ${displayUrl}: ${(err as Error).message}${hint ? `; ${hint}` : ''}`, { cause: err });
  }
  try {
    if (options.migrate !== false) await runMigrations(pool, logger);
  } catch (err) {
    await close();
    throw err;
  }
  return { pool, url, displayUrl, embedded: embedded !== undefined, close };
}
