import type { FastifyInstance } from 'fastify';
import { VERSION } from '../../version.js';
import type { ApiContext } from '../api-context.js';
import { checkReadiness } from '../readiness.js';

/**
 * Probes, no authentication. /healthz: the process is up and its event loop answers (liveness: a
 * restart would help only if this fails). /readyz: the database, migrations, last sync and horizon
 * checks; 503 with the failing checks named.
 */
export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const startedAt = new Date();

  app.get('/healthz', async () => ({ status: 'ok', version: VERSION, started_at: startedAt, uptime_seconds: Math.round(process.uptime()) }));

  app.get('/readyz', async (_request, reply) => {
    const readiness = await checkReadiness({ pool: ctx.pool, clock: ctx.clock, sync: ctx.config.sync, shuttingDown: ctx.isShuttingDown() });
    reply.code(readiness.ready ? 200 : 503);
    return {
      status: readiness.ready ? 'ready' : 'not_ready',
      ...(readiness.shuttingDown ? { shutting_down: true } : {}),
      failing: readiness.failing,
      checks: readiness.checks,
    };
  });
}
