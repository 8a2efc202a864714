import { beforeEach, describe, expect, it } from 'vitest';
import { writeSessionPage, type SessionPageWrite } from '../../src/archive/session-store.js';
import type { Fence } from '../../src/db/advisory-lock.js';
import type { MalformedItem, SessionListing } from '../../src/domain/types.js';
import { LockSupersededError } from '../../src/errors.js';
import { useTestDatabase } from '../helpers/database.js';

// One page of `GET /report/chat/sessions` (session-store.ts): sessions, their snapshots, the news
// each brings to its unit in the window, and malformed items, against the real schema.
// session_snapshots is append-only, so every test uses session ids of its own.

const db = useTestDatabase();

const MONTH = '2026-10-01';
const LISTED_AT = t('2026-11-02T08:00:00.000Z');
const LISTING = { from: '2026-10-01', to: '2026-10-31', startedAt: LISTED_AT, flagNews: true };

function t(iso: string): Date {
  return new Date(iso);
}

function listing(sessionId: string, over: Partial<Omit<SessionListing, 'sessionId' | 'rawJson'>> = {}): SessionListing {
  const s = {
    type: 'group',
    name: `name of ${sessionId}`,
    channelId: `ch-${sessionId}`,
    memberEmails: ['a@example.com', 'b@example.com'],
    status: 'active',
    hasExternalMember: false,
    lastMessageSentAt: t('2026-10-20T10:00:00.000Z'),
    ...over,
  };
  const raw = {
    id: sessionId,
    type: s.type,
    name: s.name,
    channel_id: s.channelId,
    member_emails: s.memberEmails,
    status: s.status,
    has_external_member: s.hasExternalMember,
    last_message_sent_time: s.lastMessageSentAt?.toISOString() ?? null,
  };
  return { sessionId, ...s, rawJson: JSON.stringify(raw) };
}

function write(sessions: SessionListing[], extra: Partial<SessionPageWrite> = {}) {
  return writeSessionPage(db.pool, { monthStart: MONTH, syncRunId: 41, sessions, malformed: [], listing: LISTING, ...extra });
}

async function sessionRows(ids: string[]) {
  const res = await db.pool.query(
    `SELECT session_id, type, name, channel_id, member_emails, status, has_external_member, last_message_sent_at, raw, units_created_at
     FROM archive.sessions WHERE session_id = ANY($1) ORDER BY session_id`,
    [ids],
  );
  return res.rows;
}
async function snapshots(ids: string[]) {
  const res = await db.pool.query(
    `SELECT session_id, raw, sync_run_id, content_sha256 = archive.session_identity(raw) AS identity_ok
     FROM archive.session_snapshots WHERE session_id = ANY($1) ORDER BY id`,
    [ids],
  );
  return res.rows;
}
async function unit(sessionId: string) {
  return (await db.pool.query(`SELECT * FROM archive.sync_units WHERE month_start = $1 AND session_id = $2`, [MONTH, sessionId])).rows[0];
}
async function count(table: string, ids: string[]): Promise<number> {
  return (await db.pool.query(`SELECT count(*)::int AS n FROM archive.${table} WHERE session_id = ANY($1)`, [ids])).rows[0].n;
}
async function takeFence(name: string): Promise<Fence> {
  const res = await db.pool.query<{ token: string }>(`SELECT archive.take_fence($1, 'test')::text AS token`, [name]);
  return { name, token: res.rows[0]!.token };
}

beforeEach(async () => {
  await db.pool.query(`TRUNCATE archive.sync_units, archive.item_errors`);
});

describe('writeSessionPage: sessions', () => {
  it('records new sessions, one snapshot each, and a unit with news in the window', async () => {
    const page = [
      listing('new-c', { lastMessageSentAt: null, memberEmails: null, hasExternalMember: null, type: null, name: null, channelId: null, status: null }),
      listing('new-a'),
      listing('new-b', { lastMessageSentAt: t('2026-11-03T05:00:00.000Z'), hasExternalMember: true, status: 'deleted' }),
    ];
    expect(await write(page)).toEqual({ sessionsListed: 3, sessionsNew: 3, sessionsWithNews: 3, malformedRecorded: 0 });

    expect(await sessionRows(['new-a', 'new-b', 'new-c'])).toEqual([
      {
        session_id: 'new-a',
        type: 'group',
        name: 'name of new-a',
        channel_id: 'ch-new-a',
        member_emails: ['a@example.com', 'b@example.com'],
        status: 'active',
        has_external_member: false,
        last_message_sent_at: t('2026-10-20T10:00:00.000Z'),
        raw: JSON.parse(page[1]!.rawJson),
        units_created_at: null,
      },
      {
        session_id: 'new-b',
        type: 'group',
        name: 'name of new-b',
        channel_id: 'ch-new-b',
        member_emails: ['a@example.com', 'b@example.com'],
        status: 'deleted',
        has_external_member: true,
        last_message_sent_at: t('2026-11-03T05:00:00.000Z'),
        raw: JSON.parse(page[2]!.rawJson),
        units_created_at: null,
      },
      {
        session_id: 'new-c',
        type: null,
        name: null,
        channel_id: null,
        member_emails: null,
        status: null,
        has_external_member: null,
        last_message_sent_at: null,
        raw: JSON.parse(page[0]!.rawJson),
        units_created_at: null,
      },
    ]);
    // Written in session-id order (one lock order for concurrent writers), whatever the page's order.
    expect(await snapshots(['new-a', 'new-b', 'new-c'])).toEqual([
      { session_id: 'new-a', raw: JSON.parse(page[1]!.rawJson), sync_run_id: 41, identity_ok: true },
      { session_id: 'new-b', raw: JSON.parse(page[2]!.rawJson), sync_run_id: 41, identity_ok: true },
      { session_id: 'new-c', raw: JSON.parse(page[0]!.rawJson), sync_run_id: 41, identity_ok: true },
    ]);
    // The listed time, capped at the window's end (a message of the next month is that month's news).
    expect(await unit('new-a')).toMatchObject({ listed_last_message_at: t('2026-10-20T10:00:00.000Z'), news_pending_since: LISTED_AT, swept_at: null, completed_at: null });
    expect(await unit('new-b')).toMatchObject({ listed_last_message_at: t('2026-11-01T00:00:00.000Z'), news_pending_since: LISTED_AT });
    // Listed without a time: none recorded (not the window's end), news all the same.
    expect(await unit('new-c')).toMatchObject({ listed_last_message_at: null, news_pending_since: LISTED_AT });
    expect(await count('sync_units', ['new-a', 'new-b', 'new-c'])).toBe(3);
  });

  it('writes a session repeated on a page once, the last listing winning', async () => {
    const first = listing('dup-a', { name: 'first' });
    const last = listing('dup-a', { name: 'last' });
    expect(await write([first, listing('dup-b'), last])).toEqual({ sessionsListed: 2, sessionsNew: 2, sessionsWithNews: 2, malformedRecorded: 0 });
    expect((await sessionRows(['dup-a']))[0]).toMatchObject({ name: 'last', raw: JSON.parse(last.rawJson) });
    expect(await snapshots(['dup-a'])).toHaveLength(1);
  });

  it('updates a session listed again: its state replaced, the latest message time kept, listed now', async () => {
    const firstSeen = t('2026-09-01T00:00:00.000Z');
    const unitsCreated = t('2026-09-02T00:00:00.000Z');
    await write([listing('upd')]);
    await db.pool.query(`UPDATE archive.sessions SET first_archived_at = $2, last_listed_at = $2, units_created_at = $3 WHERE session_id = $1`, ['upd', firstSeen, unitsCreated]);

    const changed = listing('upd', {
      type: 'channel',
      name: 'renamed',
      channelId: 'ch-2',
      memberEmails: ['c@example.com'],
      status: 'archived',
      hasExternalMember: true,
      lastMessageSentAt: t('2026-10-05T00:00:00.000Z'),
    });
    const since = Date.now();
    expect(await write([changed])).toEqual({ sessionsListed: 1, sessionsNew: 0, sessionsWithNews: 1, malformedRecorded: 0 });
    expect(await sessionRows(['upd'])).toEqual([
      {
        session_id: 'upd',
        type: 'channel',
        name: 'renamed',
        channel_id: 'ch-2',
        member_emails: ['c@example.com'],
        status: 'archived',
        has_external_member: true,
        last_message_sent_at: t('2026-10-20T10:00:00.000Z'),
        raw: JSON.parse(changed.rawJson),
        units_created_at: unitsCreated,
      },
    ]);
    const times = (await db.pool.query(`SELECT first_archived_at, last_listed_at FROM archive.sessions WHERE session_id = 'upd'`)).rows[0];
    expect(times.first_archived_at).toEqual(firstSeen);
    expect(times.last_listed_at.getTime()).toBeGreaterThanOrEqual(since - 1000);
    expect(times.last_listed_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    // A listing without a time keeps the one known; a later time moves it.
    await write([listing('upd', { lastMessageSentAt: null })]);
    expect((await sessionRows(['upd']))[0].last_message_sent_at).toEqual(t('2026-10-20T10:00:00.000Z'));
    await write([listing('upd', { lastMessageSentAt: t('2026-10-25T00:00:00.000Z') })]);
    expect((await sessionRows(['upd']))[0].last_message_sent_at).toEqual(t('2026-10-25T00:00:00.000Z'));
  });

  it('keeps one snapshot per distinct listing state, the message time aside', async () => {
    await write([listing('snap')]);
    await write([listing('snap', { lastMessageSentAt: t('2026-10-21T00:00:00.000Z') })]);
    expect(await snapshots(['snap'])).toHaveLength(1);
    await write([listing('snap', { name: 'renamed' })], { syncRunId: 42 });
    const rows = await snapshots(['snap']);
    expect(rows.map((r) => [r.raw.name, r.sync_run_id])).toEqual([
      ['name of snap', 41],
      ['renamed', 42],
    ]);
  });
});

describe('writeSessionPage: news', () => {
  const READ_AT = t('2026-10-28T00:00:00.000Z');
  const LAST = t('2026-10-20T00:00:00.000Z');
  const PENDING = t('2026-10-29T00:00:00.000Z');

  async function readUnit(sessionId: string, cols: Record<string, unknown>): Promise<void> {
    const all = { month_start: MONTH, session_id: sessionId, swept_at: READ_AT, ...cols };
    const keys = Object.keys(all);
    await db.pool.query(`INSERT INTO archive.sync_units (${keys.join(', ')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(all));
  }

  it('flags news only where the listing shows something the last read did not cover', async () => {
    const later = t('2026-10-26T00:00:00.000Z');
    await readUnit('n-unread', { swept_at: null, swept_last_message_at: LAST }); // never read, whatever else it records
    await readUnit('n-same', { swept_last_message_at: LAST, listed_last_message_at: later });
    await readUnit('n-newer', { swept_last_message_at: LAST });
    await readUnit('n-no-time', { swept_last_message_at: LAST });
    await readUnit('n-no-swept-time', { swept_last_message_at: null });
    await readUnit('n-older', { swept_last_message_at: t('2026-10-10T00:00:00.000Z') });
    await readUnit('n-from', { swept_last_message_at: t('2026-10-15T00:00:00.000Z') });
    await readUnit('n-capped', { swept_last_message_at: t('2026-11-01T00:00:00.000Z') });
    await readUnit('n-pending', { swept_last_message_at: LAST, news_pending_since: PENDING });
    const result = await write(
      [
        listing('n-unread', { lastMessageSentAt: LAST }),
        listing('n-same', { lastMessageSentAt: LAST }),
        listing('n-newer', { lastMessageSentAt: new Date(LAST.getTime() + 1) }),
        listing('n-no-time', { lastMessageSentAt: null }),
        listing('n-no-swept-time', { lastMessageSentAt: LAST }),
        // Listed although its last message is older than the listed days: listed for something else.
        listing('n-older', { lastMessageSentAt: t('2026-10-10T00:00:00.000Z') }),
        listing('n-from', { lastMessageSentAt: t('2026-10-15T00:00:00.000Z') }),
        listing('n-capped', { lastMessageSentAt: t('2026-11-03T00:00:00.000Z') }),
        listing('n-pending', { lastMessageSentAt: LAST }),
      ],
      { listing: { ...LISTING, from: '2026-10-15' } },
    );
    expect(result).toMatchObject({ sessionsListed: 9, sessionsWithNews: 6 });
    const news = async (id: string) => (await unit(id)).news_pending_since;
    expect(await news('n-unread')).toEqual(LISTED_AT);
    expect(await news('n-same')).toBeNull();
    expect(await news('n-newer')).toEqual(LISTED_AT);
    expect(await news('n-no-time')).toEqual(LISTED_AT);
    expect(await news('n-no-swept-time')).toEqual(LISTED_AT);
    expect(await news('n-older')).toEqual(LISTED_AT);
    expect(await news('n-from')).toBeNull();
    expect(await news('n-capped')).toBeNull();
    expect(await news('n-pending')).toEqual(PENDING);
    // The listed time only grows.
    expect((await unit('n-same')).listed_last_message_at).toEqual(later);
    expect((await unit('n-newer')).listed_last_message_at).toEqual(new Date(LAST.getTime() + 1));
    expect((await unit('n-capped')).listed_last_message_at).toEqual(t('2026-11-01T00:00:00.000Z'));
    // The read's own record is not the listing's to change.
    expect(await unit('n-same')).toMatchObject({ swept_at: READ_AT, swept_last_message_at: LAST });
  });

  // docs/sync.md: a unit gets news when the listing shows "no time at all", even when its last read
  // covered the window's end (least() skips NULLs, so the cap once turned a missing time into the
  // window's end and this unit got no news until the settled-month sweep).
  it('flags news when a read unit is listed with no time at all, even when its last read covered the window end', async () => {
    const END = t('2026-11-01T00:00:00.000Z');
    await readUnit('nt-covered', { swept_last_message_at: END, listed_last_message_at: END });
    expect(await write([listing('nt-covered', { lastMessageSentAt: null })])).toMatchObject({ sessionsListed: 1, sessionsWithNews: 1 });
    expect(await unit('nt-covered')).toMatchObject({ news_pending_since: LISTED_AT, listed_last_message_at: END });
  });

  it('with flagNews off records the listed time only, keeping news already pending', async () => {
    await readUnit('q-newer', { swept_last_message_at: LAST });
    await readUnit('q-pending', { swept_last_message_at: LAST, news_pending_since: PENDING });
    const newer = t('2026-10-27T00:00:00.000Z');
    const result = await write([listing('q-new'), listing('q-newer', { lastMessageSentAt: newer }), listing('q-pending', { lastMessageSentAt: newer })], {
      listing: { ...LISTING, flagNews: false },
    });
    expect(result).toEqual({ sessionsListed: 3, sessionsNew: 3, sessionsWithNews: 1, malformedRecorded: 0 });
    expect(await unit('q-new')).toMatchObject({ news_pending_since: null, listed_last_message_at: t('2026-10-20T10:00:00.000Z') });
    expect(await unit('q-newer')).toMatchObject({ news_pending_since: null, listed_last_message_at: newer });
    expect(await unit('q-pending')).toMatchObject({ news_pending_since: PENDING, listed_last_message_at: newer });
  });
});

describe('writeSessionPage: malformed items, empty pages, fences', () => {
  const bad = (rawJson: string, reason = 'missing or unusable session id'): MalformedItem => ({ source: 'sessions', rawJson, reason });

  async function errors() {
    const res = await db.pool.query(
      `SELECT source, session_id, month_start, reason, raw_text, raw_sha256 = sha256(convert_to(raw_text, 'UTF8')) AS sha_ok, sync_run_id, times_seen, last_seen_at
       FROM archive.item_errors ORDER BY raw_text`,
    );
    return res.rows;
  }

  it('records malformed items once each, counting them again when seen again', async () => {
    const items = [bad('{"name":"no id"}'), bad('"not an object"', 'item is not a JSON object'), bad('{"name":"no id"}')];
    expect(await write([listing('m-ok')], { malformed: items })).toEqual({ sessionsListed: 1, sessionsNew: 1, sessionsWithNews: 1, malformedRecorded: 2 });
    const first = await errors();
    expect(first.map(({ last_seen_at: _, ...r }) => r)).toEqual([
      { source: 'sessions', session_id: null, month_start: MONTH, reason: 'item is not a JSON object', raw_text: '"not an object"', sha_ok: true, sync_run_id: 41, times_seen: 1 },
      { source: 'sessions', session_id: null, month_start: MONTH, reason: 'missing or unusable session id', raw_text: '{"name":"no id"}', sha_ok: true, sync_run_id: 41, times_seen: 1 },
    ]);
    const old = t('2026-01-01T00:00:00.000Z');
    await db.pool.query(`UPDATE archive.item_errors SET last_seen_at = $1`, [old]);

    // A page of malformed items only.
    const since = Date.now();
    expect(await write([], { malformed: [items[0]!] })).toEqual({ sessionsListed: 0, sessionsNew: 0, sessionsWithNews: 0, malformedRecorded: 1 });
    const second = await errors();
    expect(second.map((r) => [r.raw_text, r.times_seen])).toEqual([
      ['"not an object"', 1],
      ['{"name":"no id"}', 2],
    ]);
    expect(second[0].last_seen_at).toEqual(old);
    expect(second[1].last_seen_at.getTime()).toBeGreaterThanOrEqual(since - 1000);
  });

  it('an empty page writes nothing and returns zeros, without touching the database', async () => {
    const fence = await takeFence('sync:empty');
    await takeFence('sync:empty'); // the fence above is superseded: a statement would be refused
    expect(await write([], { fence })).toEqual({ sessionsListed: 0, sessionsNew: 0, sessionsWithNews: 0, malformedRecorded: 0 });
    expect(await errors()).toEqual([]);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM archive.sync_units`)).rows[0].n).toBe(0);
  });

  it('writes under the current fence and refuses a superseded one, writing nothing', async () => {
    const old = await takeFence('sync:page');
    const current = await takeFence('sync:page');
    expect(await write([listing('f-ok')], { fence: current })).toMatchObject({ sessionsListed: 1, sessionsNew: 1 });

    const refused = write([listing('f-refused')], { fence: old, malformed: [bad('{"x":1}')] });
    await expect(refused).rejects.toBeInstanceOf(LockSupersededError);
    await expect(refused).rejects.toMatchObject({ code: 'LOCK_SUPERSEDED' });
    expect(await count('sessions', ['f-refused'])).toBe(0);
    expect(await count('session_snapshots', ['f-refused'])).toBe(0);
    expect(await count('sync_units', ['f-refused'])).toBe(0);
    expect(await errors()).toEqual([]);
  });
});
