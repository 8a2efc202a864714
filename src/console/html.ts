/**
 * HTML for the review console, built only through the `html` tag: every interpolated value is
 * escaped unless it is already `SafeHtml` (made by this tag or by the helpers below), so message
 * bodies, names and file names — hostile input — can never become markup. Links are only made for
 * http(s) URLs and the console's own paths; anything else (`javascript:`, `data:`, …) stays text.
 */

const SAFE = Symbol('safe-html');

export interface SafeHtml {
  readonly [SAFE]: true;
  readonly text: string;
}

function safe(text: string): SafeHtml {
  return { [SAFE]: true, text };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

function isSafe(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && SAFE in value;
}

type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

function render(value: Interpolated): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return (value as readonly Interpolated[]).map(render).join('');
  if (isSafe(value)) return value.text;
  return escapeHtml(String(value));
}

/** Template tag: literal parts are trusted (they are the console's source), values are escaped. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i] as Interpolated) + (strings[i + 1] ?? '');
  return safe(out);
}

export function toText(value: SafeHtml): string {
  return value.text;
}

/** A URL the console may put in an href: its own absolute paths, or http(s) (checked by the URL parser). */
export function isLinkableUrl(value: string): boolean {
  if (value.startsWith('/') && !value.startsWith('//') && !value.includes('\\')) return true;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** `<a href>` for a linkable URL; anything else is shown as text (never as a link). */
export function link(href: string, label: Interpolated, attributes: SafeHtml = html``): SafeHtml {
  if (!isLinkableUrl(href)) return html`<span class="unlinked">${label}</span>`;
  const external = !href.startsWith('/');
  return external ? html`<a href="${href}" rel="noopener noreferrer nofollow" target="_blank"${attributes}>${label}</a>` : html`<a href="${href}"${attributes}>${label}</a>`;
}

/** Builds a console path with a query string (undefined and empty values left out). */
export function pathWith(path: string, query: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;

/**
 * A message body as HTML: escaped, http(s) URLs made links, search words marked. A `javascript:` or
 * `data:` URL is never matched by URL_IN_TEXT, so it stays text.
 */
export function renderBody(body: string, highlightWords: readonly string[] = []): SafeHtml {
  const parts: SafeHtml[] = [];
  let last = 0;
  for (const m of body.matchAll(URL_IN_TEXT)) {
    const start = m.index;
    parts.push(highlight(body.slice(last, start), highlightWords));
    const url = m[0].replace(/[.,;:!?)\]]+$/, '');
    parts.push(link(url, highlight(url, highlightWords)));
    last = start + url.length;
  }
  parts.push(highlight(body.slice(last), highlightWords));
  return html`${parts}`;
}

/**
 * Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) can make text read as
 * something else (`\u202Egnp.exe` shows as `exe.png`): each is shown as a visible marker instead.
 */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

function plain(text: string): SafeHtml {
  if (!BIDI_CONTROLS.test(text)) return html`${text}`;
  BIDI_CONTROLS.lastIndex = 0;
  const parts: SafeHtml[] = [];
  let last = 0;
  for (const m of text.matchAll(BIDI_CONTROLS)) {
    const code = `U+${(m[0].codePointAt(0) ?? 0).toString(16).toUpperCase()}`;
    parts.push(html`${text.slice(last, m.index)}<span class="ctl" title="invisible direction control ${code} in the message">[${code}]</span>`);
    last = m.index + m[0].length;
  }
  parts.push(html`${text.slice(last)}`);
  return html`${parts}`;
}

/** Marks each whole-word, case-insensitive occurrence of the words (as the 'simple' text search configuration matches them). */
export function highlight(text: string, words: readonly string[]): SafeHtml {
  if (words.length === 0 || text === '') return plain(text);
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${words.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  const parts: SafeHtml[] = [];
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    parts.push(html`${plain(text.slice(last, m.index))}<mark>${m[0]}</mark>`);
    last = m.index + m[0].length;
  }
  parts.push(plain(text.slice(last)));
  return html`${parts}`;
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The words a web-search query looks for: quoted phrases' words and plain words, without `-excluded` terms and `or`. */
export function queryWords(q: string | undefined): string[] {
  if (q === undefined) return [];
  const words = new Set<string>();
  for (const m of q.matchAll(/(-?)"([^"]*)"|(-?)([^\s"]+)/g)) {
    if (m[1] === '-' || m[3] === '-') continue;
    const text = m[2] ?? m[4] ?? '';
    if (m[4] !== undefined && text.toLowerCase() === 'or') continue;
    for (const w of text.split(/[^\p{L}\p{N}]+/u)) if (w.length > 0 && w.length <= 100) words.add(w.toLowerCase());
  }
  return [...words].slice(0, 20);
}

/** Past this many characters a body scrolls inside its box (CSS max-height), so the box must be reachable by keyboard. */
const SCROLLING_BODY_CHARS = 1500;

/** The box a message body is shown in: a long one is a focusable, labelled region so the keyboard can scroll it. */
export function bodyBox(text: string | null, content: SafeHtml): SafeHtml {
  return text !== null && text.length > SCROLLING_BODY_CHARS ? html`<div class="body" dir="auto" tabindex="0" role="region" aria-label="Long message text (${text.length} characters)">${content}</div>` : html`<div class="body" dir="auto">${content}</div>`;
}
