import type { Logger } from '../logging/logger.js';
import { AbortError } from '../errors.js';

/**
 * First SIGINT/SIGTERM: abort the returned signal so work stops after the page in flight and
 * resources close in order. Second signal: exit at once (everything stored so far is consistent,
 * because every page is written atomically).
 */
export function installShutdownSignals(logger: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (name: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      logger.warn({ signal: name }, 'stopping: finishing the pages in flight (send the signal again to exit at once)');
      controller.abort(new AbortError(`received ${name}`));
    } else {
      logger.error({ signal: name }, 'second signal: exiting now');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
