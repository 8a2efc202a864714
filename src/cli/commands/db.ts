import { redactDatabaseUrl } from '../../config/config.js';
import { stopRunningEmbeddedPostgres } from '../../db/embedded-postgres.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';

/**
 * `db url`: a connection string for psql, a BI tool or a notebook. Without DATABASE_URL it starts
 * the embedded PostgreSQL under ARCHIVE_DATA_DIR (or finds it running) and leaves it running, since
 * the point is to connect to it; `db stop` stops it again. The embedded server listens on
 * 127.0.0.1 only, and its password lives in ARCHIVE_DATA_DIR/postgres-credentials.json (mode 0600).
 * With DATABASE_URL the URL is shown with its password masked unless --show-password is given (it
 * is the operator's own setting; the flag keeps it out of terminal recordings by default).
 */
export async function dbUrlCommand(ctx: CommandContext, options: { showPassword?: boolean }): Promise<ExitCode> {
  if (ctx.config.databaseUrl !== undefined) {
    process.stdout.write(`${options.showPassword ? ctx.config.databaseUrl : redactDatabaseUrl(ctx.config.databaseUrl)}\n`);
    return EXIT.OK;
  }
  const database = await ctx.openDatabase({ poolSize: 1, keepEmbeddedRunning: true });
  process.stdout.write(`${database.url}\n`);
  process.stderr.write(`zoom-chat-archiver: the embedded PostgreSQL in ${ctx.config.dataDir} keeps running for your tools (127.0.0.1 only); stop it with \`zoom-chat-archiver db stop\`\n`);
  return EXIT.OK;
}

export async function dbStopCommand(ctx: CommandContext): Promise<ExitCode> {
  const stopped = await stopRunningEmbeddedPostgres(ctx.config.dataDir);
  process.stdout.write(stopped ? `stopped the embedded PostgreSQL in ${ctx.config.dataDir}\n` : `no embedded PostgreSQL is running in ${ctx.config.dataDir}\n`);
  return EXIT.OK;
}
