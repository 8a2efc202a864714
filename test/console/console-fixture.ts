import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/config.js';
import { contentRelativePath, referenceNewVersions, resolveInDataDir } from '../../src/files/index.js';
import { recordGone, recordStored } from '../../src/files/file-store.js';
import { buildHttpApp } from '../../src/service/http-server.js';
import { createToken, type Role } from '../../src/service/token-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testApiContext } from '../helpers/api-context.js';

/**
 * The review console on a real socket (the service's HTTP app, listening on 127.0.0.1:0) over a test
 * database holding a small archive written the way the sync engine writes it — including the hostile
 * content the console must render safely: markup and script in bodies, names and file names,
 * `javascript:` and `data:` links, right-to-left text, emoji, a 20,000-character body — plus an
 * edited message, a deletion, a message whose first version Zoom never reported, a thread, reactions,
 * files and a sender from outside the account.
 */

export const HOSTILE_SESSION = 'session-hostile';
export const QUIET_SESSION = 'session-quiet';
export const SCRIPT_BODY = '<script>window.__pwned = 1</script> budget review';
export const IMG_BODY = '<img src=x onerror="window.__pwned = 2"> budget image';
export const LINK_BODY = 'click javascript:window.__pwned=3 or data:text/html;base64,PHNjcmlwdD4= or https://example.com/ok?a=1&b=2 budget';
export const RTL_BODY = 'مرحبا بالعالم \u202Egnp.exe budget שלום';
export const EMOJI_BODY = '👍🏽 family 👨‍👩‍👧‍👦 budget 🏳️‍🌈';
export const LONG_BODY = `budget ${'lorem ipsum dolor sit amet '.repeat(800)}`.slice(0, 20_000);

export interface ConsoleFixture {
  db: TestDatabase;
  app: FastifyInstance;
  url: string;
  dataDir: string;
  tokens: Record<Role, string>;
  close(): Promise<void>;
}

interface VersionSeed {
  session: string;
  message: string;
  kind: 'original' | 'edited' | 'deleted';
  sentAt: string | null;
  actionAt: string;
  sender: string | null;
  name: string;
  body: string;
  reply?: string;
  files?: unknown[];
  reactions?: unknown[];
}

function seeds(): VersionSeed[] {
  const t = (minute: number) => new Date(Date.UTC(2026, 4, 20, 9, minute)).toISOString();
  const rows: VersionSeed[] = [
    { session: HOSTILE_SESSION, message: 'm-script', kind: 'original', sentAt: t(0), actionAt: t(0), sender: 'ada@example.com', name: 'Ada <b>Lovelace</b>', body: SCRIPT_BODY, reactions: [{ emoji: 'U+1F44D', total_count: 2 }] },
    { session: HOSTILE_SESSION, message: 'm-img', kind: 'original', sentAt: t(1), actionAt: t(1), sender: 'bo@example.com', name: '"><svg onload=alert(1)>', body: IMG_BODY, files: [{ file_id: 'f1', file_name: '<img src=x onerror=alert(9)>.pdf', file_size: 2048 }] },
    { session: HOSTILE_SESSION, message: 'm-link', kind: 'original', sentAt: t(2), actionAt: t(2), sender: null, name: 'Guest from Elsewhere', body: LINK_BODY },
    { session: HOSTILE_SESSION, message: 'm-rtl', kind: 'original', sentAt: t(3), actionAt: t(3), sender: 'ada@example.com', name: 'Ada', body: RTL_BODY, reply: 'm-script' },
    { session: HOSTILE_SESSION, message: 'm-emoji', kind: 'original', sentAt: t(4), actionAt: t(4), sender: 'bo@example.com', name: 'Bo', body: EMOJI_BODY, files: [{ file_id: 'f2', file_name: 'minutes.docx', file_size: 10 }] },
    { session: HOSTILE_SESSION, message: 'm-long', kind: 'original', sentAt: t(5), actionAt: t(5), sender: 'ada@example.com', name: 'Ada', body: LONG_BODY },
    // Edited twice, then deleted.
    { session: HOSTILE_SESSION, message: 'm-edit', kind: 'original', sentAt: t(6), actionAt: t(6), sender: 'bo@example.com', name: 'Bo', body: 'the draft contract is approved' },
    { session: HOSTILE_SESSION, message: 'm-edit', kind: 'edited', sentAt: t(6), actionAt: t(8), sender: 'bo@example.com', name: 'Bo', body: 'the final contract is not approved' },
    { session: HOSTILE_SESSION, message: 'm-edit', kind: 'edited', sentAt: t(6), actionAt: t(9), sender: 'bo@example.com', name: 'Bo', body: 'the final contract is approved <u>today</u>' },
    { session: HOSTILE_SESSION, message: 'm-edit', kind: 'deleted', sentAt: t(6), actionAt: t(10), sender: 'bo@example.com', name: 'Bo', body: 'the final contract is approved <u>today</u>' },
    // Zoom only ever reported an edit of this one.
    { session: HOSTILE_SESSION, message: 'm-noorig', kind: 'edited', sentAt: t(7), actionAt: t(11), sender: 'ada@example.com', name: 'Ada', body: 'second thoughts on the budget' },
  ];
  for (let i = 0; i < 120; i++) {
    rows.push({ session: QUIET_SESSION, message: `q-${String(i).padStart(3, '0')}`, kind: 'original', sentAt: t(12 + i), actionAt: t(12 + i), sender: i % 2 ? 'ada@example.com' : 'cy@example.com', name: i % 2 ? 'Ada' : 'Cy', body: `routine note ${i} about the budget forecast` });
  }
  return rows;
}

async function seedArchive(db: TestDatabase): Promise<void> {
  await db.pool.query(
    `INSERT INTO archive.sessions (session_id, type, name, member_emails, has_external_member, raw) VALUES
     ($1, 'Group', $3, NULL, true, '{}'), ($2, '1:1', '', ARRAY['ada@example.com', 'cy@example.com'], false, '{}')`,
    [HOSTILE_SESSION, QUIET_SESSION, 'Deal room <script>alert("name")</script>'],
  );
  for (const s of seeds()) {
    const raw = {
      id: s.message,
      message: s.body,
      sender: s.sender ?? '',
      sender_member_id: `member-${s.name.length}`,
      sender_display_name: s.name,
      date_time: s.sentAt,
      timestamp: s.sentAt === null ? null : Date.parse(s.sentAt),
      action_timestamp: Date.parse(s.actionAt),
      reply_main_message_id: s.reply ?? null,
      files: s.files ?? [],
      reactions: s.reactions ?? [],
    };
    await db.pool.query(
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, body, reply_main_message_id, files, raw, content_sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, archive.version_identity($12))`,
      [s.session, s.message, s.kind, s.actionAt, s.sentAt, s.sender, raw.sender_member_id, s.name, s.body, s.reply ?? null, s.files ? JSON.stringify(s.files) : null, JSON.stringify(raw)],
    );
  }
  // A matter as the legal-hold job mirrors it from Zoom, with one stored file and one failed.
  await db.pool.query(
    `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, creation_date, state) VALUES ('matter-1', 'Acme v. Widget <i>Co</i>', '2026-05-01', '2026-05-01', 'active')`,
  );
  await db.pool.query(`INSERT INTO archive.legal_hold_custodians (matter_id, identifier, email) VALUES ('matter-1', 'ada@example.com', 'ada@example.com'), ('matter-1', 'bo@example.com', 'bo@example.com')`);
  await db.pool.query(
    `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, file_start_date, file_end_date, file_count, announced_bytes, state, attempts, last_error, stored_path, stored_bytes, sha256, stored_at)
     VALUES ('matter-1', 'ada@example.com', 'ada-2026-05.zip', '2026-05-01', '2026-05-31', 3, 4096, 'stored', 1, NULL, 'legal-hold/matter-1/ada.zip', 4096, repeat('ab', 32), now()),
            ('matter-1', 'bo@example.com', 'bo-2026-05.zip', '2026-05-01', '2026-05-31', 2, 2048, 'failed', 5, 'zip entry <script> failed the CRC check', NULL, NULL, NULL, NULL)`,
  );
  await db.pool.query(`UPDATE archive.sessions s SET last_message_sent_at = (SELECT max(sent_at) FROM archive.message_versions v WHERE v.session_id = s.session_id)`);
}

/** Content of file f1 as the capture stage stores it (f2 is gone from Zoom). */
export const STORED_FILE_CONTENT = Buffer.from('%PDF-1.4 the signed term sheet <script>alert(1)</script>\n');
export const STORED_FILE_SHA256 = createHash('sha256').update(STORED_FILE_CONTENT).digest('hex');

/** The capture stage's own bookkeeping (referenceNewVersions, recordStored, recordGone) over the seeded versions. */
async function seedCapturedFiles(db: TestDatabase, dataDir: string): Promise<void> {
  await referenceNewVersions(db.pool);
  const storedPath = contentRelativePath(STORED_FILE_SHA256);
  const file = resolveInDataDir(dataDir, storedPath);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, STORED_FILE_CONTENT);
  const at = new Date('2026-05-20T10:00:00.000Z');
  await recordStored(db.pool, 'f1', 1, { sha256: STORED_FILE_SHA256, bytes: STORED_FILE_CONTENT.length, storedPath, digestMismatch: false, sizeMismatch: true, note: null }, at);
  await recordGone(db.pool, 'f2', 2, 'Zoom answered 404 after a fresh URL', at);
}

export async function startConsoleFixture(env: Record<string, string> = {}): Promise<ConsoleFixture> {
  const db = await createTestDatabase();
  await seedArchive(db);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zca-console-'));
  await seedCapturedFiles(db, dataDir);
  const config = loadConfig({ DATABASE_URL: db.url, ARCHIVE_DATA_DIR: dataDir, ...env });
  const ctx = testApiContext(config, db.pool);
  const { app } = buildHttpApp(ctx, { legalHold: { zoom: undefined }, exports: { maxConcurrentExports: 2 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const tokens = {
    reader: (await createToken(db.pool, { name: 'console-reader', role: 'reader' }, 'test')).token,
    exporter: (await createToken(db.pool, { name: 'console-exporter', role: 'exporter' }, 'test')).token,
    admin: (await createToken(db.pool, { name: 'console-admin', role: 'admin' }, 'test')).token,
  };
  return {
    db,
    app,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    tokens,
    async close() {
      await app.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
