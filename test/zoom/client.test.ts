import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZoomConfig } from '../../src/config/config.js';
import { ZoomApiError, ZoomScopeError } from '../../src/errors.js';
import type { Logger } from '../../src/logging/logger.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';
import { ZoomClient, type ZoomCallEvent, type ZoomRequestOptions, type ZoomRetryTuning } from '../../src/zoom/client.js';
import {
  captureLogger,
  sequence,
  startZoomLikeServer,
  TEST_CREDENTIALS,
  testZoomConfig,
  zoomError,
  type Handler,
  type ZoomLikeServer,
} from './zoom-like-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  config?: Partial<ZoomConfig>;
  clock?: Clock;
  logger?: Logger;
  retry?: ZoomRetryTuning;
  random?: () => number;
  maxDailyWaitMs?: number;
  onCall?: (event: ZoomCallEvent) => void;
}

async function setup(api: Handler, options: Setup = {}) {
  const server = await startZoomLikeServer({ api });
  const events: ZoomCallEvent[] = [];
  const client = new ZoomClient({
    config: testZoomConfig(server, options.config),
    credentials: TEST_CREDENTIALS,
    logger: options.logger ?? createSilentLogger(),
    random: options.random ?? (() => 0.5),
    retry: options.retry ?? { baseDelayMs: 20, maxDelayMs: 100, qpsRetryDelayMs: 100 },
    onCall: (event) => {
      events.push(event);
      options.onCall?.(event);
    },
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.maxDailyWaitMs !== undefined ? { maxDailyWaitMs: options.maxDailyWaitMs } : {}),
  });
  cleanups.push(() => server.close(), () => client.close());
  return { server, client, events };
}

const GET: ZoomRequestOptions = { endpoint: 'test.things', label: 'medium', method: 'GET', path: '/things' };
const OK: Handler = () => ({ json: { ok: true } });

async function failure(promise: Promise<unknown>): Promise<ZoomApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ZoomApiError)) throw new Error(`expected a ZoomApiError, got ${String(err)}`, { cause: err });
  return err;
}

function bearerOf(server: ZoomLikeServer, index: number): string | undefined {
  return server.apiRequests[index]?.headers.authorization;
}

describe('ZoomClient: requests', () => {
  it('sends a bearer token to apiBaseUrl + path with the query, and returns body, headers and trackingId', async () => {
    const { server, client } = await setup(() => ({ json: { hello: 'wörld' }, headers: { 'x-zm-trackingid': 'trk-1' } }));
    const res = await client.request({ ...GET, path: '/report/chat/sessions/a%2Fb', query: { from: '2025-01-01', page_size: 300, flag: true, skipped: undefined } });
    expect(res).toMatchObject({ status: 200, bodyText: '{"hello":"wörld"}', trackingId: 'trk-1' });
    expect(res.headers['content-type']).toBe('application/json');
    const req = server.apiRequests[0];
    expect(req?.url).toBe('/v2/report/chat/sessions/a%2Fb?from=2025-01-01&page_size=300&flag=true');
    expect(req?.headers.authorization).toBe('Bearer token-1');
  });

  it('sends json bodies and parses JSON with requestJson', async () => {
    const { server, client } = await setup(() => ({ status: 201, json: { matter_id: 'm-1' } }));
    const body = await client.requestJson<{ matter_id: string }>({ endpoint: 'legalhold.matters.add', label: 'resource-intensive', method: 'POST', path: '/chat/legalhold/matters', json: { matter_name: 'x' } });
    expect(body.matter_id).toBe('m-1');
    expect(server.apiRequests[0]?.body).toBe('{"matter_name":"x"}');
    expect(server.apiRequests[0]?.headers['content-type']).toBe('application/json');
  });

  it('rejects a non-JSON body in requestJson as ZOOM_INVALID_RESPONSE', async () => {
    const { client } = await setup(() => ({ body: '<html>oops</html>', headers: { 'x-zm-trackingid': 'trk-html' } }));
    const err = await failure(client.requestJson(GET));
    expect(err).toMatchObject({ code: 'ZOOM_INVALID_RESPONSE', trackingId: 'trk-html', status: 200 });
  });

  it('fetches one token for 20 concurrent calls', async () => {
    const { server, client } = await setup(OK);
    await Promise.all(Array.from({ length: 20 }, () => client.request(GET)));
    expect(server.tokenRequests).toHaveLength(1);
    expect(server.apiRequests).toHaveLength(20);
    expect(client.stats().tokenFetches).toBe(1);
  });

  it('renews the token before it expires (manual clock)', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const { server, client } = await setup(OK, { clock });
    await client.request(GET);
    clock.advance(3599_000 - 90_000);
    await client.request(GET);
    clock.advance(40_000); // now within 60 s of expiry
    await client.request(GET);
    expect(server.tokenRequests).toHaveLength(2);
    expect([bearerOf(server, 0), bearerOf(server, 1), bearerOf(server, 2)]).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
  });

  it('closes: later calls fail as ABORTED', async () => {
    const { client } = await setup(OK);
    await client.close();
    await expect(client.request(GET)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('ZoomClient: authentication errors', () => {
  const expired = zoomError(401, 124, 'Access token is expired.');

  it('401/124 drops the token, fetches a new one and retries once', async () => {
    const { server, client } = await setup((req) => (req.headers.authorization === 'Bearer token-1' ? expired : { json: { ok: 1 } }));
    await expect(client.request(GET)).resolves.toMatchObject({ status: 200 });
    expect(server.tokenRequests).toHaveLength(2);
    expect([bearerOf(server, 0), bearerOf(server, 1)]).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('a second 401 is ZOOM_AUTH_FAILED', async () => {
    const { server, client } = await setup(() => expired);
    const err = await failure(client.request(GET));
    expect(err).toMatchObject({ code: 'ZOOM_AUTH_FAILED', status: 401, zoomCode: 124, trackingId: 'track-401-124' });
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.apiRequests).toHaveLength(2);
  });

  it('concurrent 401s for the same token cause one refresh', async () => {
    // The 401s are held back until all five requests are in flight with token-1.
    const { server, client } = await setup((req) => (req.headers.authorization === 'Bearer token-1' ? { ...expired, delayMs: 100 } : { json: {} }));
    await Promise.all(Array.from({ length: 5 }, () => client.request(GET)));
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.apiRequests.filter((r) => r.headers.authorization === 'Bearer token-1')).toHaveLength(5);
    expect(server.apiRequests).toHaveLength(10);
  });

  it('4711 is a ZoomScopeError naming the scopes, never retried or refreshed', async () => {
    const message = 'Invalid access token, does not contain scopes:[report:read:list_chat_sessions:admin, report_chat:read:admin].';
    const { server, client } = await setup(() => zoomError(401, 4711, message));
    const err = await failure(client.request(GET));
    expect(err).toBeInstanceOf(ZoomScopeError);
    expect(err).toMatchObject({ code: 'ZOOM_MISSING_SCOPES', status: 401, zoomCode: 4711, trackingId: 'track-401-4711' });
    expect((err as ZoomScopeError).missingScopes).toEqual(['report:read:list_chat_sessions:admin', 'report_chat:read:admin']);
    expect(err.message).toContain('report_chat:read:admin');
    expect(server.apiRequests).toHaveLength(1);
    expect(server.tokenRequests).toHaveLength(1);
  });
});

describe('ZoomClient: errors that are not retried', () => {
  it.each([
    [400, 124_001, 'ZOOM_BAD_REQUEST'],
    [403, 200, 'ZOOM_FORBIDDEN'],
    [404, 1001, 'ZOOM_NOT_FOUND'],
    [409, 9, 'ZOOM_BAD_REQUEST'],
  ])('%i → %s after one request, carrying status, Zoom code, message and trackingId', async (status, code, errorCode) => {
    const { server, client, events } = await setup(() => zoomError(status, code, 'User does not exist.'));
    const err = await failure(client.request(GET));
    expect(err).toMatchObject({ code: errorCode, status, zoomCode: code, zoomMessage: 'User does not exist.', trackingId: `track-${status}-${code}`, endpoint: 'test.things', method: 'GET' });
    expect(err.message).toContain(`track-${status}-${code}`);
    expect(server.apiRequests).toHaveLength(1);
    expect(events).toHaveLength(1);
  });

  it('400/300 is ZOOM_PAGE_TOKEN_EXPIRED only when the request carried a page token', async () => {
    const { client } = await setup(() => zoomError(400, 300, 'The next page token is either invalid or has expired.'));
    await expect(client.request({ ...GET, query: { next_page_token: 'tok' } })).rejects.toMatchObject({ code: 'ZOOM_PAGE_TOKEN_EXPIRED', zoomCode: 300 });
    await expect(client.request({ ...GET, query: { from: '2025-01-01' } })).rejects.toMatchObject({ code: 'ZOOM_BAD_REQUEST', zoomCode: 300 });
  });

  it('refuses a body over maxResponseBytes, declared or not, without retrying', async () => {
    const big = 'x'.repeat(5000);
    const { server, client } = await setup(sequence({ body: big }, { body: big, chunked: true }), { config: { maxResponseBytes: 1000 } });
    await expect(client.request(GET)).rejects.toMatchObject({ code: 'ZOOM_RESPONSE_TOO_LARGE', status: 200 });
    await expect(client.request(GET)).rejects.toMatchObject({ code: 'ZOOM_RESPONSE_TOO_LARGE', status: 200 });
    expect(server.apiRequests).toHaveLength(2);
  });

  it('refuses invalid UTF-8 as ZOOM_INVALID_RESPONSE', async () => {
    const { server, client } = await setup(() => ({ body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: { 'x-zm-trackingid': 'trk-utf8' } }));
    const err = await failure(client.request(GET));
    expect(err).toMatchObject({ code: 'ZOOM_INVALID_RESPONSE', trackingId: 'trk-utf8' });
    expect(server.apiRequests).toHaveLength(1);
  });
});

describe('ZoomClient: retries', () => {
  it('retries 5xx with backoff, then succeeds; one onCall per attempt', async () => {
    const { server, client, events } = await setup(sequence(zoomError(503, 503, 'busy'), { status: 502, body: '<html>bad gateway</html>' }, { json: { ok: true } }));
    await expect(client.request(GET)).resolves.toMatchObject({ status: 200 });
    expect(server.apiRequests).toHaveLength(3);
    expect(events.map((e) => [e.status, e.attempt])).toEqual([
      [503, 1],
      [502, 2],
      [200, 3],
    ]);
    expect(events.every((e) => e.endpoint === 'test.things' && e.label === 'medium' && e.method === 'GET' && e.durationMs >= 0)).toBe(true);
    const stats = client.stats();
    expect(stats.retries).toBe(2);
    expect(stats.calls['test.things']).toEqual({ '503': 1, '502': 1, '200': 1 });
  });

  it('gives up after maxRetries with ZOOM_SERVER_ERROR carrying the last response', async () => {
    const { server, client } = await setup(() => zoomError(500, 500, 'internal'), { config: { maxRetries: 2 } });
    const err = await failure(client.request(GET));
    expect(err).toMatchObject({ code: 'ZOOM_SERVER_ERROR', status: 500, zoomCode: 500, trackingId: 'track-500-500' });
    expect(server.apiRequests).toHaveLength(3);
  });

  it('retries a GET whose connection is reset mid-body', async () => {
    const body = { messages: Array.from({ length: 50 }, (_, i) => ({ id: `m${i}` })) };
    const { server, client, events } = await setup(sequence({ json: body, resetAfterBodyBytes: 20 }, { json: body }));
    const res = await client.request(GET);
    expect(JSON.parse(res.bodyText)).toEqual(body);
    expect(server.apiRequests).toHaveLength(2);
    expect(events.map((e) => e.status)).toEqual(['network', 200]);
  });

  it('retries a GET whose connection is reset before any response, and one that times out', async () => {
    // undici checks headersTimeout on a coarse (~1 s) timer, so the late answer comes well after it.
    const { server, client } = await setup(sequence({ resetWithoutResponse: true }, { json: {}, delayMs: 2500 }, { json: { ok: 1 } }), { config: { requestTimeoutMs: 200 } });
    await expect(client.request(GET)).resolves.toMatchObject({ status: 200, bodyText: '{"ok":1}' });
    expect(server.apiRequests).toHaveLength(3);
  });

  it('gives up on network errors with ZOOM_NETWORK_ERROR', async () => {
    const { server, client } = await setup(() => ({ resetWithoutResponse: true }), { config: { maxRetries: 1 } });
    await expect(client.request(GET)).rejects.toMatchObject({ code: 'ZOOM_NETWORK_ERROR', endpoint: 'test.things' });
    expect(server.apiRequests).toHaveLength(2);
  });

  it('logs each retry at warn with its fields, never tokens or query strings', async () => {
    const capture = captureLogger();
    const { client } = await setup(sequence(zoomError(503, 503, 'busy', { 'x-zm-trackingid': 'trk-log' }), { json: {} }), { logger: capture.logger });
    await client.request({ ...GET, query: { next_page_token: 'SECRET-PAGE-TOKEN' } });
    const warn = capture.lines().find((l) => l['level'] === 40);
    expect(warn).toMatchObject({ endpoint: 'test.things', status: 503, zoomCode: 503, trackingId: 'trk-log', attempt: 1, delayMs: 10 });
    expect(String(warn?.['msg'])).toMatch(/retrying in 10 ms/);
    const text = capture.text();
    expect(text).not.toContain('token-1');
    expect(text).not.toContain('SECRET-PAGE-TOKEN');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('busy'); // no response bodies
  });
});

describe('ZoomClient: POST is never replayed once it may have reached Zoom', () => {
  const POST: ZoomRequestOptions = { endpoint: 'legalhold.matters.add', label: 'resource-intensive', method: 'POST', path: '/chat/legalhold/matters', json: { matter_name: 'm' } };

  it('a reset after sending is not retried', async () => {
    const { server, client } = await setup(() => ({ resetWithoutResponse: true }));
    const err = await failure(client.request(POST));
    expect(err).toMatchObject({ code: 'ZOOM_NETWORK_ERROR', method: 'POST' });
    expect(err.message).toMatch(/not sent again/);
    expect(server.apiRequests).toHaveLength(1);
  });

  it('a reset mid-body of the answer is not retried', async () => {
    const { server, client } = await setup(() => ({ status: 201, json: { matter_id: 'x'.repeat(200) }, resetAfterBodyBytes: 10 }));
    await expect(client.request(POST)).rejects.toMatchObject({ code: 'ZOOM_NETWORK_ERROR' });
    expect(server.apiRequests).toHaveLength(1);
  });

  it('a 5xx is not retried', async () => {
    const { server, client } = await setup(() => zoomError(502, 502, 'bad gateway'));
    await expect(client.request(POST)).rejects.toMatchObject({ code: 'ZOOM_SERVER_ERROR', status: 502 });
    expect(server.apiRequests).toHaveLength(1);
  });

  it('a 429 is retried (Zoom did not act on it)', async () => {
    const { server, client } = await setup(sequence(zoomError(429, 429, 'per-second rate limit', { 'retry-after': '0', 'x-ratelimit-type': 'QPS' }), { status: 201, json: { matter_id: 'm-1' } }));
    await expect(client.requestJson(POST)).resolves.toEqual({ matter_id: 'm-1' });
    expect(server.apiRequests).toHaveLength(2);
  });

  it('a refused connection is one ZOOM_UNREACHABLE naming the URL, not a minute of retries', async () => {
    // Token endpoint alive; API port closed.
    const tokenServer = await startZoomLikeServer({ api: OK });
    cleanups.push(() => tokenServer.close());
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const events: ZoomCallEvent[] = [];
    const capture = captureLogger();
    const client = new ZoomClient({
      config: testZoomConfig({ apiBaseUrl: `http://127.0.0.1:${port}/v2`, tokenUrl: tokenServer.tokenUrl }, { maxRetries: 6 }),
      credentials: TEST_CREDENTIALS,
      logger: capture.logger,
      retry: { baseDelayMs: 10, maxDelayMs: 20 },
      onCall: (e) => events.push(e),
    });
    cleanups.push(() => client.close());
    for (const request of [POST, { ...POST, method: 'GET' as const }]) {
      const err = await failure(client.request(request));
      expect(err.code).toBe('ZOOM_UNREACHABLE');
      expect(err.message).toContain(`cannot reach the Zoom API at http://127.0.0.1:${port}/v2`);
      expect(err.message).toContain('connection refused (ECONNREFUSED)');
      expect(err.message).toContain('ZOOM_API_BASE_URL');
    }
    expect(events.map((e) => e.status)).toEqual(['network', 'network']);
    expect(capture.lines().filter((l) => l['level'] === 40)).toEqual([]);
  });
});

describe('ZoomClient: rate limits', () => {
  it('paces N calls at rate R: FIFO, ≈ (N-1)/R in total, never more than R in any 1-s window at the server', async () => {
    const rate = 10;
    const count = 15;
    const { server, client } = await setup(OK, { config: { ratePerSecond: { light: 1000, medium: rate, heavy: 1000, 'resource-intensive': 1000 } } });
    await Promise.all(Array.from({ length: count }, (_, i) => client.request({ ...GET, query: { i } })));
    const arrivals = server.apiRequests.map((r) => ({ i: Number(r.query.get('i')), atMs: r.receivedAtMs }));
    expect(arrivals.map((a) => a.i)).toEqual(Array.from({ length: count }, (_, i) => i));
    const spanMs = (arrivals.at(-1)?.atMs ?? 0) - (arrivals[0]?.atMs ?? 0);
    expect(spanMs).toBeGreaterThanOrEqual(((count - 1) / rate) * 1000 - 50);
    expect(spanMs).toBeLessThan(((count - 1) / rate) * 1000 + 1000);
    // Sliding window over server arrival times. 50 ms of slack absorbs scheduling jitter between
    // the client's grant and the server's clock reading on a loaded machine.
    for (const first of arrivals) {
      const inWindow = arrivals.filter((a) => a.atMs >= first.atMs && a.atMs < first.atMs + 1000 - 50);
      expect(inWindow.length).toBeLessThanOrEqual(rate);
    }
  });

  it('a per-second 429 honours Retry-After seconds and pauses the label for every worker', async () => {
    let secondCall: Promise<unknown> | undefined;
    const { server, client } = await setup(
      sequence(zoomError(429, 429, 'You have reached the maximum per-second rate limit for this API.', { 'retry-after': '1', 'x-ratelimit-type': 'QPS' }), { json: {} }),
      {
        onCall: (e) => {
          if (e.status === 429) secondCall = client.request({ ...GET, endpoint: 'test.other' });
        },
      },
    );
    await client.request(GET);
    await secondCall;
    const [limited, ...after] = server.apiRequests;
    expect(after).toHaveLength(2);
    for (const req of after) expect(req.receivedAtMs - (limited?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(950);
    expect(client.stats().rateLimited).toEqual({ qps: 1, daily: 0 });
  });

  it('a per-second 429 without Retry-After waits ~qpsRetryDelayMs plus jitter', async () => {
    const { server, client } = await setup(sequence(zoomError(429, 429, 'per-second'), { json: {} }), { retry: { baseDelayMs: 1, maxDelayMs: 1, qpsRetryDelayMs: 200 }, random: () => 1 });
    await client.request(GET);
    const gap = (server.apiRequests[1]?.receivedAtMs ?? 0) - (server.apiRequests[0]?.receivedAtMs ?? 0);
    expect(gap).toBeGreaterThanOrEqual(290);
  });

  it('a daily 429 with an absolute date pauses HEAVY and RESOURCE-INTENSIVE and fails fast beyond maxDailyWaitMs', async () => {
    const resetAt = new Date(Date.now() + 3 * 3600_000);
    const { server, client } = await setup(
      (req) =>
        req.pathname === '/v2/heavy'
          ? zoomError(429, 429, 'You have reached the maximum daily rate limit for this API.', { 'retry-after': resetAt.toUTCString(), 'x-ratelimit-type': 'Daily-limit' })
          : { json: {} },
      { maxDailyWaitMs: 60_000 },
    );
    const err = await failure(client.request({ endpoint: 'test.heavy', label: 'heavy', method: 'GET', path: '/heavy' }));
    expect(err).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED', status: 429, zoomCode: 429, trackingId: 'track-429-429' });
    expect(err.retryAfterMs).toBeGreaterThan(3 * 3600_000 - 2000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(3 * 3600_000 + 1000);
    expect(server.apiRequests).toHaveLength(1);

    const start = performance.now();
    const shared = await failure(client.request({ endpoint: 'legalhold.matters.list', label: 'resource-intensive', method: 'GET', path: '/ri' }));
    expect(shared).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED', endpoint: 'legalhold.matters.list' });
    expect(shared.retryAfterMs).toBeGreaterThan(3 * 3600_000 - 5000);
    expect(performance.now() - start).toBeLessThan(200);
    expect(server.apiRequests).toHaveLength(1);

    await expect(client.request(GET)).resolves.toMatchObject({ status: 200 });
    expect(client.stats().rateLimited).toEqual({ qps: 0, daily: 1 });
  });

  it('a daily 429 without Retry-After pauses until 00:00 UTC', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T23:00:00Z'));
    const { client } = await setup(() => zoomError(429, 429, 'daily', { 'x-ratelimit-type': 'Daily-limit' }), { clock });
    const err = await failure(client.request({ ...GET, label: 'heavy' }));
    expect(err).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED', retryAfterMs: 3600_000 });
  });

  it('a daily 429 that resets within maxDailyWaitMs is waited out', async () => {
    const { server, client } = await setup(
      sequence(zoomError(429, 429, 'daily', { 'x-ratelimit-type': 'Daily-limit', 'retry-after': new Date(Date.now() + 300).toISOString() }), { json: {} }),
      { maxDailyWaitMs: 60_000 },
    );
    await expect(client.request({ ...GET, label: 'heavy' })).resolves.toMatchObject({ status: 200 });
    expect(server.apiRequests).toHaveLength(2);
  });
});

describe('ZoomClient: aborts', () => {
  /** Aborts a GET `abortAfterMs` after it starts; it must reject ABORTED within `withinMs`. */
  async function expectPromptAbort(client: ZoomClient, abortAfterMs: number, withinMs: number): Promise<void> {
    const controller = new AbortController();
    const start = performance.now();
    setTimeout(() => controller.abort(), abortAfterMs);
    await expect(client.request({ ...GET, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(performance.now() - start).toBeLessThan(withinMs);
  }

  it('aborts promptly while waiting for a rate slot, without sending', async () => {
    const { server, client } = await setup(OK, { config: { ratePerSecond: { light: 1000, medium: 1, heavy: 1000, 'resource-intensive': 1000 } } });
    await client.request(GET);
    await expectPromptAbort(client, 50, 400);
    expect(server.apiRequests).toHaveLength(1);
  });

  it('aborts promptly during backoff', async () => {
    const { server, client } = await setup(() => zoomError(503, 503, 'busy'), { retry: { baseDelayMs: 5000, maxDelayMs: 5000 }, random: () => 1 });
    await expectPromptAbort(client, 100, 1000);
    expect(server.apiRequests).toHaveLength(1);
  });

  it('aborts a request in flight', async () => {
    const { client } = await setup(() => ({ json: {}, delayMs: 2000 }));
    await expectPromptAbort(client, 50, 500);
  });

  it('an already-aborted signal sends nothing', async () => {
    const { server, client } = await setup(OK);
    await expect(client.request({ ...GET, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(server.apiRequests).toHaveLength(0);
    expect(server.tokenRequests).toHaveLength(0);
  });
});

describe('ZoomClient: openStream', () => {
  it('retries until headers arrive, then hands over the body stream', async () => {
    const payload = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
    const { server, client } = await setup(
      sequence(zoomError(503, 503, 'busy'), {
        body: payload,
        headers: { 'content-type': 'application/zip', 'content-disposition': 'attachment; filename=LEGAL_HOLD_files.zip', 'x-zm-trackingid': 'trk-zip' },
      }),
    );
    const res = await client.openStream({ endpoint: 'legalhold.files.download', label: 'light', method: 'GET', path: '/chat/legalhold/matters/m/files/download', query: { file_key: 'k' } });
    expect(res).toMatchObject({ status: 200, trackingId: 'trk-zip' });
    expect(res.headers['content-type']).toBe('application/zip');
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    expect(server.apiRequests).toHaveLength(2);
  });

  it('maps error statuses like request()', async () => {
    const { client } = await setup(() => zoomError(404, 1001, 'Legal hold matter does not exist.'));
    await expect(client.openStream({ ...GET, label: 'light' })).rejects.toMatchObject({ code: 'ZOOM_NOT_FOUND', zoomCode: 1001 });
  });
});
