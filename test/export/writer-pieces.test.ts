import { describe, expect, it } from 'vitest';
import { emojiOf, topLevelArrayText } from '../../src/export/reactions.js';
import { encodeName, formatAddressHeader, formatHeader, formatParticipantsHeader } from '../../src/export/writers/rsmf-mime.js';
import { rsmfDisplay } from '../../src/export/writers/rsmf.js';
import { decodeHeaderValue } from './rsmf-conformance.js';

// Pieces of the export writers on their own — the RFC 5322 / 2047 headers of the RSMF wrapper,
// emoji, finding reactions in raw JSON — (the export tests check whole bundles). No database and no
// simulator: these are pure functions.

const valueOf = (header: string) => decodeHeaderValue(header.slice(header.indexOf(':') + 1).replace(/^ /, ''));
const lines = (header: string) => header.split('\r\n');

describe('RSMF headers', () => {
  it('folds a 1,000-character subject so no line passes 998 octets, and it reads back exactly', () => {
    const words = `Quarterly ${'planning and follow-up notes '.repeat(30)}`.trimEnd();
    const withRun = `${words} https://example.com/${'a1b2c3d4e5'.repeat(12)} end`;
    for (const subject of [words, withRun, 'Café ☕ — ünïcödé', '  leading and double  spaces']) {
      const header = formatHeader('Subject', subject);
      for (const line of lines(header)) expect(line.length).toBeLessThanOrEqual(78);
      expect(valueOf(header)).toBe(subject);
    }
  });

  it('keeps each name of X-RSMF-Participants whole: at most two encoded words, one per line, never cut after a space', () => {
    const names = [
      'Ada Okafor',
      rsmfDisplay('Doe, Jane'),
      'Tomás García',
      // Cut at 45 bytes would end the first word on the space after "Ångström-Þórsdóttir".
      'Zoë Müller Ångström-Þórsdóttir Øverbø-Łukasiewicz',
      'Bo Park Ångström-Þórsdóttir Øverbø-Łukasiewicz Żółkiewska-Dąbrowska 山田太郎',
      '山田太郎'.repeat(20),
    ];
    const header = formatParticipantsHeader(names);
    for (const line of lines(header)) {
      expect(line.length).toBeLessThanOrEqual(998);
      expect(line).not.toMatch(/\?=[ \t]+=\?/);
    }
    expect(valueOf(header).split(',').map((s) => s.trim())).toEqual(names);
    for (const name of names) {
      const words = encodeName(name);
      expect(words.length).toBeLessThanOrEqual(2);
      const parts = words.map((w) => decodeHeaderValue(w));
      expect(parts.join('')).toBe(name);
      expect(parts[0]).not.toMatch(/\s$/);
      if (Buffer.byteLength(name) <= 90) for (const w of words) expect(w.length).toBeLessThanOrEqual(75);
    }
  });

  it('writes addresses with quoted or encoded names', () => {
    const header = formatAddressHeader('To', [
      { display: 'J. "JD" Doe', email: 'jd@example.com' },
      { display: 'Zoë', email: 'zoe@example.com' },
    ]);
    expect(header).toBe('To: "J. \\"JD\\" Doe" <jd@example.com>, =?utf-8?b?Wm/Dqw==?= <zoe@example.com>');
    expect(formatAddressHeader('To', [])).toBe('To: undisclosed-recipients:;');
  });

  it('makes a display that survives the participants header: no comma, no line break, no surrounding space, at most 256 characters', () => {
    expect(rsmfDisplay('Doe, Jane')).toBe('Doe\u201a Jane');
    expect(rsmfDisplay('  Ada\r\nOkafor\t')).toBe('Ada Okafor');
    expect([...rsmfDisplay('x'.repeat(300))]).toHaveLength(256);
  });
});

describe('emoji', () => {
  it('turns Zoom code points into the emoji, skin-tone sequences included, and leaves anything else alone', () => {
    expect(emojiOf('U+1F44D')).toBe('👍');
    expect(emojiOf('U+1F44D U+1F3FB')).toBe('👍🏻');
    expect(emojiOf('U+1F44DU+1F3FB')).toBe('👍🏻');
    expect(emojiOf('U+2764')).toBe('❤');
    expect(emojiOf('U+D800')).toBe('U+D800');
    expect(emojiOf('U+110000')).toBe('U+110000');
    expect(emojiOf('thumbs up')).toBe('thumbs up');
  });
});

describe('reactions in raw JSON', () => {
  it('finds a top-level array without parsing the item, whatever the strings around it hold', () => {
    const item = {
      id: 'x',
      message: 'a "quoted" \\ back\\slash, [brackets] {braces} and "reactions": [1]',
      nested: { reactions: [9], deeper: [{ reactions: [8] }] },
      reactions: [{ emoji: 'U+1F44D', member_ids: ['a"b', 'c]d'] }],
      custom_emoji_reactions: [],
      tail: 'x',
    };
    for (const raw of [JSON.stringify(item), JSON.stringify(item, null, 1), JSON.stringify(item).replace(/":/g, '": ')]) {
      expect(JSON.parse(topLevelArrayText(raw, 'reactions') as string)).toEqual(item.reactions);
      expect(JSON.parse(topLevelArrayText(raw, 'custom_emoji_reactions') as string)).toEqual([]);
      expect(topLevelArrayText(raw, 'deeper')).toBeUndefined();
      expect(topLevelArrayText(raw, 'tail')).toBeUndefined();
      expect(topLevelArrayText(raw, 'absent')).toBeUndefined();
    }
    expect(topLevelArrayText('{"nested": {"reactions": [1]}}', 'reactions')).toBeUndefined();
    expect(topLevelArrayText('{"reactions": [1, [2', 'reactions')).toBeUndefined();
  });
});
