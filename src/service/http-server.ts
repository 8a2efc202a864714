import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../logging/logger.js';
import type { ApiContext } from './api-context.js';
import { registerConsole } from '../console/console-routes.js';
import { CONSOLE_PREFIX } from '../console/console-auth.js';
import { clientErrorResponse, toErrorResponse } from './http-errors.js';
import { registerOpenApiDocument } from './openapi-document.js';
import { validatorCompiler } from './request-params.js';
import { serializerCompiler } from './response-serializer.js';
import { registerArchiveRoutes } from './routes/archive.js';
import { registerFileRoutes } from './routes/files.js';
import { registerExportRoutes, type ExportRoutesDeps } from './routes/exports.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerLegalHoldRoutes, type LegalHoldRoutesDeps } from './routes/legal-hold.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerOpenApiRoutes } from './routes/openapi.js';
import { registerStatusRoutes } from './routes/status.js';

/**
 * The HTTP API: one port, JSON, fastify. Request ids are generated here (a client's X-Request-Id is
 * not trusted) and returned in `X-Request-Id`; every error answer has the same shape; responses are
 * `Cache-Control: no-store` because they may hold message content. Requests are logged at debug
 * level by route pattern (never the query string: it may hold search words).
 *
 * Each route states its contract in its schema with zod (route-contract.ts): parameters are checked
 * by request-params.ts's validator, every answer is serialised through its response shape
 * (response-serializer.ts: what is not described is not sent), and /openapi.json is generated from
 * the same shapes (openapi-document.ts).
 */

/** The fastify instance the route modules register on: zod shapes type requests and replies. */
export type ApiApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface RegisteredRoute {
  method: string;
  /** Fastify's pattern, e.g. `/v1/sessions/:sessionId`. */
  url: string;
  /** The route's schema: its zod shapes and operation fields (route-contract.ts). */
  schema: unknown;
}

export interface HttpAppOptions {
  legalHold?: LegalHoldRoutesDeps | undefined;
  exports?: ExportRoutesDeps | undefined;
}

export function buildHttpApp(ctx: ApiContext, options: HttpAppOptions = {}): { app: FastifyInstance; routes: RegisteredRoute[] } {
  const log = ctx.logger.child({ module: 'http' });
  const app = Fastify({
    // Fastify's own lines ("Server listening at …") are left out; the service logs its one line, and
    // requests are logged below by route pattern. (A pino logger is a FastifyBaseLogger; the cast
    // keeps the instance's type the default one the route modules take.)
    loggerInstance: log.child({}, { level: atLeastWarn(log) }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: ctx.config.service.maxRequestBodyBytes,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: 60_000,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: true },
    // A malformed or overlong URL is refused by fastify's router before any route or hook runs:
    // answered here in the API's one error shape instead of fastify's, which echoes the URL.
    frameworkErrors: (err, request, reply) => {
      const response = toErrorResponse(err, request.id);
      // fastify types this reply by a route it does not have yet; it is an ordinary reply.
      const plain = reply as unknown as { code(n: number): { headers(h: Record<string, string>): { send(b: unknown): unknown } } };
      void plain.code(response.status).headers({ ...commonHeaders(request.id), ...response.headers }).send(response.body);
    },
    // Bytes Node's HTTP parser cannot read as a request never reach fastify at all.
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) {
        const requestId = randomUUID();
        const { status, body } = clientErrorResponse(err, requestId);
        const text = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
            `X-Request-Id: ${requestId}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroy(err);
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    // The review console's pages are not part of the API (nor of its document).
    if (route.url === CONSOLE_PREFIX || route.url.startsWith(`${CONSOLE_PREFIX}/`)) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url, schema: route.schema });
  });
  // JSON only: a text/plain body is answered 415 instead of reaching a handler as a string.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('apiToken', null);

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(commonHeaders(request.id));
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, seconds);
    log.debug({ requestId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime), token: request.apiToken?.name }, 'request served');
  });

  app.setErrorHandler((err, request, reply) => {
    const response = toErrorResponse(err, request.id);
    const route = request.routeOptions.url ?? 'unmatched';
    if (response.internal) log.error({ err, requestId: request.id, method: request.method, route }, 'request failed unexpectedly');
    else if (response.status >= 500) log.warn({ requestId: request.id, route, code: response.body.error.code, message: response.body.error.message }, 'request could not be served');
    void reply.code(response.status).headers(response.headers).send(response.body);
  });
  // The path is not echoed back: an answer never reflects what a client put in the URL.
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: { code: 'NOT_FOUND', message: `no ${request.method} route at this path; /openapi.json lists every route`, request_id: request.id },
    });
  });

  // The document plugin first: it documents the routes it sees being registered after it.
  registerOpenApiDocument(app);
  void app.register(async (scope) => {
    const api: ApiApp = scope.withTypeProvider<ZodTypeProvider>();
    registerHealthRoutes(api, ctx);
    registerMetricsRoutes(api, ctx);
    registerOpenApiRoutes(api);
    registerStatusRoutes(api, ctx);
    registerArchiveRoutes(api, ctx);
    registerFileRoutes(api, ctx);
    if (options.legalHold) registerLegalHoldRoutes(api, ctx, options.legalHold);
    if (options.exports) registerExportRoutes(api, ctx, options.exports);
  });
  if (ctx.config.service.console.enabled) {
    registerConsole(app, ctx, { legalHold: options.legalHold ?? { zoom: undefined }, maxConcurrentExports: options.exports?.maxConcurrentExports ?? 1 });
  }
  return { app, routes };
}

function commonHeaders(requestId: string): Record<string, string> {
  return { 'X-Request-Id': requestId, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
}

function atLeastWarn(logger: Logger): string {
  const values = logger.levels.values;
  return (values[logger.level] ?? 0) >= (values['warn'] ?? 40) ? logger.level : 'warn';
}

export interface RunningHttpServer {
  app: FastifyInstance;
  url: string;
  port: number;
  routes: RegisteredRoute[];
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
  /** Drops every connection still open (long downloads) once the shutdown deadline has passed. */
  closeAllConnections(): void;
}

export async function startHttpServer(ctx: ApiContext, options: HttpAppOptions & { host: string; port: number }): Promise<RunningHttpServer> {
  const { app, routes } = buildHttpApp(ctx, options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    routes,
    close() {
      closing ??= app.close();
      return closing;
    },
    closeAllConnections() {
      app.server.closeAllConnections();
    },
  };
}
