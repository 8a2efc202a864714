import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/logging/logger.js';
import { ManualClock } from '../../src/util/clock.js';
import { OAuthTokenProvider } from '../../src/zoom/oauth.js';
import { sequence, startZoomLikeServer, TEST_CREDENTIALS, tokenBody, type Handler, type ZoomLikeServer } from './zoom-like-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(token?: Handler, clock?: ManualClock) {
  const server = await startZoomLikeServer({ api: () => ({ json: {} }), ...(token ? { token } : {}) });
  const agent = new Agent();
  cleanups.push(() => server.close(), () => agent.close());
  const provider = new OAuthTokenProvider({
    tokenUrl: server.tokenUrl,
    credentials: TEST_CREDENTIALS,
    dispatcher: agent,
    logger: createSilentLogger(),
    requestTimeoutMs: 2000,
    maxRetries: 2,
    backoff: { baseDelayMs: 10, maxDelayMs: 50 },
    ...(clock ? { clock } : {}),
  });
  return { server, provider };
}

function onlyRequest(server: ZoomLikeServer) {
  expect(server.tokenRequests).toHaveLength(1);
  const req = server.tokenRequests[0];
  if (!req) throw new Error('no token request');
  return req;
}

describe('OAuthTokenProvider', () => {
  it('asks for a token with Basic credentials and the grant in a form body', async () => {
    const { server, provider } = await setup();
    await expect(provider.getToken()).resolves.toBe('token-1');
    const req = onlyRequest(server);
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/oauth/token');
    const expectedBasic = Buffer.from('client-abc:s3cret').toString('base64');
    expect(req.headers.authorization).toBe(`Basic ${expectedBasic}`);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({ grant_type: 'account_credentials', account_id: 'acct-123' });
  });

  it('shares one fetch between concurrent callers and caches the token', async () => {
    const { server, provider } = await setup(() => ({ json: tokenBody('shared'), delayMs: 50 }));
    const tokens = await Promise.all(Array.from({ length: 20 }, () => provider.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['shared']));
    await provider.getToken();
    expect(server.tokenRequests).toHaveLength(1);
    expect(provider.stats()).toEqual({ tokenFetches: 1, tokenRequests: 1 });
  });

  it('renews about 60 s before expires_in runs out', async () => {
    const clock = new ManualClock(Date.parse('2025-03-10T12:00:00Z'));
    const { server, provider } = await setup(undefined, clock);
    await expect(provider.getToken()).resolves.toBe('token-1');
    clock.advance(3599_000 - 61_000);
    await expect(provider.getToken()).resolves.toBe('token-1');
    clock.advance(2_000);
    await expect(provider.getToken()).resolves.toBe('token-2');
    expect(server.tokenRequests).toHaveLength(2);
  });

  it('invalidates only the token that is still current', async () => {
    const { server, provider } = await setup();
    const first = await provider.getToken();
    provider.invalidate(first);
    const second = await provider.getToken();
    expect(second).toBe('token-2');
    provider.invalidate(first); // a late 401 for the old token must not drop the new one
    await expect(provider.getToken()).resolves.toBe('token-2');
    expect(server.tokenRequests).toHaveLength(2);
  });

  it.each([
    ['invalid_client', 'Invalid client_id or client_secret', 'ZOOM_CLIENT_ID / ZOOM_CLIENT_SECRET'],
    ['invalid_grant', 'Invalid account_id', 'ZOOM_ACCOUNT_ID'],
  ])('reports %s as ZOOM_AUTH_FAILED naming what to check, without retrying', async (error, reason, hint) => {
    const { server, provider } = await setup(() => ({ status: 400, json: { reason, error }, headers: { 'x-zm-trackingid': 'tok-track' } }));
    const err = await provider.getToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ZOOM_AUTH_FAILED', status: 400, trackingId: 'tok-track', endpoint: 'oauth.token' });
    expect((err as Error).message).toContain(hint);
    expect((err as Error).message).toContain(reason);
    expect((err as Error).message).not.toContain('s3cret');
    expect(server.tokenRequests).toHaveLength(1);
  });

  it('retries the token endpoint on 5xx and 429', async () => {
    const { server, provider } = await setup(
      sequence({ status: 503, body: 'busy' }, { status: 429, headers: { 'retry-after': '0' }, json: { code: 429, message: 'slow down' } }, { json: tokenBody('after-retries') }),
    );
    await expect(provider.getToken()).resolves.toBe('after-retries');
    expect(server.tokenRequests).toHaveLength(3);
  });

  it('gives up after maxRetries with the cause in the code', async () => {
    const { server, provider } = await setup(() => ({ status: 502, body: 'bad gateway' }));
    await expect(provider.getToken()).rejects.toMatchObject({ code: 'ZOOM_SERVER_ERROR', status: 502 });
    expect(server.tokenRequests).toHaveLength(3);
  });

  it('lets one caller stop waiting without cancelling the fetch the others share', async () => {
    const { server, provider } = await setup(() => ({ json: tokenBody('slow'), delayMs: 150 }));
    const controller = new AbortController();
    const impatient = provider.getToken(controller.signal);
    const patient = provider.getToken();
    setTimeout(() => controller.abort(), 20);
    await expect(impatient).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(patient).resolves.toBe('slow');
    expect(server.tokenRequests).toHaveLength(1);
  });

  it('reports a token endpoint that refuses connections or does not resolve once, naming the URL and the cause', async () => {
    const closed = await startZoomLikeServer({ api: () => ({ json: {} }) });
    const refusedUrl = closed.tokenUrl;
    await closed.close();
    for (const [tokenUrl, cause] of [
      [refusedUrl, /connection refused \(ECONNREFUSED\)/],
      ['http://zoom-token.invalid/oauth/token', /host name (not found|could not be resolved).* \((ENOTFOUND|EAI_AGAIN)\)/],
    ] as const) {
      const agent = new Agent();
      cleanups.push(() => agent.close());
      const warnings: unknown[] = [];
      const logger = createSilentLogger();
      logger.warn = ((...args: unknown[]) => void warnings.push(args)) as typeof logger.warn;
      const provider = new OAuthTokenProvider({ tokenUrl, credentials: TEST_CREDENTIALS, dispatcher: agent, logger, requestTimeoutMs: 2000, maxRetries: 6, backoff: { baseDelayMs: 10, maxDelayMs: 50 } });
      const err = (await provider.getToken().catch((e: unknown) => e)) as { code: string; message: string };
      expect(err.code).toBe('ZOOM_UNREACHABLE');
      expect(err.message).toContain(`cannot reach the Zoom token endpoint ${tokenUrl}`);
      expect(err.message).toMatch(cause);
      expect(err.message).toContain('ZOOM_OAUTH_TOKEN_URL');
      expect(provider.stats()).toEqual({ tokenFetches: 1, tokenRequests: 1 });
      expect(warnings).toEqual([]);
    }
  });
});
