import type { Config } from '../config/config.js';
import type { Fence } from '../db/advisory-lock.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import type { BackoffOptions } from '../zoom/backoff.js';
import type { ZoomClient } from '../zoom/client.js';

/**
 * What every legal-hold job takes: the database, the Zoom client, configuration, a logger, the
 * clock and the caller's abort signal. The CLI builds it from its context; the scheduler will build
 * it once and share it. Tests hand in a test database, a simulator-backed client and a fake clock.
 */
export interface LegalHoldDeps {
  pool: Pool;
  zoom: ZoomClient;
  config: Readonly<Pick<Config, 'dataDir' | 'legalHold'>>;
  logger: Logger;
  clock: Clock;
  signal?: AbortSignal | undefined;
  /**
   * Who the background work (downloads, verification) acts as in the audit log. Default
   * `system:legal-hold`; the CLI passes `cli:<user>`.
   */
  actor?: string | undefined;
  /** Backoff between download attempts of one file in one run (default 1 s doubling to 60 s, full jitter). */
  downloadBackoff?: BackoffOptions | undefined;
  /**
   * Fences of the locks this pass runs under (the service's `job:legal-hold`): every state write of
   * the pass checks them in its transaction, so a pass whose lock was taken over by another
   * replica fails with LOCK_SUPERSEDED instead of overwriting newer state. None for the CLI, whose
   * file writes are fenced by each file's own lock.
   */
  fences?: readonly Fence[] | undefined;
}

/** What jobs that never call Zoom (verification) need. */
export type LocalLegalHoldDeps = Omit<LegalHoldDeps, 'zoom' | 'downloadBackoff'>;

/** The audit actor for a change noticed in Zoom rather than made here. */
export const ZOOM_ACTOR = 'zoom';
export const SYSTEM_ACTOR = 'system:legal-hold';

export function actorOf(deps: Pick<LegalHoldDeps, 'actor'>): string {
  return deps.actor ?? SYSTEM_ACTOR;
}
