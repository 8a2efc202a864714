import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportError, parseExportRequest, runExport, verifyBundle, type ExportRecord, type ExportRequestInput } from '../../src/export/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';
import { HAS_INFO_ZIP, parseCsv, parseRsmf, readBundle, unzipTest } from './bundle-helpers.js';
import { checkBundleRsmf, type RsmfManifest } from './rsmf-conformance.js';

// Exports end to end: a real PostgreSQL archive filled by the real sync engine from the Zoom
// simulator (edits, deletions, threads, files, U+0000, 20k-character bodies, external senders),
// real zips read back with yauzl and Info-ZIP, no mocks.
const NOW = new Date('2026-11-21T15:00:00Z');
let harness: SyncHarness;
let dataDir: string;
const logger = createSilentLogger();
const ACTOR = 'cli:test-runner';

beforeAll(async () => {
  const clock = new ManualClock(NOW);
  const dataset = generateDataset({ seed: 21, now: NOW, sessions: 30, totalMessages: 2500, quirks: 'all', editProbability: 0.15, deleteProbability: 0.05 });
  harness = await startSyncHarness({ dataset, clock });
  const summary = await harness.sync();
  expect(summary.outcome).toBe('complete');
  dataDir = mkdtempSync(path.join(tmpdir(), 'zca-export-'));
});

afterAll(async () => {
  await harness?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Exports and reads the bundle back; every .rsmf in it must pass the official schema and the validator's rules. */
async function exportWith(input: ExportRequestInput): Promise<{ record: ExportRecord; file: string; entries: Map<string, Buffer> }> {
  const record = await runExport({ pool: harness.db.pool, config: { dataDir }, logger }, parseExportRequest(input), ACTOR);
  expect(record.state).toBe('complete');
  const file = path.isAbsolute(record.path ?? '') ? (record.path as string) : path.join(dataDir, record.path as string);
  const entries = await readBundle(file);
  expect((await checkBundleRsmf(entries)).problems).toEqual([]);
  return { record, file, entries };
}

interface JsonlLine {
  version_id: number;
  session_id: string;
  message_id: string;
  kind: string;
  content_sha256: string;
  raw: Record<string, unknown>;
}

function jsonlOf(entries: Map<string, Buffer>): JsonlLine[] {
  const text = entries.get('messages.jsonl')?.toString('utf8') ?? '';
  return text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as JsonlLine);
}

/** What the bundle must hold, by an independent SQL query of the read model: version id → content hash. */
async function expectedVersions(where: string, values: unknown[]): Promise<Map<number, string>> {
  const res = await harness.db.pool.query<{ version_id: number; content_sha256: string }>(
    `SELECT version_id, content_sha256 FROM public.chat_message_versions v WHERE ${where}`,
    values,
  );
  return new Map(res.rows.map((r) => [r.version_id, r.content_sha256]));
}

function expectSameVersions(lines: JsonlLine[], expected: Map<number, string>): void {
  const actual = new Map(lines.map((l) => [l.version_id, l.content_sha256]));
  expect(lines.length).toBe(actual.size); // no duplicates
  const missing = [...expected.keys()].filter((id) => !actual.has(id));
  const extra = [...actual.keys()].filter((id) => !expected.has(id));
  expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({ missing: [], extra: [] });
  for (const [id, sha] of expected) expect(actual.get(id)).toBe(sha);
}

function expectStableOrder(lines: JsonlLine[], sentAt: Map<number, string | null>): void {
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1] as JsonlLine;
    const b = lines[i] as JsonlLine;
    const key = (l: JsonlLine) => [l.session_id, sentAt.get(l.version_id) ?? '\uffff', l.message_id];
    const [as, at, am] = key(a);
    const [bs, bt, bm] = key(b);
    const ordered = (as as string) < (bs as string) || (as === bs && ((at as string) < (bt as string) || (at === bt && (am as string) <= (bm as string))));
    expect(ordered, `order at line ${i}`).toBe(true);
  }
}

function expectValidBundle(file: string): void {
  if (HAS_INFO_ZIP) {
    const check = unzipTest(file);
    expect(check.ok, check.output).toBe(true);
  }
}

describe('filters', () => {
  it('exports sessions: exactly their versions, every format, a manifest that verifies, a row and an audit trail', async () => {
    const sessions = await harness.db.pool.query<{ session_id: string }>(
      `SELECT session_id FROM public.chat_message_versions GROUP BY session_id
       HAVING bool_or(kind = 'edited') AND bool_or(kind = 'deleted') ORDER BY count(*) DESC LIMIT 2`,
    );
    const ids = sessions.rows.map((r) => r.session_id);
    expect(ids).toHaveLength(2);
    const { record, file, entries } = await exportWith({ sessions: ids, requestedBy: 'Dana Counsel' });

    const expected = await expectedVersions('v.session_id = ANY($1)', [ids]);
    const lines = jsonlOf(entries);
    expectSameVersions(lines, expected);
    const sent = await harness.db.pool.query<{ version_id: number; sent_at: Date | null }>('SELECT version_id, sent_at FROM public.chat_message_versions WHERE session_id = ANY($1)', [ids]);
    expectStableOrder(lines, new Map(sent.rows.map((r) => [r.version_id, r.sent_at?.toISOString() ?? null])));
    expect(lines.some((l) => l.kind === 'edited')).toBe(true);
    expect(lines.some((l) => l.kind === 'deleted')).toBe(true);
    // raw is the archived item, unchanged.
    const raw = await harness.db.pool.query<{ version_id: number; raw: unknown }>('SELECT version_id, raw FROM public.chat_message_versions WHERE session_id = ANY($1)', [ids]);
    const rawById = new Map(raw.rows.map((r) => [r.version_id, r.raw]));
    for (const l of lines) expect(l.raw).toEqual(rawById.get(l.version_id));

    // CSV: a header and one row per version.
    const csv = entries.get('messages.csv')?.toString('utf8') ?? '';
    expect(
      csv.startsWith(
        '\uFEFFversion_id,session_id,session_name,message_id,kind,sent_at,action_at,sender,sender_display_name,receiver,body,reply_main_message_id,file_names,content_sha256,' +
          'sender_member_id,sender_outside_account,body_state,reactions\r\n',
      ),
    ).toBe(true);
    const rows = parseCsv(csv.slice(1));
    expect(rows.length - 1).toBe(expected.size);
    expect(new Set(rows.slice(1).map((r) => Number(r[0])))).toEqual(new Set(expected.keys()));

    // HTML: an index and one page per session.
    expect([...entries.keys()].filter((k) => k.startsWith('transcripts/')).sort()).toEqual(ids.map((id) => `transcripts/${id}.html`).sort());
    expect(entries.get('index.html')?.toString('utf8')).toContain(`transcripts/${ids[0]}.html`);

    // RSMF: one file per session and UTC day with a message, continued over the next days while a
    // thread started in it is answered; every message is in exactly one file.
    const days = await harness.db.pool.query<{ n: number }>(
      `SELECT count(DISTINCT (session_id, to_char(coalesce(sent_at, action_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')))::int AS n FROM public.chat_message_versions WHERE session_id = ANY($1)`,
      [ids],
    );
    const rsmfNames = [...entries.keys()].filter((k) => k.endsWith('.rsmf'));
    expect(rsmfNames.length).toBeGreaterThan(0);
    expect(rsmfNames.length).toBeLessThanOrEqual(days.rows[0]?.n ?? -1);
    const { files: rsmfFiles } = await checkBundleRsmf(entries);
    const inFiles = [...rsmfFiles.values()].flatMap((f) => f.manifest.events.map((e) => `${f.manifest.eventcollectionid}|${e.id}`));
    const messageCount = await harness.db.pool.query<{ n: number }>('SELECT count(DISTINCT (session_id, message_id))::int AS n FROM public.chat_message_versions WHERE session_id = ANY($1)', [ids]);
    expect(new Set(inFiles).size).toBe(inFiles.length);
    expect(inFiles.length).toBe(messageCount.rows[0]?.n);

    // Manifest: written last, lists every other entry with its size and hash; counts match SQL.
    const names = [...entries.keys()];
    expect(names.at(-1)).toBe('manifest.json');
    const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '{}') as { bundle_id: string; requested_by: string; counts: Record<string, number>; entries: Array<{ path: string; bytes: number; sha256: string }>; filter: unknown; tool: { version: string } };
    expect(manifest.bundle_id).toBe(record.exportId);
    expect(manifest.requested_by).toBe('Dana Counsel');
    expect(manifest.filter).toEqual({ kind: 'sessions', sessionIds: ids });
    expect(manifest.entries.map((e) => e.path)).toEqual(names.slice(0, -1));
    for (const e of manifest.entries) {
      const content = entries.get(e.path) as Buffer;
      expect(e.bytes).toBe(content.length);
      expect(e.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    }
    const counts = await harness.db.pool.query<Record<string, number>>(
      `SELECT count(*)::int AS versions, count(DISTINCT session_id)::int AS sessions, count(DISTINCT (session_id, message_id))::int AS messages,
              (count(*) FILTER (WHERE kind = 'edited'))::int AS edits, (count(*) FILTER (WHERE kind = 'deleted'))::int AS deletions
       FROM public.chat_message_versions WHERE session_id = ANY($1)`,
      [ids],
    );
    expect(manifest.counts).toMatchObject(counts.rows[0] as Record<string, number>);
    expect(record.counts).toEqual(manifest.counts);

    expectValidBundle(file);
    const verification = await verifyBundle(file, { expectedSha256: record.sha256 as string });
    expect(verification.problem).toBeUndefined();
    expect(verification.ok).toBe(true);
    expect(verification.entriesChecked).toBe(names.length - 1);

    // The exports row and the audit log.
    expect(record).toMatchObject({ state: 'complete', requestedBy: 'Dana Counsel', formats: ['jsonl', 'csv', 'html', 'rsmf'], error: null });
    expect(record.sha256).toBe(createHash('sha256').update(readFileBytes(file)).digest('hex'));
    expect(record.bytes).toBe(readFileBytes(file).length);
    expect(record.path?.startsWith('exports/zoom-chat-export-')).toBe(true);
    expect(record.finishedAt).toBeInstanceOf(Date);
    expect(record.progress).toMatchObject({ phase: 'done', versions: expected.size, versions_total: expected.size });
    const audit = await harness.db.pool.query<{ action: string; actor: string; after: Record<string, unknown> }>(
      `SELECT action, actor, after FROM public.audit_log WHERE subject_type = 'export' AND subject_id = $1 ORDER BY audit_id`,
      [record.exportId],
    );
    expect(audit.rows.map((r) => [r.action, r.actor])).toEqual([
      ['export.create', ACTOR],
      ['export.complete', ACTOR],
    ]);
    expect(audit.rows[1]?.after).toMatchObject({ sha256: record.sha256, bytes: record.bytes });
    // Nothing but the bundle is left in the exports directory.
    expect(readdirSync(path.join(dataDir, 'exports')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('exports custodians over a date range: their sessions (sent, received or member), messages sent in the range', async () => {
    const pick = await harness.db.pool.query<{ sender: string }>(
      `SELECT sender FROM public.chat_message_versions WHERE sender <> '' GROUP BY sender ORDER BY count(*) DESC LIMIT 2`,
    );
    const custodians = pick.rows.map((r) => r.sender.toUpperCase()); // case must not matter
    const from = '2026-08-01';
    const to = '2026-10-31';
    const { entries, file, record } = await exportWith({ custodians, from, to, formats: 'jsonl,csv' });
    const lower = custodians.map((c) => c.toLowerCase());
    const expected = await expectedVersions(
      `v.session_id IN (
         SELECT session_id FROM public.chat_message_versions WHERE lower(sender) = ANY($1) OR lower(receiver) = ANY($1)
         UNION SELECT session_id FROM public.chat_sessions s, unnest(s.member_emails) e WHERE lower(e) = ANY($1))
       AND coalesce(v.sent_at, v.action_at) >= '2026-08-01T00:00:00Z' AND coalesce(v.sent_at, v.action_at) < '2026-11-01T00:00:00Z'`,
      [lower],
    );
    expect(expected.size).toBeGreaterThan(100);
    const lines = jsonlOf(entries);
    expectSameVersions(lines, expected);
    expect(lines.some((l) => l.kind === 'edited')).toBe(true);
    expect(record.filter).toEqual({ kind: 'custodians', custodians: [...lower].sort(), from, to });
    expect([...entries.keys()]).toEqual(['messages.jsonl', 'messages.csv', 'manifest.json']);
    expectValidBundle(file);
    expect((await verifyBundle(file)).ok).toBe(true);
  });

  it('exports a matter: what held_messages covers, with its stored legal-hold zips byte for byte', async () => {
    const pick = await harness.db.pool.query<{ sender: string }>(`SELECT sender FROM public.chat_message_versions WHERE sender <> '' GROUP BY sender ORDER BY count(*) DESC OFFSET 2 LIMIT 1`);
    const custodian = pick.rows[0]?.sender as string;
    const files = await createMatter('matter-1', custodian, { start: '2026-07-01', end: '2026-09-30' });
    const { entries, file, record } = await exportWith({ matter: 'matter-1' });
    const expected = await expectedVersions('v.version_id IN (SELECT version_id FROM public.held_messages WHERE matter_id = $1)', ['matter-1']);
    expect(expected.size).toBeGreaterThan(20);
    expectSameVersions(jsonlOf(entries), expected);
    for (const f of files) expect(entries.get(f.entry)?.equals(f.content)).toBe(true);
    const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '{}') as { legal_hold_files: Array<{ path: string; custodian: string }> };
    expect(manifest.legal_hold_files.map((f) => f.path)).toEqual(files.map((f) => f.entry));
    expect(record.counts?.versions).toBe(expected.size);
    expectValidBundle(file);
    expect((await verifyBundle(file)).ok).toBe(true);
  });

  it('narrows any filter with --query to messages whose text matches, keeping every version of them', async () => {
    const ids = (await harness.db.pool.query<{ session_id: string }>('SELECT session_id FROM public.chat_sessions ORDER BY session_id')).rows.map((r) => r.session_id);
    const { entries, file } = await exportWith({ sessions: ids, query: 'budget approved', formats: 'jsonl,html' });
    const expected = await expectedVersions(
      `(v.session_id, v.message_id) IN (SELECT session_id, message_id FROM public.chat_message_versions
         WHERE public.chat_body_tsvector(body) @@ websearch_to_tsquery('simple', 'budget approved')) AND v.session_id = ANY($1)`,
      [ids],
    );
    expect(expected.size).toBeGreaterThan(10);
    expectSameVersions(jsonlOf(entries), expected);
    expectValidBundle(file);

    // A query on a matter export.
    const matter = await exportWith({ matter: 'matter-1', query: 'contract', formats: 'jsonl' });
    const expectedMatter = await expectedVersions(
      `v.version_id IN (SELECT version_id FROM public.held_messages WHERE matter_id = 'matter-1')
       AND (v.session_id, v.message_id) IN (SELECT session_id, message_id FROM public.chat_message_versions WHERE public.chat_body_tsvector(body) @@ websearch_to_tsquery('simple', 'contract'))`,
      [],
    );
    expectSameVersions(jsonlOf(matter.entries), expectedMatter);
  });

  it('gives a valid bundle with zero counts when nothing matches', async () => {
    const { entries, file, record } = await exportWith({ custodians: ['nobody@example.com'], from: '2026-01-01', to: '2026-01-31' });
    expect(record.counts).toEqual({ sessions: 0, messages: 0, versions: 0, edits: 0, deletions: 0, files: 0 });
    expect(entries.get('messages.jsonl')?.length).toBe(0);
    expect(parseCsv((entries.get('messages.csv')?.toString('utf8') ?? '').slice(1))).toHaveLength(1);
    expect(entries.get('index.html')?.toString('utf8')).toContain('This export selected no messages.');
    expect([...entries.keys()]).toEqual(['messages.jsonl', 'messages.csv', 'index.html', 'manifest.json']);
    expectValidBundle(file);
    expect((await verifyBundle(file)).ok).toBe(true);
  });
});

describe('content', () => {
  it('keeps U+0000 markers and 20,000-character bodies intact in every format', async () => {
    const special = await harness.db.pool.query<{ session_id: string; version_id: number; body: string }>(
      `SELECT session_id, version_id, body FROM public.chat_message_versions WHERE body LIKE '%\\u0000%' OR length(body) >= 20000`,
    );
    const nul = special.rows.find((r) => r.body.includes('\\u0000'));
    const long = special.rows.find((r) => r.body.length >= 20000);
    expect(nul).toBeDefined();
    expect(long).toBeDefined();
    const ids = [...new Set([nul?.session_id, long?.session_id])] as string[];
    const { entries, file } = await exportWith({ sessions: ids });
    const lines = jsonlOf(entries);
    for (const row of [nul, long]) {
      const line = lines.find((l) => l.version_id === row?.version_id);
      expect(line?.raw['message']).toBe(row?.body);
    }
    const csvRows = parseCsv((entries.get('messages.csv')?.toString('utf8') ?? '').slice(1));
    const bodyColumn = csvRows[0]?.indexOf('body') ?? -1;
    expect(csvRows.find((r) => Number(r[0]) === nul?.version_id)?.[bodyColumn]).toBe(nul?.body);
    expect(csvRows.find((r) => Number(r[0]) === long?.version_id)?.[bodyColumn]?.length).toBe(long?.body.length);
    const page = entries.get(`transcripts/${nul?.session_id}.html`)?.toString('utf8') ?? '';
    expect(page).toContain('\\u0000');
    const rsmfText = [...entries].filter(([k]) => k.startsWith(`rsmf/${long?.session_id}/`)).map(([, v]) => v.toString('ascii'));
    const longInRsmf = await Promise.all(rsmfText.map(async (t) => (await rsmfManifestOf(t)).events.some((ev) => (ev.body ?? '').length >= 20000)));
    expect(longInRsmf.some(Boolean)).toBe(true);
    expectValidBundle(file);
  });

  it('escapes message text in HTML and neutralises spreadsheet formulas in CSV', async () => {
    const sessionId = 'hostile-session';
    const bodies = [
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      "=HYPERLINK(\"http://evil.example\",\"click\")",
      '+1+2',
      '-2+3',
      '@SUM(A1)',
      '\tindented',
      'comma, "quoted" and\nnew line',
      "it's & <b>bold</b>",
    ];
    await insertVersions(sessionId, bodies.map((body, i) => ({ messageId: `hostile-${i}`, body })));
    const { entries, file } = await exportWith({ sessions: [sessionId] });

    const page = entries.get(`transcripts/${sessionId}.html`)?.toString('utf8') ?? '';
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/<img/i);
    expect(page).not.toContain('<b>bold</b>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('it&#39;s &amp; &lt;b&gt;bold&lt;/b&gt;');
    expect(page).not.toMatch(/(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(entries.get('index.html')?.toString('utf8')).not.toMatch(/<script/i);

    const rows = parseCsv((entries.get('messages.csv')?.toString('utf8') ?? '').slice(1));
    const bodyColumn = rows[0]?.indexOf('body') ?? -1;
    const csvBodies = rows.slice(1).map((r) => r[bodyColumn]);
    expect(csvBodies).toEqual([
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      "'=HYPERLINK(\"http://evil.example\",\"click\")",
      "'+1+2",
      "'-2+3",
      "'@SUM(A1)",
      "'\tindented",
      'comma, "quoted" and\nnew line',
      "it's & <b>bold</b>",
    ]);
    // Every record ends with CRLF; the embedded LF stays inside its quoted field.
    const csvText = entries.get('messages.csv')?.toString('utf8') ?? '';
    expect(csvText.endsWith('\r\n')).toBe(true);
    expect(csvText).toContain('"comma, ""quoted"" and\nnew line"');
    // The original text is untouched in JSONL.
    expect(jsonlOf(entries).map((l) => l.raw['message'])).toEqual(bodies);
    expectValidBundle(file);
  });

  it('shows threads under their parent, every edit with its earlier text and every deletion with its time', async () => {
    const sessionId = 'thread-session';
    await insertVersions(sessionId, [
      { messageId: 'parent', body: 'Original plan', at: '2026-10-01T10:00:00.000Z' },
      { messageId: 'parent', body: 'Revised plan', at: '2026-10-01T10:00:00.000Z', kind: 'edited', actionAt: '2026-10-01T11:00:00.000Z' },
      { messageId: 'other', body: 'Unrelated', at: '2026-10-01T10:30:00.000Z' },
      { messageId: 'reply', body: 'Agreed', at: '2026-10-01T12:00:00.000Z', replyTo: 'parent' },
      { messageId: 'reply', body: 'Agreed', at: '2026-10-01T12:00:00.000Z', kind: 'deleted', actionAt: '2026-10-02T08:00:00.000Z', replyTo: 'parent' },
      { messageId: 'orphan', body: 'Answering something older', at: '2026-10-01T13:00:00.000Z', replyTo: 'not-exported' },
    ]);
    const { entries } = await exportWith({ sessions: [sessionId], formats: 'html,rsmf' });
    const page = entries.get(`transcripts/${sessionId}.html`)?.toString('utf8') ?? '';
    const article = (id: string) => new RegExp(`<article class="([^"]*)" id="m-${id}">([\\s\\S]*?)</article>`).exec(page);
    const parent = article('parent');
    const reply = article('reply');
    const orphan = article('orphan');
    // Send order in the document, as shown: a reply is indented and opens with the message it answers, linked.
    expect([...page.matchAll(/<article [^>]*id="m-([^"]+)"/g)].map((m) => m[1])).toEqual(['parent', 'other', 'reply', 'orphan']);
    expect(page).not.toMatch(/style="order/);
    expect(reply?.[1]).toContain('reply');
    expect(reply?.[2]).toContain('↳ reply to <a href="#m-parent">Ada &lt;i&gt;Okafor&lt;/i&gt;, 2026-10-01 10:00:00 UTC</a>');
    // Edits keep the earlier text, struck through, with the time of the edit.
    expect(parent?.[2]).toContain('<del>Original plan</del>');
    expect(parent?.[2]).toContain('Revised plan');
    expect(parent?.[2]).toContain('edited 2026-10-01 11:00:00 UTC');
    // Deletions are marked with their time.
    expect(reply?.[1]).toContain('deleted');
    expect(reply?.[2]).toContain('DELETED 2026-10-02 08:00:00 UTC');
    expect(orphan?.[2]).toContain('not in this export');

    // RSMF: the same story in the review format.
    const rsmf = entries.get(`rsmf/${sessionId}/2026-10-01.rsmf`)?.toString('ascii') ?? '';
    const manifest = await rsmfManifestOf(rsmf);
    const byId = new Map(manifest.events.map((e) => [e.id, e]));
    expect(byId.get('parent')).toMatchObject({ body: 'Revised plan', edits: [{ previous: 'Original plan', new: 'Revised plan', timestamp: '2026-10-01T11:00:00.000Z' }] });
    expect(byId.get('reply')).toMatchObject({ parent: 'parent', deleted: true });
    expect(byId.get('reply')?.custom).toContainEqual({ name: 'Deleted at', value: '2026-10-02T08:00:00.000Z' });
    expect(byId.get('orphan')?.parent).toBeUndefined();
  });

  it('writes RSMF 2.0 files review tools can load: RFC 5322 headers, one rsmf.zip, a manifest that follows the schema', async () => {
    const session = (await harness.db.pool.query<{ session_id: string }>(`SELECT session_id FROM public.chat_sessions WHERE type = '1:1' ORDER BY session_id LIMIT 1`)).rows[0]?.session_id as string;
    const { entries } = await exportWith({ sessions: [session], formats: 'rsmf' });
    const files = [...entries].filter(([k]) => k.endsWith('.rsmf'));
    expect(files.length).toBeGreaterThan(0);
    let events = 0;
    for (const [name, content] of files) {
      const text = content.toString('latin1');
      expect(/^[\x20-\x7e\r\n\t]*$/.test(text), `${name} is 7-bit`).toBe(true);
      for (const line of text.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
      const parsed = parseRsmf(text);
      expect(parsed.headers.get('x-rsmf-version')).toBe('2.0.0');
      expect(parsed.headers.get('mime-version')).toBe('1.0');
      expect(parsed.headers.get('x-rsmf-generator')).toMatch(/^zoom-chat-archiver\//);
      expect(parsed.headers.get('x-rsmf-eventcollectionid')).toBe(session);
      expect(parsed.attachmentHeaders).toContain('Content-Disposition: attachment; filename="rsmf.zip"');
      expect(parsed.attachmentHeaders).toContain('Content-Transfer-Encoding: base64');
      const manifest = await rsmfManifestFromZip(parsed.zip);
      expect(Number(parsed.headers.get('x-rsmf-eventcount'))).toBe(manifest.events.length);
      const stamps = manifest.events.map((e) => e.timestamp).sort();
      expect(parsed.headers.get('x-rsmf-begindate')).toBe(stamps[0]);
      expect(parsed.headers.get('x-rsmf-enddate')).toBe(stamps.at(-1));
      expect(manifest.conversations[0]?.type).toBe('direct');
      // <first day>.rsmf or <first day>--<last day>.rsmf: the days its events were sent on.
      const [first, last = first] = path.basename(name, '.rsmf').replace(/-part-\d+$/, '').split('--');
      for (const ev of manifest.events) expect(ev.timestamp.slice(0, 10) >= (first as string) && ev.timestamp.slice(0, 10) <= (last as string)).toBe(true);
      events += manifest.events.length;
      if (HAS_INFO_ZIP) {
        const tmp = path.join(dataDir, `nested-${path.basename(name)}.zip`);
        writeFileSync(tmp, parsed.zip);
        const check = unzipTest(tmp);
        expect(check.ok, check.output).toBe(true);
        rmSync(tmp);
      }
    }
    const messages = await harness.db.pool.query<{ n: number }>('SELECT count(DISTINCT message_id)::int AS n FROM public.chat_message_versions WHERE session_id = $1', [session]);
    expect(events).toBe(messages.rows[0]?.n);
  });
});

describe('validation', () => {
  it('rejects bad requests before doing any work, naming what is wrong', async () => {
    const cases: Array<[ExportRequestInput, RegExp]> = [
      [{}, /say what to export/],
      [{ matter: 'm', sessions: ['s'] }, /exactly one of --matter, --custodian or --session/],
      [{ custodians: ['a@example.com'] }, /needs a date range/],
      [{ custodians: ['a@example.com'], from: '2026-03-10', to: '2026-03-01' }, /reversed: --from 2026-03-10 is after --to 2026-03-01/],
      [{ custodians: ['a@example.com'], from: '2026-02-30', to: '2026-03-01' }, /--from must be a real date as yyyy-mm-dd/],
      [{ custodians: ['not-an-email'], from: '2026-03-01', to: '2026-03-02' }, /--custodian must be an email address/],
      [{ sessions: ['s'], formats: 'jsonl,pdf' }, /unknown format "pdf"/],
      [{ sessions: ['s'], formats: ' , ' }, /--formats needs at least one/],
      [{ matter: 'm', from: '2026-01-01' }, /do not apply to --matter/],
      [{ sessions: ['s'], query: '   ' }, /--query is empty/],
      [{ sessions: ['s'], out: '/tmp/bundle.tar' }, /--out must name a .zip file/],
      [{ sessions: ['s'], out: '/nonexistent-dir-zca/b.zip' }, /does not exist/],
      [{ custodians: Array.from({ length: 101 }, (_, i) => `u${i}@example.com`), from: '2026-01-01', to: '2026-01-02' }, /too many custodians/],
    ];
    for (const [input, message] of cases) {
      expect(() => parseExportRequest(input), JSON.stringify(input)).toThrow(message);
    }
    const before = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.exports');
    const deps = { pool: harness.db.pool, config: { dataDir }, logger };
    await expect(runExport(deps, parseExportRequest({ matter: 'no-such-matter' }), ACTOR)).rejects.toThrow(/unknown matter "no-such-matter"/);
    await expect(runExport(deps, parseExportRequest({ sessions: ['no-such-session'] }), ACTOR)).rejects.toThrow(/unknown session "no-such-session"/);
    await expect(runExport(deps, parseExportRequest({ sessions: ['hostile-session'], query: '!!!' }), ACTOR)).rejects.toThrow(/no searchable word/);
    const after = await harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.exports');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('fails a matter export whose stored legal-hold zip is missing or changed, leaving nothing that looks complete', async () => {
    const custodian = (await harness.db.pool.query<{ sender: string }>(`SELECT sender FROM public.chat_message_versions WHERE sender <> '' LIMIT 1`)).rows[0]?.sender as string;
    const deps = { pool: harness.db.pool, config: { dataDir }, logger };

    const missing = await createMatter('matter-missing', custodian, { start: '2026-09-01', end: '2026-09-30' });
    rmSync(path.join(dataDir, missing[0]?.stored as string));
    const err1 = await runExport(deps, parseExportRequest({ matter: 'matter-missing' }), ACTOR).catch((e: unknown) => e);
    expect(err1).toBeInstanceOf(ExportError);
    expect((err1 as ExportError).code).toBe('EXPORT_LEGAL_HOLD_FILE_INVALID');
    expect((err1 as ExportError).message).toMatch(/missing on disk/);
    await expectFailedLeavingNothing((err1 as ExportError).exportId as string, /missing on disk/);

    const changed = await createMatter('matter-changed', custodian, { start: '2026-09-01', end: '2026-09-30' });
    const storedFile = path.join(dataDir, changed[1]?.stored as string);
    const bytes = readFileBytes(storedFile);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff; // same size, different content
    writeFileSync(storedFile, bytes);
    const err2 = await runExport(deps, parseExportRequest({ matter: 'matter-changed' }), ACTOR).catch((e: unknown) => e);
    expect((err2 as ExportError).code).toBe('EXPORT_LEGAL_HOLD_FILE_INVALID');
    expect((err2 as ExportError).message).toMatch(/does not match what was stored/);
    await expectFailedLeavingNothing((err2 as ExportError).exportId as string, /does not match/);
  });

  it('fails cleanly when the disk is full (ENOSPC), leaving nothing behind', async (ctx) => {
    // A 256 KB tmpfs is a disk that fills up for real; mounting needs root, so elsewhere this is skipped loudly.
    const mountPoint = mkdtempSync(path.join(tmpdir(), 'zca-full-'));
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]).status !== 0) {
      console.warn('!!! cannot mount a tmpfs here (needs root): the disk-full test is SKIPPED');
      rmSync(mountPoint, { recursive: true, force: true });
      ctx.skip();
      return;
    }
    try {
      const ids = (await harness.db.pool.query<{ session_id: string }>('SELECT session_id FROM public.chat_sessions')).rows.map((r) => r.session_id);
      const err = await runExport({ pool: harness.db.pool, config: { dataDir }, logger }, parseExportRequest({ sessions: ids, out: path.join(mountPoint, 'full.zip') }), ACTOR).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExportError);
      expect((err as ExportError).code).toBe('EXPORT_DISK_FULL');
      expect((err as ExportError).message).toMatch(/disk is full \(ENOSPC\)/);
      expect(readdirSync(mountPoint)).toEqual([]);
      const row = await harness.db.pool.query<{ state: string; error: string }>('SELECT state, error FROM archive.exports WHERE export_id = $1', [(err as ExportError).exportId]);
      expect(row.rows[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/disk is full/) as unknown as string });
    } finally {
      spawnSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it('removes everything and marks the export failed when aborted', async () => {
    const controller = new AbortController();
    const ids = (await harness.db.pool.query<{ session_id: string }>('SELECT session_id FROM public.chat_sessions')).rows.map((r) => r.session_id);
    const err = await runExport({ pool: harness.db.pool, config: { dataDir }, logger, signal: controller.signal }, parseExportRequest({ sessions: ids }), ACTOR, {
      onProgress: (p) => {
        if (p.versionsWritten > 0) controller.abort(new Error('test abort'));
      },
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const exportId = /export ([0-9a-f-]{36})/.exec((err as Error).message)?.[1];
    expect(exportId).toBeDefined();
    await expectFailedLeavingNothing(exportId as string, /stopped by a signal/);
  });
});

// --- helpers -------------------------------------------------------------------------------

function readFileBytes(file: string): Buffer {
  return readFileSync(file);
}

async function expectFailedLeavingNothing(exportId: string, error: RegExp): Promise<void> {
  const row = await harness.db.pool.query<{ state: string; error: string; path: string; sha256: string | null }>('SELECT state, error, path, sha256 FROM archive.exports WHERE export_id = $1', [exportId]);
  expect(row.rows[0]?.state).toBe('failed');
  expect(row.rows[0]?.error).toMatch(error);
  expect(row.rows[0]?.sha256).toBeNull();
  expect(existsSync(path.join(dataDir, row.rows[0]?.path as string))).toBe(false);
  const leftovers = readdirSync(path.join(dataDir, 'exports')).filter((n) => n.includes(exportId));
  expect(leftovers).toEqual([]);
  const audit = await harness.db.pool.query<{ action: string }>(`SELECT action FROM public.audit_log WHERE subject_id = $1 ORDER BY audit_id`, [exportId]);
  expect(audit.rows.map((r) => r.action)).toEqual(['export.create', 'export.fail']);
}

interface TestVersion {
  messageId: string;
  body: string;
  at?: string;
  kind?: 'original' | 'edited' | 'deleted';
  actionAt?: string;
  replyTo?: string;
}

/** Versions written straight into the archive (as the sync engine would), for content the simulator does not generate. */
async function insertVersions(sessionId: string, versions: TestVersion[]): Promise<void> {
  await harness.db.pool.query(
    `INSERT INTO archive.sessions (session_id, type, name, raw) VALUES ($1, 'Group', $2, '{}'::jsonb) ON CONFLICT DO NOTHING`,
    [sessionId, `Test <b>${sessionId}</b>`],
  );
  for (const [i, v] of versions.entries()) {
    const sent = v.at ?? new Date(Date.parse('2026-10-05T09:00:00Z') + i * 60_000).toISOString();
    const action = v.actionAt ?? sent;
    const raw = { id: v.messageId, message: v.body, sender: 'ada.okafor0@example.com', sender_display_name: 'Ada <i>Okafor</i>', timestamp: Date.parse(sent), action_timestamp: Date.parse(action), ...(v.replyTo ? { reply_main_message_id: v.replyTo } : {}) };
    await harness.db.pool.query(
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_display_name, body, reply_main_message_id, raw, content_sha256)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, archive.version_identity($10::jsonb))`,
      [sessionId, v.messageId, v.kind ?? 'original', action, sent, raw.sender, raw.sender_display_name, v.body, v.replyTo ?? null, JSON.stringify(raw)],
    );
  }
}

/** A legal-hold matter with one custodian and two stored zips on disk (the legal-hold module is written in parallel). */
async function createMatter(matterId: string, custodian: string, dates: { start: string; end: string }): Promise<Array<{ entry: string; stored: string; content: Buffer }>> {
  await harness.db.pool.query(`INSERT INTO archive.legal_hold_matters (matter_id, matter_name, start_date, end_date, state) VALUES ($1, $2, $3, $4, 'active')`, [matterId, `Matter ${matterId}`, dates.start, dates.end]);
  await harness.db.pool.query(`INSERT INTO archive.legal_hold_custodians (matter_id, identifier, email) VALUES ($1, $2, $2)`, [matterId, custodian]);
  const out: Array<{ entry: string; stored: string; content: Buffer }> = [];
  for (const key of ['file-a', 'file-b']) {
    const stored = path.join('legal-hold', matterId, `${key}.zip`);
    mkdirSync(path.join(dataDir, 'legal-hold', matterId), { recursive: true });
    const content = Buffer.from(`PK fake zip ${matterId} ${key} `.repeat(500));
    writeFileSync(path.join(dataDir, stored), content);
    await harness.db.pool.query(
      `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state, stored_path, stored_bytes, sha256, stored_at) VALUES ($1, $2, $3, 'stored', $4, $5, $6, now())`,
      [matterId, custodian, key, stored, content.length, createHash('sha256').update(content).digest('hex')],
    );
    out.push({ entry: `legal-hold/${custodian}/${key}.zip`, stored, content });
  }
  // A file not stored yet is not part of the export.
  await harness.db.pool.query(`INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state) VALUES ($1, $2, 'file-pending', 'pending')`, [matterId, custodian]);
  return out;
}

async function rsmfManifestFromZip(zip: Buffer): Promise<RsmfManifest> {
  const tmp = path.join(dataDir, `rsmf-${Math.random().toString(36).slice(2)}.zip`);
  writeFileSync(tmp, zip);
  try {
    const inner = await readBundle(tmp);
    expect([...inner.keys()]).toEqual(['rsmf_manifest.json']);
    return JSON.parse(inner.get('rsmf_manifest.json')?.toString('utf8') ?? '{}') as RsmfManifest;
  } finally {
    rmSync(tmp);
  }
}

async function rsmfManifestOf(rsmf: string): Promise<RsmfManifest> {
  return rsmfManifestFromZip(parseRsmf(rsmf).zip);
}
