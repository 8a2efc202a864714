import { DATABASE_RETRY_AFTER_SECONDS } from '../http-errors.js';
import { VERSION } from '../../version.js';
import type { ApiContext } from '../api-context.js';
import { Health, Readiness } from '../api-schemas.js';
import type { ApiApp } from '../http-server.js';
import { checkReadiness } from '../readiness.js';
import { json, open } from '../route-contract.js';

/**
 * Probes, no authentication. /healthz: the process is up and its event loop answers (liveness: a
 * restart would help only if this fails). /readyz: this instance can serve requests (database
 * reachable, migrations current, not shutting down) — what a readinessProbe asks. /readyz/strict:
 * that, and the archive is healthy (last sync did not fail, no window at horizon risk) — for an
 * alerting probe. A 503 names the failing checks and carries Retry-After.
 */
export function registerHealthRoutes(app: ApiApp, ctx: ApiContext): void {
  const startedAt = new Date();

  app.get(
    '/healthz',
    { schema: open({ operationId: 'health', summary: 'Liveness: the process is up', tags: ['operations'] }, { response: { 200: json('Up.', Health) } }) },
    async () => ({ status: 'ok' as const, version: VERSION, started_at: startedAt, uptime_seconds: Math.round(process.uptime()) }),
  );

  const probe = (strict: boolean) => ({
    schema: open(
      strict
        ? { operationId: 'readyStrict', summary: 'Readiness and archive health: as /readyz, and the last sync did not fail and no window is at horizon risk (for alerting probes)', tags: ['operations'] }
        : { operationId: 'ready', summary: 'Readiness to serve requests: database reachable, migrations current, not shutting down (for load balancers and readinessProbes)', tags: ['operations'] },
      {
        response: {
          200: json(strict ? 'Ready and healthy.' : 'Ready.', Readiness),
          503: { ...json('Not ready; `failing` names the checks that failed.', Readiness), headers: { 'Retry-After': { type: 'integer', description: 'Seconds to wait before asking again.' } } },
        },
      },
    ),
  });
  for (const strict of [false, true]) {
    app.get(strict ? '/readyz/strict' : '/readyz', probe(strict), async (_request, reply) => {
      const readiness = await checkReadiness({ pool: ctx.pool, clock: ctx.clock, sync: ctx.config.sync, shuttingDown: ctx.isShuttingDown(), strict });
      reply.code(readiness.ready ? 200 : 503);
      if (!readiness.ready) reply.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
      return {
        status: readiness.ready ? ('ready' as const) : ('not_ready' as const),
        strict,
        ...(readiness.shuttingDown ? { shutting_down: true as const } : {}),
        failing: readiness.failing,
        checks: readiness.checks,
      };
    });
  }
}
