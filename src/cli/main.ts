import { Command, Option } from 'commander';
import { runCommand as run } from './run-command.js';
import { VERSION } from '../version.js';

/**
 * The composition root: parses the command line and hands each command to runCommand, which builds
 * the context (configuration, logger, signals, database on demand) and maps outcomes to exit codes.
 *
 * Command implementations are imported when their command runs: a short-lived `legal-hold verify`
 * does not load the HTTP server, the simulator or the zip writer (about half the start-up memory).
 */

/** Feature command trees, registered only when the command line asks for them (or for help). */
const FEATURES: Readonly<Record<string, () => Promise<(program: Command) => void>>> = {
  'legal-hold': async () => (await import('./commands/legal-hold.js')).registerLegalHoldCommands,
  export: async () => (await import('./commands/export.js')).registerExportCommands,
  files: async () => (await import('./commands/files.js')).registerFilesCommands,
  serve: async () => (await import('./commands/serve.js')).registerServiceCommands,
  token: async () => (await import('./commands/serve.js')).registerServiceCommands,
  audit: async () => (await import('./commands/proof.js')).registerProofCommands,
  archive: async () => (await import('./commands/proof.js')).registerProofCommands,
  retention: async () => (await import('./commands/proof.js')).registerProofCommands,
};

export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('zoom-chat-archiver')
    .description('Self-hosted compliance and legal-hold archive for Zoom Team Chat.\nConfiguration comes from the environment (see README, "Configuration").')
    .version(VERSION)
    .showHelpAfterError()
    // Usage errors exit 2 like every other bad input (README, "Commands and exit codes"); help and version exit 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  program
    .command('demo')
    .description('run a full sync of six months of synthetic chat from the built-in Zoom simulator into an embedded PostgreSQL, then show what was archived')
    .addOption(new Option('--sessions <n>', 'chat sessions to generate').default('120'))
    .addOption(new Option('--messages <n>', 'messages to generate in all').default('30000'))
    .option('--data-dir <dir>', 'where the demo archive is kept (default: $ARCHIVE_DATA_DIR/demo)')
    .action((opts: { sessions: string; messages: string; dataDir?: string }) => run(async (ctx) => (await import('./commands/demo.js')).demoCommand(ctx, opts)));

  program
    .command('sync')
    .description('run one archive pass: every incomplete window plus a re-sweep of recent windows; exit 0 only when everything attempted is complete')
    .option('--all', 're-sweep the whole six-month horizon, complete windows included')
    .option('--json', 'print the summary as JSON')
    .action((opts: { all?: boolean; json?: boolean }) => run(async (ctx) => (await import('./commands/sync.js')).syncCommand(ctx, opts)));

  program
    .command('status')
    .description('the archive at a glance: last sync age and outcome, the horizon\'s windows, totals, failing session windows, legal-hold files not stored, running exports, jobs and lock holders; exit 3 when an incomplete window is about to leave the horizon')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => run(async (ctx) => (await import('./commands/status.js')).statusCommand(ctx, opts)));

  program
    .command('migrate')
    .description('apply pending database migrations (every other command also does this first)')
    .action(() => run(async (ctx) => (await import('./commands/migrate.js')).migrateCommand(ctx)));

  program
    .command('sql')
    .description('run read-only SQL against the archive and print the rows (several statements run in one read-only transaction; NULL shows as (null))')
    .argument('[query]', 'SQL, e.g. "select * from chat_messages limit 10"; - or nothing: read it from standard input')
    .option('--json', 'print one JSON object per row')
    .action((query: string | undefined, opts: { json?: boolean }) => run(async (ctx) => (await import('./commands/sql.js')).sqlCommand(ctx, query, opts)));

  const db = program.command('db').description('the database: a connection string for psql or a BI tool, and stopping the embedded PostgreSQL');
  db.command('url')
    .description('print a postgres:// URL to connect to the archive (starts the embedded PostgreSQL and leaves it running when DATABASE_URL is not set)')
    .option('--show-password', 'show the password of DATABASE_URL instead of ***')
    .action((opts: { showPassword?: boolean }) => run(async (ctx) => (await import('./commands/db.js')).dbUrlCommand(ctx, opts)));
  db.command('stop')
    .description('stop the embedded PostgreSQL running on ARCHIVE_DATA_DIR (one `db url` left running)')
    .action(() => run(async (ctx) => (await import('./commands/db.js')).dbStopCommand(ctx)));

  program
    .command('simulator')
    .description('run the built-in Zoom API simulator until Ctrl-C (flags: --port, --sessions, --messages, --seed, --quirks, --rate-medium, --latency-ms, …; see src/simulator/README.md)')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(() =>
      run(async (ctx) => (await import('./commands/simulator.js')).simulatorCommand(ctx, process.argv.slice(process.argv.indexOf('simulator') + 1))),
    );

  // Help (and an unknown command, whose error lists the commands) shows every command; a known
  // command, or --version, needs only its own.
  const asked = argv[2];
  const known = new Set(program.commands.map((c) => c.name()));
  const wanted =
    asked !== undefined && asked in FEATURES
      ? [FEATURES[asked]]
      : asked !== undefined && (known.has(asked) || asked === '--version' || asked === '-V')
        ? []
        : Object.values(FEATURES);
  const registered = new Set<(program: Command) => void>();
  for (const load of wanted) {
    const register = await load!();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program);
  }
  return program;
}

await (await buildProgram(process.argv)).parseAsync(process.argv);
