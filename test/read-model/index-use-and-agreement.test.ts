import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireWindows } from '../../src/archive/checkpoint-store.js';
import type { Queryable } from '../../src/db/pool.js';
import type { ReadAudit } from '../../src/read-model/content-read.js';
import { listWindowsExpiredIncomplete } from '../../src/read-model/horizon.js';
import { searchVersions } from '../../src/read-model/message-search.js';
import { findSession, findSessions } from '../../src/read-model/sessions.js';
import { readTranscriptPage } from '../../src/read-model/transcript.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// The read model reads the documented public views. Where one reads a table instead, the reason is
// in its header and a test here shows the two agree; and the views the API pages through must stay
// ones PostgreSQL inlines, so that the API's predicates reach the table's indexes.

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`INSERT INTO archive.sessions (session_id, type, name, raw) VALUES ('rm-session', 'Group', 'read model', '{}')`);
  // 40 versions in the session under test, among 20,000 in 200 sessions from 100 senders: enough
  // for the planner to choose as it does on a real archive.
  await db.pool.query(
    `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, receiver, body, raw, content_sha256)
     SELECT CASE WHEN g <= 40 THEN 'rm-session' ELSE 'other-' || (g % 200) END, 'm' || g, 'original',
            timestamptz '2026-03-01T00:00:00Z' + g * interval '1 minute', timestamptz '2026-03-01T00:00:00Z' + g * interval '1 minute',
            CASE WHEN g <= 40 THEN 'Ada@Example.com' ELSE 'user' || (g % 100) || '@example.com' END,
            CASE WHEN g <= 40 THEN 'bo@example.com' ELSE 'user' || ((g + 1) % 100) || '@example.com' END,
            CASE WHEN g <= 40 THEN 'contract word ' ELSE 'other words ' END || g, jsonb_build_object('id', 'm' || g), sha256(convert_to('rm' || g, 'UTF8'))
     FROM generate_series(1, 20000) AS g`,
  );
  await db.pool.query('ANALYZE archive.message_versions');
});

afterAll(async () => {
  await db?.close();
});

describe('expired windows: horizon-check reads what the sync recorded', () => {
  it('agrees with the sync_windows view once a sync pass has recorded the expiry, and says why it reads the table before', async () => {
    await db.pool.query(
      `INSERT INTO archive.sync_windows (month_start, month_end, expired_at, completed_at) VALUES
         ('2020-01-01', '2020-01-31', now(), NULL),      -- left the horizon incomplete, recorded
         ('2020-02-01', '2020-02-29', now(), now()),     -- left it complete
         ('2020-03-01', '2020-03-31', NULL, NULL),       -- past the horizon, no pass has run since
         (date_trunc('month', now() AT TIME ZONE 'utc')::date, (date_trunc('month', now() AT TIME ZONE 'utc') + interval '1 month - 1 day')::date, NULL, NULL)`,
    );
    const viewExpired = async () =>
      (await db.pool.query<{ month_start: string }>(`SELECT month_start FROM public.sync_windows WHERE status = 'expired' ORDER BY month_start`)).rows.map((r) => r.month_start);

    // The view already calls March expired; no sync pass has recorded it, so the job does not report it yet.
    expect(await viewExpired()).toEqual(['2020-01-01', '2020-03-01']);
    expect(await listWindowsExpiredIncomplete(db.pool)).toEqual(['2020-01-01']);

    // What the sync engine does on its next pass (sync-engine.ts → expireWindows): then they agree.
    await expireWindows(db.pool, '2021-01-01');
    expect(await listWindowsExpiredIncomplete(db.pool)).toEqual(await viewExpired());
  });
});

describe('the views the API pages through reach the indexes of archive.message_versions', () => {
  const audit: ReadAudit = { actor: 'test', action: 'test.read', subjectType: null, subjectId: null, details: {} };

  /** The statements `read` sends, each explained with sequential scans disabled: which indexes can serve it. */
  async function indexesUsedBy(read: (recorder: Queryable) => Promise<unknown>): Promise<string[]> {
    const statements: Array<{ text: string; values: unknown[] }> = [];
    const recorder = {
      query: (text: string, values?: unknown[]) => {
        statements.push({ text, values: values ?? [] });
        return db.pool.query(text, values);
      },
    } as unknown as Queryable;
    await read(recorder);
    expect(statements.length).toBeGreaterThan(0);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL enable_seqscan = off');
      const names = new Set<string>();
      for (const s of statements) {
        const plan = (await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${s.text}`, s.values)).rows[0]?.['QUERY PLAN'];
        collectIndexNames(plan, names);
      }
      return [...names].sort();
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('transcript: (session_id, sent_at, message_id, action_at)', async () => {
    expect(await indexesUsedBy((q) => readTranscriptPage(q, 'rm-session', undefined, 11, false, audit))).toContain('message_versions_transcript');
    const after = { phase: 'sent' as const, sentKey: '2026-03-01T00:10:00.000000Z', messageId: 'm10', actionKey: '2026-03-01T00:10:00.000000Z', versionId: 10 };
    expect(await indexesUsedBy((q) => readTranscriptPage(q, 'rm-session', after, 11, false, audit))).toContain('message_versions_transcript');
  });

  it('search: sender and receiver with a time range, and full text', async () => {
    const range = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-03-02T00:00:00Z') };
    expect(await indexesUsedBy((q) => searchVersions(q, { sender: 'ada@example.com', ...range }, undefined, 11, false, audit))).toContain('message_versions_sender_time');
    expect(await indexesUsedBy((q) => searchVersions(q, { receiver: 'BO@example.com', ...range }, undefined, 11, false, audit))).toContain('message_versions_receiver_time');
    expect(await indexesUsedBy((q) => searchVersions(q, { q: 'contract' }, undefined, 11, false, audit))).toContain('message_versions_body_fts');
  });

  it('sessions: a member filter and one session with its counts', async () => {
    const used = await indexesUsedBy((q) => findSessions(q, { member: 'ada@example.com' }, undefined, 10));
    expect(used).toEqual(expect.arrayContaining(['message_versions_sender_time', 'message_versions_receiver_time']));
    expect(await indexesUsedBy((q) => findSession(q, 'rm-session'))).toEqual(expect.arrayContaining(['message_versions_transcript', 'sessions_pkey']));
  });

  it('returns what the table holds (the view adds nothing and drops nothing)', async () => {
    const page = await readTranscriptPage(db.pool, 'rm-session', undefined, 100, false, audit);
    const table = await db.pool.query<{ id: number; sha: string }>(
      `SELECT id, encode(content_sha256, 'hex') AS sha FROM archive.message_versions WHERE session_id = 'rm-session' ORDER BY sent_at, message_id, action_at, id`,
    );
    expect(page.map((v) => [v.version_id, v.content_sha256])).toEqual(table.rows.map((r) => [r.id, r.sha]));
    expect((await findSession(db.pool, 'rm-session'))?.versions).toBe(40);
  });
});

function collectIndexNames(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) for (const n of node) collectIndexNames(n, into);
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Index Name' && typeof value === 'string') into.add(value);
      else collectIndexNames(value, into);
    }
  }
}
