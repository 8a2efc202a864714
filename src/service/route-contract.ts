import type { z } from 'zod';
import type { Authenticator } from './auth.js';
import type { Role } from './token-store.js';
import { ErrorBody } from './api-schemas.js';

/**
 * How a route states its contract in its fastify schema, once: what it takes (`params`,
 * `querystring`, `body`: zod shapes the validator checks, request-params.ts), what it answers
 * (`response`: zod shapes every answer is serialised through, api-schemas.ts), and who may call it.
 * /openapi.json is generated from these (openapi-document.ts); nothing is described twice.
 */

/** A response: its description, its shape by media type, and headers worth documenting. */
export interface ResponseContract<Schema extends z.ZodType = z.ZodType> {
  description: string;
  content: Record<string, { schema: Schema }>;
  /** A JSON Schema (with its description) per response header: documentation only, openapi-document.ts carries them into the document. */
  headers?: Record<string, Record<string, unknown> & { description?: string }>;
}

export function json<Schema extends z.ZodType>(description: string, schema: Schema): { description: string; content: { 'application/json': { schema: Schema } } } {
  return { description, content: { 'application/json': { schema } } };
}

export function errorResponse(description: string) {
  return json(description, ErrorBody);
}

/** What any route can answer: bad input, an unexpected failure, the database unreachable or too slow. */
const COMMON_ERRORS = {
  400: errorResponse('Bad parameters, or a body that is not a JSON object of the listed fields; `parameter` names the one at fault.'),
  500: errorResponse('An unexpected failure; the service log has the details under the request id.'),
  503: errorResponse('The database is unavailable (`SERVICE_UNAVAILABLE`, with Retry-After), or the query took too long (`QUERY_TIMEOUT`).'),
};

const AUTH_ERRORS = {
  401: errorResponse('No token, or a token that is unknown or revoked (`WWW-Authenticate: Bearer`).'),
  403: errorResponse("The token's role is too small for this route."),
};

/** The operation's documentation (OpenAPI operation fields fastify passes through). */
export interface OperationDocs {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
}

/** What a route that takes a JSON body can also answer before it runs. */
const BODY_ERRORS = {
  413: errorResponse('The body is larger than this server accepts (HTTP_MAX_BODY_BYTES).'),
  415: errorResponse('The body is not sent as application/json.'),
};

/** A route's own parts: its zod shapes (params, querystring, body) and its responses by status. */
type RouteParts = { response: Record<number, ResponseContract> } & Record<string, unknown>;

/**
 * The schema of a route that needs a token of `role` or higher: the OpenAPI security requirement,
 * `x-required-role`, and the error answers every such route can give, around the route's own.
 */
export function secured<Parts extends RouteParts>(role: Role, docs: OperationDocs, parts: Parts) {
  const response = { ...COMMON_ERRORS, ...AUTH_ERRORS, ...(parts['body'] !== undefined ? BODY_ERRORS : {}), ...parts.response } as typeof COMMON_ERRORS &
    typeof AUTH_ERRORS &
    (Parts extends { body: z.ZodType } ? typeof BODY_ERRORS : Record<never, never>) &
    Parts['response'];
  return {
    ...docs,
    description: `${docs.description ?? ''}\n\nRequires a token with role \`${role}\`${role === 'admin' ? '' : ' or higher'}.`.trim(),
    security: [{ bearerToken: [] }],
    'x-required-role': role,
    ...(parts as Omit<Parts, 'response'>),
    response,
  };
}

/**
 * The route options of every route that needs a token of `role` or higher: the role check fastify
 * runs before validation (auth.ts) and the schema that documents the same role (`secured`), so a
 * route names its role once: `const reader = securedBy(ctx.auth, 'reader')`, then
 * `app.get(url, reader(docs, parts), handler)`.
 */
export function securedBy(auth: Pick<Authenticator, 'requireRole'>, role: Role) {
  const preValidation = auth.requireRole(role);
  return <Parts extends RouteParts>(docs: OperationDocs, parts: Parts) => ({ preValidation, schema: secured(role, docs, parts) });
}

/** The schema of a route anyone may call (probes, metrics, this document). */
export function open<Parts extends RouteParts>(docs: OperationDocs, parts: Parts) {
  return { ...docs, security: [], ...parts };
}
