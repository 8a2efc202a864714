import type { Logger } from '../logging/logger.js';
import type { InFlightEntry, InFlightWork } from './in-flight-work.js';
import { shutdownAbortReason } from './job-runner.js';

/**
 * Graceful shutdown, in this order (pg-boss's `stop({ graceful, timeout })`, graphile-worker's
 * graceful-then-forceful):
 *
 * 1. stop the scheduler: no new job run starts;
 * 2. stop accepting HTTP connections (fastify `close()`): requests in flight finish, new ones are
 *    refused, a kept-alive connection gets 503;
 * 3. let in-flight work (job runs, exports started over HTTP) finish until the deadline
 *    (SHUTDOWN_TIMEOUT_MS, default 25 s);
 * 4. at the deadline, abort what is left through its AbortSignal: a sync stops after the pages in
 *    flight (each page is stored atomically with its checkpoint, so nothing half-written can look
 *    complete), an export deletes its partial file and marks its row failed, a legal-hold download
 *    removes its temporary file; open HTTP connections (a long download) are cut;
 * 5. wait a short grace for the aborted work to unwind, then hand back so the caller closes the
 *    pool (and the embedded PostgreSQL) — resources close in reverse order of opening.
 *
 * A second SIGTERM/SIGINT exits at once (src/cli/signals.ts): safe, because every write is atomic.
 */

export const ABORT_GRACE_MS = 5_000;

export interface ShutdownParts {
  logger: Logger;
  inFlight: InFlightWork;
  stopScheduler(): void;
  closeHttp(): Promise<void>;
  closeAllConnections(): void;
  /** Anything else to release after the work has stopped (Zoom client, metrics refresh). */
  release(): Promise<void>;
  shutdownTimeoutMs: number;
  abortGraceMs?: number;
}

export interface ShutdownReport {
  /** Everything finished before the deadline. */
  graceful: boolean;
  /** Work that was aborted at the deadline. */
  aborted: InFlightEntry[];
  /** Work still not settled after the abort grace (the process should exit anyway). */
  stuck: InFlightEntry[];
  durationMs: number;
}

export async function shutDownGracefully(parts: ShutdownParts): Promise<ShutdownReport> {
  const { logger, inFlight } = parts;
  const startedMs = Date.now();
  const deadlineMs = startedMs + parts.shutdownTimeoutMs;
  const remainingMs = () => Math.max(0, deadlineMs - Date.now());

  parts.stopScheduler();
  inFlight.stopAccepting();
  const httpClosed = parts.closeHttp().catch((err: unknown) => logger.warn({ err }, 'closing the HTTP server failed'));
  const pending = inFlight.list();
  logger.info(
    { inFlight: pending.map((e) => `${e.kind}:${e.name}`), deadlineMs: parts.shutdownTimeoutMs },
    pending.length > 0 ? 'shutting down: waiting for work in flight to finish before the deadline' : 'shutting down: nothing in flight',
  );

  const graceful = await inFlight.settled(remainingMs());
  let aborted: InFlightEntry[] = [];
  if (!graceful) {
    aborted = inFlight.list();
    logger.warn({ aborting: aborted.map((e) => `${e.kind}:${e.name}`) }, 'shutdown deadline reached: aborting work in flight (what is stored is kept; the next run continues)');
    inFlight.abortAll(shutdownAbortReason());
  }

  const httpInTime = await Promise.race([httpClosed.then(() => true), delay(remainingMs()).then(() => false)]);
  if (!httpInTime) {
    logger.warn('shutdown deadline reached: closing HTTP connections still open');
    parts.closeAllConnections();
  }

  const stuck = graceful || (await inFlight.settled(parts.abortGraceMs ?? ABORT_GRACE_MS)) ? [] : inFlight.list();
  if (stuck.length > 0) logger.error({ stuck: stuck.map((e) => `${e.kind}:${e.name}`) }, 'work did not stop after being aborted; exiting anyway (every write is atomic)');
  await Promise.race([httpClosed, delay(2_000)]);
  await Promise.race([parts.release().catch((err: unknown) => logger.warn({ err }, 'releasing resources failed')), delay(2_000)]);
  const durationMs = Date.now() - startedMs;
  logger.info({ graceful, aborted: aborted.length, stuck: stuck.length, durationMs }, 'service stopped');
  return { graceful, aborted, stuck, durationMs };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
