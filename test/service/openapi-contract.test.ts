import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config/config.js';
import { buildHttpApp, type RegisteredRoute } from '../../src/service/http-server.js';
import { createToken } from '../../src/service/token-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testApiContext } from '../helpers/api-context.js';

// /openapi.json against the server that serves it: a valid OpenAPI 3.1 document that lists every
// route fastify registers with every parameter, body field and response its schema declares; no
// route takes a parameter the document does not list (each refuses an undocumented one, and knows
// each documented one); and what the routes answer matches the documented schemas.

interface Parameter {
  name: string;
  in: 'path' | 'query';
  description?: string;
}
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: unknown } }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}
interface RouteSchema {
  params?: z.ZodObject;
  querystring?: z.ZodObject;
  body?: z.ZodObject;
  response?: Record<string, { content: Record<string, unknown> }>;
}

/** Routes anyone may call, which take no parameters and ignore a query string. Every other route refuses a parameter it does not declare. */
const OPEN_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /readyz/strict', 'GET /metrics', 'GET /openapi.json'];

const SAMPLE_PATH_VALUES: Record<string, string> = { sessionId: 's1', exportId: '00000000-0000-4000-8000-000000000001', job: 'horizon-check', matter: 'no-such-matter', sha256: '0'.repeat(64) };

let db: TestDatabase;
let app: FastifyInstance;
let routes: RegisteredRoute[];
let doc: Document;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: db.url, API_MAX_PAGE_SIZE: '200' });
  const ctx = testApiContext(config, db.pool);
  ({ app, routes } = buildHttpApp(ctx, { legalHold: { zoom: undefined }, exports: { maxConcurrentExports: 1 } }));
  await app.ready();
  doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<Document>();
  token = (await createToken(db.pool, { name: 'contract-admin', role: 'admin' }, 'test')).token;
  await db.pool.query(`INSERT INTO archive.sessions (session_id, type, name, member_emails, raw) VALUES ('s1', '1:1', '', ARRAY['ada@example.com', 'bo@example.com'], '{}')`);
  await db.pool.query(
    `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, receiver, body, files, raw, content_sha256)
     SELECT 's1', 'm' || g, CASE WHEN g % 3 = 0 THEN 'edited' ELSE 'original' END, timestamptz '2026-03-01T00:00:00Z' + g * interval '1 minute',
            CASE WHEN g < 5 THEN timestamptz '2026-03-01T00:00:00Z' + g * interval '1 minute' END, 'ada@example.com', 'bo@example.com',
            'budget approved ' || g, '[]'::jsonb, jsonb_build_object('id', 'm' || g), sha256(convert_to('c' || g, 'UTF8'))
     FROM generate_series(1, 8) AS g`,
  );
}, 60_000);

afterAll(async () => {
  await app?.close();
  await db?.close();
});

const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const routeKey = (r: { method: string; url: string }) => `${r.method} ${openApiPath(r.url)}`;
const operationOf = (r: RegisteredRoute): Operation | undefined => doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
const keysOf = (shape: z.ZodObject | undefined) => Object.keys(shape?.shape ?? {}).sort();
const documented = (op: Operation, where: Parameter['in']) => (op.parameters ?? []).filter((p) => p.in === where).map((p) => p.name).sort();
const fillPath = (path: string) => path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(SAMPLE_PATH_VALUES[name] ?? 'x'));

function operations(): Array<{ key: string; method: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })));
}

async function call(method: string, url: string, body?: unknown) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  const json = res.headers['content-type']?.toString().includes('json') ? (res.json() as { error?: { code: string; message: string; parameter?: string } }) : undefined;
  return { status: res.statusCode, contentType: res.headers['content-type']?.toString() ?? '', json, body: res.body };
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('documents every route the server registers, and nothing more, each with its own id and a success response', () => {
    expect(operations().map((o) => o.key).sort()).toEqual(routes.map(routeKey).sort());
    expect(routes.length).toBeGreaterThanOrEqual(21);
    const ids = operations().map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, op } of operations()) expect(Object.keys(op.responses).some((s) => s.startsWith('2')), key).toBe(true);
  });

  it("lists every route's path and query parameters, body fields and responses, as its schema declares them", () => {
    for (const route of routes) {
      const key = routeKey(route);
      const schema = route.schema as RouteSchema;
      const op = operationOf(route);
      expect(op, key).toBeDefined();
      if (!op) continue;
      expect(documented(op, 'path'), `${key}: path parameters`).toEqual(keysOf(schema.params));
      expect(documented(op, 'path'), `${key}: every :param of the URL`).toEqual([...route.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]).sort());
      expect(documented(op, 'query'), `${key}: query parameters`).toEqual(keysOf(schema.querystring));
      // A route without a query schema would take any parameter unchecked: only the open probes may.
      if (!OPEN_ROUTES.includes(key)) expect(schema.querystring, `${key} declares its query parameters`).toBeDefined();
      const body = op.requestBody?.content['application/json']?.schema;
      expect(Object.keys(body?.properties ?? {}).sort(), `${key}: body fields`).toEqual(keysOf(schema.body));
      if (schema.body) expect(body?.additionalProperties, `${key}: no other body field`).toBe(false);
      expect(Object.keys(op.responses).sort(), `${key}: responses`).toEqual(Object.keys(schema.response ?? {}).sort());
      for (const [status, response] of Object.entries(schema.response ?? {})) {
        expect(Object.keys(op.responses[status]?.content ?? {}), `${key} ${status}: media types`).toEqual(Object.keys(response.content));
      }
    }
  });

  it('states the page sizes the routes use', () => {
    const limitOf = (path: string) => doc.paths[path]?.['get']?.parameters?.find((p) => p.name === 'limit')?.description;
    expect(limitOf('/v1/sessions')).toBe('Rows per page, 1 to 200 (API_MAX_PAGE_SIZE); default 100.');
    expect(limitOf('/v1/jobs/runs')).toBe('Rows per page, 1 to 200 (API_MAX_PAGE_SIZE); default 50.');
    expect(limitOf('/v1/exports')).toBe('Rows per page, 1 to 200 (API_MAX_PAGE_SIZE); default 50.');
  });
});

describe('no route takes a parameter the document does not list', () => {
  it('every route but the open probes refuses an undocumented query parameter, and an undocumented body field', async () => {
    const checked: string[] = [];
    for (const { key, method, path, op } of operations()) {
      if (OPEN_ROUTES.includes(key)) continue;
      const takesBody = op.requestBody !== undefined;
      const res = await call(method, `${fillPath(path)}?zz_undocumented=1`, takesBody ? {} : undefined);
      expect(res.status, `${key}: ${res.body}`).toBe(400);
      expect(res.json?.error, key).toMatchObject({ code: 'INPUT_INVALID', parameter: 'zz_undocumented', message: expect.stringMatching(/^unknown parameter "zz_undocumented"/) });
      if (takesBody) {
        const field = await call(method, fillPath(path), { zz_undocumented: 1 });
        expect(field.status, `${key}: ${field.body}`).toBe(400);
        expect(field.json?.error, key).toMatchObject({ parameter: 'zz_undocumented', message: expect.stringMatching(/^unknown field "zz_undocumented"/) });
      }
      checked.push(key);
    }
    expect(checked.length).toBe(operations().length - OPEN_ROUTES.length);
  });

  it('a caller without a token, or with too small a role, learns nothing about the parameters: 401 and 403 come before any 400', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/v1/sessions?limit=0&zz_undocumented=1' });
    expect(anonymous.statusCode).toBe(401);
    const { token: reader } = await createToken(db.pool, { name: 'contract-reader', role: 'reader' }, 'test');
    const small = await app.inject({ method: 'POST', url: '/v1/jobs/no-such-job/run?zz_undocumented=1', headers: { authorization: `Bearer ${reader}` } });
    expect(small.statusCode).toBe(403);
  });

  it('every route knows each parameter and body field the document lists', async () => {
    for (const { key, method, path, op } of operations()) {
      // A control character is refused by every text parameter, and no other kind accepts it either,
      // so the routes answer before doing anything; what matters is that none calls it unknown.
      for (const p of (op.parameters ?? []).filter((x) => x.in === 'query')) {
        const res = await call(method, `${fillPath(path)}?${p.name}=%01`, op.requestBody ? {} : undefined);
        expect(res.json?.error?.message ?? '', `${key} ?${p.name}`).not.toMatch(/^unknown parameter/);
      }
      for (const field of Object.keys(op.requestBody?.content['application/json']?.schema.properties ?? {})) {
        const res = await call(method, fillPath(path), { [field]: '\u0001' });
        expect(res.json?.error?.message ?? '', `${key} body ${field}`).not.toMatch(/^unknown field/);
      }
    }
  });
});

describe('what the routes answer is what the document says', () => {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

  /** The documented schema of `status` for this operation, as one JSON Schema resolving the document's components. */
  function validatorFor(path: string, method: string, status: number) {
    const response = doc.paths[path]?.[method]?.responses[String(status)];
    expect(response, `${method.toUpperCase()} ${path} documents ${status}`).toBeDefined();
    const schema = response?.content?.['application/json']?.schema;
    expect(schema, `${method.toUpperCase()} ${path} ${status} is JSON`).toBeDefined();
    return ajv.compile({ ...(schema as object), components: doc.components });
  }

  it.each([
    ['GET', '/healthz', '/healthz', [200]],
    ['GET', '/readyz', '/readyz', [200]],
    // An empty archive: its oldest window is at horizon risk.
    ['GET', '/readyz/strict', '/readyz/strict', [200, 503]],
    ['GET', '/v1/status', '/v1/status', [200]],
    ['GET', '/v1/jobs/runs', '/v1/jobs/runs?limit=5', [200]],
    ['GET', '/v1/sessions', '/v1/sessions?limit=1', [200]],
    ['GET', '/v1/sessions/{sessionId}', '/v1/sessions/s1', [200]],
    ['GET', '/v1/sessions/{sessionId}', '/v1/sessions/no-such-session', [404]],
    ['GET', '/v1/sessions/{sessionId}/transcript', '/v1/sessions/s1/transcript?limit=3&include_raw=true', [200]],
    ['GET', '/v1/messages/search', '/v1/messages/search?q=budget&limit=50', [200]],
    ['GET', '/v1/messages/search', '/v1/messages/search?limit=0', [400]],
    ['GET', '/v1/legal-hold/matters', '/v1/legal-hold/matters', [200]],
    ['GET', '/v1/legal-hold/matters/{matter}', '/v1/legal-hold/matters/no-such-matter', [404]],
    ['GET', '/v1/exports', '/v1/exports', [200]],
    ['GET', '/v1/exports/{exportId}', '/v1/exports/00000000-0000-4000-8000-000000000001', [404]],
    ['POST', '/v1/jobs/{job}/run', '/v1/jobs/horizon-check/run', [202]],
    // No Zoom credentials on this instance.
    ['POST', '/v1/legal-hold/matters', '/v1/legal-hold/matters', [503]],
  ] as const)('%s %s (%s)', async (method, path, url, statuses) => {
    const res = await call(method, url, method === 'POST' && path.includes('legal-hold') ? { name: 'Case', custodians: ['ada@example.com'] } : undefined);
    expect(statuses, res.body.slice(0, 300)).toContain(res.status);
    const validate = validatorFor(path, method.toLowerCase(), res.status);
    expect(validate(res.json), `${res.status} ${res.body.slice(0, 300)}\n${JSON.stringify(validate.errors)}`).toBe(true);
    if (res.status === 200 && Array.isArray((res.json as { items?: unknown[] } | undefined)?.items) && !url.includes('jobs') && !url.includes('legal-hold') && !url.includes('exports')) {
      expect((res.json as { items: unknown[] }).items.length, 'the seeded archive answers with items').toBeGreaterThan(0);
    }
  });

  it('the documented schemas are checked, references and all', () => {
    expect(validatorFor('/v1/sessions', 'get', 200)({ items: [], next_cursor: null })).toBe(true);
    expect(validatorFor('/v1/sessions', 'get', 200)({ items: [{ session_id: 's1' }], next_cursor: null })).toBe(false);
    expect(validatorFor('/v1/sessions', 'get', 404 - 4)({ error: { code: 'INPUT_INVALID', message: 'm' } })).toBe(false);
  });

  it('an unauthenticated request gets the documented 401', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/sessions' });
    expect(res.statusCode).toBe(401);
    expect(validatorFor('/v1/sessions', 'get', 401)(res.json())).toBe(true);
  });

  it('/metrics answers the documented media type', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(Object.keys(doc.paths['/metrics']?.['get']?.responses['200']?.content ?? {})).toEqual([res.headers['content-type']?.toString().replace(/; charset=utf-8$/, '')]);
  });
});
