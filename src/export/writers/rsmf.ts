import { createHash } from 'node:crypto';
import archiver from 'archiver';
import { Writable } from 'node:stream';
import type { MessageHistory, SenderIdentity } from '../message-history.js';
import { formatUtc } from '../text.js';
import type { SessionInfo } from '../types.js';
import { sessionTitle } from './html.js';

/**
 * rsmf/<session>/<day>.rsmf: the conversation in Relativity Short Message Format 2.0.0, one file per
 * session and UTC day (split into `-part-N` files past 10,000 events or ~8 MB of text, the size
 * Relativity recommends per file).
 *
 * Each file is an RFC 5322 message (CRLF lines, ASCII headers with RFC 2047 encoded words) with the
 * X-RSMF headers, a text/plain body summarising the day for search, and exactly one base64
 * attachment `rsmf.zip` holding `rsmf_manifest.json` (schema rsmf_schema_2_0_0.json, published by
 * Relativity in relativitydev/rsmf-validator-samples). Choices the specification leaves open are
 * documented in README.md ("RSMF choices").
 */

export const RSMF_VERSION = '2.0.0';
export const RSMF_MAX_EVENTS = 10_000;
const RSMF_MAX_TEXT_BYTES = 8 * 1024 * 1024;
const PLATFORM = 'zoom';
const APPLICATION = 'Zoom Team Chat';

interface RsmfCustom {
  name: string;
  value: string;
}

interface RsmfParticipant {
  id: string;
  display?: string;
  email?: string;
  account_id?: string;
  custom?: RsmfCustom[];
}

interface RsmfEdit {
  participant: string;
  timestamp: string;
  previous: string;
  new: string;
}

interface RsmfEvent {
  id: string;
  type: 'message';
  conversation: string;
  participant: string;
  timestamp: string;
  body: string;
  parent?: string;
  deleted?: boolean;
  edits?: RsmfEdit[];
  reactions?: Array<{ value: string; count?: number }>;
  direction?: 'incoming' | 'outgoing';
  custom?: RsmfCustom[];
}

export interface RsmfFile {
  /** Path inside the bundle. */
  path: string;
  content: Buffer;
  events: number;
}

export interface RsmfContext {
  bundleId: string;
  generator: string;
  /** Lower-case emails of the export's custodians (custodian or matter exports), for X-RSMF-Custodian and direction. */
  custodians: ReadonlySet<string>;
}

/** The participant id for a sender: the email when known, else Zoom's member id. */
export function participantIdOf(sender: SenderIdentity): string {
  if (sender.email) return sender.email.toLowerCase();
  if (sender.memberId) return `member:${sender.memberId}`;
  return 'unknown-sender';
}

function custom(name: string, value: string | null | undefined): RsmfCustom[] {
  return value === null || value === undefined || value === '' ? [] : [{ name, value }];
}

function emojiOf(code: string): string {
  const m = /^U\+([0-9A-F]{4,6})$/i.exec(code);
  if (!m) return code;
  const point = Number.parseInt(m[1] as string, 16);
  return point <= 0x10ffff ? String.fromCodePoint(point) : code;
}

function reactionsOf(raw: string): Array<{ value: string; count?: number }> {
  let item: { reactions?: unknown; custom_emoji_reactions?: unknown };
  try {
    item = JSON.parse(raw) as typeof item;
  } catch {
    return [];
  }
  const out: Array<{ value: string; count?: number }> = [];
  const count = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  for (const r of Array.isArray(item.reactions) ? (item.reactions as Array<Record<string, unknown>>) : []) {
    if (typeof r['emoji'] !== 'string' || r['emoji'] === '') continue;
    const n = count(r['total_count']);
    out.push({ value: emojiOf(r['emoji']), ...(n === undefined ? {} : { count: n }) });
  }
  for (const r of Array.isArray(item.custom_emoji_reactions) ? (item.custom_emoji_reactions as Array<Record<string, unknown>>) : []) {
    if (typeof r['custom_emoji_name'] !== 'string' || r['custom_emoji_name'] === '') continue;
    const n = count(r['total_count']);
    out.push({ value: r['custom_emoji_name'].slice(0, 30), ...(n === undefined ? {} : { count: n }) });
  }
  return out;
}

/** Accumulates one session's events and cuts them into .rsmf files by UTC day (and size). */
export class RsmfSessionWriter {
  private day: string | null = null;
  /** Files written per day: a day met again (a message without a send time sorts last) continues its numbering. */
  private readonly partsByDay = new Map<string, number>();
  private events: RsmfEvent[] = [];
  private eventIds = new Set<string>();
  private participants = new Map<string, RsmfParticipant>();
  private textBytes = 0;
  private readonly folder: string;

  constructor(
    private readonly sessionId: string,
    private readonly session: SessionInfo | undefined,
    safeSessionId: string,
    private readonly context: RsmfContext,
  ) {
    this.folder = `rsmf/${safeSessionId}`;
  }

  /** Adds a message; returns the finished file(s) when the day or the size limit was crossed. */
  async add(m: MessageHistory): Promise<RsmfFile[]> {
    const day = m.sentAt.slice(0, 10);
    const done: RsmfFile[] = [];
    if (this.day !== null && day !== this.day) {
      const file = await this.flush();
      if (file) done.push(file);
    } else if (this.events.length >= RSMF_MAX_EVENTS || this.textBytes >= RSMF_MAX_TEXT_BYTES) {
      const file = await this.flush();
      if (file) done.push(file);
    }
    this.day = day;
    const event = this.toEvent(m);
    // Event ids must be unique in a file; a message whose versions were not contiguous gets a second event.
    if (this.eventIds.has(event.id)) event.id = `${m.messageId}~${m.versions[0]?.version_id ?? this.events.length}`;
    this.events.push(event);
    this.eventIds.add(event.id);
    return done;
  }

  /** The file of the events added since the last one, if any. */
  async flush(): Promise<RsmfFile | undefined> {
    if (this.events.length === 0 || this.day === null) return undefined;
    const part = (this.partsByDay.get(this.day) ?? 0) + 1;
    this.partsByDay.set(this.day, part);
    const name = part === 1 ? `${this.day}.rsmf` : `${this.day}-part-${part}.rsmf`;
    const content = await this.renderFile(part);
    const file: RsmfFile = { path: `${this.folder}/${name}`, content, events: this.events.length };
    this.events = [];
    this.eventIds = new Set();
    this.participants = new Map();
    this.textBytes = 0;
    return file;
  }

  private addParticipant(sender: SenderIdentity): string {
    const id = participantIdOf(sender);
    if (!this.participants.has(id)) {
      this.participants.set(id, {
        id,
        ...(sender.displayName ? { display: sender.displayName } : sender.email ? { display: sender.email } : {}),
        ...(sender.email ? { email: sender.email } : {}),
        ...(sender.memberId ? { account_id: sender.memberId } : {}),
        ...(sender.external ? { custom: [{ name: 'Outside the account', value: 'yes' }] } : {}),
      });
    }
    return id;
  }

  private addEmailParticipant(email: string): string {
    const id = email.toLowerCase();
    if (!this.participants.has(id)) this.participants.set(id, { id, display: email, email });
    return id;
  }

  private toEvent(m: MessageHistory): RsmfEvent {
    const participant = this.addParticipant(m.sender);
    if (m.receiver) this.addEmailParticipant(m.receiver);
    const latest = m.versions[m.versions.length - 1];
    const event: RsmfEvent = {
      id: m.messageId,
      type: 'message',
      conversation: this.sessionId,
      participant,
      timestamp: m.sentAt,
      body: m.currentText,
    };
    if (m.replyTo !== null) {
      if (this.eventIds.has(m.replyTo)) event.parent = m.replyTo;
    }
    if (m.deletedAt) event.deleted = true;
    const edits = m.changes.map((c) => ({ participant, timestamp: c.at, previous: c.previous, new: c.next }));
    if (edits.length > 0) event.edits = edits;
    const reactions = latest ? reactionsOf(latest.raw) : [];
    if (reactions.length > 0) event.reactions = reactions;
    if (this.context.custodians.size > 0 && m.sender.email) {
      event.direction = this.context.custodians.has(m.sender.email.toLowerCase()) ? 'outgoing' : 'incoming';
    }
    const extra: RsmfCustom[] = [
      ...custom('Deleted at', m.deletedAt),
      ...(m.replyTo !== null && event.parent === undefined ? custom('Reply to message (not in this file)', m.replyTo) : []),
      ...m.files.map((f, i) => ({ name: `File ${i + 1}`, value: `${f.name}${f.sizeBytes === null ? '' : ` (${f.sizeBytes} bytes)`}${f.id ? `, Zoom file id ${f.id}` : ''}; not included` })),
      { name: 'Archived versions', value: String(m.versions.length) },
      ...custom('Version ids', m.versions.map((v) => v.version_id).join(', ')),
    ];
    event.custom = extra;
    this.textBytes += Buffer.byteLength(m.currentText) + edits.reduce((n, x) => n + x.previous.length + x.new.length, 0) + 200;
    return event;
  }

  private conversationParticipants(): string[] {
    for (const email of this.session?.member_emails ?? []) this.addEmailParticipant(email);
    return [...this.participants.keys()];
  }

  private async renderFile(part: number): Promise<Buffer> {
    const members = this.conversationParticipants();
    const custodianIds = members.filter((id) => this.context.custodians.has(id));
    const title = sessionTitle(this.session, this.sessionId);
    const conversation = {
      id: this.sessionId,
      display: title,
      platform: PLATFORM,
      type: this.session?.type === '1:1' ? 'direct' : 'channel',
      participants: members,
      ...(custodianIds.length === 1 ? { custodian: custodianIds[0] } : {}),
      custom: [
        { name: 'Zoom session id', value: this.sessionId },
        ...custom('Zoom session type', this.session?.type),
        ...custom('Zoom channel id', this.session?.channel_id),
        ...custom('Status in Zoom', this.session?.status),
        { name: 'Export bundle', value: this.context.bundleId },
      ],
    };
    const manifest = {
      version: RSMF_VERSION,
      eventcollectionid: this.sessionId,
      participants: [...this.participants.values()],
      conversations: [conversation],
      events: this.events,
    };
    const timestamps = this.events.map((ev) => ev.timestamp).sort();
    const begin = timestamps[0] ?? `${this.day}T00:00:00.000Z`;
    const end = timestamps[timestamps.length - 1] ?? begin;
    const zip = await zipManifest(JSON.stringify(manifest), new Date(begin));
    const textBody = this.renderText(title, part);
    const participantsById = new Map([...this.participants.values()].map((p) => [p.id, p]));
    return renderEml({
      title: `${APPLICATION}: ${title} - ${this.day}${part > 1 ? ` (part ${part})` : ''}`,
      begin,
      end,
      events: this.events.length,
      participants: members.map((id) => participantsById.get(id)).filter((p): p is RsmfParticipant => p !== undefined),
      custodian: custodianIds.length === 1 ? (custodianIds[0] as string) : undefined,
      collectionId: this.sessionId,
      generator: this.context.generator,
      messageId: `${this.context.bundleId}.${createHash('sha256').update(`${this.sessionId}\u0000${this.day}\u0000${part}`).digest('hex').slice(0, 24)}@zoom-chat-archiver.invalid`,
      text: textBody,
      zip,
    });
  }

  private renderText(title: string, part: number): string {
    const names = new Map([...this.participants.values()].map((p) => [p.id, p.display ?? p.id]));
    const lines = [`${APPLICATION} conversation "${title}" on ${this.day} (UTC)${part > 1 ? `, part ${part}` : ''}.`, `Export ${this.context.bundleId}; the messages are in the attached rsmf.zip.`, ''];
    for (const ev of this.events) {
      const flags = [ev.edits ? 'edited' : null, ev.deleted ? 'deleted' : null].filter(Boolean).join(', ');
      lines.push(`[${formatUtc(ev.timestamp)}] ${names.get(ev.participant) ?? ev.participant}${flags ? ` (${flags})` : ''}: ${ev.body}`);
    }
    return `${lines.join('\r\n')}\r\n`;
  }
}

/** rsmf.zip in memory: one deflated entry, dated at the file's first event so output is reproducible. */
async function zipManifest(json: string, date: Date): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const archive = archiver('zip', { zlib: { level: 6 } });
  const done = new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve);
    archive.on('error', reject);
  });
  archive.pipe(sink);
  archive.append(Buffer.from(json, 'utf8'), { name: 'rsmf_manifest.json', date });
  await archive.finalize();
  await done;
  return Buffer.concat(chunks);
}

// --- RFC 5322 / MIME ------------------------------------------------------------------------

const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

/** RFC 2047 encoded words (UTF-8, base64), each at most 75 characters, never splitting a character. */
export function encodeWords(value: string): string[] {
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk).toString('base64')}?=`);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '') words.push(`=?UTF-8?B?${Buffer.from(chunk).toString('base64')}?=`);
  return words;
}

/** A header line, folded (CRLF + space) so no line passes 78 characters where it can be avoided. */
export function formatHeader(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  const tokens = ASCII_PRINTABLE.test(clean) ? clean.split(/(?<=,) /) : encodeWords(clean);
  const lines: string[] = [];
  let line = `${name}:`;
  for (const token of tokens) {
    if (line.length + 1 + token.length > 78 && line !== `${name}:`) {
      lines.push(line);
      line = ` ${token}`;
    } else {
      line += ` ${token}`;
    }
  }
  lines.push(line);
  return lines.join('\r\n');
}

function displayPhrase(name: string): string {
  if (!ASCII_PRINTABLE.test(name)) return encodeWords(name).join(' ');
  return `"${name.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n');
}

/** RFC 5322 date, e.g. `Thu, 21 May 2026 10:15:00 +0000`. */
export function formatRfc5322Date(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

interface EmlParts {
  title: string;
  begin: string;
  end: string;
  events: number;
  participants: RsmfParticipant[];
  custodian: string | undefined;
  collectionId: string;
  generator: string;
  messageId: string;
  text: string;
  zip: Buffer;
}

function renderEml(p: EmlParts): Buffer {
  const boundary = `=_rsmf_${createHash('sha256').update(p.messageId).digest('hex').slice(0, 32)}`;
  const withEmail = p.participants.filter((x) => x.email && ASCII_PRINTABLE.test(x.email));
  const to = withEmail.length > 0 ? withEmail.map((x) => `${displayPhrase(x.display ?? (x.email as string))} <${x.email}>,`).join(' ').replace(/,$/, '') : 'undisclosed-recipients:;';
  const headers = [
    'MIME-Version: 1.0',
    formatHeader('Date', formatRfc5322Date(new Date(p.begin))),
    formatHeader('From', `"zoom-chat-archiver export" <export@zoom-chat-archiver.invalid>`),
    formatHeader('To', to),
    formatHeader('Subject', p.title),
    formatHeader('Message-ID', `<${p.messageId}>`),
    formatHeader('X-RSMF-Version', RSMF_VERSION),
    formatHeader('X-RSMF-Generator', p.generator),
    formatHeader('X-RSMF-Application', APPLICATION),
    formatHeader('X-RSMF-BeginDate', p.begin),
    formatHeader('X-RSMF-EndDate', p.end),
    formatHeader('X-RSMF-EventCount', String(p.events)),
    formatHeader('X-RSMF-AttachmentCount', '0'),
    formatHeader('X-RSMF-EventCollectionID', p.collectionId),
    formatHeader('X-RSMF-Participants', p.participants.map((x) => x.display ?? x.id).join(', ')),
    ...(p.custodian ? [formatHeader('X-RSMF-Custodian', p.custodian)] : []),
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
  ];
  const body = [
    `--${boundary}`,
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(Buffer.from(p.text, 'utf8')),
    `--${boundary}`,
    'Content-Type: application/zip; name="rsmf.zip"',
    'Content-Disposition: attachment; filename="rsmf.zip"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(p.zip),
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'ascii');
}
