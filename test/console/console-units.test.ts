import { describe, expect, it } from 'vitest';
import { bodyBox, html, isLinkableUrl, link, queryWords, renderBody, toText } from '../../src/console/html.js';
import { diffWords, renderDiff } from '../../src/console/word-diff.js';

// The console's HTML helpers and its word diff, without a server.

describe('html', () => {
  it('escapes every interpolated value and keeps what it built itself', () => {
    const name = '<script>alert("x")</script>';
    expect(toText(html`<p title="${name}">${name}</p>`)).toBe('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(toText(html`<ul>${['a', '<b>'].map((x) => html`<li>${x}</li>`)}</ul>`)).toBe('<ul><li>a</li><li>&lt;b&gt;</li></ul>');
    expect(toText(html`${"it's `quoted`"}`)).toBe('it&#39;s &#96;quoted&#96;');
  });

  it('links only http(s) URLs and its own paths', () => {
    for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'data:text/html,<b>', 'vbscript:x', '//evil.example/', '/\\evil.example', 'file:///etc/passwd']) {
      expect(isLinkableUrl(bad), bad).toBe(false);
      expect(toText(link(bad, 'x'))).not.toContain('href');
    }
    expect(toText(link('https://example.com/?a=1&b=2', 'x'))).toBe('<a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer nofollow" target="_blank">x</a>');
    expect(toText(link('/ui/search', 'x'))).toBe('<a href="/ui/search">x</a>');
  });

  it('renders a body: links for http(s), text for everything else, marked words, visible direction overrides', () => {
    const out = toText(renderBody('see https://example.com/a. or javascript:alert(1) about the Budget\u202Etxt', ['budget']));
    expect(out).toBe(
      'see <a href="https://example.com/a" rel="noopener noreferrer nofollow" target="_blank">https://example.com/a</a>. or javascript:alert(1) about the <mark>Budget</mark><span class="ctl" title="invisible direction control U+202E in the message">[U+202E]</span>txt',
    );
    // A word inside another is not marked.
    expect(toText(renderBody('budgets budget', ['budget']))).toBe('budgets <mark>budget</mark>');
  });

  it('makes a long body a focusable region', () => {
    expect(toText(bodyBox('x'.repeat(2000), html`x`))).toContain('tabindex="0" role="region"');
    expect(toText(bodyBox('short', html`x`))).toBe('<div class="body" dir="auto">x</div>');
  });

  it('takes the words of a web-search query, leaving out excluded terms and "or"', () => {
    expect(queryWords('budget "draft contract" -lunch or Q3')).toEqual(['budget', 'draft', 'contract', 'q3']);
    expect(queryWords('-"not this" only')).toEqual(['only']);
    expect(queryWords(undefined)).toEqual([]);
  });
});

describe('word diff', () => {
  it('finds the words removed and added between versions', () => {
    expect(diffWords('the draft contract is approved', 'the final contract is not approved')).toEqual([
      { op: 'same', text: 'the ' },
      { op: 'removed', text: 'draft' },
      { op: 'added', text: 'final' },
      { op: 'same', text: ' contract is' },
      { op: 'added', text: ' not' },
      { op: 'same', text: ' approved' },
    ]);
    expect(diffWords('same', 'same')).toEqual([{ op: 'same', text: 'same' }]);
    expect(diffWords('', 'new text')).toEqual([{ op: 'added', text: 'new text' }]);
  });

  it('reassembles both versions exactly', () => {
    const a = 'alpha beta  gamma\ndelta epsilon zeta eta';
    const b = 'alpha gamma\ndelta EPSILON zeta theta eta iota';
    const parts = diffWords(a, b);
    expect(parts.filter((p) => p.op !== 'added').map((p) => p.text).join('')).toBe(a);
    expect(parts.filter((p) => p.op !== 'removed').map((p) => p.text).join('')).toBe(b);
  });

  it('stays fast on 20,000-character bodies (past the table limit: removed, then added)', () => {
    const words = (seed: number) => Array.from({ length: 3500 }, (_, i) => `w${(i * seed) % 997}`).join(' ');
    const started = performance.now();
    const parts = diffWords(words(7), words(11));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(parts.filter((p) => p.op !== 'added').map((p) => p.text).join('')).toBe(words(7));
  });

  it('escapes what it shows', () => {
    expect(toText(renderDiff('<b>old</b>', '<b>new</b>'))).toBe('<del><span class="sr-only">removed: </span>&lt;b&gt;old&lt;/b&gt;</del><ins><span class="sr-only">added: </span>&lt;b&gt;new&lt;/b&gt;</ins>');
  });
});
