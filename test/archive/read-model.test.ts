import { describe, expect, it } from 'vitest';
import { writeMessagePage } from '../../src/archive/version-store.js';
import { leavesHorizonOn } from '../../src/sync/horizon.js';
import { addDays } from '../../src/util/dates.js';
import { parseMessagePage } from '../../src/zoom/report-parser.js';
import { useTestDatabase } from '../helpers/database.js';

const tdb = useTestDatabase();

const SWEEP = { from: '2026-10-01', to: '2026-10-31', startedAt: new Date('2026-11-05T00:00:00Z') };
async function store(sessionId: string, body: Record<string, unknown>) {
  await tdb.pool.query(`INSERT INTO archive.sync_units (month_start, session_id) VALUES ('2026-10-01', $1) ON CONFLICT DO NOTHING`, [sessionId]);
  await writeMessagePage(tdb.pool, { sessionId, monthStart: '2026-10-01', syncRunId: 1, sweep: SWEEP, ...parseMessagePage(JSON.stringify(body)) });
}

describe('chat_messages', () => {
  it('shows each message in its latest state with its edit and deletion history summarised', async () => {
    const base = { sender: 'Alice@Example.com', sender_display_name: 'Alice', timestamp: 1790000000000 };
    await store('rm-1', {
      messages: [
        { id: 'plain', message: 'hello', ...base },
        { id: 'edited', message: 'v1', ...base, timestamp: 1790000001000 },
        { id: 'gone', message: 'oops', ...base, timestamp: 1790000002000 },
      ],
      edited_messages: [
        { id: 'edited', message: 'v2', ...base, timestamp: 1790000001000, action_timestamp: 1790000100000 },
        { id: 'edited', message: 'v3', ...base, timestamp: 1790000001000, action_timestamp: 1790000200000 },
        { id: 'gone', message: 'oops!', ...base, timestamp: 1790000002000, action_timestamp: 1790000300000 },
      ],
      deleted_messages: [{ id: 'gone', message: 'oops!', ...base, timestamp: 1790000002000, action_timestamp: 1790000400000 }],
    });
    const rows = (await tdb.pool.query(`SELECT * FROM public.chat_messages WHERE session_id = 'rm-1' ORDER BY sent_at`)).rows;
    expect(rows.map((r) => [r.message_id, r.body, r.is_edited, r.is_deleted, Number(r.version_count)])).toEqual([
      ['plain', 'hello', false, false, 1],
      ['edited', 'v3', true, false, 3],
      ['gone', 'oops!', true, true, 3],
    ]);
    expect(rows[1].edited_at.getTime()).toBe(1790000200000);
    expect(rows[2].deleted_at.getTime()).toBe(1790000400000);
    expect(rows[0].sent_at.getTime()).toBe(1790000000000);
  });
});

describe('sync_windows and the horizon', () => {
  it('computes the day a window leaves the horizon exactly as the sync engine does', async () => {
    const days: string[] = [];
    for (let d = '2025-01-01'; d <= '2026-12-31'; d = addDays(d, 3)) days.push(d);
    const res = await tdb.pool.query<{ d: string; leaves: string }>(`SELECT d::text, archive.leaves_horizon_on(d::date)::text AS leaves FROM unnest($1::text[]) AS d`, [days]);
    for (const row of res.rows) expect([row.d, row.leaves]).toEqual([row.d, leavesHorizonOn(row.d)]);
  });

  it('reports each window with its status and what was archived', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const month = `${today.slice(0, 7)}-01`;
    await tdb.pool.query(`INSERT INTO archive.sync_windows (month_start, month_end) VALUES ($1, ($1::date + interval '1 month' - interval '1 day')::date), ('2020-01-01', '2020-01-31')`, [month]);
    const rows = (await tdb.pool.query(`SELECT month_start, status, days_until_expiry FROM public.sync_windows WHERE month_start IN ($1, '2020-01-01') ORDER BY month_start`, [month])).rows;
    expect(rows.map((r) => [r.month_start, r.status])).toEqual([
      ['2020-01-01', 'expired'],
      [month, 'open'],
    ]);
    expect(rows[1].days_until_expiry).toBeGreaterThan(150);
  });
});

describe('indexes behind the obvious questions', () => {
  async function plan(sql: string, params: unknown[] = []): Promise<string> {
    await tdb.pool.query('SET enable_seqscan = off');
    const res = await tdb.pool.query(`EXPLAIN ${sql}`, params);
    await tdb.pool.query('RESET enable_seqscan');
    return res.rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  it('serves a sender in a date range, a transcript and full-text search from indexes', async () => {
    expect(await plan(`SELECT * FROM chat_message_versions WHERE lower(sender) = lower($1) AND sent_at >= $2 AND sent_at < $3`, ['a@x.com', '2026-01-01', '2026-02-01'])).toMatch(/message_versions_sender_time/);
    expect(await plan(`SELECT * FROM chat_message_versions WHERE lower(receiver) = lower($1) AND sent_at >= $2`, ['a@x.com', '2026-01-01'])).toMatch(/message_versions_receiver_time/);
    expect(await plan(`SELECT * FROM chat_message_versions WHERE session_id = $1 ORDER BY sent_at, message_id, action_at LIMIT 100`, ['s'])).toMatch(/message_versions_transcript/);
    expect(await plan(`SELECT * FROM chat_message_versions WHERE chat_body_tsvector(body) @@ websearch_to_tsquery('simple', $1)`, ['contract'])).toMatch(/message_versions_body_fts/);
  });
});
