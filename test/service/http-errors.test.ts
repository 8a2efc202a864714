import net from 'node:net';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createLogger } from '../../src/logging/logger.js';
import { encodeCursor, filterFingerprint } from '../../src/service/cursor.js';
import { buildHttpApp } from '../../src/service/http-server.js';
import { createToken, revokeToken } from '../../src/service/token-store.js';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testApiContext } from '../helpers/api-context.js';

// The HTTP API's answers when something is wrong, from a real fastify server on a real socket over
// a real PostgreSQL: 400 for impossible input, 503 with Retry-After when the database is gone,
// immediate token revocation, and one error shape for everything, fastify's own refusals included.
// The database is reached through a TCP proxy the test can cut, as a network or server outage would.

interface ErrorBody {
  error: { code: string; message: string; parameter?: string; request_id: string };
}

let db: TestDatabase;
let proxy: TcpProxy;
let pool: Pool;
let app: FastifyInstance;
let baseUrl: string;
let port: number;
let token: string;
const logLines: Array<Record<string, unknown>> = [];

/** A TCP proxy to PostgreSQL that can be cut (every connection dropped, new ones refused). */
interface TcpProxy {
  port: number;
  cut(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = await startProxy(Number(target.port || 5432));
  const proxied = new URL(db.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  pool = createPool({ connectionString: proxied.toString(), max: 4 });
  const config = loadConfig({ DATABASE_URL: proxied.toString(), ...{ ZOOM_API_BASE_URL: 'http://127.0.0.1:9/v2', ZOOM_OAUTH_TOKEN_URL: 'http://127.0.0.1:9/oauth/token' } });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', format: 'json', destination: sink });
  const zoom = new ZoomClient({ config: config.zoom, credentials: SIM_CREDENTIALS, logger });
  const ctx = testApiContext(config, pool, logger);
  ({ app } = buildHttpApp(ctx, { legalHold: { zoom }, exports: { maxConcurrentExports: 1 } }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  token = (await createToken(db.pool, { name: 'errors-admin', role: 'admin' }, 'test')).token;
  await db.pool.query(`INSERT INTO archive.sessions (session_id, type, name, raw) VALUES ('s1', 'Group', 'one', '{}')`);
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await db?.close();
});

async function call(method: string, path: string, options: { body?: unknown; auth?: string | null } = {}): Promise<{ status: number; headers: Headers; body: ErrorBody & Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? token : options.auth;
  if (auth !== null) headers['authorization'] = `Bearer ${auth}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as ErrorBody & Record<string, unknown> };
}

function expectOneShape(body: unknown, code: string): void {
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String), request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) }) });
  const message = (body as ErrorBody).error.message;
  expect(message).not.toMatch(/--[a-z]|Invalid input|expected \w+, received|FST_ERR|statusCode/);
}

async function rawRequest(bytes: Buffer | string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
  });
}

/** A cursor of the right kind and filters whose timestamp has been hand-edited. */
function editedCursor(kind: string, filters: Record<string, unknown>, position: unknown[]): string {
  return encodeCursor(kind, filterFingerprint(filters), position as Array<string | number | null>);
}

describe('impossible input is a 400, never a 500', () => {
  const impossible = ['2026-13-45T25:61:61.000000Z', '2026-02-30T10:00:00.000000Z', '0000-01-01T00:00:00.000000Z', '2026-06-01T24:00:00.000000Z'];

  it.each(impossible)('a hand-edited cursor with %s on every paged endpoint', async (instant) => {
    const cases: Array<[string, string]> = [
      ['/v1/sessions', editedCursor('sessions', { type: undefined, name: undefined, member: undefined, activeFrom: undefined, activeTo: undefined }, [instant, 's1'])],
      ['/v1/sessions/s1/transcript', editedCursor('transcript', { sessionId: 's1' }, ['s', instant, 'm1', instant, 1])],
      ['/v1/messages/search?sender=a@example.com', editedCursor('search', { sender: 'a@example.com', receiver: undefined, sessionId: undefined, from: undefined, to: undefined, q: undefined }, ['s', instant, 1])],
      ['/v1/exports', editedCursor('exports', { state: undefined }, [instant, '00000000-0000-4000-8000-000000000001'])],
    ];
    const errorsBefore = logLines.filter((l) => Number(l['level']) >= 50).length;
    for (const [path, cursor] of cases) {
      const res = await call('GET', `${path}${path.includes('?') ? '&' : '?'}cursor=${cursor}`);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(400);
      expectOneShape(res.body, 'INPUT_INVALID');
      expect(res.body.error.parameter).toBe('cursor');
    }
    expect(logLines.filter((l) => Number(l['level']) >= 50).length).toBe(errorsBefore);
  });

  it('impossible dates in from/to are a 400 naming the parameter', async () => {
    for (const from of ['2026-02-30', '0000-01-01T00:00:00Z', '2026-13-45T25:61:61Z']) {
      const res = await call('GET', `/v1/messages/search?sender=a@example.com&from=${encodeURIComponent(from)}`);
      expect(res.status).toBe(400);
      expect(res.body.error.parameter).toBe('from');
    }
  });
});

describe('one error shape, in the API\'s words', () => {
  it('answers a malformed or overlong URL, bytes that are not HTTP, and an unknown path without echoing them', async () => {
    const long = await call('GET', `/v1/sessions/${'x'.repeat(600)}`);
    expect(long.status).toBe(414);
    expectOneShape(long.body, 'URI_TOO_LONG');
    expect(long.headers.get('x-request-id')).toBe(long.body.error.request_id);
    expect(JSON.stringify(long.body)).not.toContain('xxxxxxxxxx');

    const bad = await call('GET', '/v1/sessions/%E0%A4%A');
    expect(bad.status).toBe(400);
    expectOneShape(bad.body, 'INPUT_INVALID');
    expect(JSON.stringify(bad.body)).not.toContain('%E0');

    const unknown = await call('GET', '/v1/no-such-thing/%3Cscript%3E');
    expect(unknown.status).toBe(404);
    expectOneShape(unknown.body, 'NOT_FOUND');
    expect(JSON.stringify(unknown.body)).not.toMatch(/no-such-thing|script/);

    for (const bytes of [Buffer.from('GET /v1/sessions/\xff\x01 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'), 'GARBAGE\r\n\r\n']) {
      const answer = await rawRequest(bytes);
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as ErrorBody;
      expectOneShape(body, 'INPUT_INVALID');
      expect(answer).toContain(`X-Request-Id: ${body.error.request_id}`);
    }
  });

  // [path, what the test shows, cases]: each case's body is refused with the message and the field at fault.
  it.each<[string, string, Array<[body: unknown, message: RegExp, parameter: string]>]>([
    [
      '/v1/exports',
      'names the JSON fields, never CLI flags',
      [
        [{}, /say what to export: matter .*custodians .*from.* and to.* sessions/, 'filter'],
        [{ custodians: ['a@example.com'] }, /custodians needs a date range: from and to/, 'from'],
        [{ custodians: ['a@example.com'], from: '2026-03-10', to: '2026-03-01' }, /reversed: from 2026-03-10 is after to 2026-03-01/, 'from'],
        [{ sessions: ['s1'], query: '  ' }, /query must not be empty/, 'query'],
        [{ sessions: ['s1'], query: '!!!' }, /query "!!!" has no searchable word/, 'query'],
        [{ matter: 'm', sessions: ['s1'] }, /exactly one of matter, custodians or sessions/, 'filter'],
        [{ sessions: ['s1'], formats: 'pdf' }, /formats takes a comma-separated subset/, 'formats'],
      ],
    ],
    [
      '/v1/legal-hold/matters',
      "explains a missing or wrong field in words, not zod's",
      [
        [{}, /the matter name is required/, 'name'],
        [{ name: 'Case' }, /a matter needs at least one custodian/, 'custodians'],
        [{ name: 'Case', custodians: 'a@example.com' }, /custodians must be a list/, 'custodians'],
        [{ name: 'Case', custodians: ['not an email@'] }, /is not a valid email address/, 'custodians'],
        [{ name: 'Case', custodians: ['a@example.com'], from: '2026-02-30' }, /from must be a calendar date/, 'from'],
      ],
    ],
  ])('POST %s %s', async (path, _shows, cases) => {
    for (const [body, message, parameter] of cases) {
      const res = await call('POST', path, { body });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expectOneShape(res.body, 'INPUT_INVALID');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.parameter).toBe(parameter);
    }
  });
});

describe('tokens', () => {
  it('a revoked token is refused from the very next request', async () => {
    const { token: short } = await createToken(db.pool, { name: 'short-lived', role: 'reader' }, 'test');
    expect((await call('GET', '/v1/status', { auth: short })).status).toBe(200);
    await revokeToken(db.pool, 'short-lived', 'test');
    const res = await call('GET', '/v1/status', { auth: short });
    expect(res.status).toBe(401);
    expectOneShape(res.body, 'UNAUTHORIZED');
  });
});

describe('the database goes away', () => {
  it('API routes answer 503 with Retry-After; /readyz 503; /healthz stays 200', async () => {
    expect((await call('GET', '/v1/sessions')).status).toBe(200);
    await proxy.cut();
    for (const path of ['/v1/sessions', '/v1/sessions/s1', '/v1/status', '/v1/messages/search?sender=a@example.com', '/v1/exports', '/v1/legal-hold/matters']) {
      const res = await call('GET', path);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(503);
      expectOneShape(res.body, 'SERVICE_UNAVAILABLE');
      expect(res.headers.get('retry-after')).toBe('5');
    }
    const ready = await call('GET', '/readyz', { auth: null });
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    expect((await call('GET', '/healthz', { auth: null })).status).toBe(200);
    expect(logLines.filter((l) => l['msg'] === 'request failed unexpectedly')).toEqual([]);
  });
});
