import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';

/**
 * GET /metrics, Prometheus text exposition, no authentication (it holds counts, never content; keep
 * the port off the public internet or scrape through a network policy). The database-derived gauges
 * are refreshed on every scrape with cheap queries (see metrics.ts).
 */
export function registerMetricsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/metrics', async (_request, reply) => {
    await ctx.metrics.refreshFromDatabase({ pool: ctx.pool, clock: ctx.clock, sync: ctx.config.sync, mediumRatePerSecond: ctx.config.zoom.ratePerSecond.medium, jobNames: ctx.jobs.map((j) => j.name), logger: ctx.logger });
    reply.header('Content-Type', ctx.metrics.contentType);
    return ctx.metrics.render();
  });
}
