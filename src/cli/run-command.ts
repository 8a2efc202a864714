import { ArchiverError, ConfigError, InputError } from '../errors.js';
import { createCommandContext, type CommandContext } from './context.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/**
 * Runs one command: builds the context (configuration, logger, signals, database on demand), maps
 * the command's outcome or error to an exit code, closes everything, exits.
 */

function reportError(err: unknown, ctx: CommandContext | undefined): ExitCode {
  if (err instanceof ConfigError || err instanceof InputError) {
    process.stderr.write(`zoom-chat-archiver: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof ArchiverError) {
    // A folder that cannot be used is a configuration problem: one line, exit 2, nothing was done.
    if (err.code === 'DATA_DIR_UNUSABLE') {
      process.stderr.write(`zoom-chat-archiver: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err.code === 'SYNC_ALREADY_RUNNING') {
      process.stderr.write(`zoom-chat-archiver: ${err.message}\n`);
      return EXIT.BUSY;
    }
    if (err.code === 'ABORTED' || ctx?.signal.aborted) {
      process.stderr.write('zoom-chat-archiver: stopped by a signal; everything stored so far is kept and the next run continues from there\n');
      return EXIT.INTERRUPTED;
    }
    ctx?.logger.debug({ err }, 'command failed');
    process.stderr.write(`zoom-chat-archiver: ${err.code}: ${err.message}\n`);
    return EXIT.FAILURE;
  }
  if (ctx?.signal.aborted) return EXIT.INTERRUPTED;
  if (ctx) ctx.logger.error({ err }, 'command failed unexpectedly');
  else process.stderr.write(`zoom-chat-archiver: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.FAILURE;
}

export async function runCommand(action: (ctx: CommandContext) => Promise<ExitCode>): Promise<void> {
  let ctx: CommandContext | undefined;
  let code: ExitCode;
  try {
    ctx = createCommandContext();
    code = await action(ctx);
  } catch (err) {
    code = reportError(err, ctx);
  }
  await ctx?.close();
  process.exit(code);
}
