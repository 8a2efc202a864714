import { z } from 'zod';
import type { ApiContext } from '../api-context.js';
import type { ApiApp } from '../http-server.js';
import { open } from '../route-contract.js';

/**
 * GET /metrics, Prometheus text exposition, no authentication (it holds counts, never content; keep
 * the port off the public internet or scrape through a network policy). The database-derived gauges
 * are refreshed on every scrape with cheap queries (see metrics.ts).
 */
export function registerMetricsRoutes(app: ApiApp, ctx: ApiContext): void {
  const schema = open(
    { operationId: 'metrics', summary: 'Prometheus metrics (text exposition format)', tags: ['operations'] },
    { response: { 200: { description: 'Metrics (zca_* and the process).', content: { 'text/plain; version=0.0.4': { schema: z.string() } } } } },
  );
  app.get('/metrics', { schema }, async (_request, reply) => {
    await ctx.metrics.refreshFromDatabase({ pool: ctx.pool, clock: ctx.clock, sync: ctx.config.sync, mediumRatePerSecond: ctx.config.zoom.ratePerSecond.medium, jobNames: ctx.jobs.map((j) => j.name), logger: ctx.logger });
    reply.header('Content-Type', ctx.metrics.contentType);
    return ctx.metrics.render();
  });
}
