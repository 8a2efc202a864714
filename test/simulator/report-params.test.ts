import { beforeAll, describe, expect, it } from 'vitest';
import { HORIZON_START, TODAY, startTestSim, type TestSim } from './helpers.js';

// Every parameter rule of the two report endpoints, through real HTTP. `today` is 2026-11-21.
let t: TestSim;
let sessionPath: string;

// One simulator for the file: these tests only read.
beforeAll(async () => {
  t = await startTestSim({ perFile: true });
  sessionPath = `/report/chat/sessions/${t.dataset.sessions[0]!.id}`;
});

function expectCode300(res: { status: number; json: Record<string, unknown> }, field?: string) {
  expect(res.status).toBe(400);
  expect(res.json['code']).toBe(300);
  expect(typeof res.json['message']).toBe('string');
  if (field) expect(res.json['errors']).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
}

describe.each([
  ['GET /report/chat/sessions', () => '/report/chat/sessions', 300],
  ['GET /report/chat/sessions/{id}', () => sessionPath, 100],
])('%s', (_name, path, maxPageSize) => {
  it('requires from and to', async () => {
    expectCode300(await t.get(path(), { to: TODAY }), 'from');
    expectCode300(await t.get(path(), { from: '2026-11-01' }), 'to');
    const neither = await t.get(path());
    expect((neither.json['errors'] as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['from', 'to']);
  });

  it('accepts only real yyyy-mm-dd dates', async () => {
    for (const from of ['2026-11-1', '2026/11/01', '20261101', '2026-02-30', '2026-13-01', 'yesterday', '']) {
      expectCode300(await t.get(path(), { from, to: TODAY }), 'from');
    }
    expect((await t.get(path(), { from: '2026-11-01', to: TODAY })).status).toBe(200);
  });

  it('requires from <= to <= today', async () => {
    expectCode300(await t.get(path(), { from: '2026-11-10', to: '2026-11-09' }));
    expectCode300(await t.get(path(), { from: '2026-11-10', to: '2026-11-22' }));
    expect((await t.get(path(), { from: TODAY, to: TODAY })).status).toBe(200);
  });

  it('allows one month at most, clamping month ends like PostgreSQL', async () => {
    expect((await t.get(path(), { from: '2026-10-21', to: '2026-11-21' })).status).toBe(200);
    expectCode300(await t.get(path(), { from: '2026-10-20', to: '2026-11-21' }));
    // 2026-08-31 + 1 month = 2026-09-30.
    expect((await t.get(path(), { from: '2026-08-31', to: '2026-09-30' })).status).toBe(200);
    expectCode300(await t.get(path(), { from: '2026-08-31', to: '2026-10-01' }));
  });

  it('allows only the last six months', async () => {
    expect((await t.get(path(), { from: HORIZON_START, to: '2026-06-01' })).status).toBe(200);
    const early = await t.get(path(), { from: '2026-05-20', to: '2026-06-01' });
    expectCode300(early);
    expect(early.json['message']).toBe('The monthly date range must be within the last six months.');
  });

  it(`takes page_size 1..${maxPageSize}`, async () => {
    for (const size of [1, maxPageSize]) expect((await t.get(path(), { from: '2026-11-01', to: TODAY, page_size: size })).status).toBe(200);
    for (const size of ['0', String(maxPageSize + 1), '-1', '1.5', 'ten', '', ' 5']) {
      expectCode300(await t.get(path(), { from: '2026-11-01', to: TODAY, page_size: size }), 'page_size');
    }
    expect((await t.get(path(), { from: '2026-11-01', to: TODAY })).json['page_size']).toBe(30);
  });

  it('rejects a parameter given twice', async () => {
    const url = `${path()}?from=2026-11-01&from=2026-11-02&to=${TODAY}`;
    const [p, q] = url.split('?') as [string, string];
    const res = await fetch(`${t.sim.apiBaseUrl}${p}?${q}`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).toBe(400);
  });
});

describe('GET /report/chat/sessions/{id} only', () => {
  it('accepts include_fields from the enum, either order of the pair', async () => {
    for (const include_fields of ['edited_messages', 'deleted_messages', 'edited_messages,deleted_messages', 'deleted_messages,edited_messages']) {
      expect((await t.get(sessionPath, { from: '2026-11-01', to: TODAY, include_fields })).status).toBe(200);
    }
    for (const include_fields of ['messages', 'edited_messages, deleted_messages', 'EDITED_MESSAGES', '', 'edited_messages,edited_messages']) {
      expectCode300(await t.get(sessionPath, { from: '2026-11-01', to: TODAY, include_fields }), 'include_fields');
    }
  });

  it.each(['include_reactions', 'include_bot_message', 'include_custom_emoji_reactions', 'query_all_modifications'])('takes %s as exactly true or false', async (name) => {
    for (const value of ['true', 'false']) expect((await t.get(sessionPath, { from: '2026-11-01', to: TODAY, [name]: value })).status).toBe(200);
    for (const value of ['True', '1', 'yes', '']) expectCode300(await t.get(sessionPath, { from: '2026-11-01', to: TODAY, [name]: value }), name);
  });

  it('names every bad field at once', async () => {
    const res = await t.get(sessionPath, { from: 'x', to: TODAY, page_size: 0, include_reactions: 'maybe' });
    expect((res.json['errors'] as Array<{ field: string }>).map((e) => e.field).sort()).toEqual(['from', 'include_reactions', 'page_size']);
  });

  it('answers 404 / 1001 for an unknown session', async () => {
    const res = await t.get('/report/chat/sessions/0000000000000000000000000000000000000000000000000000000000000000', { from: '2026-11-01', to: TODAY });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ code: 1001, message: 'Session does not exist: 0000000000000000000000000000000000000000000000000000000000000000' });
  });
});

describe('routing', () => {
  it('answers 404 for an unknown path and 405 for a wrong method, with a tracking id', async () => {
    const missing = await t.get('/report/chat/nothing');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-zm-trackingid')).toBeTruthy();
    const wrong = await fetch(`${t.sim.apiBaseUrl}/report/chat/sessions`, { method: 'POST', headers: { authorization: `Bearer ${t.token}` } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});
