import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DATABASE_RETRY_AFTER_SECONDS } from '../http-errors.js';
import { VERSION } from '../../version.js';
import type { ApiContext } from '../api-context.js';
import { checkReadiness } from '../readiness.js';

/**
 * Probes, no authentication. /healthz: the process is up and its event loop answers (liveness: a
 * restart would help only if this fails). /readyz: this instance can serve requests (database
 * reachable, migrations current, not shutting down) — what a readinessProbe asks. /readyz/strict:
 * that, and the archive is healthy (last sync did not fail, no window at horizon risk) — for an
 * alerting probe. A 503 names the failing checks and carries Retry-After.
 */
export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const startedAt = new Date();

  app.get('/healthz', async () => ({ status: 'ok', version: VERSION, started_at: startedAt, uptime_seconds: Math.round(process.uptime()) }));

  const readyz = (strict: boolean) => async (_request: FastifyRequest, reply: FastifyReply) => {
    const readiness = await checkReadiness({ pool: ctx.pool, clock: ctx.clock, sync: ctx.config.sync, shuttingDown: ctx.isShuttingDown(), strict });
    reply.code(readiness.ready ? 200 : 503);
    if (!readiness.ready) reply.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    return {
      status: readiness.ready ? 'ready' : 'not_ready',
      strict,
      ...(readiness.shuttingDown ? { shutting_down: true } : {}),
      failing: readiness.failing,
      checks: readiness.checks,
    };
  };
  app.get('/readyz', readyz(false));
  app.get('/readyz/strict', readyz(true));
}
