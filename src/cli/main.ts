import { Command, Option } from 'commander';
import { ArchiverError, ConfigError, InputError } from '../errors.js';
import { createCommandContext, type CommandContext } from './context.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { migrateCommand } from './commands/migrate.js';
import { sqlCommand } from './commands/sql.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { demoCommand } from './commands/demo.js';
import { simulatorCommand } from './commands/simulator.js';
import { VERSION } from '../version.js';

/**
 * The composition root: parses the command line, builds the context (configuration, logger,
 * signals, database on demand), runs one command, maps its outcome or error to an exit code.
 */

function reportError(err: unknown, ctx: CommandContext | undefined): ExitCode {
  if (err instanceof ConfigError || err instanceof InputError) {
    process.stderr.write(`zoom-chat-archiver: ${err.message}\n`);
    return EXIT.USAGE;
  }
  if (err instanceof ArchiverError) {
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

async function run(action: (ctx: CommandContext) => Promise<ExitCode>): Promise<void> {
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

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('zoom-chat-archiver')
    .description('Self-hosted compliance and legal-hold archive for Zoom Team Chat.\nConfiguration comes from the environment (see README, "Configuration").')
    .version(VERSION)
    .showHelpAfterError();

  program
    .command('demo')
    .description('run a full sync of six months of synthetic chat from the built-in Zoom simulator into an embedded PostgreSQL, then show what was archived')
    .addOption(new Option('--sessions <n>', 'chat sessions to generate').default('120'))
    .addOption(new Option('--messages <n>', 'messages to generate in all').default('30000'))
    .option('--data-dir <dir>', 'where the demo archive is kept (default: $ARCHIVE_DATA_DIR/demo)')
    .action((opts: { sessions: string; messages: string; dataDir?: string }) => run((ctx) => demoCommand(ctx, opts)));

  program
    .command('sync')
    .description('run one archive pass: every incomplete window plus a re-sweep of recent windows; exit 0 only when everything attempted is complete')
    .option('--all', 're-sweep the whole six-month horizon, complete windows included')
    .option('--json', 'print the summary as JSON')
    .action((opts: { all?: boolean; json?: boolean }) => run((ctx) => syncCommand(ctx, opts)));

  program
    .command('status')
    .description('show every window of the horizon and its state; exit 3 when an incomplete window is about to leave the horizon')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => run((ctx) => statusCommand(ctx, opts)));

  program
    .command('migrate')
    .description('apply pending database migrations (every other command also does this first)')
    .action(() => run((ctx) => migrateCommand(ctx)));

  program
    .command('sql')
    .description('run one read-only SQL query against the archive and print the rows')
    .argument('<query>', 'SQL, e.g. "select * from chat_messages limit 10"')
    .option('--json', 'print one JSON object per row')
    .action((query: string, opts: { json?: boolean }) => run((ctx) => sqlCommand(ctx, query, opts)));

  program
    .command('simulator')
    .description('run the built-in Zoom API simulator until Ctrl-C (flags: --port, --sessions, --messages, --seed, --quirks, --rate-medium, --latency-ms, …; see src/simulator/README.md)')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(() => run((ctx) => simulatorCommand(ctx, process.argv.slice(process.argv.indexOf('simulator') + 1))));

  return program;
}

await buildProgram().parseAsync(process.argv);
