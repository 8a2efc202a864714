import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Fault } from '../../src/simulator/index.js';
import { TODAY, requestToken, startTestSim, type TestSim } from './helpers.js';

const LIST = '/report/chat/sessions';
const WINDOW = { from: '2026-10-22', to: TODAY };

function sessionPath(t: TestSim, index = 0): string {
  return `/report/chat/sessions/${t.dataset.sessions[index]!.id}`;
}

describe('fault rules', () => {
  it('status: answers the status (default Zoom-shaped body, or the given one) the given number of times', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ match: { endpoint: 'report.chat.sessions' }, fault: { kind: 'status', status: 503 }, times: 2 });
    t.sim.faults.inject({ match: { endpoint: 'report.chat.sessions' }, fault: { kind: 'status', status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' } });
    const a = await t.get(LIST, WINDOW);
    expect(a.status).toBe(503);
    expect(a.json).toEqual({ code: 503, message: 'Simulated HTTP 503.' });
    expect((await t.get(LIST, WINDOW)).status).toBe(503);
    const c = await t.get(LIST, WINDOW);
    expect(c.status).toBe(502);
    expect(c.text).toBe('<html>Bad Gateway</html>');
    expect(c.headers.get('content-type')).toBe('text/html');
    expect((await t.get(LIST, WINDOW)).status).toBe(200);
    expect(t.sim.faults.pending()).toEqual([]);
    expect(t.sim.stats().faultsApplied).toEqual({ status: 3 });
  });

  it('matches on endpoint, session, page token and query values, after skipping afterMatches', async () => {
    const t = await startTestSim();
    const target = t.dataset.sessions[1]!.id;
    t.sim.faults.inject({ match: { sessionId: target, hasPageToken: false, queryIncludes: { page_size: '2' } }, fault: { kind: 'status', status: 500 }, afterMatches: 1, times: Infinity });
    expect((await t.get(sessionPath(t, 0), { ...WINDOW, page_size: 2 })).status).toBe(200);
    expect((await t.get(sessionPath(t, 1), { ...WINDOW, page_size: 3 })).status).toBe(200);
    expect((await t.get(sessionPath(t, 1), { ...WINDOW, page_size: 2 })).status).toBe(200); // skipped: the first match
    expect((await t.get(sessionPath(t, 1), { ...WINDOW, page_size: 2 })).status).toBe(500);
    expect((await t.get(sessionPath(t, 1), { ...WINDOW, page_size: 2 })).status).toBe(500);
    expect(t.sim.faults.pending()).toEqual([expect.objectContaining({ matched: 3, applied: 2, remaining: Number.POSITIVE_INFINITY })]);
    t.sim.faults.clear();
    expect((await t.get(sessionPath(t, 1), { ...WINDOW, page_size: 2 })).status).toBe(200);
  });

  it('rate-limit: Zoom 429s for QPS and daily, with Retry-After in seconds, as a date, or absent', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'rate-limit', type: 'qps' } });
    t.sim.faults.inject({ fault: { kind: 'rate-limit', type: 'daily', retryAfter: 'date' } });
    t.sim.faults.inject({ fault: { kind: 'rate-limit', type: 'qps', retryAfter: 'none' } });
    const qps = await t.get(LIST, WINDOW);
    expect(qps.status).toBe(429);
    expect(qps.json).toEqual({ code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' });
    expect(qps.headers.get('x-ratelimit-category')).toBe('Medium');
    expect(qps.headers.get('x-ratelimit-type')).toBe('QPS');
    expect(qps.headers.get('retry-after')).toBe('1');
    const daily = await t.get(LIST, WINDOW);
    expect(daily.headers.get('x-ratelimit-type')).toBe('Daily-limit');
    expect(daily.headers.get('retry-after')).toBe('2026-11-22T00:00:00Z');
    expect(String(daily.json['message'])).toContain('maximum daily rate limit');
    const none = await t.get(LIST, WINDOW);
    expect(none.status).toBe(429);
    expect(none.headers.get('retry-after')).toBeNull();
    expect(t.sim.stats().rateLimited).toEqual({ pacedQps: 0, pacedDaily: 0, injected: 3 });
  });

  it('reset: destroys the connection before any response', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ match: { endpoint: 'report.chat.sessions' }, fault: { kind: 'reset' } });
    await expect(t.get(LIST, WINDOW)).rejects.toThrow();
    expect(t.sim.stats().byEndpoint['report.chat.sessions']?.byStatus).toEqual({ reset: 1 });
    expect((await t.get(LIST, WINDOW)).status).toBe(200);
  });

  it('reset-mid-body: sends the headers with the full length and part of the body, then cuts', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'reset-mid-body' } });
    const res = await fetch(`${t.sim.apiBaseUrl}${LIST}?from=${WINDOW.from}&to=${WINDOW.to}`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(100);
    await expect(res.text()).rejects.toThrow();
  });

  it('slow: answers normally after the delay', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'slow', delayMs: 150 } });
    const started = performance.now();
    const res = await t.get(LIST, WINDOW);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
  });

  it('expire-page-token: answers 400 / 300 and forgets the token for good', async () => {
    const t = await startTestSim();
    const first = await t.get(LIST, { ...WINDOW, page_size: 2 });
    const token = String(first.json['next_page_token']);
    t.sim.faults.inject({ match: { hasPageToken: true }, fault: { kind: 'expire-page-token' } });
    for (let i = 0; i < 2; i++) {
      const res = await t.get(LIST, { ...WINDOW, page_size: 2, next_page_token: token });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ code: 300, message: 'The next page token is either invalid or has expired.' });
    }
  });

  it('expire-oauth-token: answers 401 / 124 expired and really expires the caller’s token', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'expire-oauth-token' } });
    for (let i = 0; i < 2; i++) expect((await t.get(LIST, WINDOW)).json).toEqual({ code: 124, message: 'Access token is expired.' });
    expect((await t.get(LIST, WINDOW, await t.newToken())).status).toBe(200);
  });

  it('invalid-json: a body cut short with a matching Content-Length', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'invalid-json' } });
    const res = await t.get(LIST, WINDOW);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(res.text));
    expect(() => JSON.parse(res.text)).toThrow();
  });

  it('huge-body: the real body padded to the size asked for, still valid JSON', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'huge-body', bytes: 3_000_000 } });
    const res = await t.get(LIST, WINDOW);
    expect(Buffer.byteLength(res.text)).toBe(3_000_000);
    expect(res.json['from']).toBe(WINDOW.from);
    expect(Array.isArray(res.json['sessions'])).toBe(true);
  });

  it('applies to the token endpoint when it matches oauth.token', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ match: { endpoint: 'oauth.token' }, fault: { kind: 'status', status: 500 } });
    expect((await requestToken(t.sim)).status).toBe(500);
    expect((await requestToken(t.sim)).status).toBe(200);
  });

  it('rejects invalid rules with a message naming the problem', () => {
    return startTestSim().then((t) => {
      expect(() => t.sim.faults.inject({ fault: { kind: 'explode' } as unknown as Fault })).toThrow(/unknown fault kind/);
      expect(() => t.sim.faults.inject({ fault: { kind: 'status', status: 9000 } })).toThrow(/status/);
      expect(() => t.sim.faults.inject({ fault: { kind: 'reset' }, times: 0 })).toThrow(/times/);
    });
  });
});

describe('chaos', () => {
  const kinds: Fault[] = [{ kind: 'status', status: 500 }, { kind: 'rate-limit', type: 'qps' }];

  async function outcomes(seed: number): Promise<number[]> {
    const t = await startTestSim();
    t.sim.faults.chaos({ probability: 0.5, kinds, seed });
    const out: number[] = [];
    for (let i = 0; i < 30; i++) out.push((await t.get(LIST, WINDOW)).status);
    return out;
  }

  it('applies random faults from the list to API calls, repeatably for a seed, never to the token endpoint', async () => {
    const a = await outcomes(9);
    expect(a).toEqual(await outcomes(9));
    expect(new Set(a)).toEqual(new Set([200, 500, 429]));
    const t = await startTestSim();
    t.sim.faults.chaos({ probability: 1, kinds });
    for (let i = 0; i < 5; i++) expect((await requestToken(t.sim)).status).toBe(200);
    t.sim.faults.chaos(null);
    expect((await t.get(LIST, WINDOW, await t.newToken())).status).toBe(200);
  });
});

describe('control surface /__sim/', () => {
  async function control(t: TestSim, method: string, path: string, body?: unknown) {
    const res = await fetch(`${t.sim.baseUrl}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('injects faults, reports stats and resets over HTTP, untouched by faults itself', async () => {
    const t = await startTestSim();
    const added = await control(t, 'POST', '/__sim/faults', [{ match: { endpoint: 'report.chat.sessions' }, fault: { kind: 'status', status: 504 }, times: 'Infinity' }]);
    expect(added.status).toBe(200);
    expect(added.json['pending']).toEqual([expect.objectContaining({ remaining: null, fault: { kind: 'status', status: 504 } })]);
    expect((await t.get(LIST, WINDOW)).status).toBe(504);
    expect((await control(t, 'GET', '/__sim/health')).json).toEqual({ ok: true });
    const stats = await control(t, 'GET', '/__sim/stats');
    expect(stats.json['byEndpoint']).toEqual({
      'oauth.token': { requests: 1, byStatus: { '200': 1 } },
      'report.chat.sessions': { requests: 1, byStatus: { '504': 1 } },
    });
    expect((await control(t, 'POST', '/__sim/faults', { fault: { kind: 'nope' } })).status).toBe(400);
    expect((await control(t, 'POST', '/__sim/reset')).json).toEqual({ ok: true });
    expect(t.sim.faults.pending()).toEqual([]);
    expect(t.sim.stats().requests).toBe(0);
    await control(t, 'POST', '/__sim/faults', { chaos: { probability: 1, kinds: [{ kind: 'status', status: 500 }] } });
    expect((await t.get(LIST, WINDOW)).status).toBe(500);
    await control(t, 'DELETE', '/__sim/faults');
    expect((await t.get(LIST, WINDOW)).status).toBe(200);
  });
});

describe('server behaviour', () => {
  it('puts an x-zm-trackingid on every response and records requests when asked', async () => {
    const t = await startTestSim({ recordRequests: true });
    const ids = new Set<string>();
    for (const q of [WINDOW, { from: 'bad', to: TODAY }]) ids.add((await t.get(LIST, q)).headers.get('x-zm-trackingid') ?? '');
    ids.add((await t.get(LIST, WINDOW, null)).headers.get('x-zm-trackingid') ?? '');
    expect(ids.size).toBe(3);
    expect([...ids].every((id) => id.length > 0)).toBe(true);
    const log = t.sim.stats().requestLog!;
    expect(log.map((e) => [e.method, e.endpoint, e.outcome])).toEqual([
      ['POST', 'oauth.token', 200],
      ['GET', 'report.chat.sessions', 200],
      ['GET', 'report.chat.sessions', 400],
      ['GET', 'report.chat.sessions', 401],
    ]);
    expect(log[1]!.query).toEqual({ from: WINDOW.from, to: WINDOW.to });
    t.sim.resetStats();
    expect(t.sim.stats()).toMatchObject({ requests: 0, accessTokensIssued: 0, requestLog: [] });
  });

  it('adds latencyMs to every API response', async () => {
    const t = await startTestSim({ latencyMs: 60 });
    const started = performance.now();
    await t.get(LIST, WINDOW);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('closes promptly with an idle keep-alive connection and a request still in flight', async () => {
    const t = await startTestSim();
    t.sim.faults.inject({ fault: { kind: 'slow', delayMs: 60_000 } });
    const url = new URL(`${t.sim.apiBaseUrl}${LIST}?from=${WINDOW.from}&to=${WINDOW.to}`);
    const inFlight = new Promise<string>((resolve) => {
      const req = httpRequest(url, { headers: { authorization: `Bearer ${t.token}` } }, () => resolve('answered'));
      req.on('error', () => resolve('cut'));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await t.sim.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await inFlight).toBe('cut');
    await t.sim.close(); // idempotent
  });
});
