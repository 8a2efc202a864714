import type { Command } from 'commander';
import { requireZoomCredentials } from '../../config/config.js';
import { ConfigError, InputError } from '../../errors.js';
import { JOB_NAMES, type JobName } from '../../service/jobs.js';
import { startService, type RunningService } from '../../service/service.js';
import { systemClock } from '../../util/clock.js';
import { ensureDataDir } from '../../util/data-dir.js';
import type { CommandContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { runCommand as run } from '../run-command.js';
import { registerTokenCommands } from './token.js';

/**
 * `zoom-chat-archiver serve`: the long-running service (scheduler + HTTP API), and `token …` for
 * its API tokens. This is the service's composition root: configuration, logger and signals come
 * from the command context; the pool is opened (and migrated, under a lock) here; everything else is
 * built by startService from what it is handed.
 *
 * Exit codes: 0 after a graceful stop on SIGTERM/SIGINT (also when work in flight was aborted at the
 * deadline: it resumes on the next run); 1 when aborted work did not stop within the grace; 2 bad
 * configuration (including a port already in use, and no DATABASE_URL without --embedded-database);
 * 130 on a second signal (immediate exit).
 */

/**
 * The jobs' pool: the lanes of whichever Zoom job runs (the sync's, or the file capture's, each
 * download holding its file's lock on one connection and writing on another: they take turns),
 * plus a connection per job lock, the Zoom-turn lock, the sync engine's own lock, and exports
 * started over HTTP. (The HTTP API's queries have their own pool.)
 */
const EXTRA_CONNECTIONS = 12;

export function registerServiceCommands(program: Command): void {
  program
    .command('serve')
    .description('run the service: scheduled jobs (sync, deep sync, legal hold, horizon check) and the HTTP API; SIGTERM/SIGINT stops it gracefully')
    .option('--jobs <names>', `the scheduled jobs this replica runs, comma-separated: ${JOB_NAMES.join(', ')} (default: all)`, 'all')
    .option('--no-jobs', 'serve the HTTP API only and run no scheduled jobs (an API-only replica)')
    .option('--embedded-database', 'run on the embedded PostgreSQL under ARCHIVE_DATA_DIR when DATABASE_URL is not set (also ALLOW_EMBEDDED_DATABASE=true); refused otherwise')
    .action((opts: ServeOptions) => run((ctx) => serveCommand(ctx, opts)));
  registerTokenCommands(program);
}

/** `all`, a comma-separated list, or false (--no-jobs); unknown names are a usage error. */
export function parseJobSelection(value: string | false): JobName[] {
  if (value === false) return [];
  const names = value.split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 1 && names[0] === 'all') return [...JOB_NAMES];
  const unknown = names.filter((n) => !(JOB_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new InputError(`--jobs takes all or a comma-separated list of ${JOB_NAMES.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''} (or --no-jobs for an API-only replica)`, 'jobs');
  }
  return [...new Set(names)] as JobName[];
}

interface ServeOptions {
  jobs: string | false;
  embeddedDatabase?: boolean;
}

/**
 * Without DATABASE_URL every command falls back to the embedded PostgreSQL. For the service that is
 * almost always a mistake (a container whose secret did not arrive would archive into its own
 * throwaway volume), so it has to be asked for.
 */
export function requireServiceDatabase(config: Pick<CommandContext['config'], 'databaseUrl' | 'allowEmbeddedDatabase' | 'dataDir'>, embeddedFlag: boolean): void {
  if (config.databaseUrl !== undefined || config.allowEmbeddedDatabase || embeddedFlag) return;
  throw new ConfigError([
    {
      variable: 'DATABASE_URL',
      message: `serve needs a PostgreSQL: set DATABASE_URL (or DATABASE_URL_FILE). To run the service on the embedded PostgreSQL under ${config.dataDir} anyway (one machine, trying it out), pass --embedded-database or set ALLOW_EMBEDDED_DATABASE=true`,
    },
  ]);
}

async function serveCommand(ctx: CommandContext, opts: ServeOptions): Promise<ExitCode> {
  const { config, logger } = ctx;
  const jobs = parseJobSelection(opts.jobs);
  requireServiceDatabase(config, opts.embeddedDatabase === true);
  // Exports and legal-hold zips go there: say now if they cannot, not at the first download.
  await ensureDataDir(config.dataDir);
  // The jobs call Zoom: say now, before anything starts, which credentials are missing.
  if (jobs.some((j) => j !== 'horizon-check')) requireZoomCredentials(config);
  const database = await ctx.openDatabase({ poolSize: Math.max(config.sync.concurrency, 2 * config.files.concurrency) + EXTRA_CONNECTIONS });
  let service: RunningService;
  try {
    service = await startService({ config, pool: database.pool, logger, clock: systemClock, runJobs: jobs });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EADDRINUSE' || (err as { code?: unknown }).code === 'EACCES') {
      throw new ConfigError([{ variable: 'HTTP_PORT', message: `cannot listen on ${config.service.httpHost}:${config.service.httpPort} (${String((err as { code?: unknown }).code)}): choose another port or stop what uses it` }]);
    }
    throw err;
  }
  logger.info(
    { url: service.url, host: config.service.httpHost, port: service.port, jobs: service.jobs.filter((j) => jobs.includes(j.name)).map((j) => `${j.name} (${j.schedule})`), database: database.displayUrl },
    `listening on ${service.url}`,
  );
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const report = await service.stop();
  if (report.stuck.length > 0) {
    // Closing the pool could wait on the stuck work forever; it has been aborted, and every write is atomic.
    setTimeout(() => process.exit(EXIT.FAILURE), 5_000).unref();
    return EXIT.FAILURE;
  }
  return EXIT.OK;
}
