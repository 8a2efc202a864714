import { describe, expect, it } from 'vitest';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import { HORIZON_START, TODAY, requestToken, startTestSim } from './helpers.js';

const WINDOW = { from: '2026-11-01', to: TODAY };

describe('POST /oauth/token', () => {
  it('issues a bearer token for Basic client credentials and a form body', async () => {
    const t = await startTestSim();
    const res = await requestToken(t.sim);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-zm-trackingid')).toBeTruthy();
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 3599,
      scope: expect.stringContaining('report:read:list_chat_sessions:admin'),
      api_url: t.sim.baseUrl,
    });
    expect(String(body['scope']).split(' ')).toEqual(expect.arrayContaining(['report:read:chat_session:admin', 'report_chat:read:admin']));
  });

  it('answers invalid_client for missing, malformed or wrong client credentials', async () => {
    const t = await startTestSim();
    const wrong = Buffer.from(`${SIM_CREDENTIALS.clientId}:nope`).toString('base64');
    for (const auth of [null, 'Basic !!!', `Basic ${wrong}`, 'Bearer abc']) {
      const res = await requestToken(t.sim, { auth });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
    }
  });

  it('answers unsupported_grant_type for parameters in the query string, a JSON body or another grant', async () => {
    const t = await startTestSim();
    const cases = [
      { query: `?grant_type=account_credentials&account_id=${SIM_CREDENTIALS.accountId}`, body: '' },
      { contentType: 'application/json', body: JSON.stringify({ grant_type: 'account_credentials', account_id: SIM_CREDENTIALS.accountId }) },
      { body: `grant_type=client_credentials&account_id=${SIM_CREDENTIALS.accountId}` },
    ];
    for (const c of cases) {
      const res = await requestToken(t.sim, c);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ reason: 'Unsupported grant type', error: 'unsupported_grant_type' });
    }
  });

  it('answers invalid_grant for a wrong or missing account id', async () => {
    const t = await startTestSim();
    for (const body of ['grant_type=account_credentials&account_id=someone-else', 'grant_type=account_credentials']) {
      const res = await requestToken(t.sim, { body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
    }
  });

  it('counts issued tokens', async () => {
    const t = await startTestSim();
    await t.newToken();
    expect(t.sim.stats().accessTokensIssued).toBe(2);
    expect(t.sim.stats().byEndpoint['oauth.token']).toEqual({ requests: 2, byStatus: { '200': 2 } });
  });
});

describe('access tokens on API calls', () => {
  it('rejects a missing or unknown token with 401 / 124 "Invalid access token."', async () => {
    const t = await startTestSim();
    for (const token of [null, 'not-a-token']) {
      const res = await t.get('/report/chat/sessions', WINDOW, token);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ code: 124, message: 'Invalid access token.' });
    }
  });

  it('rejects an expired token with 401 / 124 "Access token is expired." on the clock', async () => {
    const t = await startTestSim({ accessTokenTtlSeconds: 60 });
    expect((await t.get('/report/chat/sessions', WINDOW)).status).toBe(200);
    t.clock.advance(59_999);
    expect((await t.get('/report/chat/sessions', WINDOW)).status).toBe(200);
    t.clock.advance(1);
    const res = await t.get('/report/chat/sessions', WINDOW);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ code: 124, message: 'Access token is expired.' });
  });

  it('invalidates the previous token when a new one is issued, unless told not to', async () => {
    const strict = await startTestSim();
    const old = strict.token;
    const fresh = await strict.newToken();
    expect((await strict.get('/report/chat/sessions', WINDOW, old)).json).toEqual({ code: 124, message: 'Invalid access token.' });
    expect((await strict.get('/report/chat/sessions', WINDOW, fresh)).status).toBe(200);

    const lenient = await startTestSim({ invalidatePreviousTokens: false });
    const first = lenient.token;
    await lenient.newToken();
    expect((await lenient.get('/report/chat/sessions', WINDOW, first)).status).toBe(200);
  });

  it('answers 401 / 4711 naming the granular scope when the token lacks every accepted scope', async () => {
    const t = await startTestSim({ grantedScopes: ['report:read:chat_session:admin'] });
    const listing = await t.get('/report/chat/sessions', WINDOW);
    expect(listing.status).toBe(401);
    expect(listing.json).toEqual({ code: 4711, message: 'Invalid access token, does not contain scopes:[report:read:list_chat_sessions:admin].' });
    // The granular scope of the other endpoint is enough for it.
    const sessionId = t.dataset.sessions[0]!.id;
    expect((await t.get(`/report/chat/sessions/${sessionId}`, { from: HORIZON_START, to: '2026-06-20' })).status).toBe(200);
  });

  it('accepts a classic scope in place of the granular one', async () => {
    const t = await startTestSim({ grantedScopes: ['imchat:read:admin'] });
    expect((await t.get('/report/chat/sessions', WINDOW)).status).toBe(200);
  });
});
