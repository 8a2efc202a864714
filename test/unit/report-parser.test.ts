import { describe, expect, it } from 'vitest';
import { hasUnpairedSurrogateEscape, parseMessagePage, parseSessionPage, readEpochMs } from '../../src/zoom/report-parser.js';

describe('parseMessagePage', () => {
  it('keys versions from all three arrays and keeps each raw item', () => {
    const body = JSON.stringify({
      next_page_token: 'next',
      messages: [{ id: 'a', message: 'hi', timestamp: 1000, extra: { keep: true } }],
      edited_messages: [{ id: 'a', message: 'hi!', timestamp: '1000', action_timestamp: '2000' }],
      deleted_messages: [{ id: 'a', message: 'hi!', date_time: '2026-01-01T00:00:00Z', action_timestamp: 3000 }],
    });
    const page = parseMessagePage(body);
    expect(page.nextPageToken).toBe('next');
    expect(page.versions.map((v) => [v.kind, v.messageId, v.actionMs, v.sentMs])).toEqual([
      ['original', 'a', 1000, 1000],
      ['edited', 'a', 2000, 1000],
      ['deleted', 'a', 3000, Date.parse('2026-01-01T00:00:00Z')],
    ]);
    expect(JSON.parse(page.versions[0]!.rawJson)).toEqual({ id: 'a', message: 'hi', timestamp: 1000, extra: { keep: true } });
  });

  it('tolerates missing optional arrays and fields, and an absent next_page_token', () => {
    const page = parseMessagePage('{"messages":[{"id":"a","timestamp":1}]}');
    expect(page.versions).toHaveLength(1);
    expect(page.nextPageToken).toBe('');
  });

  it('reports unkeyable items as malformed instead of dropping them', () => {
    const page = parseMessagePage('{"messages":[{"id":"","timestamp":1},{"id":"x"},{"id":"y","timestamp":"soon"},[1,2]],"edited_messages":{"oops":1}}');
    expect(page.versions).toHaveLength(0);
    expect(page.malformed.map((m) => m.reason)).toEqual([
      'missing or unusable message id',
      'no usable action_timestamp, timestamp or date_time',
      'no usable action_timestamp, timestamp or date_time',
      'item is not a JSON object',
      'edited_messages is not an array',
    ]);
  });

  it('sends an item PostgreSQL cannot store (unpaired surrogate) to the malformed list', () => {
    const page = parseMessagePage(String.raw`{"messages":[{"id":"a","timestamp":1,"message":"\ud800x"},{"id":"b","timestamp":1,"message":"\ud83d\ude00 \\ud800"}]}`);
    expect(page.versions.map((v) => v.messageId)).toEqual(['b']);
    expect(page.malformed[0]?.reason).toMatch(/surrogate/);
    expect(hasUnpairedSurrogateEscape(String.raw`"\udc00"`)).toBe(true);
  });

  it('stores U+0000 in keyed fields as the six characters, like in the raw JSON', () => {
    const nul = '\\u0000'; // the six characters backslash, u, 0, 0, 0, 0
    const page = parseMessagePage(`{"messages":[{"id":"a${nul}b","timestamp":1}]}`);
    expect(page.versions[0]?.messageId).toBe(`a${nul}b`);
    expect(JSON.parse(page.versions[0]!.rawJson).id).toBe(`a${nul}b`);
    const sessions = parseSessionPage(`{"sessions":[{"id":"s${nul}","name":"n${nul}","member_emails":["x${nul}@y.com"]}]}`);
    expect(sessions.sessions[0]).toMatchObject({ sessionId: `s${nul}`, name: `n${nul}`, memberEmails: [`x${nul}@y.com`] });
  });

  it('rejects a body that is not a JSON object with a typed error', () => {
    expect(() => parseMessagePage('<html>')).toThrow(expect.objectContaining({ code: 'ZOOM_INVALID_RESPONSE' }));
    expect(() => parseMessagePage('[]')).toThrow(expect.objectContaining({ code: 'ZOOM_INVALID_RESPONSE' }));
  });

  it('reads epoch milliseconds from numbers and digit strings only', () => {
    expect(readEpochMs(1647494500135)).toBe(1647494500135);
    expect(readEpochMs('1647494500135')).toBe(1647494500135);
    expect(readEpochMs('abc')).toBeUndefined();
    expect(readEpochMs(-5)).toBeUndefined();
    expect(readEpochMs(null)).toBeUndefined();
  });
});

describe('parseSessionPage', () => {
  it('reads sessions defensively', () => {
    const page = parseSessionPage(
      JSON.stringify({
        next_page_token: '',
        sessions: [
          { id: 's1', type: '1:1', name: '', member_emails: ['a@x.com', 'b@x.com'], has_external_member: 'true', last_message_sent_time: '2026-03-18T10:16:13Z' },
          { id: 's2', type: 'Group', name: 'Channel', channel_id: 'c', status: 'active' },
          { name: 'no id' },
        ],
      }),
    );
    expect(page.sessions.map((s) => [s.sessionId, s.type, s.memberEmails, s.hasExternalMember, s.lastMessageSentAt?.toISOString() ?? null])).toEqual([
      ['s1', '1:1', ['a@x.com', 'b@x.com'], true, '2026-03-18T10:16:13.000Z'],
      ['s2', 'Group', null, null, null],
    ]);
    expect(page.malformed).toHaveLength(1);
  });
});
