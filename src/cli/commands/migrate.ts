import { migrationStatus } from '../../db/migrate.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';

/** Applies pending migrations (opening the database does it, under an advisory lock) and reports. */
export async function migrateCommand(ctx: CommandContext): Promise<ExitCode> {
  const database = await ctx.openDatabase({ poolSize: 2 });
  const status = await migrationStatus(database.pool);
  process.stdout.write(`database ${database.displayUrl}: ${status.applied} migration(s) applied, ${status.pending} pending\n`);
  return EXIT.OK;
}
