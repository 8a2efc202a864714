import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCountQuery,
  buildCrossDayThreadQuery,
  buildPeopleQuery,
  buildVersionQuery,
  countSelection,
  loadCrossDayThreads,
  loadMatterCustodianEmails,
  loadPeopleRows,
  loadSessionInfos,
  loadStoredLegalHoldFiles,
  VersionCursor,
  type ExportFilter,
} from '../../src/read-model/export-selection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

// The export's reads are the read model's: every one goes through the documented public views,
// none through archive.* (what the views show is what an export holds). Each read runs here
// against a real database; the exports themselves are tested end to end in test/export/.

const FILTERS: ExportFilter[] = [
  { kind: 'matter', matterId: 'm-1', query: 'hello' },
  { kind: 'custodians', custodians: ['ada@example.com'], from: '2026-10-01', to: '2026-10-31', query: 'hello' },
  { kind: 'sessions', sessionIds: ['s-1'], from: '2026-10-01', to: '2026-10-31', query: 'hello' },
];

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`INSERT INTO archive.sessions (session_id, type, name, member_emails, raw) VALUES ('s-1', '1:1', '', ARRAY['ada@example.com', 'bo@example.com'], '{}')`);
  const versions: Array<[string, string, string, string | null, string, string | null]> = [
    // message, sent, sender, receiver, body, reply to
    ['m-a', '2026-10-01T09:00:00Z', 'ada@example.com', 'bo@example.com', 'hello there', null],
    ['m-b', '2026-10-03T10:00:00Z', '', 'ada@example.com', 'a reply two days later', 'm-a'],
  ];
  for (const [id, sent, sender, receiver, body, replyTo] of versions) {
    const raw = JSON.stringify({ id, message: body, sender, timestamp: Date.parse(sent) });
    await db.pool.query(
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, receiver, body, reply_main_message_id, raw, content_sha256)
       VALUES ('s-1', $1, 'original', $2, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, archive.version_identity($9::jsonb))`,
      [id, sent, sender, sender ? 'member-ada' : 'member-ext', sender ? 'Ada' : 'Ext', receiver, body, replyTo, raw],
    );
  }
  await db.pool.query(`INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, end_date, state) VALUES ('m-1', 'M', '2026-10-01', '2026-10-31', 'active')`);
  await db.pool.query(`INSERT INTO archive.legal_hold_custodians (matter_id, identifier, email) VALUES ('m-1', 'ada', 'Ada@Example.com')`);
  await db.pool.query(
    `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, file_start_date, file_end_date, state, stored_path, stored_bytes, sha256, stored_at)
     VALUES ('m-1', 'ada', 'k-2', '2026-10-01', '2026-10-31', 'stored', 'legal-hold/m-1/ada/k-2.zip', 12345, repeat('b', 64), now()),
            ('m-1', 'ada', 'k-1', NULL, NULL, 'stored', 'legal-hold/m-1/ada/k-1.zip', 5000000000, repeat('a', 64), now())`,
  );
  await db.pool.query(`INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state) VALUES ('m-1', 'ada', 'k-0', 'pending')`);
});

afterAll(async () => {
  await db?.close();
});

describe('export selection', () => {
  it('reads the public views and nothing under archive', () => {
    for (const filter of FILTERS) {
      for (const query of [buildVersionQuery(filter), buildCountQuery(filter), buildPeopleQuery(filter), buildCrossDayThreadQuery(filter)]) {
        expect(query.text).not.toMatch(/\barchive\./);
        expect(query.text).toMatch(/public\.chat_message_versions/);
      }
    }
  });

  it('counts, streams and looks up the selection in one transaction', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const filter of FILTERS.map((f) => ({ ...f, query: undefined }))) {
        expect(await countSelection(client, filter)).toEqual({ sessions: 1, messages: 2, versions: 2, edits: 0, deletions: 0, files: 0 });
        const cursor = await VersionCursor.open(client, filter);
        expect((await cursor.fetch(1)).map((r) => [r.message_id, r.sent_at])).toEqual([['m-a', '2026-10-01T09:00:00.000Z']]);
        expect((await cursor.fetch(10)).map((r) => r.message_id)).toEqual(['m-b']);
        expect(await cursor.fetch(10)).toEqual([]);
        await cursor.close();
        expect(await loadCrossDayThreads(client, filter)).toEqual(new Map([['s-1', new Map([['m-a', '2026-10-03T10:00:00.000Z']])]]));
        // The external sender (empty `sender`) is the 1:1 member who is not the receiver.
        expect((await loadPeopleRows(client, filter)).sort((a, b) => a.member_id.localeCompare(b.member_id))).toEqual([
          { member_id: 'member-ada', email: 'ada@example.com', display_name: 'Ada', external: false },
          { member_id: 'member-ext', email: 'bo@example.com', display_name: 'Ext', external: true },
        ]);
      }
      expect(await countSelection(client, FILTERS[2] as ExportFilter)).toMatchObject({ versions: 1, messages: 1 });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  });

  it('looks up sessions and a matter’s custodians and stored legal-hold zips', async () => {
    expect(await loadSessionInfos(db.pool, ['s-1', 'unknown'])).toEqual([
      { session_id: 's-1', name: '', type: '1:1', channel_id: null, member_emails: ['ada@example.com', 'bo@example.com'], status: null, has_external_member: null },
    ]);
    expect(await loadMatterCustodianEmails(db.pool, 'm-1')).toEqual(['ada@example.com']);
    expect(await loadStoredLegalHoldFiles(db.pool, 'm-1')).toEqual([
      { custodian: 'ada', file_key: 'k-1', file_start_date: null, file_end_date: null, stored_path: 'legal-hold/m-1/ada/k-1.zip', stored_bytes: 5000000000, sha256: 'a'.repeat(64) },
      { custodian: 'ada', file_key: 'k-2', file_start_date: '2026-10-01', file_end_date: '2026-10-31', stored_path: 'legal-hold/m-1/ada/k-2.zip', stored_bytes: 12345, sha256: 'b'.repeat(64) },
    ]);
  });
});
