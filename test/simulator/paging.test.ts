import { describe, expect, it } from 'vitest';
import { countMessagesIn, generateDataset, listSessionsIn, type SimDataset } from '../../src/simulator/index.js';
import { NOW, TODAY, fetchAllPages, listAllSessions, startTestSim, type TestSim } from './helpers.js';

const FROM = '2026-10-22';
const INVALID = { code: 300, message: 'The next page token is either invalid or has expired.' };

/** The session with the most messages in [FROM, TODAY]. */
function busiest(ds: SimDataset): { id: string; count: number } {
  return ds.sessions
    .map((s) => ({ id: s.id, count: countMessagesIn(ds, s.id, FROM, TODAY) }))
    .reduce((a, b) => (b.count > a.count ? b : a));
}

async function secondPageToken(t: TestSim, sessionId: string, query: Record<string, string | number>): Promise<string> {
  const first = await t.get(`/report/chat/sessions/${sessionId}`, query);
  expect(first.status).toBe(200);
  const token = String(first.json['next_page_token']);
  expect(token).not.toBe('');
  return token;
}

describe('message pages', () => {
  it('pages by page_size in send order, ending with next_page_token ""', async () => {
    const t = await startTestSim();
    const { id, count } = busiest(t.dataset);
    expect(count).toBeGreaterThan(14);
    const sizes: number[] = [];
    const timestamps: number[] = [];
    const ids = new Set<string>();
    let token = '';
    do {
      const res = await t.get(`/report/chat/sessions/${id}`, { from: FROM, to: TODAY, page_size: 7, ...(token ? { next_page_token: token } : {}) });
      expect(res.status).toBe(200);
      expect(res.json['page_size']).toBe(7);
      const messages = res.json['messages'] as Array<{ id: string; timestamp: number | string }>;
      sizes.push(messages.length);
      for (const m of messages) {
        ids.add(m.id);
        timestamps.push(Number(m.timestamp));
      }
      token = String(res.json['next_page_token']);
    } while (token !== '');
    expect(sizes.length).toBe(Math.ceil(count / 7));
    expect(sizes.slice(0, -1).every((n) => n === 7)).toBe(true);
    expect(ids.size).toBe(count);
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
  });

  it('gives an exactly full last page an empty token rather than an empty extra page', async () => {
    const t = await startTestSim();
    const { id, count } = busiest(t.dataset);
    const { pages } = await fetchAllPages(t, id, { from: FROM, to: TODAY, page_size: count });
    expect(pages).toBe(1);
  });

  it('binds a token to the session and every other parameter', async () => {
    const t = await startTestSim();
    const { id } = busiest(t.dataset);
    const base = { from: FROM, to: TODAY, page_size: 5, include_fields: 'edited_messages' };
    const token = await secondPageToken(t, id, base);
    // The same meaning in another spelling is the same query.
    expect((await t.get(`/report/chat/sessions/${id}`, { ...base, include_reactions: 'false', next_page_token: token })).status).toBe(200);
    const other = t.dataset.sessions.find((s) => s.id !== id)!.id;
    const variants: Array<[string, Record<string, string | number>]> = [
      [id, { ...base, page_size: 6 }],
      [id, { ...base, from: '2026-10-23' }],
      [id, { ...base, include_fields: 'deleted_messages' }],
      [id, { ...base, include_reactions: 'true' }],
      [id, { ...base, query_all_modifications: 'true' }],
      [other, base],
    ];
    for (const [sessionId, query] of variants) {
      const res = await t.get(`/report/chat/sessions/${sessionId}`, { ...query, next_page_token: token });
      expect(res.status).toBe(400);
      expect(res.json).toEqual(INVALID);
    }
    expect((await t.get('/report/chat/sessions', { from: FROM, to: TODAY, page_size: 5, next_page_token: token })).json).toEqual(INVALID);
    expect((await t.get(`/report/chat/sessions/${id}`, { ...base, next_page_token: 'made-up' })).json).toEqual(INVALID);
    expect(t.sim.stats().pageTokensRejected).toBe(8);
  });

  it('serves the same page again for a reused token, and expires tokens after the TTL on the clock', async () => {
    const t = await startTestSim();
    const { id } = busiest(t.dataset);
    const query = { from: FROM, to: TODAY, page_size: 5 };
    const token = await secondPageToken(t, id, query);
    const a = await t.get(`/report/chat/sessions/${id}`, { ...query, next_page_token: token });
    const b = await t.get(`/report/chat/sessions/${id}`, { ...query, next_page_token: token });
    expect(a.json['messages']).toEqual(b.json['messages']);
    t.clock.advance(15 * 60_000);
    expect((await t.get(`/report/chat/sessions/${id}`, { ...query, next_page_token: token })).status).toBe(200);
    t.clock.advance(1);
    const expired = await t.get(`/report/chat/sessions/${id}`, { ...query, next_page_token: token });
    expect(expired.status).toBe(400);
    expect(expired.json).toEqual(INVALID);
  });

  it('honours a configured page-token TTL', async () => {
    const t = await startTestSim({ pageTokenTtlMs: 1000 });
    const { id } = busiest(t.dataset);
    const query = { from: FROM, to: TODAY, page_size: 5 };
    const token = await secondPageToken(t, id, query);
    t.clock.advance(1001);
    expect((await t.get(`/report/chat/sessions/${id}`, { ...query, next_page_token: token })).status).toBe(400);
  });
});

describe('session pages', () => {
  it('pages the listing in a stable order, covering exactly the listed sessions', async () => {
    const t = await startTestSim();
    const listed = listSessionsIn(t.dataset, FROM, TODAY, 'every-active-window').map((s) => s.id);
    expect(listed.length).toBeGreaterThan(5);
    const first = await t.get('/report/chat/sessions', { from: FROM, to: TODAY, page_size: 4 });
    expect((first.json['sessions'] as unknown[]).length).toBe(4);
    expect(await listAllSessions(t, FROM, TODAY, 4)).toEqual(listed);
    expect(await listAllSessions(t, FROM, TODAY, 300)).toEqual(listed);
  });
});

describe('duplicate-across-pages quirk', () => {
  it('starts later pages with the previous page’s last item, without losing any', async () => {
    const dataset = generateDataset({ seed: 42, now: NOW, sessions: 24, totalMessages: 900, quirks: { duplicateAcrossPages: 1 } });
    const t = await startTestSim({ dataset });
    const { id, count } = busiest(dataset);
    const pages: string[][] = [];
    let token = '';
    do {
      const res = await t.get(`/report/chat/sessions/${id}`, { from: FROM, to: TODAY, page_size: 5, ...(token ? { next_page_token: token } : {}) });
      pages.push((res.json['messages'] as Array<{ id: string }>).map((m) => m.id));
      token = String(res.json['next_page_token']);
    } while (token !== '');
    for (let i = 1; i < pages.length; i++) expect(pages[i]![0]).toBe(pages[i - 1]!.at(-1));
    expect(new Set(pages.flat()).size).toBe(count);

    const sessionPages: string[] = [];
    let listToken = '';
    do {
      const res = await t.get('/report/chat/sessions', { from: FROM, to: TODAY, page_size: 3, ...(listToken ? { next_page_token: listToken } : {}) });
      sessionPages.push(...(res.json['sessions'] as Array<{ id: string }>).map((s) => s.id));
      listToken = String(res.json['next_page_token']);
    } while (listToken !== '');
    expect(sessionPages.length).toBeGreaterThan(new Set(sessionPages).size);
    expect(new Set(sessionPages)).toEqual(new Set(listSessionsIn(dataset, FROM, TODAY, 'every-active-window').map((s) => s.id)));
  });
});
