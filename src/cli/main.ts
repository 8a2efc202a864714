import { Command, Option } from 'commander';
import { runCommand as run } from './run-command.js';
import { migrateCommand } from './commands/migrate.js';
import { sqlCommand } from './commands/sql.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { demoCommand } from './commands/demo.js';
import { simulatorCommand } from './commands/simulator.js';
import { registerLegalHoldCommands } from './commands/legal-hold.js';
import { registerExportCommands } from './commands/export.js';
import { registerServiceCommands } from './commands/serve.js';
import { VERSION } from '../version.js';

/**
 * The composition root: parses the command line and hands each command to runCommand, which builds
 * the context (configuration, logger, signals, database on demand) and maps outcomes to exit codes.
 */

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('zoom-chat-archiver')
    .description('Self-hosted compliance and legal-hold archive for Zoom Team Chat.\nConfiguration comes from the environment (see README, "Configuration").')
    .version(VERSION)
    .showHelpAfterError()
    // Usage errors exit 2 like every other bad input (README, "Exit codes"); help and version exit 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

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

  registerLegalHoldCommands(program);
  registerExportCommands(program); // export commands
  registerServiceCommands(program);

  return program;
}

await buildProgram().parseAsync(process.argv);
