import fastifySwagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { VERSION } from '../version.js';

/**
 * /openapi.json, derived: @fastify/swagger collects every route as fastify registers it, and
 * fastify-type-provider-zod turns each route's zod shapes (params, querystring, body, responses:
 * the ones the routes validate and serialise with) into the document's JSON Schemas. Nothing here
 * describes a route; route-contract.ts is how a route describes itself.
 *
 * Two additions to the stock transforms: response headers a route documents (route-contract's
 * `headers`, e.g. a bundle's digest headers) are carried into the document, and components no
 * operation references are left out (the transform emits an input and an output variant of every
 * shape with an id; the API only uses the output ones).
 */

export const OPENAPI_VERSION = '3.1.0';

const INFO = {
  title: 'zoom-chat-archiver API',
  version: VERSION,
  description:
    "Query the Zoom Team Chat archive, manage legal-hold matters and fetch export bundles. Bearer tokens (`zoom-chat-archiver token create`) carry a role: reader (queries), exporter (+ exports), admin (+ legal-hold changes). Reads of message content and bundle downloads are written to the audit log with the token's name. Every error has one shape (`Error`). Unknown query parameters and body fields are refused.",
};

type Transform = NonNullable<FastifyDynamicSwaggerOptions['transform']>;
type TransformObject = NonNullable<FastifyDynamicSwaggerOptions['transformObject']>;

const transform: Transform = (route) => {
  const out = jsonSchemaTransform(route);
  const declared = (route.schema as { response?: Record<string, { headers?: unknown }> } | undefined)?.response ?? {};
  const responses = (out.schema as { response?: Record<string, Record<string, unknown>> }).response;
  for (const [status, contract] of Object.entries(declared)) {
    const documented = responses?.[status];
    if (documented && contract.headers !== undefined) documented['headers'] = contract.headers;
  }
  return out;
};

const transformObject: TransformObject = (document) => pruneUnreferencedComponents(jsonSchemaTransformObject(document) as Record<string, unknown>) as ReturnType<TransformObject>;

/** Registers @fastify/swagger; call before any route is added (it documents the routes it sees being registered). */
export function registerOpenApiDocument(app: FastifyInstance): void {
  void app.register(fastifySwagger, {
    openapi: {
      openapi: OPENAPI_VERSION,
      info: INFO,
      servers: [{ url: '/' }],
      components: {
        securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', description: 'A token created with `zoom-chat-archiver token create` (`zca_…`).' } },
      },
    },
    transform,
    transformObject,
  });
}

/** Leaves out component schemas no `$ref` outside themselves reaches (following refs between components). */
function pruneUnreferencedComponents(document: Record<string, unknown>): Record<string, unknown> {
  const components = (document['components'] ?? {}) as { schemas?: Record<string, unknown> };
  const schemas = components.schemas ?? {};
  const reached = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
          const name = value.slice('#/components/schemas/'.length);
          if (!reached.has(name)) {
            reached.add(name);
            visit(schemas[name]);
          }
        } else visit(value);
      }
    }
  };
  visit({ ...document, components: { ...components, schemas: {} } });
  return { ...document, components: { ...components, schemas: Object.fromEntries(Object.entries(schemas).filter(([name]) => reached.has(name))) } };
}
