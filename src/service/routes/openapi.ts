import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument } from '../openapi.js';

/** GET /openapi.json: the API's OpenAPI 3.1 document, no authentication. */
export function registerOpenApiRoutes(app: FastifyInstance, options: { legalHold: boolean; exports: boolean }): void {
  const document = buildOpenApiDocument(options);
  app.get('/openapi.json', async () => document);
}
