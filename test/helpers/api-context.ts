import type { Config } from '../../src/config/config.js';
import type { Pool } from '../../src/db/pool.js';
import { createSilentLogger, type Logger } from '../../src/logging/logger.js';
import type { ApiContext } from '../../src/service/api-context.js';
import { createAuthenticator } from '../../src/service/auth.js';
import { InFlightWork } from '../../src/service/in-flight-work.js';
import { buildJobs } from '../../src/service/jobs.js';
import { ServiceMetrics } from '../../src/service/metrics.js';
import { systemClock } from '../../src/util/clock.js';

/**
 * The service's HTTP context without the service around it (no scheduler, no Zoom client): what
 * in-process tests of the HTTP app (buildHttpApp) hand it. Jobs asked for over HTTP report "started"
 * and do not run.
 */
export function testApiContext(config: Readonly<Config>, pool: Pool, logger: Logger = createSilentLogger()): ApiContext {
  const metrics = new ServiceMetrics();
  return {
    config,
    pool,
    backgroundPool: pool,
    logger,
    clock: systemClock,
    auth: createAuthenticator({ pool, logger }),
    metrics,
    inFlight: new InFlightWork(),
    jobs: buildJobs({ config, pool, clock: systemClock, metrics, zoom: undefined }),
    scheduler: undefined,
    isShuttingDown: () => false,
    triggerJob: () => 'started',
  };
}
