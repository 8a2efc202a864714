import { createHash } from 'node:crypto';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExportRequest, runExport, verifyBundle, type ExportRequestInput } from '../../src/export/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { ManualClock } from '../../src/util/clock.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { readBundle } from './bundle-helpers.js';
import { renderManifest, type BundleManifest } from '../../src/export/manifest.js';
import { checkBundleRsmf } from './rsmf-conformance.js';

// Golden bundles: the same archive (written row by row here, every timestamp fixed) exported with a
// fixed export id and clock must give the same bundle, byte for byte. The expected values were
// recorded with the code as it stood before the format writers and the zip writer were rebuilt
// (archiver 7.0.1 with its private-internals patch), so this test is what proves that rebuild
// changed nothing in any format or in the zip itself. A deliberate change to a format changes the
// entry hashes here: update them in the same commit and say why.
// Updated once since: file sizes in HTML transcripts are labelled in binary units (KiB, MiB), as
// they are computed (the transcripts said "KB" for 1,024 bytes).
//
// Entry contents (each entry's SHA-256, from the manifest) are compared everywhere.

const NOW = new Date('2026-11-21T15:00:00.000Z');
const ACTOR = 'cli:golden';
const logger = createSilentLogger();

let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'zca-golden-'));
  await writeGoldenArchive();
});

afterAll(async () => {
  await db?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs an export whose id is `exportId`: the export takes its id from crypto.randomUUID, pinned here for the one call. */
async function exportAs(exportId: string, input: ExportRequestInput): Promise<{ file: string; sha256: string; entries: Record<string, string> }> {
  const original = crypto.randomUUID;
  crypto.randomUUID = () => exportId as ReturnType<typeof crypto.randomUUID>;
  syncBuiltinESMExports();
  let record;
  try {
    record = await runExport({ pool: db.pool, config: { dataDir }, logger, clock: new ManualClock(NOW) }, parseExportRequest({ requestedBy: 'Golden, LEGAL-1', ...input }), ACTOR);
  } finally {
    crypto.randomUUID = original;
    syncBuiltinESMExports();
  }
  expect(record.exportId).toBe(exportId);
  const file = path.join(dataDir, record.path as string);
  const verification = await verifyBundle(file, { expectedSha256: record.sha256 as string });
  expect(verification.problem).toBeUndefined();
  expect((await checkBundleRsmf(await readBundle(file))).problems).toEqual([]);
  const entries = Object.fromEntries((verification.manifest?.entries ?? []).map((e) => [e.path, `${e.bytes} ${e.sha256}`]));
  // The manifest's archive proof (the audit chain's head, the seals) depends on when the archive's
  // audit rows were written, which no test controls: the rest of the manifest is compared, in the
  // manifest's own rendering, with the proof left out (its own tests are in test/audit/).
  const manifest = JSON.parse(((await readBundle(file)).get('manifest.json') as Buffer).toString('utf8')) as BundleManifest;
  expect(manifest.archive_proof.chain_head).toBeTruthy();
  entries['manifest.json'] = createHash('sha256').update(renderManifest({ ...manifest, archive_proof: null as unknown as BundleManifest['archive_proof'] })).digest('hex');
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), entries };
}

/**
 * Every entry byte for byte, and the manifest without its proof. The manifests changed once more
 * when they gained `attachments` (issue 13: every file the messages reference, with its state);
 * no other entry changed, as nothing here was captured. The bundle's own SHA-256 was golden
 * too until the manifest carried the archive proof (it then changes with the audit chain): it was last
 * compared, and equal, after the zip writer was rebuilt (see the commit history of this file).
 */
function expectGolden(actual: { sha256: string; entries: Record<string, string> }, expected: { entries: Record<string, string> }): void {
  expect(actual.entries).toEqual(expected.entries);
}

describe('golden bundles', () => {
  it('sessions, every format', async () => {
    const bundle = await exportAs('10000000-0000-4000-8000-000000000001', { sessions: ['golden-group', 'golden-1to1', 'golden/odd id', 'golden-busy'] });
    expectGolden(bundle, GOLDEN['sessions-all']);
  });

  it('custodian over a date range, JSONL, CSV and RSMF (direction and custodian headers)', async () => {
    const bundle = await exportAs('20000000-0000-4000-8000-000000000002', { custodians: ['Ada@Example.com'], from: '2026-10-01', to: '2026-10-04', formats: 'jsonl,csv,rsmf' });
    expectGolden(bundle, GOLDEN['custodian']);
  });

  it('a matter, every format, with its stored legal-hold zips', async () => {
    const bundle = await exportAs('30000000-0000-4000-8000-000000000003', { matter: 'golden-matter' });
    expectGolden(bundle, GOLDEN['matter']);
  });

  it('CSV streamed straight into the zip (no JSONL) and HTML', async () => {
    const bundle = await exportAs('40000000-0000-4000-8000-000000000004', { sessions: ['golden-group', 'golden-busy'], formats: 'csv,html' });
    expectGolden(bundle, GOLDEN['csv-html']);
  });

  it('a full-text query, JSONL only', async () => {
    const bundle = await exportAs('50000000-0000-4000-8000-000000000005', { sessions: ['golden-group', 'golden-1to1'], query: 'launch', formats: 'jsonl' });
    expectGolden(bundle, GOLDEN['query']);
  });

  it('nothing selected, every format', async () => {
    const bundle = await exportAs('60000000-0000-4000-8000-000000000006', { sessions: ['golden-group'], from: '2025-01-01', to: '2025-01-02' });
    expectGolden(bundle, GOLDEN['empty']);
  });
});

// --- the archive --------------------------------------------------------------------------------

interface GoldenVersion {
  session: string;
  id: string;
  kind?: 'original' | 'edited' | 'deleted';
  sentAt: string | null;
  actionAt?: string;
  sender: string;
  memberId: string;
  name: string;
  receiver?: string;
  body: string;
  replyTo?: string;
  reactions?: unknown[];
  customReactions?: unknown[];
  files?: unknown[];
}

const ADA = { sender: 'ada@example.com', memberId: 'member-ada', name: 'Ada Okafor' };
const BO = { sender: 'bo@example.com', memberId: 'member-bo', name: 'Bo Lindqvist' };
/** Outside the account: Zoom leaves `sender` empty. */
const EXT = { sender: '', memberId: 'member-ext', name: 'Ext, Person (Partner Co)' };

const VERSIONS: GoldenVersion[] = [
  // A group channel: a thread answered two days later, edits (text unchanged too), a deletion, reactions, files, NUL and markup.
  { session: 'golden-group', id: 'g-1', sentAt: '2026-10-01T09:00:00.000Z', ...ADA, body: 'Launch plan attached, please review', reactions: [{ emoji: 'U+1F44D', total_count: 2, member_ids: ['member-bo', 'member-ext'] }], files: [{ file_id: 'f-1', file_name: 'plan v2.pdf', file_size: 123456, download_url: 'https://zoom.us/file/download/f-1?jwt=x' }] },
  { session: 'golden-group', id: 'g-1', kind: 'edited', sentAt: '2026-10-01T09:00:00.000Z', actionAt: '2026-10-01T09:05:00.000Z', ...ADA, body: 'Launch plan attached, please review by Friday' },
  { session: 'golden-group', id: 'g-1', kind: 'edited', sentAt: '2026-10-01T09:00:00.000Z', actionAt: '2026-10-01T09:06:00.000Z', ...ADA, body: 'Launch plan attached, please review by Friday' },
  { session: 'golden-group', id: 'g-2', sentAt: '2026-10-01T10:00:00.000Z', ...BO, body: '=HYPERLINK("http://x") looks fine, "quoted", with, commas', replyTo: 'g-1', customReactions: [{ emoji: 'party_parrot', total_count: 1, member_ids: ['member-ada'] }] },
  { session: 'golden-group', id: 'g-3', sentAt: '2026-10-01T11:00:00.000Z', actionAt: '2026-10-01T11:30:00.000Z', ...BO, body: 'listed after an edit <b>bold</b> & more' },
  { session: 'golden-group', id: 'g-3', kind: 'edited', sentAt: '2026-10-01T11:00:00.000Z', actionAt: '2026-10-01T11:30:00.000Z', ...BO, body: 'listed after an edit <b>bold</b> & more' },
  { session: 'golden-group', id: 'g-4', sentAt: '2026-10-02T08:00:00.000Z', ...ADA, body: 'to be deleted\\u0000 with a NUL marker, naïve café 🎉' },
  { session: 'golden-group', id: 'g-4', kind: 'deleted', sentAt: '2026-10-02T08:00:00.000Z', actionAt: '2026-10-02T08:10:00.000Z', ...ADA, body: 'to be deleted\\u0000 with a NUL marker, naïve café 🎉' },
  { session: 'golden-group', id: 'g-5', sentAt: '2026-10-03T16:45:00.000Z', ...EXT, body: 'From outside: launch date confirmed', replyTo: 'g-1' },
  { session: 'golden-group', id: 'g-6', sentAt: '2026-10-04T07:00:00.000Z', ...BO, body: 'A new day, a new topic' },
  // A 1:1 chat (unnamed in Zoom): receivers, an external person met only as the other member.
  { session: 'golden-1to1', id: 'd-1', sentAt: '2026-10-02T12:00:00.000Z', ...ADA, receiver: 'bo@example.com', body: 'lunch? the launch can wait' },
  { session: 'golden-1to1', id: 'd-2', sentAt: '2026-10-02T12:01:00.000Z', ...BO, receiver: 'ada@example.com', body: '+1 yes\r\nsee you at noon' },
  { session: 'golden-1to1', id: 'd-3', sentAt: null, actionAt: '2026-10-02T12:30:00.000Z', ...BO, receiver: 'ada@example.com', body: 'no send time on this one' },
  // A session id that is not a plain file name.
  { session: 'golden/odd id', id: 'o-1', sentAt: '2026-10-03T09:00:00.000Z', ...EXT, body: '@mention -minus start\ttab' },
];

async function insertVersion(v: GoldenVersion, archivedAt: string): Promise<void> {
  const actionAt = v.actionAt ?? v.sentAt ?? '';
  const raw: Record<string, unknown> = {
    id: v.id,
    message: v.body,
    sender: v.sender,
    sender_member_id: v.memberId,
    sender_display_name: v.name,
    ...(v.receiver ? { receiver: v.receiver } : {}),
    ...(v.sentAt ? { date_time: `${v.sentAt.slice(0, 19)}Z`, timestamp: Date.parse(v.sentAt) } : {}),
    action_timestamp: Date.parse(actionAt),
    ...(v.replyTo ? { reply_main_message_id: v.replyTo } : {}),
    ...(v.reactions ? { reactions: v.reactions } : {}),
    ...(v.customReactions ? { custom_emoji_reactions: v.customReactions } : {}),
    ...(v.files ? { files: v.files } : {}),
  };
  await db.pool.query(
    `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, receiver, body, reply_main_message_id, files, raw, content_sha256, archived_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, archive.version_identity($13::jsonb), $14)`,
    [v.session, v.id, v.kind ?? 'original', actionAt, v.sentAt, v.sender, v.memberId, v.name, v.receiver ?? null, v.body, v.replyTo ?? null, v.files ? JSON.stringify(v.files) : null, JSON.stringify(raw), archivedAt],
  );
}

async function writeGoldenArchive(): Promise<void> {
  await db.pool.query(
    `INSERT INTO archive.sessions (session_id, type, name, channel_id, member_emails, status, has_external_member, raw) VALUES
       ('golden-group', 'Group', 'Project <Alpha>, launch', 'channel-1', NULL, 'active', true, '{}'),
       ('golden-1to1', '1:1', '', NULL, ARRAY['ada@example.com', 'bo@example.com'], NULL, false, '{}'),
       ('golden/odd id', 'Group', NULL, NULL, NULL, NULL, NULL, '{}'),
       ('golden-busy', 'Group', 'Busy channel', 'channel-2', NULL, 'active', false, '{}')`,
  );
  for (const [i, v] of VERSIONS.entries()) await insertVersion(v, new Date(Date.parse('2026-10-05T00:00:00.000Z') + i * 1000).toISOString());
  // A busy day: more events than one RSMF file holds (10,000) and transcripts and CSV over a megabyte.
  await db.pool.query(
    `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, body, raw, content_sha256, archived_at)
     SELECT 'golden-busy', m.id, 'original', m.at, m.at, m.sender, m.member, m.name, m.body, m.raw, archive.version_identity(m.raw), '2026-10-06T00:00:00Z'
     FROM (
       SELECT 'b-' || lpad(i::text, 6, '0') AS id, '2026-10-02T00:00:00Z'::timestamptz + i * interval '7 seconds' AS at,
              CASE WHEN i % 3 = 0 THEN 'bo@example.com' ELSE 'ada@example.com' END AS sender,
              CASE WHEN i % 3 = 0 THEN 'member-bo' ELSE 'member-ada' END AS member,
              CASE WHEN i % 3 = 0 THEN 'Bo Lindqvist' ELSE 'Ada Okafor' END AS name,
              'status update number ' || i || repeat(' lorem ipsum', i % 17) AS body,
              jsonb_build_object('id', 'b-' || lpad(i::text, 6, '0'), 'message', 'status update number ' || i || repeat(' lorem ipsum', i % 17),
                'sender', CASE WHEN i % 3 = 0 THEN 'bo@example.com' ELSE 'ada@example.com' END,
                'timestamp', extract(epoch FROM '2026-10-02T00:00:00Z'::timestamptz + i * interval '7 seconds')::bigint * 1000) AS raw
       FROM generate_series(1, 10050) AS i
     ) m`,
  );
  // A matter holding Ada's messages from 1 to 3 October, with two stored legal-hold zips and one not ready.
  await db.pool.query(`INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, end_date, state) VALUES ('golden-matter', 'Golden v. Us', '2026-10-01', '2026-10-03', 'active')`);
  await db.pool.query(`INSERT INTO archive.legal_hold_custodians (matter_id, identifier, email) VALUES ('golden-matter', 'ada@example.com', 'ada@example.com')`);
  mkdirSync(path.join(dataDir, 'legal-hold', 'golden-matter'), { recursive: true });
  for (const key of ['file-a', 'file-b.zip']) {
    const stored = `legal-hold/golden-matter/${key}`;
    const content = Buffer.from(`PK golden legal-hold zip ${key} `.repeat(300 + key.length));
    writeFileSync(path.join(dataDir, stored), content);
    await db.pool.query(
      `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, file_start_date, file_end_date, state, stored_path, stored_bytes, sha256, stored_at)
       VALUES ('golden-matter', 'ada@example.com', $1, '2026-10-01', '2026-10-03', 'stored', $2, $3, $4, '2026-10-07T00:00:00Z')`,
      [key, stored, content.length, createHash('sha256').update(content).digest('hex')],
    );
  }
  await db.pool.query(`INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state) VALUES ('golden-matter', 'ada@example.com', 'file-pending', 'pending')`);
}

// --- what the bundles held before the rebuild -------------------------------------------------------

const GOLDEN = {
  'sessions-all': {
    entries: {
      'messages.jsonl': '5641598 92ba0ea1749c2ec1b339b6e49ddacfef12dd211f270c74a1c97bbcd66d4202b5',
      'messages.csv': '3408774 ff28694ad3a70cbb1d52e041b9abcfaab98e38cbd265e9c27caace94e4ec98e4',
      'index.html': '4590 1d4613b25f2440dda6d3d887e02d749835f377d7a02a293250cb8885b7378062',
      'transcripts/golden-1to1.html': '5503 b7f895a1320be4ae225754da89480457d54b3eee58f2c2d467945ff02632445f',
      'transcripts/golden-busy.html': '4092937 a3c73d8f44c20e93c9faf73d7da61fce8656d7262a06f8296d77636dfa26c566',
      'transcripts/golden-group.html': '9264 5810c71456fcd8d9ab1fe88d9e581437905174197f5dd9301f56bc9e8d0a82fe',
      'transcripts/golden_odd_id~2d96f1538c94.html': '4082 60d9f033503c8d5f9ec107943261094a328fdf027bfe4386f556ace44e1ebc51',
      'rsmf/golden-1to1/2026-10-02.rsmf': '2504 82ccfbf55861959359b09d55859c5184a222550551c238fceb6967661638f88e',
      'rsmf/golden-busy/2026-10-02.rsmf': '2415736 eac9477b416b2460ac7eb9b889bf7e51359cc998acd7b01a677f29dc3255a986',
      'rsmf/golden-busy/2026-10-02-part-2.rsmf': '14404 9c0e83279000cfc9f5c99e8bd2559ee9aad2adf0398a902762e4c86495a492ff',
      'rsmf/golden-group/2026-10-01--2026-10-03.rsmf': '3552 43e06819f2e70ad16a70fe09ade07115ca2f4903ef8d0d7eadd6f7c92ce5da0e',
      'rsmf/golden-group/2026-10-04.rsmf': '2045 845914cf968dac86b171d9af177c357de137a3f5f4f37a05c16ddc985bebda51',
      'rsmf/golden_odd_id~2d96f1538c94/2026-10-03.rsmf': '2137 2eb034a43b07aee4d86263a18c2734a14f8b7df6264fcde5a6287446f7a94a5e',
      'manifest.json': 'dc4de9c944c27627f92ed00401ddee589b981ee63a35624ff6761ca2d8d68af9',
    },
  },
  custodian: {
    entries: {
      'messages.jsonl': '5640991 34bdbfb8f56b4492639c857023e67ddf2406c8bdb9de07bd5cc6a766c5d4e491',
      'messages.csv': '3408524 de76438cf9d30701f1424177dcf2a65bbe1e02ba14ffe312a0cdc80b2d793f20',
      'rsmf/golden-1to1/2026-10-02.rsmf': '2571 4e6c8e09b930e758dfa88785a481b4f08bc6b881b0299271231e7cc76faf195d',
      'rsmf/golden-busy/2026-10-02.rsmf': '2419229 1801a31d6625e8b043fbcac06ab6fc9aaf3d9667c888f420f6ac1a4cfdd7f529',
      'rsmf/golden-busy/2026-10-02-part-2.rsmf': '14517 ce4a4ce13cab4316e1366632e7cb61178961fb1f2ec2b0af087dee793edb5a22',
      'rsmf/golden-group/2026-10-01--2026-10-03.rsmf': '3627 71595cfbb00615db7657a9db046d34931bb0ca6458b66309c9b653119716c12a',
      'rsmf/golden-group/2026-10-04.rsmf': '2067 ee39cae73a595c1bef30bed50c2073bd7fe366f212022a0013f60257b856e539',
      'manifest.json': '395fd6f26e9c600b1762cd9a75ca300f875661b8ac62d7073ba74c3e10a96865',
    },
  },
  matter: {
    entries: {
      'messages.jsonl': '5640386 421bfeec5379388e0ebb7086db845c027fa1d215558778ccd08657add28fa2f5',
      'messages.csv': '3408275 ad027c7356ae2919fe5ec8cdc3f29d96e26361b97edfe348adf3305d231cd612',
      'index.html': '4340 52bcf2aa6b6c72e9425a5911c2d63ea39917d1a994d50517ca48e1295c67942a',
      'transcripts/golden-1to1.html': '5524 dada71924f23fbf11a27a0fd36fd515df5494774b11948719dbcf3528d699e6d',
      'transcripts/golden-busy.html': '4092958 262f6d804e6920a581a7912fee2c638b6581e55d575b1bbc4020e3c6e1af24f3',
      'transcripts/golden-group.html': '8981 128d5917fb48d8b1acb89043d6ac94dc3b2900802e40bbc39465188eb69a966a',
      'rsmf/golden-1to1/2026-10-02.rsmf': '2571 ac9dca3148f2d30e937e8286f84d43cc204a997d374191883c63c9cc7c7f4003',
      'rsmf/golden-busy/2026-10-02.rsmf': '2419229 340e7997d75c908fd29ace0d07f026f0e7fc2a474aa03f352d5a290ac28c0b94',
      'rsmf/golden-busy/2026-10-02-part-2.rsmf': '14517 81be35007923e0998580eb317bc240c932801ca755a55d80d56d44b39c07c7c2',
      'rsmf/golden-group/2026-10-01--2026-10-03.rsmf': '3627 f2d1b2f5837c712dfe708fdda4c3076b9c7e0093acb1880d54397eee0787c768',
      'legal-hold/ada@example.com/file-a.zip': '9792 c2a3c3b7a766c60ee2945155022ae9f1ac04433123e9c39b69b8f9374675053d',
      'legal-hold/ada@example.com/file-b.zip': '11160 46bf6b77be8f88550905e1294c1961542468d336831e3a0293c4d2f6b34e1ccb',
      'manifest.json': '904dbbea2b7556bf54c9243b91a0f7535981763ef4ecc23ab02e70ee3a960218',
    },
  },
  'csv-html': {
    entries: {
      'messages.csv': '3407695 d50b9278b548fad1f809f400a1593d19039f78b4080ef7b579df43799474840e',
      'index.html': '3915 8ed2f100754515c760468df2221fa6fda326e5c426a0a8e72c16f1699e0e1a36',
      'transcripts/golden-busy.html': '4092961 8a4e5760f8545f790ef80057135168b7f190a5bd8b6494060f4b77cb5923e0db',
      'transcripts/golden-group.html': '9288 706478691e5b78cce0518bd039371705777eae233a1e887d80374fe48fdec8a1',
      'manifest.json': 'd9d49508a1c8757a4c743ddd80946d4b370d74ed9e712d662fc03aa9abd59d53',
    },
  },
  query: {
    entries: {
      'messages.jsonl': '3415 3c96f30ecd7af2cf594ae1fb7b84e6a07a0e47af696953238b1a9c452bca9db7',
      'manifest.json': '9eb7a1dd8c6e8ee9713545efdfd1773f8e1eec72cc21ec296105892fa5365486',
    },
  },
  empty: {
    entries: {
      'messages.jsonl': '0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'messages.csv': '223 082b108ed1de91a63434fe54ce7c12f0058f5240446ab02a94848883a82a8aec',
      'index.html': '3603 cf61b05c4637287c1f720925fd520b51fe8f74e18053840900a509eb8b5d6aa0',
      'manifest.json': 'e1b2eabb15f24d4bdf0ac04b5faacbcc6de59c37af752ad861ce1cebd34d0add',
    },
  },
} satisfies Record<string, { entries: Record<string, string> }>;
