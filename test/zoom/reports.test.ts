import { afterEach, describe, expect, it } from 'vitest';
import { InputError, ZoomApiError } from '../../src/errors.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { paginate } from '../../src/zoom/pagination.js';
import { fetchSessionMessagePages, listChatSessionPages, validateReportWindow } from '../../src/zoom/reports.js';
import { startZoomLikeServer, TEST_CREDENTIALS, testZoomConfig, zoomError, type Handler, type Scripted } from './zoom-like-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(api: Handler) {
  const server = await startZoomLikeServer({ api });
  const client = new ZoomClient({
    config: testZoomConfig(server),
    credentials: TEST_CREDENTIALS,
    logger: createSilentLogger(),
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
  cleanups.push(() => server.close(), () => client.close());
  return { server, client };
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

const WINDOW = { from: '2025-03-01', to: '2025-03-31' };
const TOKEN_EXPIRED = zoomError(400, 300, 'The next page token is either invalid or has expired.');

/** Three pages of sessions, chained p2 → p3 → end; each token in `expired` fails once, as an expired one. */
function sessionPages(expired: Set<string> = new Set()): Handler {
  const pages: Record<string, Scripted> = {
    first: { json: { from: WINDOW.from, to: WINDOW.to, page_size: 300, next_page_token: 'p2', sessions: [{ id: 's1', type: 'Group', name: 'One' }] } },
    p2: { json: { next_page_token: 'p3', sessions: [{ id: 's2', type: '1:1', member_emails: ['a@example.com', 'b@example.com'] }] } },
    p3: { json: { next_page_token: '', sessions: [{ id: 's3', type: 'Group', status: 'deleted' }] } },
  };
  return (req) => {
    const token = req.query.get('next_page_token');
    if (token !== null && expired.delete(token)) return TOKEN_EXPIRED;
    return pages[token ?? 'first'] ?? TOKEN_EXPIRED;
  };
}

describe('listChatSessionPages', () => {
  it('walks every page with page_size=300 and reports page metadata', async () => {
    const { server, client } = await setup(sessionPages());
    const pages = await collect(listChatSessionPages(client, WINDOW));
    expect(pages.map((p) => p.sessions.map((s) => s.sessionId))).toEqual([['s1'], ['s2'], ['s3']]);
    expect(pages.map((p) => [p.pageIndex, p.restartedFromFirstPage, p.requestToken, p.nextPageToken])).toEqual([
      [0, false, undefined, 'p2'],
      [1, false, 'p2', 'p3'],
      [2, false, 'p3', ''],
    ]);
    expect(pages[1]?.sessions[0]?.memberEmails).toEqual(['a@example.com', 'b@example.com']);
    const first = server.apiRequests[0];
    expect(first?.pathname).toBe('/v2/report/chat/sessions');
    expect(Object.fromEntries(first?.query ?? [])).toEqual({ from: '2025-03-01', to: '2025-03-31', page_size: '300' });
    expect(server.apiRequests[1]?.query.get('next_page_token')).toBe('p2');
    expect(server.apiRequests[1]?.query.get('from')).toBe('2025-03-01');
  });

  it('restarts from page 1 when a page token expires and still yields every page', async () => {
    const { server, client } = await setup(sessionPages(new Set(['p3'])));
    const pages = await collect(listChatSessionPages(client, WINDOW));
    expect(pages.map((p) => [p.sessions[0]?.sessionId, p.pageIndex, p.restartedFromFirstPage, p.requestToken])).toEqual([
      ['s1', 0, false, undefined],
      ['s2', 1, false, 'p2'],
      ['s1', 0, true, undefined],
      ['s2', 1, true, 'p2'],
      ['s3', 2, true, 'p3'],
    ]);
    expect(server.apiRequests).toHaveLength(6);
  });

  it('resumes from a saved token', async () => {
    const { server, client } = await setup(sessionPages());
    const pages = await collect(listChatSessionPages(client, { ...WINDOW, resumeToken: 'p3' }));
    expect(pages.map((p) => [p.sessions[0]?.sessionId, p.pageIndex, p.restartedFromFirstPage, p.requestToken])).toEqual([['s3', 0, false, 'p3']]);
    expect(server.apiRequests).toHaveLength(1);
    expect(server.apiRequests[0]?.query.get('next_page_token')).toBe('p3');
  });

  it('restarts from page 1 when the saved token has expired', async () => {
    const { client } = await setup(sessionPages(new Set(['p2'])));
    const pages = await collect(listChatSessionPages(client, { ...WINDOW, resumeToken: 'p2' }));
    expect(pages.map((p) => p.sessions[0]?.sessionId)).toEqual(['s1', 's2', 's3']);
    expect(pages.every((p) => p.restartedFromFirstPage)).toBe(true);
  });

  it('rethrows ZOOM_PAGE_TOKEN_EXPIRED after maxRestarts', async () => {
    const { server, client } = await setup((req) => (req.query.get('next_page_token') ? TOKEN_EXPIRED : { json: { next_page_token: 'p2', sessions: [] } }));
    await expect(collect(listChatSessionPages(client, { ...WINDOW, maxRestarts: 2 }))).rejects.toMatchObject({ code: 'ZOOM_PAGE_TOKEN_EXPIRED', trackingId: 'track-400-300' });
    expect(server.apiRequests).toHaveLength(6);
  });

  it('reports an unparsable page as ZOOM_INVALID_RESPONSE with the tracking id', async () => {
    const { client } = await setup(() => ({ body: 'not json', headers: { 'x-zm-trackingid': 'trk-bad' } }));
    await expect(collect(listChatSessionPages(client, WINDOW))).rejects.toMatchObject({
      code: 'ZOOM_INVALID_RESPONSE',
      endpoint: 'report.chat.sessions',
      trackingId: 'trk-bad',
    });
  });
});

describe('fetchSessionMessagePages', () => {
  it('asks for every kind of version with page_size=100 and an encoded session id', async () => {
    const { server, client } = await setup(() => ({
      json: {
        next_page_token: '',
        messages: [{ id: 'm1', message: 'hi', timestamp: 1741000000000 }],
        edited_messages: [{ id: 'm1', message: 'hi!', timestamp: 1741000000000, action_timestamp: 1741000005000 }],
        deleted_messages: [],
      },
    }));
    const pages = await collect(fetchSessionMessagePages(client, '{ABC/12 3}', WINDOW));
    expect(pages).toHaveLength(1);
    expect(pages[0]?.versions.map((v) => [v.messageId, v.kind, v.actionMs])).toEqual([
      ['m1', 'original', 1741000000000],
      ['m1', 'edited', 1741000005000],
    ]);
    const req = server.apiRequests[0];
    expect(req?.url.split('?')[0]).toBe('/v2/report/chat/sessions/%7BABC%2F12%203%7D');
    expect(Object.fromEntries(req?.query ?? [])).toEqual({
      from: '2025-03-01',
      to: '2025-03-31',
      page_size: '100',
      include_fields: 'edited_messages,deleted_messages',
      include_reactions: 'true',
      include_bot_message: 'true',
      include_custom_emoji_reactions: 'true',
      query_all_modifications: 'true',
    });
  });

  it('resumes from a saved token with the same other parameters', async () => {
    const { server, client } = await setup(() => ({ json: { next_page_token: '', messages: [] } }));
    await collect(fetchSessionMessagePages(client, 's1', { ...WINDOW, resumeToken: 'tok-7' }));
    expect(server.apiRequests[0]?.query.get('next_page_token')).toBe('tok-7');
    expect(server.apiRequests[0]?.query.get('include_fields')).toBe('edited_messages,deleted_messages');
  });

  it('maps a missing session to ZOOM_NOT_FOUND', async () => {
    const { client } = await setup(() => zoomError(404, 4130, 'Channel does not exist.'));
    await expect(collect(fetchSessionMessagePages(client, 'gone', WINDOW))).rejects.toMatchObject({ code: 'ZOOM_NOT_FOUND', zoomCode: 4130 });
  });
});

describe('report window validation', () => {
  it.each([
    ['2025-02-30', '2025-03-01'],
    ['2025-3-1', '2025-03-02'],
    ['2025-03-01', 'tomorrow'],
    ['2025-03-10', '2025-03-09'],
    ['2025-03-01', '2025-04-02'],
    ['2025-01-31', '2025-03-01'],
  ])('rejects %s..%s before any call', async (from, to) => {
    const { server, client } = await setup(() => ({ json: {} }));
    expect(() => listChatSessionPages(client, { from, to })).toThrow(InputError);
    expect(() => fetchSessionMessagePages(client, 's1', { from, to })).toThrow(InputError);
    expect(server.apiRequests).toHaveLength(0);
  });

  it.each([
    ['2025-03-01', '2025-04-01'],
    ['2025-01-31', '2025-02-28'],
    ['2025-03-05', '2025-03-05'],
  ])('accepts %s..%s', (from, to) => {
    expect(() => validateReportWindow(from, to)).not.toThrow();
  });

  it('rejects an empty session id', async () => {
    const { client } = await setup(() => ({ json: {} }));
    expect(() => fetchSessionMessagePages(client, '', WINDOW)).toThrow(InputError);
  });
});

describe('paginate', () => {
  it('stops on a token that points back at the page just read', async () => {
    const pages = paginate(async (token) => ({ nextPageToken: token ?? 'same' }));
    await expect(collect(pages)).rejects.toMatchObject({ code: 'ZOOM_INVALID_RESPONSE' });
  });

  it('stops between pages when the signal fires', async () => {
    const controller = new AbortController();
    let calls = 0;
    const pages = paginate(
      async () => {
        calls++;
        return { nextPageToken: `t${calls}` };
      },
      { signal: controller.signal },
    );
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const page of pages) {
          seen.push(page.pageIndex);
          if (page.pageIndex === 1) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toEqual([0, 1]);
    expect(calls).toBe(2);
  });

  it('does not restart on an expired token for the first page (it carried none)', async () => {
    let calls = 0;
    const err = new ZoomApiError('ZOOM_PAGE_TOKEN_EXPIRED', 'expired', { endpoint: 'test', method: 'GET', status: 400, zoomCode: 300 });
    const pages = paginate(async () => {
      calls++;
      throw err;
    });
    await expect(collect(pages)).rejects.toBe(err);
    expect(calls).toBe(1);
  });
});
