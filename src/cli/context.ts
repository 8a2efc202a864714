import { loadConfig, requireZoomCredentials, type Config } from '../config/config.js';
import { openDatabase, type Database } from '../db/database.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { stderrTerminal } from '../logging/terminal.js';
import { systemClock } from '../util/clock.js';
import { ZoomClient } from '../zoom/client.js';
import { installShutdownSignals } from './signals.js';

/**
 * What every command starts from: configuration parsed once, the root logger, shutdown signals,
 * and (on demand) the database with migrations applied. Resources close in reverse order.
 */
export interface CommandContext {
  config: Readonly<Config>;
  logger: Logger;
  signal: AbortSignal;
  openDatabase(options?: { poolSize?: number; keepEmbeddedRunning?: boolean }): Promise<Database>;
  /**
   * The process's one Zoom client (one rate limiter, one OAuth token), created on first use; fails
   * with a configuration error naming the missing credentials.
   */
  zoom(): ZoomClient;
  close(): Promise<void>;
}

export function createCommandContext(env: NodeJS.ProcessEnv = process.env): CommandContext {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, destination: stderrTerminal });
  const shutdown = installShutdownSignals(logger);
  const closers: Array<() => Promise<void>> = [];
  let zoom: ZoomClient | undefined;
  return {
    config,
    logger,
    signal: shutdown.signal,
    async openDatabase(options) {
      const database = await openDatabase({ config, logger, poolSize: options?.poolSize, keepEmbeddedRunning: options?.keepEmbeddedRunning });
      closers.push(() => database.close());
      return database;
    },
    zoom() {
      if (zoom === undefined) {
        const client = new ZoomClient({ config: config.zoom, credentials: requireZoomCredentials(config), clock: systemClock, logger });
        closers.push(() => client.close());
        zoom = client;
      }
      return zoom;
    },
    async close() {
      for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
      closers.length = 0;
      shutdown.dispose();
    },
  };
}
