import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessageVersionColumns } from '../../src/domain/types.js';
import { parseExportRequest, runExport, type ExportRequestInput } from '../../src/export/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { generateDataset, LONG_SESSION_NAME_LENGTH } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';
import { parseCsv, readBundle } from './bundle-helpers.js';
import { checkBundleRsmf, type ParsedRsmf, type RsmfEvent, type RsmfManifest } from './rsmf-conformance.js';

// Export fidelity (issue 15, and the export items of issue 11): what a reviewer is told about edits,
// reactions and people must be exactly what Zoom reported, in every format. A real archive filled by
// the real sync engine from the Zoom simulator, synced twice (four days apart, so some messages are
// archived as first sent and edited afterwards), with the simulator's awkward content switched on:
// "Last, First" names, long non-ASCII names, a 1,000-character session name, skin-tone and long
// custom emoji, edits that keep the text, and external people in 1:1 chats.
const NOW = new Date('2026-11-21T15:00:00Z');
const DAY_MS = 86_400_000;
let harness: SyncHarness;
let dataDir: string;
const logger = createSilentLogger();

beforeAll(async () => {
  const clock = new ManualClock(NOW.getTime() - 4 * DAY_MS);
  const dataset = generateDataset({
    seed: 15,
    now: NOW,
    sessions: 24,
    totalMessages: 1500,
    spanDays: 60,
    users: 14,
    editProbability: 0.3,
    deleteProbability: 0.08,
    unchangedEditProbability: 0.25,
    reactionProbability: 0.3,
    customEmojiProbability: 0.15,
    threadReplyProbability: 0.3,
    awkwardContent: true,
    quirks: { externalSenders: 0.3 },
  });
  harness = await startSyncHarness({ dataset, clock });
  expect((await harness.sync()).outcome).toBe('complete');
  clock.set(NOW);
  expect((await harness.sync()).outcome).toBe('complete');
  dataDir = mkdtempSync(path.join(tmpdir(), 'zca-fidelity-'));
}, 180_000);

afterAll(async () => {
  await harness?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Bundle {
  entries: Map<string, Buffer>;
  rsmf: Map<string, ParsedRsmf>;
  exportId: string;
  /** What a review tool would report about its .rsmf files (schema and validator rules). */
  problems: string[];
}

const bundlesMade: Bundle[] = [];

/** Exports, reads the bundle back, and checks every .rsmf in it against the schema and the validator's rules. */
async function exportBundle(input: ExportRequestInput): Promise<Bundle> {
  const record = await runExport({ pool: harness.db.pool, config: { dataDir }, logger }, parseExportRequest(input), 'cli:test');
  expect(record.state).toBe('complete');
  const entries = await readBundle(path.join(dataDir, record.path as string));
  const { problems, files } = await checkBundleRsmf(entries);
  const bundle = { entries, rsmf: files, exportId: record.exportId, problems };
  bundlesMade.push(bundle);
  return bundle;
}

let everything: Bundle | undefined;
async function allSessions(): Promise<Bundle> {
  if (everything) return everything;
  const ids = (await harness.db.pool.query<{ session_id: string }>('SELECT session_id FROM public.chat_sessions ORDER BY session_id')).rows.map((r) => r.session_id);
  everything = await exportBundle({ sessions: ids });
  return everything;
}

/** A row of public.chat_message_versions as the readers select it, with its times and raw item (no files or hashes). */
interface VersionRow extends Omit<ChatMessageVersionColumns, 'files' | 'content_sha256' | 'archived_at'> {
  action_at: string;
  sent_at: string | null;
  raw: Record<string, unknown>;
}

async function versions(where = 'true', values: unknown[] = []): Promise<VersionRow[]> {
  const res = await harness.db.pool.query<VersionRow & { action_at: Date; sent_at: Date | null }>(
    `SELECT version_id, session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, receiver, body, reply_main_message_id, raw
     FROM public.chat_message_versions v WHERE ${where} ORDER BY session_id, sent_at, message_id, action_at, version_id`,
    values,
  );
  return res.rows.map((r) => ({ ...r, action_at: r.action_at.toISOString(), sent_at: r.sent_at?.toISOString() ?? null }));
}

function groupByMessage(rows: VersionRow[]): Map<string, VersionRow[]> {
  const out = new Map<string, VersionRow[]>();
  for (const r of rows) {
    const key = `${r.session_id}|${r.message_id}`;
    out.set(key, [...(out.get(key) ?? []), r]);
  }
  return out;
}

/** Every RSMF event of a bundle with the file and manifest it is in. */
function rsmfEvents(bundle: Bundle): Array<{ file: string; manifest: RsmfManifest; event: RsmfEvent; sessionId: string }> {
  const out: Array<{ file: string; manifest: RsmfManifest; event: RsmfEvent; sessionId: string }> = [];
  for (const [file, parsed] of bundle.rsmf) for (const event of parsed.manifest.events) out.push({ file, manifest: parsed.manifest, event, sessionId: parsed.manifest.eventcollectionid ?? '' });
  return out;
}

function eventOf(bundle: Bundle, sessionId: string, messageId: string): { file: string; manifest: RsmfManifest; event: RsmfEvent } {
  const found = rsmfEvents(bundle).filter((e) => e.sessionId === sessionId && e.event.id === messageId);
  expect(found, `${sessionId}/${messageId} in RSMF`).toHaveLength(1);
  return found[0] as { file: string; manifest: RsmfManifest; event: RsmfEvent };
}

function custom(list: Array<{ name: string; value: string }> | undefined, name: string): string | undefined {
  return list?.find((c) => c.name === name)?.value;
}

/** The distinct edits Zoom reported for a message: one per edited version, by time. */
function reportedEdits(rows: VersionRow[]): Array<{ at: string; text: string }> {
  const out: Array<{ at: string; text: string }> = [];
  for (const r of rows.filter((v) => v.kind === 'edited').sort((a, b) => a.action_at.localeCompare(b.action_at))) {
    if (out.at(-1)?.at !== r.action_at) out.push({ at: r.action_at, text: r.body ?? '' });
  }
  return out;
}

const isAsSent = (r: VersionRow) => r.kind === 'original' && r.action_at === r.sent_at;

function articleOf(page: string, messageId: string): string {
  const at = page.indexOf(`id="m-${messageId}"`);
  expect(at, `article for ${messageId}`).toBeGreaterThan(0);
  const start = page.lastIndexOf('<article', at);
  return page.slice(start, page.indexOf('</article>', at) + '</article>'.length);
}

const htmlDecode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

describe('edits (issue 15 item 1, issue 11 exports)', () => {
  it('shows every edit Zoom reported — unchanged text and edited-then-deleted too — with the earlier text only when it is known', async () => {
    const bundle = await allSessions();
    const byMessage = groupByMessage(await versions());
    let unchanged = 0;
    let editedThenDeleted = 0;
    let firstTextKnown = 0;
    let firstTextUnknown = 0;
    for (const rows of byMessage.values()) {
      const edits = reportedEdits(rows);
      if (edits.length === 0) continue;
      const first = rows[0] as VersionRow;
      const { event } = eventOf(bundle, first.session_id, first.message_id);
      expect(event.edits?.map((e) => [e.timestamp, e.new]), `${first.message_id}`).toEqual(edits.map((e) => [e.at, e.text]));
      const asSent = rows.find(isAsSent);
      // The text before the first edit: known only when the message was archived before it was edited.
      const known = [asSent?.body ?? null, ...edits.map((e) => e.text)];
      edits.forEach((e, i) => {
        const previous = known[i];
        expect(event.edits?.[i]?.previous, `previous of edit ${i} of ${first.message_id}`).toBe(previous ?? undefined);
        if (previous === e.text) unchanged++;
      });
      if (asSent) firstTextKnown++;
      else {
        firstTextUnknown++;
        expect(custom(event.custom, 'Text as first sent')).toMatch(/not reported by Zoom/);
      }
      for (const e of event.edits ?? []) expect(e.participant).toBe(event.participant);
      if (rows.some((r) => r.kind === 'deleted')) {
        editedThenDeleted++;
        expect(event.deleted).toBe(true);
      }
    }
    // The dataset holds every case, so none of the checks above ran empty.
    expect({ unchanged: unchanged > 0, editedThenDeleted: editedThenDeleted > 0, firstTextKnown: firstTextKnown > 0, firstTextUnknown: firstTextUnknown > 0 }).toEqual({
      unchanged: true,
      editedThenDeleted: true,
      firstTextKnown: true,
      firstTextUnknown: true,
    });
  });

  it('says in every format when a row carries the latest text rather than the text as first sent', async () => {
    const bundle = await allSessions();
    const rows = await versions();
    const listedAfterEdit = rows.filter((r) => r.kind === 'original' && r.action_at !== r.sent_at);
    expect(listedAfterEdit.length).toBeGreaterThan(0);
    const jsonl = new Map(
      (bundle.entries.get('messages.jsonl')?.toString('utf8') ?? '')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { version_id: number; body_state: string })
        .map((l) => [l.version_id, l.body_state]),
    );
    const csv = parseCsv((bundle.entries.get('messages.csv')?.toString('utf8') ?? '').slice(1));
    const column = csv[0]?.indexOf('body_state') ?? -1;
    expect(column).toBeGreaterThan(0);
    const csvState = new Map(csv.slice(1).map((r) => [Number(r[0]), r[column]]));
    const expected = (r: VersionRow) => (r.kind === 'edited' ? 'after_edit' : r.kind === 'deleted' ? 'at_deletion' : r.action_at === r.sent_at ? 'as_sent' : 'listed_after_edit');
    for (const r of rows) {
      expect(jsonl.get(r.version_id), `jsonl ${r.version_id}`).toBe(expected(r));
      expect(csvState.get(r.version_id), `csv ${r.version_id}`).toBe(expected(r));
    }
    // The transcript says it in words, on the message.
    const sample = listedAfterEdit.find((r) => !rows.some((o) => o.message_id === r.message_id && isAsSent(o))) as VersionRow;
    const page = bundle.entries.get(`transcripts/${sample.session_id}.html`)?.toString('utf8') ?? '';
    const article = articleOf(page, sample.message_id);
    expect(article).toMatch(/text as first sent was not reported by Zoom/i);
    expect(page).toMatch(/Zoom does not report the text a message had before it was edited/);
  });
});

describe('people (issue 15 items 2, 4, 5, 6)', () => {
  it('merges what every record says about a person: an external receiver who later sends is outside the account in every file', async () => {
    const bundle = await allSessions();
    const sessions = await harness.db.pool.query<{ session_id: string; member_emails: string[] }>(`SELECT session_id, member_emails FROM public.chat_sessions WHERE type = '1:1' AND has_external_member`);
    let checked = 0;
    for (const s of sessions.rows) {
      const rows = await versions('v.session_id = $1', [s.session_id]);
      const externalSends = rows.filter((r) => (r.sender ?? '') === '');
      if (externalSends.length === 0) continue;
      const externalEmail = s.member_emails.find((e) => rows.some((r) => r.receiver === e && (r.sender ?? '') !== '')) as string;
      const firstExternal = externalSends[0] as VersionRow;
      // Met first as a receiver, in an earlier message than any they sent.
      expect(rows.findIndex((r) => r.receiver === externalEmail)).toBeLessThan(rows.indexOf(firstExternal));
      for (const [file, parsed] of bundle.rsmf) {
        if (parsed.manifest.eventcollectionid !== s.session_id) continue;
        const person = parsed.manifest.participants.find((p) => p.id === externalEmail.toLowerCase());
        expect(person, file).toBeDefined();
        expect(custom(person?.custom, 'Outside the account'), file).toBe('yes');
        expect(person?.account_id, file).toBe(firstExternal.sender_member_id);
        expect(person?.display, file).toBe(firstExternal.sender_display_name?.replaceAll(',', '\u201a'));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1);
    // Everyone who sent with an email is shown by name, with Zoom's member id.
    for (const { manifest, event } of rsmfEvents(bundle)) {
      const person = manifest.participants.find((p) => p.id === event.participant);
      expect(person?.account_id).toBeDefined();
      expect(person?.display).not.toBe(person?.email);
    }
  });

  it('keeps a comma in a display name out of X-RSMF-Participants and carries the exact name', async () => {
    const bundle = await allSessions();
    const withComma = rsmfEvents(bundle).flatMap(({ manifest }) => manifest.participants).filter((p) => custom(p.custom, 'Name in Zoom')?.includes(','));
    expect(withComma.length).toBeGreaterThan(0);
    for (const p of withComma) {
      expect(p.display).not.toContain(',');
      expect(p.display).toBe(custom(p.custom, 'Name in Zoom')?.replaceAll(',', '\u201a'));
    }
    expect(bundle.problems.filter((p) => /X-RSMF-Participants/.test(p))).toEqual([]);
  });

  it('folds every header within 998 octets: a 1,000-character session name, names of over 90 bytes', async () => {
    const bundle = await allSessions();
    const long = await harness.db.pool.query<{ session_id: string; name: string }>(`SELECT session_id, name FROM public.chat_sessions WHERE length(name) = $1`, [LONG_SESSION_NAME_LENGTH]);
    expect(long.rows).toHaveLength(1);
    const session = long.rows[0] as { session_id: string; name: string };
    const files = [...bundle.rsmf].filter(([, p]) => p.manifest.eventcollectionid === session.session_id);
    expect(files.length).toBeGreaterThan(0);
    for (const [, parsed] of files) {
      expect(parsed.headers.get('subject')).toContain(session.name);
      expect(parsed.manifest.conversations[0]?.display).toBe(session.name);
    }
    const longNames = rsmfEvents(bundle).flatMap(({ manifest }) => manifest.participants).filter((p) => Buffer.byteLength(p.display ?? '') > 90);
    expect(longNames.length).toBeGreaterThan(0);
    expect(bundle.problems.filter((p) => /octets|encoded word/.test(p))).toEqual([]);
  });

  it('gives every event a direction in a custodian export, senders outside the account included', async () => {
    const pick = await harness.db.pool.query<{ sender: string; session_id: string }>(
      `SELECT s.sender, s.session_id FROM public.chat_message_versions s
       WHERE s.sender <> '' AND EXISTS (SELECT 1 FROM public.chat_message_versions x WHERE x.session_id = s.session_id AND x.sender = '')
         AND EXISTS (SELECT 1 FROM public.chat_sessions c WHERE c.session_id = s.session_id AND c.type = 'Group')
       ORDER BY s.sender LIMIT 1`,
    );
    const custodian = pick.rows[0]?.sender as string;
    expect(custodian).toBeDefined();
    const bundle = await exportBundle({ custodians: [custodian], from: '2026-09-01', to: '2026-11-21', formats: 'rsmf' });
    const events = rsmfEvents(bundle);
    expect(events.some(({ manifest, event }) => custom(manifest.participants.find((p) => p.id === event.participant)?.custom, 'Outside the account') === 'yes')).toBe(true);
    for (const { event } of events) expect(event.direction, `${event.id}`).toBe(event.participant === custodian.toLowerCase() ? 'outgoing' : 'incoming');
    // The custodian is the author of each file they take part in.
    for (const parsed of bundle.rsmf.values()) {
      if (parsed.headers.get('x-rsmf-custodian') === custodian.toLowerCase()) expect(parsed.headers.get('from')).toContain(`<${custodian.toLowerCase()}>`);
    }
  });
});

describe('reactions (issue 15 item 3)', () => {
  it('names who reacted, keeps custom emoji names whole and shows skin-tone sequences as the emoji', async () => {
    const bundle = await allSessions();
    let several = 0;
    let skinTone = 0;
    let longCustom = 0;
    for (const { manifest, event } of rsmfEvents(bundle)) {
      for (const reaction of event.reactions ?? []) {
        expect(reaction.participants?.length, `${event.id} ${reaction.value}`).toBeGreaterThan(0);
        const accounts = (reaction.participants ?? []).map((id) => manifest.participants.find((p) => p.id === id)?.account_id);
        expect(accounts.every((a) => a !== undefined)).toBe(true);
        if ((reaction.participants?.length ?? 0) > 1) several++;
        expect(reaction.value).not.toMatch(/U\+/);
        if (/\u{1F3FB}|\u{1F3FD}/u.test(reaction.value)) skinTone++;
        if (reaction.value === 'quarterly_numbers_look_great_well_done_team') longCustom++;
      }
    }
    expect({ several: several > 0, skinTone: skinTone > 0, longCustom: longCustom > 0 }).toEqual({ several: true, skinTone: true, longCustom: true });
  });
});

describe('threads (issue 15 item 7)', () => {
  it('keeps a reply in the same file as its parent when the thread crosses midnight', async () => {
    const bundle = await allSessions();
    const rows = await versions();
    const sentDay = new Map(rows.map((r) => [`${r.session_id}|${r.message_id}`, (r.sent_at ?? r.action_at).slice(0, 10)]));
    const where = new Map(rsmfEvents(bundle).map((e) => [`${e.sessionId}|${e.event.id}`, e]));
    let crossing = 0;
    for (const r of rows) {
      if (!r.reply_main_message_id) continue;
      const parentKey = `${r.session_id}|${r.reply_main_message_id}`;
      if (!sentDay.has(parentKey)) continue;
      const reply = where.get(`${r.session_id}|${r.message_id}`);
      const parent = where.get(parentKey);
      expect(reply?.file, `reply ${r.message_id} sent ${reply?.event.timestamp}, parent sent ${parent?.event.timestamp}`).toBe(parent?.file);
      expect(reply?.event.parent).toBe(r.reply_main_message_id);
      if (sentDay.get(parentKey) !== sentDay.get(`${r.session_id}|${r.message_id}`)) crossing++;
    }
    expect(crossing).toBeGreaterThan(0);
  });
});

describe('provenance (issue 15 item 8)', () => {
  it('writes the same session-day twice as the same bytes apart from the provenance header, authored by a person', async () => {
    const session = (await harness.db.pool.query<{ session_id: string }>(`SELECT session_id FROM public.chat_message_versions GROUP BY session_id ORDER BY count(*) DESC LIMIT 1`)).rows[0]?.session_id as string;
    const a = await exportBundle({ sessions: [session], formats: 'rsmf' });
    const b = await exportBundle({ sessions: [session], formats: 'rsmf' });
    const names = [...a.entries.keys()].filter((k) => k.endsWith('.rsmf'));
    expect(names.length).toBeGreaterThan(0);
    expect([...b.entries.keys()].filter((k) => k.endsWith('.rsmf'))).toEqual(names);
    const withoutProvenance = (bundle: Bundle, name: string) => (bundle.entries.get(name) as Buffer).toString('latin1').replace(/^X-RSMF-ExportBundle: .*\r\n/m, '');
    for (const name of names) {
      expect((a.entries.get(name) as Buffer).toString('latin1')).toContain(`X-RSMF-ExportBundle: ${a.exportId}\r\n`);
      expect(withoutProvenance(a, name) === withoutProvenance(b, name), name).toBe(true);
      const parsed = a.rsmf.get(name) as ParsedRsmf;
      expect(JSON.stringify(parsed.manifest)).not.toContain(a.exportId);
      expect(parsed.text).not.toContain(a.exportId);
      expect(parsed.headers.get('from')).not.toMatch(/zoom-chat-archiver\.invalid/);
    }
  });
});

describe('sessions and transcripts (issue 11 exports)', () => {
  it('names a 1:1 session the same way in JSONL, CSV, HTML and RSMF', async () => {
    const bundle = await allSessions();
    const oneToOne = await harness.db.pool.query<{ session_id: string; member_emails: string[] }>(`SELECT session_id, member_emails FROM public.chat_sessions WHERE type = '1:1'`);
    expect(oneToOne.rows.length).toBeGreaterThan(0);
    const jsonl = (bundle.entries.get('messages.jsonl')?.toString('utf8') ?? '').trimEnd().split('\n').map((l) => JSON.parse(l) as { session_id: string; session_name: string });
    const csv = parseCsv((bundle.entries.get('messages.csv')?.toString('utf8') ?? '').slice(1));
    for (const s of oneToOne.rows) {
      const title = `1:1 chat: ${s.member_emails.join(' & ')}`;
      const lines = jsonl.filter((l) => l.session_id === s.session_id);
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l.session_name).toBe(title);
      for (const r of csv.filter((row) => row[1] === s.session_id)) expect(r[2]).toBe(title);
      expect(bundle.entries.get(`transcripts/${s.session_id}.html`)?.toString('utf8')).toContain(`<h1>${title.replaceAll('&', '&amp;')}</h1>`);
      for (const parsed of bundle.rsmf.values()) if (parsed.manifest.eventcollectionid === s.session_id) expect(parsed.manifest.conversations[0]?.display).toBe(title);
    }
  });

  it('puts transcript messages in the document in the order they are shown: no CSS reordering', async () => {
    const bundle = await allSessions();
    const rows = await versions();
    for (const [name, content] of bundle.entries) {
      if (!name.startsWith('transcripts/')) continue;
      const page = content.toString('utf8');
      expect(page).not.toMatch(/[{;\s"]order\s*:/);
      const sessionId = name.slice('transcripts/'.length, -'.html'.length);
      const shown = [...page.matchAll(/<article [^>]*id="m-([^"]+)"/g)].map((m) => htmlDecode(m[1] as string));
      const expected = [...new Set(rows.filter((r) => r.session_id === sessionId).map((r) => r.message_id))];
      expect(shown).toEqual(expected);
    }
  });
});

describe('conformance', () => {
  it('gives review tools nothing to complain about: every .rsmf of every bundle above against the schema and the validator rules', async () => {
    await allSessions();
    expect(bundlesMade.length).toBeGreaterThan(1);
    expect(bundlesMade.flatMap((b) => b.problems)).toEqual([]);
  });
});

describe('the same facts in every format', () => {
  it('agrees on edits, reactions and people across JSONL, CSV, HTML and RSMF and with chat_message_versions', async () => {
    const bundle = await allSessions();
    const rows = await versions();
    const jsonl = new Map(
      (bundle.entries.get('messages.jsonl')?.toString('utf8') ?? '')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { version_id: number; kind: string; action_at: string; raw: Record<string, unknown> })
        .map((l) => [l.version_id, l]),
    );
    const csvRows = parseCsv((bundle.entries.get('messages.csv')?.toString('utf8') ?? '').slice(1));
    const col = (name: string) => csvRows[0]?.indexOf(name) ?? -1;
    const csv = new Map(csvRows.slice(1).map((r) => [Number(r[0]), r]));
    const unquote = (cell: string | undefined) => (cell?.startsWith("'") ? cell.slice(1) : (cell ?? ''));
    expect(jsonl.size).toBe(rows.length);
    expect(csv.size).toBe(rows.length);

    let reactionsChecked = 0;
    for (const [key, group] of groupByMessage(rows)) {
      const first = group[0] as VersionRow;
      const [sessionId, messageId] = key.split('|') as [string, string];
      // Per version: the same kind, time, text, sender and reactions in JSONL and CSV as in the view.
      for (const r of group) {
        const line = jsonl.get(r.version_id);
        expect(line?.kind).toBe(r.kind);
        expect(line?.action_at).toBe(r.action_at);
        expect(line?.raw).toEqual(r.raw);
        const c = csv.get(r.version_id) as string[];
        expect([c[col('kind')], c[col('action_at')], unquote(c[col('body')]), c[col('sender')], unquote(c[col('sender_display_name')]), c[col('sender_member_id')]]).toEqual([
          r.kind,
          r.action_at,
          r.body ?? '',
          r.sender ?? '',
          r.sender_display_name ?? '',
          r.sender_member_id ?? '',
        ]);
        expect(c[col('sender_outside_account')]).toBe((r.sender ?? '') === '' ? 'yes' : 'no');
        expect(csvReactions(c[col('reactions')] ?? '')).toEqual(zoomReactions(r.raw));
      }

      // Per message: RSMF and HTML against the view.
      const edits = reportedEdits(group);
      const { manifest, event } = eventOf(bundle, sessionId, messageId);
      expect((event.edits ?? []).map((e) => e.timestamp)).toEqual(edits.map((e) => e.at));
      const page = bundle.entries.get(`transcripts/${sessionId}.html`)?.toString('utf8') ?? '';
      const article = articleOf(page, messageId);
      const htmlEdits = [...article.matchAll(/<li class="version v-edited"[^>]*data-action-at="([^"]+)"/g)].map((m) => m[1]);
      expect([...new Set(htmlEdits)]).toEqual(edits.map((e) => e.at));
      expect(/DELETED/.test(article)).toBe(group.some((r) => r.kind === 'deleted'));
      expect(event.deleted === true).toBe(group.some((r) => r.kind === 'deleted'));

      // Reactions: those of the latest version that carries them (edited items never do).
      const carrier = [...group].reverse().find((r) => r.kind !== 'edited');
      const expectedReactions = carrier ? zoomReactions(carrier.raw) : [];
      const rsmfReactions = (event.reactions ?? []).map((x) => ({
        count: x.count ?? null,
        members: (x.participants ?? []).map((id) => manifest.participants.find((p) => p.id === id)?.account_id ?? `?${id}`).sort(),
      }));
      expect(rsmfReactions).toEqual(expectedReactions.map((x) => ({ count: x.count, members: x.members })));
      const htmlReactions = [...article.matchAll(/<li class="reaction"[^>]*data-count="(\d*)"[^>]*>([\s\S]*?)<\/li>/g)].map((m) => ({
        count: m[1] === '' ? null : Number(m[1]),
        members: [...(m[2] as string).matchAll(/data-member-id="([^"]+)"/g)].map((x) => htmlDecode(x[1] as string)).sort(),
      }));
      expect(htmlReactions).toEqual(expectedReactions.map((x) => ({ count: x.count, members: x.members })));
      reactionsChecked += expectedReactions.length;

      // People: the sender.
      const sender = manifest.participants.find((p) => p.id === event.participant);
      expect(sender?.account_id).toBe(first.sender_member_id);
      if ((first.sender ?? '') !== '') expect(sender?.email).toBe(first.sender);
      expect(custom(sender?.custom, 'Outside the account') === 'yes').toBe((first.sender ?? '') === '');
      expect(article).toContain(`data-member-id="${first.sender_member_id}"`);
      expect(/outside the account/.test(article.slice(0, article.indexOf('</div>')))).toBe((first.sender ?? '') === '');
    }
    expect(reactionsChecked).toBeGreaterThan(50);
  });
});

interface ReactionFacts {
  value: string;
  count: number | null;
  members: string[];
}

function zoomReactions(raw: Record<string, unknown>): ReactionFacts[] {
  const list = (v: unknown) => (Array.isArray(v) ? (v as Array<Record<string, unknown>>) : []);
  const count = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);
  return [
    ...list(raw['reactions']).map((r) => ({ value: String(r['emoji']), count: count(r['total_count']), members: list(r['member_ids']).map(String).sort() })),
    ...list(raw['custom_emoji_reactions']).map((r) => ({ value: String(r['custom_emoji_name']), count: count(r['total_count']), members: list(r['member_ids']).map(String).sort() })),
  ];
}

/** `👍 ×2: Ada Okafor [id], [id]; :party_parrot: ×1: …` → value (Zoom's code or name), count, member ids. */
function csvReactions(cell: string): ReactionFacts[] {
  if (cell === '') return [];
  return cell.split(/; (?=\S+ (?:×\d+)?)/).map((entry) => {
    const m = /^(\S+) (?:×(\d+))?/.exec(entry);
    const shown = m?.[1] ?? '';
    const code = shown.startsWith(':') && shown.endsWith(':') ? shown.slice(1, -1) : [...shown].map((ch) => `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase()}`).join(' ');
    return { value: code, count: m?.[2] === undefined ? null : Number(m[2]), members: [...entry.matchAll(/\[([^\]]+)\]/g)].map((x) => x[1] as string).sort() };
  });
}
