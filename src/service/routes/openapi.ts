import { z } from 'zod';
import type { ApiApp } from '../http-server.js';
import { json, open } from '../route-contract.js';

/** GET /openapi.json: the API's OpenAPI 3.1 document, generated from the routes' own schemas (openapi-document.ts); no authentication. */
export function registerOpenApiRoutes(app: ApiApp): void {
  const document = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.record(z.string(), z.unknown()) });
  app.get(
    '/openapi.json',
    {
      schema: open(
        { operationId: 'openapi', summary: 'This document', tags: ['operations'] },
        { response: { 200: json('The OpenAPI 3.1 document of this API, as this instance serves it.', document) } },
      ),
    },
    // Built once, on the first request, when every route is registered (and cached by @fastify/swagger).
    async () => app.swagger() as unknown as z.output<typeof document>,
  );
}
