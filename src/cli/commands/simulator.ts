import { InputError } from '../../errors.js';
import { runStandaloneSimulator } from '../../simulator/index.js';
import { STANDALONE_USAGE, wantsHelp } from '../../simulator/standalone.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { CommandContext } from '../context.js';

/**
 * Runs the built-in Zoom API simulator until SIGINT/SIGTERM. Its flags are the simulator's own
 * (see src/simulator/README.md); it prints one JSON line with its URLs and test credentials.
 */
export async function simulatorCommand(ctx: CommandContext, argv: readonly string[]): Promise<ExitCode> {
  if (wantsHelp(argv)) {
    process.stdout.write(STANDALONE_USAGE);
    return EXIT.OK;
  }
  try {
    await runStandaloneSimulator(argv, {
      signal: ctx.signal,
      handleProcessSignals: false,
      onReady: (sim) => ctx.logger.info({ apiBaseUrl: sim.apiBaseUrl, tokenUrl: sim.tokenUrl }, 'Zoom simulator listening; stop it with Ctrl-C'),
    });
  } catch (err) {
    if (err instanceof Error && /^--|Unknown option|unexpected argument/i.test(err.message)) throw new InputError(`simulator: ${err.message}`);
    throw err;
  }
  return EXIT.OK;
}
