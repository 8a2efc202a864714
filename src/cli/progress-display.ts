import type { Logger } from '../logging/logger.js';
import { stderrTerminal } from '../logging/terminal.js';
import { formatProgressLine, type SyncProgress } from '../sync/progress.js';

const TERMINAL_REFRESH_MS = 250;
const LOG_INTERVAL_MS = 10_000;

/**
 * On a terminal, a live status line; otherwise a structured progress log every 10 s, so a
 * container's logs show a long backfill moving.
 */
export function startProgressDisplay(progress: SyncProgress, logger: Logger): { stop(): void } {
  if (stderrTerminal.isTTY) {
    const timer = setInterval(() => stderrTerminal.setStatus(formatProgressLine(progress)), TERMINAL_REFRESH_MS);
    return {
      stop() {
        clearInterval(timer);
        stderrTerminal.setStatus(formatProgressLine(progress));
        stderrTerminal.finishStatus();
      },
    };
  }
  const timer = setInterval(() => logger.info(progress.snapshot(), 'sync progress'), LOG_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
