/**
 * A .rsmf file as the e-mail it is (writers/rsmf.ts builds what goes in it): RFC 5322 headers —
 * lines of at most 998 octets, folded near 78 where a header allows it, ASCII only, names and free
 * text that are not printable ASCII as RFC 2047 `=?utf-8?b?…?=` words — the X-RSMF headers, and the
 * MIME layout: a text/plain summary and exactly one base64 attachment, rsmf.zip. A self-contained
 * piece of e-mail syntax, tested on its own (test/export/writer-pieces.test.ts).
 */

export const RSMF_VERSION = '2.0.0';
export const APPLICATION = 'Zoom Team Chat';
/** Used only when nobody in the file has an email address. */
const FALLBACK_FROM = '"Zoom Team Chat export" <export@zoom-chat-archiver.invalid>';

const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;
/** Payload bytes per encoded word: 45 bytes are 60 base64 characters, a 72-character word. */
const WORD_BYTES = 45;
/** Lines are folded before this length where a header allows it (RFC 5322: SHOULD 78, MUST 998). */
const LINE_TARGET = 78;

/** One RFC 2047 encoded word. Lower-case `utf-8` and `b`: some review-tool readers only decode that spelling. */
function encodeWord(text: string): string {
  return `=?utf-8?b?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/** Splits text into pieces of at most `maxBytes` UTF-8 bytes (`firstBytes` for the first), never inside a character. */
function splitBytes(text: string, maxBytes: number, firstBytes = maxBytes): string[] {
  const pieces: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > (pieces.length === 0 ? firstBytes : maxBytes) && piece !== '') {
      pieces.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += size;
  }
  if (piece !== '') pieces.push(piece);
  return pieces;
}

/** RFC 2047 encoded words for free text, each at most 75 characters; the first leaves room for `headerName: `. */
export function encodeWords(value: string, headerName = ''): string[] {
  const room = LINE_TARGET - (headerName === '' ? 1 : headerName.length + 2) - '=?utf-8?b??='.length;
  return splitBytes(value, WORD_BYTES, Math.max(3, Math.min(WORD_BYTES, Math.floor(room / 4) * 3))).map(encodeWord);
}

/**
 * A person's name as encoded words: one word when it fits in 45 bytes, else exactly two, cut where
 * the first part does not end in a space. Two is the most some readers join back without a stray
 * space when the words are folded onto separate lines (RFC 2047 readers ignore the fold between
 * encoded words); a name over 90 bytes therefore gets two words longer than RFC 2047's 75 characters
 * rather than three.
 */
export function encodeName(name: string): string[] {
  const total = Buffer.byteLength(name);
  if (total <= WORD_BYTES) return [encodeWord(name)];
  const chars = [...name];
  const before = [0];
  for (const ch of chars) before.push((before[before.length - 1] as number) + Buffer.byteLength(ch));
  const clean = (cut: number) => cut > 0 && cut < chars.length && !/\s/.test(chars[cut - 1] as string);
  let cut = -1;
  if (total <= 2 * WORD_BYTES) {
    for (let c = chars.length - 1; c > 0 && cut < 0; c--) if ((before[c] as number) <= WORD_BYTES && total - (before[c] as number) <= WORD_BYTES && clean(c)) cut = c;
  }
  if (cut < 0) {
    let c = 1;
    while (c < chars.length - 1 && (before[c + 1] as number) <= Math.ceil(total / 2)) c++;
    while (c > 1 && !clean(c)) c--;
    cut = c;
  }
  return [encodeWord(chars.slice(0, cut).join('')), encodeWord(chars.slice(cut).join(''))];
}

interface HeaderToken {
  text: string;
  /** Start a new line before this token (the second encoded word of a name). */
  foldBefore?: boolean;
}

/** Joins tokens with single spaces, folding (CRLF + the space) before a token that would pass 78 characters or must start a line. */
function foldTokens(name: string, tokens: HeaderToken[]): string {
  const lines: string[] = [];
  let line = `${name}:`;
  let empty = true;
  for (const token of tokens) {
    if (!empty && (token.foldBefore || line.length + 1 + token.text.length > LINE_TARGET)) {
      lines.push(line);
      line = ` ${token.text}`;
    } else {
      line += ` ${token.text}`;
    }
    empty = false;
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** Text an RFC 2047 reader could mistake for an encoded word, or a reader could not fold back. */
function needsEncoding(text: string): boolean {
  return !ASCII_PRINTABLE.test(text) || text.includes('=?');
}

/**
 * An unstructured header (Subject, X-RSMF-* values): folded between words; encoded (one word per
 * line) when it has non-ASCII text, a word too long to fit on a line, or spaces that folding would
 * lose.
 */
export function formatHeader(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  const words = clean.split(' ');
  const plain = !needsEncoding(clean) && !/^ | $| {2}/.test(clean) && words.every((w) => w.length <= LINE_TARGET - 2);
  if (plain) return foldTokens(name, words.map((text) => ({ text })));
  return foldTokens(
    name,
    encodeWords(clean, name).map((text) => ({ text, foldBefore: true })),
  );
}

/** A display name as header tokens: plain when it is printable ASCII, else its encoded words. */
function nameTokens(display: string, plain: (d: string) => string): HeaderToken[] {
  if (!needsEncoding(display)) return [{ text: plain(display) }];
  return encodeName(display).map((text, i) => ({ text, foldBefore: i > 0 }));
}

/** Appends `suffix` to the last token (a comma, an address), so nothing can fold between them. */
function withSuffix(tokens: HeaderToken[], suffix: string): HeaderToken[] {
  const last = tokens[tokens.length - 1];
  return last ? [...tokens.slice(0, -1), { ...last, text: `${last.text}${suffix}` }] : tokens;
}

/** `X-RSMF-Participants`: every participant's display, comma-separated, folded only between names. */
export function formatParticipantsHeader(displays: readonly string[]): string {
  return foldTokens(
    'X-RSMF-Participants',
    displays.flatMap((d, i) => withSuffix(nameTokens(d, (x) => x), i < displays.length - 1 ? ',' : '')),
  );
}

const quoted = (d: string) => `"${d.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** An address list (From, To): `"Name" <email>` or encoded words and `<email>`, comma-separated. */
export function formatAddressHeader(name: string, mailboxes: ReadonlyArray<{ display: string; email: string }>): string {
  if (mailboxes.length === 0) return `${name}: undisclosed-recipients:;`;
  return foldTokens(
    name,
    mailboxes.flatMap((m, i) => withSuffix(nameTokens(m.display, quoted), ` <${m.email}>${i < mailboxes.length - 1 ? ',' : ''}`)),
  );
}

export function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n');
}

/** RFC 5322 date, e.g. `Thu, 21 May 2026 10:15:00 +0000`. */
export function formatRfc5322Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

export interface EmlParts {
  subject: string;
  /** Who the file is by: the custodian or the first sender; undefined when nobody has an email. */
  from: { display: string; email: string } | undefined;
  to: Array<{ display: string; email: string }>;
  begin: string;
  end: string;
  events: number;
  participantDisplays: string[];
  custodian: string | undefined;
  collectionId: string;
  generator: string;
  exportBundle: string;
  messageId: string;
  boundary: string;
  text: string;
  zip: Buffer;
}

export function renderEml(p: EmlParts): Buffer {
  const headers = [
    'MIME-Version: 1.0',
    formatHeader('Date', formatRfc5322Date(new Date(p.begin))),
    p.from ? formatAddressHeader('From', [p.from]) : `From: ${FALLBACK_FROM}`,
    formatAddressHeader('To', p.to),
    formatHeader('Subject', p.subject),
    `Message-ID: <${p.messageId}>`,
    formatHeader('X-RSMF-Version', RSMF_VERSION),
    formatHeader('X-RSMF-Generator', p.generator),
    formatHeader('X-RSMF-Application', APPLICATION),
    formatHeader('X-RSMF-BeginDate', p.begin),
    formatHeader('X-RSMF-EndDate', p.end),
    formatHeader('X-RSMF-EventCount', String(p.events)),
    formatHeader('X-RSMF-AttachmentCount', '0'),
    formatHeader('X-RSMF-EventCollectionID', p.collectionId),
    formatParticipantsHeader(p.participantDisplays),
    ...(p.custodian ? [formatHeader('X-RSMF-Custodian', p.custodian)] : []),
    // Provenance, the one line that differs when the same session-day is exported again.
    `X-RSMF-ExportBundle: ${p.exportBundle}`,
    `Content-Type: multipart/mixed; boundary="${p.boundary}"`,
  ];
  const body = [
    `--${p.boundary}`,
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(Buffer.from(p.text, 'utf8')),
    `--${p.boundary}`,
    'Content-Type: application/zip; name="rsmf.zip"',
    'Content-Disposition: attachment; filename="rsmf.zip"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(p.zip),
    `--${p.boundary}--`,
    '',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'ascii');
}
