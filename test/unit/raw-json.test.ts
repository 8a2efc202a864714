import { describe, expect, it } from 'vitest';
import { extractRawArrays } from '../../src/zoom/raw-json.js';
import { escapeNulInJsonText, escapeNulInString } from '../../src/util/nul.js';

describe('extractRawArrays', () => {
  it('returns each element exactly as it appears in the body', () => {
    const body = `{ "from":"2026-01-01", "messages" : [ {"id":"a","n":12345678901234567890,"s":"1"} ,\n {"id":"b","nested":{"x":[1,{"y":"]}"}]}} ], "next_page_token":"" }`;
    const found = extractRawArrays(body, ['messages', 'edited_messages']);
    expect(found.get('messages')).toEqual(['{"id":"a","n":12345678901234567890,"s":"1"}', '{"id":"b","nested":{"x":[1,{"y":"]}"}]}}']);
    expect(found.has('edited_messages')).toBe(false);
  });

  it('handles escaped quotes and backslashes inside strings', () => {
    const body = String.raw`{"messages":[{"m":"a \"quoted\" ] } \\"},{"m":"\\\\"}]}`;
    expect(extractRawArrays(body, ['messages']).get('messages')).toEqual([String.raw`{"m":"a \"quoted\" ] } \\"}`, String.raw`{"m":"\\\\"}`]);
  });

  it('handles empty arrays, scalars and a repeated key like JSON.parse (last wins)', () => {
    expect(extractRawArrays('{"messages":[]}', ['messages']).get('messages')).toEqual([]);
    expect(extractRawArrays('{"messages":[1,"x",null,true]}', ['messages']).get('messages')).toEqual(['1', '"x"', 'null', 'true']);
    expect(extractRawArrays('{"messages":[1],"messages":[2]}', ['messages']).get('messages')).toEqual(['2']);
    expect(extractRawArrays('{"messages":[1],"messages":null}', ['messages']).has('messages')).toBe(false);
  });

  it('agrees with JSON.parse on element count for a large generated body', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ id: `m${i}`, message: `text "${i}" \\ ] } [ {`, files: [{ a: i }] }));
    const body = JSON.stringify({ messages: items, edited_messages: items.slice(0, 3) });
    const found = extractRawArrays(body, ['messages', 'edited_messages']);
    expect(found.get('messages')?.map((t) => JSON.parse(t))).toEqual(items);
    expect(found.get('edited_messages')).toHaveLength(3);
  });
});

describe('U+0000 handling', () => {
  it('turns \\u0000 escapes into the six characters and leaves everything else alone', () => {
    expect(JSON.parse(escapeNulInJsonText(String.raw`"a\u0000b"`))).toBe(String.raw`a\u0000b`);
    // An escaped backslash followed by u0000 is already six characters: untouched.
    expect(escapeNulInJsonText(String.raw`"a\\u0000b"`)).toBe(String.raw`"a\\u0000b"`);
    expect(JSON.parse(escapeNulInJsonText(String.raw`"\\\u0000"`))).toBe(String.raw`\\u0000`);
    expect(escapeNulInJsonText(String.raw`"\u00001 \u0001"`)).toBe(String.raw`"\\u00001 \u0001"`);
    expect(escapeNulInString('a\u0000b\u0000')).toBe(String.raw`a\u0000b\u0000`);
  });
});
