import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeMessagePage } from '../../src/archive/version-store.js';
import { LockSupersededError } from '../../src/errors.js';
import { parseMessagePage } from '../../src/zoom/report-parser.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// Real PostgreSQL, real SQL: the storage invariants are enforced by the database itself.
let tdb: TestDatabase;
const MONTH = '2026-10-01';
const SWEEP = { from: '2026-10-01', to: '2026-10-31', startedAt: new Date('2026-11-05T00:00:00Z') };
let session = 0;
let sessionId = '';

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb.close();
});
beforeEach(async () => {
  sessionId = `s${++session}`;
  await tdb.pool.query(`INSERT INTO archive.sync_units (month_start, session_id) VALUES ($1, $2)`, [MONTH, sessionId]);
});

function page(items: string[], extra: { edited?: string[]; deleted?: string[]; next?: string } = {}): string {
  return `{"from":"2026-10-01","to":"2026-10-31","page_size":100,"next_page_token":${JSON.stringify(extra.next ?? '')},"messages":[${items.join(',')}]${
    extra.edited ? `,"edited_messages":[${extra.edited.join(',')}]` : ''
  }${extra.deleted ? `,"deleted_messages":[${extra.deleted.join(',')}]` : ''}}`;
}

async function store(body: string) {
  const parsed = parseMessagePage(body);
  return writeMessagePage(tdb.pool, { sessionId, monthStart: MONTH, syncRunId: 1, sweep: SWEEP, ...parsed });
}

async function versions() {
  const res = await tdb.pool.query(
    `SELECT message_id, kind, action_at, sent_at, sender, body, raw, raw::text AS raw_text FROM public.chat_message_versions WHERE session_id = $1 ORDER BY action_at, version_id`,
    [sessionId],
  );
  return res.rows;
}

const msg = (id: string, text: string, ts = 1790000000000, extra = '') =>
  `{"id":"${id}","message":${JSON.stringify(text)},"sender":"a@example.com","timestamp":${ts}${extra}}`;

describe('message versions', () => {
  it('stores each version once, however often it is delivered', async () => {
    const body = page([msg('m1', 'hello'), msg('m2', 'world')]);
    expect((await store(body)).versionsAdded).toBe(2);
    expect((await store(body)).versionsAdded).toBe(0);
    // Same item twice on one page, and key order changed: still the same version.
    const reordered = '{"timestamp":1790000000000,"sender":"a@example.com","message":"hello","id":"m1"}';
    expect((await store(page([reordered, reordered]))).versionsAdded).toBe(0);
    expect(await versions()).toHaveLength(2);
  });

  it('keeps a different content under the same keys as another version, never overwriting', async () => {
    await store(page([msg('m1', 'first text')]));
    const added = await store(page([msg('m1', 'changed text')]));
    expect(added.versionsAdded).toBe(1);
    const rows = await versions();
    expect(rows.map((r) => r.body)).toEqual(['first text', 'changed text']);
  });

  it('records edits and deletions as their own versions, timed by action_timestamp', async () => {
    const edit = msg('m1', 'edited', 1790000000000, ',"action_timestamp":1790000100000');
    const del = msg('m1', 'edited', 1790000000000, ',"action_timestamp":1790000200000');
    await store(page([msg('m1', 'orig')], { edited: [edit], deleted: [del] }));
    const rows = await versions();
    expect(rows.map((r) => [r.kind, r.action_at.getTime()])).toEqual([
      ['original', 1790000000000],
      ['edited', 1790000100000],
      ['deleted', 1790000200000],
    ]);
    expect(rows.every((r) => r.sent_at.getTime() === 1790000000000)).toBe(true);
  });

  it('ignores a changed per-request download_url but not a changed file', async () => {
    const withFile = (url: string, size: number) =>
      msg('m1', 'file', 1790000000000, `,"files":[{"file_id":"f1","file_name":"a.png","file_size":${size},"download_url":"${url}"}]`);
    expect((await store(page([withFile('https://zoom.us/file?jwt=aaa', 10)]))).versionsAdded).toBe(1);
    expect((await store(page([withFile('https://zoom.us/file?jwt=bbb', 10)]))).versionsAdded).toBe(0);
    expect((await store(page([withFile('https://zoom.us/file?jwt=ccc', 11)]))).versionsAdded).toBe(1);
  });

  it('keeps raw JSON as received: unknown keys, numbers as strings, big integers', async () => {
    const item = `{"id":"m1","message":"x","timestamp":"1790000000000","reply_main_message_timestamp":"1789999999999","future_field":{"n":12345678901234567890,"s":"1.50"},"ratio":1.50}`;
    await store(page([item]));
    const [row] = await versions();
    expect(row.raw.timestamp).toBe('1790000000000');
    expect(row.raw.reply_main_message_timestamp).toBe('1789999999999');
    expect(row.raw.future_field.s).toBe('1.50');
    // jsonb keeps numeric precision; read it back as text to see every digit.
    expect(row.raw_text).toContain('12345678901234567890');
    expect(row.raw_text).toContain('1.50');
    expect(row.sent_at.getTime()).toBe(1790000000000);
  });

  it('stores U+0000 as the six characters \\u0000 in body and raw, altering nothing else', async () => {
    const item = `{"id":"m1","message":"a\\u0000b \\\\u0000 lit\\u00e9 \\ud83d\\ude00  ","timestamp":1790000000000}`;
    await store(page([item]));
    const [row] = await versions();
    expect(row.body).toBe('a\\u0000b \\u0000 lité 😀  ');
    expect(row.raw.message).toBe('a\\u0000b \\u0000 lité 😀  ');
  });

  it('records malformed items with their raw JSON and keeps the rest of the page', async () => {
    const body = page([msg('m1', 'ok'), '{"message":"no id","timestamp":1}', '{"id":"m3","message":"bad time","timestamp":"abc"}', '"just a string"']);
    const result = await store(body);
    expect(result).toEqual({ versionsAdded: 1, malformedRecorded: 3, misses: [] });
    await store(body);
    const errs = await tdb.pool.query(`SELECT source, reason, raw_text, times_seen FROM public.sync_errors WHERE session_id = $1 ORDER BY raw_text`, [sessionId]);
    expect(errs.rows.map((r) => r.raw_text)).toEqual(['"just a string"', '{"id":"m3","message":"bad time","timestamp":"abc"}', '{"message":"no id","timestamp":1}']);
    expect(errs.rows.every((r) => r.times_seen === 2)).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of archived versions', async () => {
    await store(page([msg('m1', 'keep me')]));
    await expect(tdb.pool.query(`UPDATE archive.message_versions SET body = 'x' WHERE session_id = $1`, [sessionId])).rejects.toThrow(/append-only/);
    await expect(tdb.pool.query(`DELETE FROM archive.message_versions WHERE session_id = $1`, [sessionId])).rejects.toThrow(/append-only/);
    await expect(tdb.pool.query(`TRUNCATE archive.message_versions`)).rejects.toThrow(/append-only/);
    expect((await versions())[0]?.body).toBe('keep me');
  });

  it('records the sweep on its pages and its completion on the last page', async () => {
    await store(page([msg('m1', 'a')], { next: 'tok-1' }));
    let unit = (await tdb.pool.query(`SELECT * FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(unit).toMatchObject({ sweep_from: '2026-10-01', sweep_to: '2026-10-31', resume_token: 'tok-1', covered_through: null, completed_at: null });
    const parsed = parseMessagePage(page([msg('m2', 'b')]));
    await writeMessagePage(tdb.pool, { sessionId, monthStart: MONTH, syncRunId: 1, sweep: SWEEP, finish: { complete: true, full: true }, ...parsed });
    unit = (await tdb.pool.query(`SELECT * FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(unit).toMatchObject({ sweep_from: null, resume_token: null, covered_through: '2026-10-31', sweeps: 1, pages_fetched: 2, versions_added: 2, outcome: 'ok' });
    expect(unit.swept_at.toISOString()).toBe('2026-11-05T00:00:00.000Z');
    expect(unit.completed_at).toBeInstanceOf(Date);
  });

  it('writes a page and its checkpoint together or not at all', async () => {
    await store(page([msg('m1', 'a')], { next: 'tok-1' }));
    const unit = await tdb.pool.query(`SELECT resume_token, pages_fetched, versions_added FROM archive.sync_units WHERE session_id = $1`, [sessionId]);
    expect(unit.rows[0]).toMatchObject({ resume_token: 'tok-1', pages_fetched: 1, versions_added: 1 });
    // A version PostgreSQL cannot store (an unpaired surrogate sneaked past the parser) fails the statement.
    const bad = { messageId: 'm9', kind: 'original' as const, actionMs: 1790000000000, sentMs: 1790000000000, rawJson: '{"id":"m9","message":"\\ud800"}' };
    await expect(
      writeMessagePage(tdb.pool, { sessionId, monthStart: MONTH, syncRunId: 1, sweep: SWEEP, versions: [{ ...bad, messageId: 'm2', rawJson: '{"id":"m2"}' }, bad], malformed: [], nextPageToken: 'tok-2' }),
    ).rejects.toThrow();
    const after = await tdb.pool.query(`SELECT resume_token, pages_fetched FROM archive.sync_units WHERE session_id = $1`, [sessionId]);
    expect(after.rows[0]).toMatchObject({ resume_token: 'tok-1', pages_fetched: 1 });
    expect((await versions()).map((r) => r.message_id)).toEqual(['m1']);
  });

  it('records what a settled sweep adds as listing misses, and clears the news a read covered', async () => {
    await tdb.pool.query(`UPDATE archive.sync_units SET news_pending_since = $3, listed_last_message_at = $4 WHERE month_start = $1 AND session_id = $2`, [
      MONTH,
      sessionId,
      new Date('2026-11-04T00:00:00Z'),
      new Date('2026-10-30T00:00:00Z'),
    ]);
    await store(page([msg('m1', 'known')]));
    const parsed = parseMessagePage(page([msg('m1', 'known')], { edited: [msg('m1', 'edited', 1790000001000)], deleted: [msg('m2', 'gone', 1790000002000)] }));
    const result = await writeMessagePage(tdb.pool, { sessionId, monthStart: MONTH, syncRunId: 7, sweep: SWEEP, finish: { complete: true, full: true }, recordMissesAs: 'settled', ...parsed });
    expect(result.versionsAdded).toBe(2);
    expect(result.misses.sort()).toEqual(['deleted', 'edited']);
    const misses = await tdb.pool.query(`SELECT message_id, kind, read_kind, month_start::text, sync_run_id FROM public.sync_listing_misses WHERE session_id = $1 ORDER BY kind`, [sessionId]);
    expect(misses.rows).toEqual([
      { message_id: 'm2', kind: 'deleted', read_kind: 'settled', month_start: MONTH, sync_run_id: 7 },
      { message_id: 'm1', kind: 'edited', read_kind: 'settled', month_start: MONTH, sync_run_id: 7 },
    ]);
    // The read started after the news was flagged: the news is covered, the listed time now read.
    const unit = (await tdb.pool.query(`SELECT * FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(unit.news_pending_since).toBeNull();
    expect(unit.swept_last_message_at.toISOString()).toBe('2026-10-30T00:00:00.000Z');
    expect(unit.full_swept_at.toISOString()).toBe(SWEEP.startedAt.toISOString());
    await expect(tdb.pool.query(`DELETE FROM archive.listing_misses`)).rejects.toThrow(/append-only/);
  });

  it('keeps news flagged after a read started pending, and a partial read does not count as full', async () => {
    await tdb.pool.query(`UPDATE archive.sync_units SET news_pending_since = $3 WHERE month_start = $1 AND session_id = $2`, [MONTH, sessionId, new Date('2026-11-06T00:00:00Z')]);
    const parsed = parseMessagePage(page([msg('m1', 'a')]));
    await writeMessagePage(tdb.pool, { sessionId, monthStart: MONTH, syncRunId: 1, sweep: { ...SWEEP, from: '2026-10-20' }, finish: { complete: false, full: false }, ...parsed });
    const unit = (await tdb.pool.query(`SELECT * FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(unit.news_pending_since.toISOString()).toBe('2026-11-06T00:00:00.000Z');
    expect(unit.full_swept_at).toBeNull();
    expect(unit.swept_at.toISOString()).toBe(SWEEP.startedAt.toISOString());
  });

  it('records when a page token was received, and forgets both on the last page', async () => {
    const since = Date.now();
    await store(page([msg('m1', 'a')], { next: 'tok-1' }));
    const unit = (await tdb.pool.query(`SELECT resume_token, resume_token_at FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(unit.resume_token).toBe('tok-1');
    expect(unit.resume_token_at.getTime()).toBeGreaterThanOrEqual(since - 1000);
    expect(unit.resume_token_at.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    await store(page([msg('m2', 'b')]));
    const after = (await tdb.pool.query(`SELECT resume_token, resume_token_at FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(after).toEqual({ resume_token: null, resume_token_at: null });
  });

  it('marks the session archived when a page adds a version, not when it adds none', async () => {
    const old = new Date('2026-01-01T00:00:00Z');
    await tdb.pool.query(`INSERT INTO archive.sessions (session_id, raw, last_archived_at) VALUES ($1, '{}', $2)`, [sessionId, old]);
    const archivedAt = async () => (await tdb.pool.query(`SELECT last_archived_at FROM archive.sessions WHERE session_id = $1`, [sessionId])).rows[0].last_archived_at as Date;
    const since = Date.now();
    await store(page([msg('m1', 'a')]));
    expect((await archivedAt()).getTime()).toBeGreaterThanOrEqual(since - 1000);
    await tdb.pool.query(`UPDATE archive.sessions SET last_archived_at = $2 WHERE session_id = $1`, [sessionId, old]);
    await store(page([msg('m1', 'a')]));
    expect(await archivedAt()).toEqual(old);
  });

  it('writes under the current fence and refuses a superseded one, writing nothing', async () => {
    const take = async () => (await tdb.pool.query<{ token: string }>(`SELECT archive.take_fence('sync:versions', 'test')::text AS token`)).rows[0]!.token;
    const oldToken = await take();
    const current = { name: 'sync:versions', token: await take() };
    const write = (body: string, fence: { name: string; token: string }) =>
      writeMessagePage(tdb.pool, { sessionId, monthStart: MONTH, syncRunId: 1, sweep: SWEEP, fence, ...parseMessagePage(body) });
    expect((await write(page([msg('m1', 'a')]), current)).versionsAdded).toBe(1);
    const refused = write(page([msg('m2', 'b'), '{"message":"no id"}'], { next: 'tok-9' }), { name: 'sync:versions', token: oldToken });
    await expect(refused).rejects.toBeInstanceOf(LockSupersededError);
    expect((await versions()).map((r) => r.message_id)).toEqual(['m1']);
    const unit = (await tdb.pool.query(`SELECT resume_token, pages_fetched FROM archive.sync_units WHERE session_id = $1`, [sessionId])).rows[0];
    expect(unit).toEqual({ resume_token: null, pages_fetched: 1 });
    expect((await tdb.pool.query(`SELECT count(*)::int AS n FROM archive.item_errors WHERE session_id = $1`, [sessionId])).rows[0].n).toBe(0);
  });
});
