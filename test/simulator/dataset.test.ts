import { describe, expect, it } from 'vitest';
import { countMessagesIn, generateDataset, listSessionsIn, summariseSessions, type SimDataset } from '../../src/simulator/index.js';
import { LONG_SESSION_NAME_LENGTH } from '../../src/simulator/dataset.js';
import { messageCustomEmojiReactions, messageReactions, messageText } from '../../src/simulator/message-content.js';
import { ALL_INCLUDES, serialiseMessage, serialiseSession } from '../../src/simulator/serialise.js';
import { HORIZON_START, NOW, TODAY } from './helpers.js';

const DAY_MS = 86_400_000;
const horizonStartMs = Date.parse(`${HORIZON_START}T00:00:00Z`);

/** Everything observable about a dataset, as text. */
function fingerprint(ds: SimDataset): string {
  const parts: string[] = [JSON.stringify(summariseSessions(ds)), JSON.stringify(ds.users)];
  for (const arr of Object.values(ds.messages)) parts.push(Buffer.from((arr as Uint8Array).buffer).toString('base64'));
  parts.push(Buffer.from(ds.editMs.buffer).toString('base64'));
  for (let m = 0; m < ds.messageCount; m += 7) parts.push(serialiseMessage(ds, m, 'original', 0, ds.messages.sentMs[m]!, ALL_INCLUDES));
  for (const s of ds.sessions) parts.push(serialiseSession(s, s.lastMessageSentMs));
  return parts.join('\n');
}

describe('generateDataset', () => {
  it('is deterministic for a seed and a now, and changes with the seed', () => {
    const options = { seed: 99, now: NOW, sessions: 30, totalMessages: 1200, quirks: 'all' as const };
    expect(fingerprint(generateDataset(options))).toBe(fingerprint(generateDataset(options)));
    expect(fingerprint(generateDataset({ ...options, seed: 100 }))).not.toBe(fingerprint(generateDataset(options)));
  });

  it('keeps every event at or before now, sends strictly ordered per session, changes after their message', () => {
    const ds = generateDataset({ seed: 3, now: NOW, sessions: 50, totalMessages: 5000, editProbability: 0.3, deleteProbability: 0.1 });
    expect(ds.messageCount).toBe(5000);
    expect(ds.sessions.reduce((n, s) => n + s.messageCount, 0)).toBe(5000);
    for (const s of ds.sessions) {
      for (let m = s.firstMessage; m < s.firstMessage + s.messageCount; m++) {
        const sent = ds.messages.sentMs[m]!;
        expect(sent).toBeLessThanOrEqual(NOW.getTime());
        if (m > s.firstMessage) expect(sent).toBeGreaterThan(ds.messages.sentMs[m - 1]!);
        let last = sent;
        for (let e = 0; e < ds.messages.editCount[m]!; e++) {
          const at = ds.editMs[ds.messages.editStart[m]! + e]!;
          expect(at).toBeGreaterThan(last);
          last = at;
        }
        const deleted = ds.messages.deletedMs[m]!;
        if (deleted !== 0) expect(deleted).toBeGreaterThan(last);
        expect(Math.max(last, deleted)).toBeLessThanOrEqual(NOW.getTime());
      }
      const mods = Array.from(ds.modifications.actionMs.subarray(s.firstModification, s.firstModification + s.modificationCount));
      expect(mods).toEqual([...mods].sort((a, b) => a - b));
    }
  });

  it('has the cases an archiver must get right', () => {
    const ds = generateDataset({ seed: 1, now: NOW, sessions: 40, totalMessages: 2000 });
    const profiles = new Set(ds.sessions.map((s) => s.profile));
    expect(profiles).toEqual(new Set(['regular', 'quiet', 'dormant']));
    expect(ds.sessions.some((s) => s.status === 'deleted')).toBe(true);
    expect(new Set(ds.sessions.map((s) => s.type))).toEqual(new Set(['Group', '1:1']));
    // Messages older than the horizon, and edits of such messages made inside it.
    expect(ds.messages.sentMs.some((t) => t < horizonStartMs)).toBe(true);
    let oldEditedInside = 0;
    let multiEdited = 0;
    for (let m = 0; m < ds.messageCount; m++) {
      if (ds.messages.editCount[m]! >= 2) multiEdited++;
      if (ds.messages.sentMs[m]! >= horizonStartMs) continue;
      const start = ds.messages.editStart[m]!;
      for (let e = 0; e < ds.messages.editCount[m]!; e++) if (ds.editMs[start + e]! >= horizonStartMs) oldEditedInside++;
    }
    expect(oldEditedInside).toBeGreaterThan(0);
    expect(multiEdited).toBeGreaterThan(0);
    // Quiet sessions: nothing sent for two months, but edited or deleted in the last month.
    const quiet = ds.sessions.filter((s) => s.profile === 'quiet');
    expect(quiet.every((s) => s.lastMessageSentMs < NOW.getTime() - 59 * DAY_MS)).toBe(true);
    expect(quiet.some((s) => s.lastActivityMs > NOW.getTime() - 31 * DAY_MS)).toBe(true);
    // Sessions whose only activity is months ago.
    expect(ds.sessions.some((s) => s.profile === 'dormant' && s.lastActivityMs < NOW.getTime() - 120 * DAY_MS)).toBe(true);
  });

  it('validates its options', () => {
    expect(() => generateDataset({ seed: 1, now: NOW, sessions: 0 })).toThrow(RangeError);
    expect(() => generateDataset({ seed: 1, now: NOW, sessions: 10, totalMessages: 5 })).toThrow(/totalMessages/);
    expect(() => generateDataset({ seed: 1, now: NOW, editProbability: 2 })).toThrow(/editProbability/);
    expect(() => generateDataset({ seed: 1.5, now: NOW })).toThrow(/seed/);
    expect(() => generateDataset({ seed: 1, now: new Date('nope') })).toThrow(/now/);
    expect(() => generateDataset({ seed: 1, now: NOW, quirks: { nulInBody: 3 } })).toThrow(/nulInBody/);
  });

  it('adds content that stresses exports only when asked, changing nothing else', () => {
    const base = { seed: 41, now: NOW, sessions: 30, totalMessages: 1500, editProbability: 0.3, reactionProbability: 0.3, customEmojiProbability: 0.3 };
    const plain = generateDataset(base);
    expect(fingerprint(generateDataset({ ...base, unchangedEditProbability: 0, awkwardContent: false }))).toBe(fingerprint(plain));
    const awkward = generateDataset({ ...base, unchangedEditProbability: 0.5, awkwardContent: true });
    expect(fingerprint(awkward)).toBe(fingerprint(generateDataset({ ...base, unchangedEditProbability: 0.5, awkwardContent: true })));
    // The same timeline and people; only names and message content differ.
    expect(Buffer.from(awkward.messages.sentMs.buffer)).toEqual(Buffer.from(plain.messages.sentMs.buffer));
    expect(awkward.users.map((u) => u.email)).toEqual(plain.users.map((u) => u.email));
    expect(awkward.users[2]?.displayName).toMatch(/^\S+, \S+$/);
    expect(Buffer.byteLength(awkward.users[3]?.displayName ?? '')).toBeGreaterThan(90);
    expect(awkward.sessions.filter((s) => s.name.length === LONG_SESSION_NAME_LENGTH).map((s) => [s.type, s.profile])).toEqual([['Group', 'regular']]);
    let unchanged = 0;
    let changed = 0;
    let skinTone = 0;
    let longCustom = 0;
    for (let m = 0; m < awkward.messageCount; m++) {
      for (let v = 1; v <= awkward.messages.editCount[m]!; v++) {
        if (messageText(awkward, m, v) === messageText(awkward, m, v - 1)) unchanged++;
        else changed++;
      }
      const session = awkward.sessions[awkward.messages.sessionIndex[m]!]!;
      if (JSON.stringify(messageReactions(awkward, session, m)).includes('U+1F3F')) skinTone++;
      if (JSON.stringify(messageCustomEmojiReactions(awkward, session, m)).includes('quarterly_numbers_look_great_well_done_team')) longCustom++;
    }
    expect(unchanged).toBeGreaterThan(0);
    expect(changed).toBeGreaterThan(0);
    expect(skinTone).toBeGreaterThan(0);
    expect(longCustom).toBeGreaterThan(0);
    expect(() => generateDataset({ ...base, unchangedEditProbability: 1.5 })).toThrow(/unchangedEditProbability/);
  });

  it('generates 500k messages in a few seconds and little memory', () => {
    const before = process.memoryUsage().heapUsed;
    const started = performance.now();
    const ds = generateDataset({ seed: 2, now: NOW, sessions: 5000, totalMessages: 500_000 });
    const elapsedMs = performance.now() - started;
    expect(ds.messageCount + ds.editCount + ds.deletionCount).toBeGreaterThan(500_000);
    expect(elapsedMs).toBeLessThan(5000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 * 1024);
    // Selecting one window of one session is a binary search, not a scan.
    const s = ds.sessions[0]!;
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) countMessagesIn(ds, s.id, '2026-10-22', TODAY);
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe('benchmark helpers', () => {
  const ds = generateDataset({ seed: 6, now: NOW, sessions: 30, totalMessages: 1500 });

  it('listSessionsIn and countMessagesIn agree with the raw data', () => {
    const from = '2026-09-01';
    const to = '2026-09-30';
    const listed = listSessionsIn(ds, from, to, 'every-active-window');
    const inWindow = (t: number) => t >= Date.parse(`${from}T00:00:00Z`) && t < Date.parse(`${to}T00:00:00Z`) + DAY_MS;
    for (const s of ds.sessions) {
      let sent = 0;
      let served = 0;
      for (let m = s.firstMessage; m < s.firstMessage + s.messageCount; m++) {
        if (!inWindow(ds.messages.sentMs[m]!)) continue;
        sent++;
        if (ds.messages.deletedMs[m] === 0) served++;
      }
      expect(listed.includes(s)).toBe(sent > 0);
      expect(countMessagesIn(ds, s.id, from, to)).toBe(served);
    }
    expect(listSessionsIn(ds, from, to, 'last-activity-window').every((s) => inWindow(s.lastMessageSentMs))).toBe(true);
    expect(() => countMessagesIn(ds, 'nope', from, to)).toThrow(/unknown session/);
  });

  it('summarises sessions with their last activity', () => {
    const summary = summariseSessions(ds);
    expect(summary).toHaveLength(30);
    expect(summary[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      type: expect.stringMatching(/^(Group|1:1)$/),
      status: expect.stringMatching(/^(active|deleted)$/),
      profile: expect.any(String),
      messageCount: expect.any(Number),
      modificationCount: expect.any(Number),
      lastMessageSentAt: expect.stringMatching(/Z$/),
      lastActivityAt: expect.stringMatching(/Z$/),
    });
  });
});
