import { describe, expect, it } from 'vitest';
import { jsonResponse, type RouteModule } from '../../src/simulator/index.js';
import { TODAY, startTestSim } from './helpers.js';

const LIST = '/report/chat/sessions';
const WINDOW = { from: '2026-10-22', to: TODAY };

/** Two endpoints with the labels the chat reports do not have, to exercise the daily cap. */
const testRoutes: RouteModule = () => [
  { method: 'GET', pattern: '/test/heavy', endpoint: 'test.heavy', rateLabel: 'heavy', scopes: { classic: [], granular: ['test:read:heavy'] }, handle: () => jsonResponse(200, { ok: true }) },
  {
    method: 'GET',
    pattern: '/test/intensive',
    endpoint: 'test.intensive',
    rateLabel: 'resource-intensive',
    scopes: { classic: [], granular: ['test:read:intensive'] },
    handle: () => jsonResponse(200, { ok: true }),
  },
];

describe('per-second limits', () => {
  it('lets a burst of the bucket size through, then answers Zoom’s QPS 429', async () => {
    const t = await startTestSim({ rateLimits: { medium: 3 } });
    const burst = await Promise.all(Array.from({ length: 8 }, () => t.get(LIST, WINDOW)));
    expect(burst.filter((r) => r.status === 200)).toHaveLength(3);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited).toHaveLength(5);
    const r = limited[0]!;
    expect(r.json).toEqual({ code: 429, message: 'You have reached the maximum per-second rate limit for this API. Try again later.' });
    expect(r.headers.get('x-ratelimit-category')).toBe('Medium');
    expect(r.headers.get('x-ratelimit-type')).toBe('QPS');
    expect(r.headers.get('x-ratelimit-limit')).toBe('3');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(r.headers.get('retry-after')).toBe('1');
    expect(t.sim.stats().rateLimited).toEqual({ pacedQps: 5, pacedDaily: 0, injected: 0 });
  });

  it('refills continuously on the clock, up to one second’s worth', async () => {
    const t = await startTestSim({ rateLimits: { medium: 4 } });
    for (let i = 0; i < 4; i++) expect((await t.get(LIST, WINDOW)).status).toBe(200);
    expect((await t.get(LIST, WINDOW)).status).toBe(429);
    t.clock.advance(250);
    expect((await t.get(LIST, WINDOW)).status).toBe(200);
    expect((await t.get(LIST, WINDOW)).status).toBe(429);
    t.clock.advance(60_000);
    const after = await Promise.all(Array.from({ length: 6 }, () => t.get(LIST, WINDOW)));
    expect(after.filter((r) => r.status === 200)).toHaveLength(4);
  });

  it('does not spend budget on requests that fail authentication', async () => {
    const t = await startTestSim({ rateLimits: { medium: 1 } });
    for (let i = 0; i < 3; i++) expect((await t.get(LIST, WINDOW, 'bogus')).status).toBe(401);
    expect((await t.get(LIST, WINDOW)).status).toBe(200);
  });

  it('limits only the configured labels, RESOURCE-INTENSIVE per second too', async () => {
    const t = await startTestSim({ rateLimits: { 'resource-intensive': 1 / 6 }, extraRouteModules: [testRoutes] });
    for (let i = 0; i < 5; i++) expect((await t.get(LIST, WINDOW)).status).toBe(200);
    expect((await t.get('/test/intensive')).status).toBe(200);
    const second = await t.get('/test/intensive');
    expect(second.status).toBe(429);
    expect(second.headers.get('x-ratelimit-category')).toBe('Resource-intensive');
    t.clock.advance(6000);
    expect((await t.get('/test/intensive')).status).toBe(200);
  });
});

describe('daily cap', () => {
  it('caps HEAVY and RESOURCE-INTENSIVE calls together until 00:00 UTC, leaving MEDIUM alone', async () => {
    const t = await startTestSim({ dailyLimit: 3, extraRouteModules: [testRoutes] });
    expect((await t.get('/test/heavy')).status).toBe(200);
    expect((await t.get('/test/intensive')).status).toBe(200);
    const last = await t.get('/test/heavy');
    expect(last.headers.get('x-ratelimit-type')).toBe('Daily-limit');
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    const capped = await t.get('/test/intensive');
    expect(capped.status).toBe(429);
    expect(capped.headers.get('x-ratelimit-type')).toBe('Daily-limit');
    expect(capped.headers.get('x-ratelimit-limit')).toBe('3');
    expect(capped.headers.get('retry-after')).toBe('2026-11-22T00:00:00Z');
    expect(String(capped.json['message'])).toContain('maximum daily rate limit');
    expect((await t.get(LIST, WINDOW)).status).toBe(200);
    expect(t.sim.stats().rateLimited).toEqual({ pacedQps: 0, pacedDaily: 1, injected: 0 });
    t.clock.set(Date.parse('2026-11-22T00:00:00Z'));
    expect((await t.get('/test/heavy', {}, await t.newToken())).status).toBe(200);
  });
});
