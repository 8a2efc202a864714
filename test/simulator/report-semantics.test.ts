import { describe, expect, it } from 'vitest';
import { generateDataset, listSessionsIn, type SimDataset, type SimSession } from '../../src/simulator/index.js';
import { messageId } from '../../src/simulator/message-content.js';
import { ALL_INCLUDED, HORIZON_START, NOW, TODAY, fetchAllPages, horizonWindows, listAllSessions, startTestSim } from './helpers.js';

const DAY_MS = 86_400_000;
const dayStart = (d: string) => Date.parse(`${d}T00:00:00.000Z`);
const dayEnd = (d: string) => dayStart(d) + DAY_MS - 1;

type Item = Record<string, unknown>;
const parse = (items: string[]) => items.map((s) => JSON.parse(s) as Item);

/** Messages of a session sent in [from, to], straight from the dataset arrays (no simulator code). */
function sentIn(ds: SimDataset, s: SimSession, from: string, to: string): number[] {
  const out: number[] = [];
  for (let m = s.firstMessage; m < s.firstMessage + s.messageCount; m++) {
    const t = ds.messages.sentMs[m]!;
    if (t >= dayStart(from) && t <= dayEnd(to)) out.push(m);
  }
  return out;
}

describe('session listing modes', () => {
  const dataset = generateDataset({ seed: 8, now: NOW, sessions: 40, totalMessages: 1600 });
  const from = '2026-08-01';
  const to = '2026-08-31';

  it('every-active-window lists each session with a message sent in the window', async () => {
    const t = await startTestSim({ dataset });
    const expected = dataset.sessions.filter((s) => sentIn(dataset, s, from, to).length > 0).map((s) => s.id);
    expect(expected.length).toBeGreaterThan(3);
    expect(await listAllSessions(t, from, to)).toEqual(expected);
  });

  it('last-activity-window lists each session whose latest send falls in the window', async () => {
    const t = await startTestSim({ dataset, sessionListing: 'last-activity-window' });
    const expected = dataset.sessions.filter((s) => s.lastMessageSentMs >= dayStart(from) && s.lastMessageSentMs <= dayEnd(to)).map((s) => s.id);
    expect(await listAllSessions(t, from, to)).toEqual(expected);
    // The modes really differ: sessions active in August that kept talking are only in the first.
    expect(listSessionsIn(dataset, from, to, 'every-active-window').length).toBeGreaterThan(expected.length);
  });

  it('describes sessions per spec: 1:1 with member_emails and no status, groups with channel_id and status', async () => {
    const t = await startTestSim({ dataset });
    const res = await t.get('/report/chat/sessions', { from: '2026-10-22', to: TODAY, page_size: 300 });
    const sessions = res.json['sessions'] as Item[];
    for (const s of sessions) {
      expect(s['id']).toMatch(/^[0-9a-f]{64}$/);
      expect(s['last_message_sent_time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(typeof s['has_external_member']).toBe('boolean');
      if (s['type'] === '1:1') {
        expect(s['name']).toBe('');
        expect((s['member_emails'] as string[]).length).toBe(2);
        expect(s).not.toHaveProperty('status');
        expect(s).not.toHaveProperty('channel_id');
      } else {
        expect(s['type']).toBe('Group');
        expect(s['channel_id']).toEqual(expect.any(String));
        expect(['active', 'deleted']).toContain(s['status']);
        expect(s).not.toHaveProperty('member_emails');
      }
    }
    // Deleted channels are still reported, with their status.
    const statuses = new Set<unknown>();
    for (const w of horizonWindows(HORIZON_START, TODAY)) {
      const r = await t.get('/report/chat/sessions', { from: w.from, to: w.to, page_size: 300 });
      for (const s of r.json['sessions'] as Item[]) statuses.add(s['status']);
    }
    expect(statuses).toContain('deleted');
  });
});

describe('message report', () => {
  const dataset = generateDataset({ seed: 21, now: NOW, sessions: 30, totalMessages: 2000, editProbability: 0.25, deleteProbability: 0.08, quirks: 'all' });

  it('serves messages sent in the window, not deleted, in their latest state', async () => {
    const t = await startTestSim({ dataset });
    const from = '2026-10-22';
    for (const s of dataset.sessions.slice(0, 10)) {
      const { items } = await fetchAllPages(t, s.id, { from, to: TODAY, page_size: 100 });
      const expected = sentIn(dataset, s, from, TODAY).filter((m) => dataset.messages.deletedMs[m] === 0);
      const served = parse(items.messages);
      expect(served.length).toBe(expected.length);
      served.forEach((item, i) => {
        const m = expected[i]!;
        if ('id' in item) expect(item['id']).toBe(messageId(dataset, m));
        if (item['timestamp'] === 'abc') return;
        expect(Number(item['timestamp'])).toBe(dataset.messages.sentMs[m]);
        const edits = dataset.messages.editCount[m]!;
        const lastEdit = edits > 0 ? dataset.editMs[dataset.messages.editStart[m]! + edits - 1] : dataset.messages.sentMs[m];
        expect(Number(item['action_timestamp'])).toBe(lastEdit);
      });
    }
  });

  it('selects edits and deletions by when they happened with query_all_modifications=true, by send time otherwise', async () => {
    const t = await startTestSim({ dataset });
    // An edit in the last month of a message sent months earlier.
    const late = findLateEdit(dataset, '2026-10-22');
    expect(late).toBeDefined();
    const { session, m, editMs } = late!;
    const query = (from: string, to: string, qam: boolean) => ({ from, to, page_size: 100, include_fields: 'edited_messages,deleted_messages', query_all_modifications: String(qam) });
    const editsOf = async (from: string, to: string, qam: boolean) =>
      parse((await fetchAllPages(t, session.id, query(from, to, qam))).items.edited).filter((e) => e['id'] === messageId(dataset, m));
    const sentDay = new Date(dataset.messages.sentMs[m]!).toISOString().slice(0, 10);

    const byActionTime = await editsOf('2026-10-22', TODAY, true);
    expect(byActionTime.map((e) => Number(e['action_timestamp']))).toContain(editMs);
    expect((await editsOf('2026-10-22', TODAY, false)).map((e) => Number(e['action_timestamp']))).not.toContain(editMs);
    expect((await editsOf(sentDay, sentDay, false)).map((e) => Number(e['action_timestamp']))).toContain(editMs);
    expect((await editsOf(sentDay, sentDay, true)).map((e) => Number(e['action_timestamp']))).not.toContain(editMs);
    // The edited entry keeps the original send time.
    expect(Number(byActionTime[0]!['timestamp'])).toBe(dataset.messages.sentMs[m]);
  });

  it('puts edited/deleted arrays only on the first page by default, or on every page', async () => {
    const s = busiestWithChanges(dataset, '2026-10-22');
    const query = { from: '2026-10-22', to: TODAY, page_size: 3, include_fields: 'edited_messages,deleted_messages', query_all_modifications: 'true' };
    for (const mode of ['first-page', 'every-page'] as const) {
      const t = await startTestSim({ dataset, modificationsPaging: mode });
      const first = await t.get(`/report/chat/sessions/${s.id}`, query);
      const second = await t.get(`/report/chat/sessions/${s.id}`, { ...query, next_page_token: String(first.json['next_page_token']) });
      const firstCount = (first.json['edited_messages'] as unknown[]).length + (first.json['deleted_messages'] as unknown[]).length;
      expect(firstCount).toBeGreaterThan(0);
      if (mode === 'first-page') {
        expect(second.json['edited_messages']).toEqual([]);
        expect(second.json['deleted_messages']).toEqual([]);
      } else {
        expect(second.json['edited_messages']).toEqual(first.json['edited_messages']);
        expect(second.json['deleted_messages']).toEqual(first.json['deleted_messages']);
      }
    }
  });

  it('returns the arrays include_fields asks for and the optional parts only with their include flag', async () => {
    const t = await startTestSim({ dataset });
    const s = busiestWithChanges(dataset, '2026-10-22');
    const base = { from: '2026-10-22', to: TODAY, page_size: 100 };
    const plain = await t.get(`/report/chat/sessions/${s.id}`, base);
    expect(plain.json).not.toHaveProperty('edited_messages');
    expect(plain.json).not.toHaveProperty('deleted_messages');
    const editedOnly = await t.get(`/report/chat/sessions/${s.id}`, { ...base, include_fields: 'edited_messages' });
    expect(editedOnly.json).toHaveProperty('edited_messages');
    expect(editedOnly.json).not.toHaveProperty('deleted_messages');

    const keysIn = (items: Item[]) => new Set(items.flatMap((i) => Object.keys(i)));
    const off = new Set<string>();
    const on = new Set<string>();
    for (const session of dataset.sessions) {
      const a = await fetchAllPages(t, session.id, { ...base, include_fields: 'edited_messages,deleted_messages', query_all_modifications: 'true' });
      const b = await fetchAllPages(t, session.id, { ...base, ...ALL_INCLUDED, query_all_modifications: 'true' });
      for (const k of keysIn(parse([...a.items.messages, ...a.items.edited, ...a.items.deleted]))) off.add(k);
      for (const k of keysIn(parse(b.items.messages))) on.add(k);
      for (const e of parse(b.items.edited)) for (const k of ['reactions', 'custom_emoji_reactions', 'bot_message']) expect(e).not.toHaveProperty(k);
      for (const d of parse(b.items.deleted)) expect(d).not.toHaveProperty('bot_message');
    }
    for (const k of ['reactions', 'custom_emoji_reactions', 'bot_message']) {
      expect(off.has(k)).toBe(false);
      expect(on.has(k)).toBe(true);
    }
    for (const k of ['files', 'reply_main_message_id', 'reply_main_message_timestamp', 'rich_text', 'forward_id', 'giphy_information']) expect(on.has(k)).toBe(true);
  });

  it('shows the quirks: 1:1 fields, empty sender for externals, numbers as strings, U+0000, long bodies, unknown keys', async () => {
    const t = await startTestSim({ dataset });
    const raw: Array<{ session: SimSession; json: string }> = [];
    for (const session of dataset.sessions) {
      for (const w of horizonWindows(HORIZON_START, TODAY)) {
        const { items } = await fetchAllPages(t, session.id, { from: w.from, to: w.to, page_size: 100 });
        for (const json of items.messages) raw.push({ session, json });
      }
    }
    const items = raw.map((r) => ({ ...r, item: JSON.parse(r.json) as Item }));
    for (const { session, item } of items) {
      expect('receiver' in item).toBe(session.type === '1:1');
      expect('is_sender_external' in item).toBe(session.type === '1:1');
    }
    const external = items.filter(({ item }) => item['is_sender_external'] === true);
    expect(external.length).toBeGreaterThan(0);
    expect(external.every(({ item }) => item['sender'] === '' && typeof item['sender_member_id'] === 'string')).toBe(true);
    expect(items.some(({ item }) => typeof item['timestamp'] === 'string' && item['timestamp'] !== 'abc')).toBe(true);
    expect(items.some(({ json }) => json.includes('\\u0000'))).toBe(true);
    expect(items.some(({ item }) => String(item['message']).length === 20_000)).toBe(true);
    expect(items.some(({ item }) => 'zm_sim_meta' in item)).toBe(true);
    expect(items.filter(({ item }) => !('id' in item)).length).toBe(1);
    expect(items.filter(({ item }) => item['timestamp'] === 'abc').length).toBe(1);
  });

  it('shows the account as of the clock: nothing sent, edited or deleted later is visible', async () => {
    const asOf = NOW.getTime() - 3 * DAY_MS;
    const t = await startTestSim({ dataset, now: new Date(asOf) });
    const today = new Date(asOf).toISOString().slice(0, 10);
    const listing = await t.get('/report/chat/sessions', { from: '2026-10-19', to: today, page_size: 300 });
    for (const s of listing.json['sessions'] as Item[]) expect(Date.parse(String(s['last_message_sent_time']))).toBeLessThanOrEqual(asOf);
    let checked = 0;
    for (const s of dataset.sessions) {
      const { items } = await fetchAllPages(t, s.id, { from: '2026-10-19', to: today, page_size: 100, include_fields: 'edited_messages,deleted_messages', query_all_modifications: 'true' });
      for (const item of parse([...items.messages, ...items.edited, ...items.deleted])) {
        if (item['timestamp'] === 'abc') continue;
        expect(Number(item['action_timestamp'])).toBeLessThanOrEqual(asOf);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });
});

function findLateEdit(ds: SimDataset, after: string): { session: SimSession; m: number; editMs: number } | undefined {
  for (const session of ds.sessions) {
    for (let m = session.firstMessage; m < session.firstMessage + session.messageCount; m++) {
      const sent = ds.messages.sentMs[m]!;
      if (sent >= dayStart('2026-09-01') || sent < dayStart('2026-05-21')) continue;
      for (let e = 0; e < ds.messages.editCount[m]!; e++) {
        const at = ds.editMs[ds.messages.editStart[m]! + e]!;
        if (at >= dayStart(after) && at <= dayEnd(TODAY)) return { session, m, editMs: at };
      }
    }
  }
  return undefined;
}

/** A session with several messages and some edit or deletion inside [from, TODAY]. */
function busiestWithChanges(ds: SimDataset, from: string): SimSession {
  const score = (s: SimSession) => {
    const mods = Array.from(ds.modifications.actionMs.subarray(s.firstModification, s.firstModification + s.modificationCount)).filter((t) => t >= dayStart(from)).length;
    return mods > 0 ? sentIn(ds, s, from, TODAY).length : -1;
  };
  return ds.sessions.reduce((a, b) => (score(b) > score(a) ? b : a));
}
