/**
 * The RSMF 2.0 writer: events, participants merged from every record, conversations, the
 * RFC 5322 wrapper with its X-RSMF headers and rsmf.zip. Over 400 lines because the manifest and its
 * headers must agree field for field (the official validator compares them), so both stay in one file.
 */
import type { ExportAttachment } from '../attachments.js';
import { createHash } from 'node:crypto';
import archiver from 'archiver';
import { Writable } from 'node:stream';
import type { FormatDefinition } from '../format-writer.js';
import type { MessageHistory } from '../message-history.js';
import type { PeopleDirectory } from '../people.js';
import { sessionTitle } from '../session-title.js';
import { formatUtc } from '../text.js';
import type { SessionInfo } from '../types.js';
import { APPLICATION, RSMF_VERSION, renderEml } from './rsmf-mime.js';

/**
 * rsmf/<session>/<day>.rsmf: the conversation in Relativity Short Message Format 2.0.0, one file per
 * session and UTC day — continued over the next days while a thread started in it is still being
 * answered, so a reply stays in the file of the message it answers (`<first day>--<last day>.rsmf`) —
 * and split into `-part-N` files past 10,000 events or ~8 MB of text, the size Relativity recommends
 * per file.
 *
 * Each file is an RFC 5322 message (rsmf-mime.ts: CRLF lines of at most 998 octets, ASCII headers
 * with RFC 2047 encoded words) with the X-RSMF headers, a text/plain body summarising the file for search, and
 * exactly one base64 attachment `rsmf.zip` holding `rsmf_manifest.json` (schema
 * rsmf_schema_2_0_0.json, published by Relativity in relativitydev/rsmf-validator-samples).
 *
 * The same session-day exported twice gives the same bytes but for one header, `X-RSMF-ExportBundle`
 * (the export's id): review tools' duplicate detection hashes Subject, From, Date, To, the body and the
 * attachment, so nothing the export invents goes there. Choices the specification leaves open are
 * documented in README.md ("RSMF choices").
 */

export const RSMF_MAX_EVENTS = 10_000;
const RSMF_MAX_TEXT_BYTES = 8 * 1024 * 1024;
const PLATFORM = 'zoom';
/** A display longer than this is cut (with "…") in `display` and headers; the exact name stays in "Name in Zoom". */
const MAX_DISPLAY_CHARACTERS = 256;
/** What stands for a comma in a participant's display: X-RSMF-Participants separates names with commas. */
const COMMA_STAND_IN = '\u201a';

interface RsmfCustom {
  name: string;
  value: string;
}

interface RsmfParticipant {
  id: string;
  display: string;
  email?: string;
  account_id?: string;
  custom?: RsmfCustom[];
}

interface RsmfEdit {
  participant: string;
  timestamp: string;
  previous?: string;
  new: string;
}

interface RsmfReaction {
  value: string;
  count?: number;
  participants?: string[];
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
  reactions?: RsmfReaction[];
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
  /** Files of the selection by Zoom file id (attachments.ts): where each is in the bundle. */
  attachments?: ReadonlyMap<string, ExportAttachment>;
  bundleId: string;
  generator: string;
  /** Lower-case emails of the export's custodians (custodian or matter exports), for X-RSMF-Custodian, From and direction. */
  custodians: ReadonlySet<string>;
  people: PeopleDirectory;
  /** Per session: main message id → send time of its last reply, for threads answered on a later UTC day. */
  crossDayThreads: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** What is known about a person in one file, merged from every record that mentions them. */
interface ParticipantFacts {
  id: string;
  name: string | null;
  email: string | null;
  accountId: string | null;
  external: boolean;
}

/** The validator's e-mail pattern (case-insensitive): an `email` that fails it is left out, the id keeps it. */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

function custom(name: string, value: string | null | undefined): RsmfCustom[] {
  return value === null || value === undefined || value === '' ? [] : [{ name, value }];
}

/**
 * A participant's `display`: one line, no comma (X-RSMF-Participants lists displays separated by
 * commas, and a review tool compares the two), no surrounding space, at most 256 characters.
 */
export function rsmfDisplay(name: string): string {
  let clean = name
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replaceAll(',', COMMA_STAND_IN)
    .trim();
  const chars = [...clean];
  if (chars.length > MAX_DISPLAY_CHARACTERS) clean = `${chars.slice(0, MAX_DISPLAY_CHARACTERS - 1).join('').trimEnd()}…`;
  return clean;
}

/** Accumulates one session's events and cuts them into .rsmf files by UTC day, thread and size. */
export class RsmfSessionWriter {
  private firstDay: string | null = null;
  private lastDay: string | null = null;
  /** The file stays open past midnight until this send time: the last reply to a thread that started in it. */
  private openUntil: string | null = null;
  /** Files written per first day: a day met again (a message without a send time sorts last) continues its numbering. */
  private readonly partsByDay = new Map<string, number>();
  private events: RsmfEvent[] = [];
  private eventIds = new Set<string>();
  private participants = new Map<string, ParticipantFacts>();
  private textBytes = 0;
  private readonly folder: string;
  private readonly threads: ReadonlyMap<string, string>;

  constructor(
    private readonly sessionId: string,
    private readonly session: SessionInfo | undefined,
    safeSessionId: string,
    private readonly context: RsmfContext,
  ) {
    this.folder = `rsmf/${safeSessionId}`;
    this.threads = context.crossDayThreads.get(sessionId) ?? new Map();
  }

  /** Adds a message; returns the finished file(s) when a day, thread or size boundary was crossed. */
  async add(m: MessageHistory): Promise<RsmfFile[]> {
    const day = m.sentAt.slice(0, 10);
    const done: RsmfFile[] = [];
    const full = this.events.length >= RSMF_MAX_EVENTS || this.textBytes >= RSMF_MAX_TEXT_BYTES;
    const threadContinues = this.openUntil !== null && m.sentAt <= this.openUntil && this.lastDay !== null && day > this.lastDay;
    if (this.lastDay !== null && (full || (day !== this.lastDay && !threadContinues))) {
      const file = await this.flush();
      if (file) done.push(file);
    }
    this.firstDay ??= day;
    this.lastDay = day;
    const event = this.toEvent(m);
    // Event ids must be unique in a file; a message whose versions were not contiguous gets a second event.
    if (this.eventIds.has(event.id)) event.id = `${m.messageId}~${m.versions[0]?.version_id ?? this.events.length}`;
    this.events.push(event);
    this.eventIds.add(event.id);
    // Zoom names a thread's main message as the parent, but any message answered later keeps the file open.
    const lastReply = this.threads.get(m.messageId);
    if (lastReply !== undefined && (this.openUntil === null || lastReply > this.openUntil)) this.openUntil = lastReply;
    return done;
  }

  /** The file of the events added since the last one, if any. */
  async flush(): Promise<RsmfFile | undefined> {
    if (this.events.length === 0 || this.firstDay === null || this.lastDay === null) return undefined;
    const part = (this.partsByDay.get(this.firstDay) ?? 0) + 1;
    this.partsByDay.set(this.firstDay, part);
    const span = this.lastDay === this.firstDay ? this.firstDay : `${this.firstDay}--${this.lastDay}`;
    const name = part === 1 ? `${span}.rsmf` : `${span}-part-${part}.rsmf`;
    const content = await this.renderFile(span, part);
    const file: RsmfFile = { path: `${this.folder}/${name}`, content, events: this.events.length };
    this.events = [];
    this.eventIds = new Set();
    this.participants = new Map();
    this.textBytes = 0;
    this.firstDay = null;
    this.lastDay = null;
    this.openUntil = null;
    return file;
  }

  // --- people ----------------------------------------------------------------------------------

  /**
   * The email of a Zoom member: from the export's directory, or — in a 1:1 chat — the member whose
   * id no record shows, when the other member's is known.
   */
  private emailOfMember(memberId: string | null): string | null {
    if (!memberId) return null;
    const known = this.context.people.byMemberId(memberId)?.email;
    if (known) return known;
    const members = this.session?.type === '1:1' ? (this.session.member_emails ?? []) : [];
    if (members.length !== 2) return null;
    const unknown = members.filter((email) => this.context.people.byEmail(email)?.memberId === undefined);
    return unknown.length === 1 && members.some((email) => this.context.people.byEmail(email) !== undefined) ? (unknown[0] as string).toLowerCase() : null;
  }

  /** Records what one record says about a person; returns their participant id. */
  private note(facts: { email: string | null; memberId: string | null; name: string | null; external: boolean }): string {
    const email = facts.email?.trim().toLowerCase() || this.emailOfMember(facts.memberId);
    const known = this.context.people.byMemberId(facts.memberId) ?? this.context.people.byEmail(email);
    const id = email ?? (facts.memberId ? `member:${facts.memberId}` : 'unknown-sender');
    let p = this.participants.get(id);
    if (!p) {
      p = { id, name: null, email: null, accountId: null, external: false };
      this.participants.set(id, p);
    }
    // The export's latest name for the person first, so every file names them the same way.
    p.name ??= known?.displayName ?? (facts.name?.trim() ? facts.name : null);
    if (!p.email && email && EMAIL.test(email)) p.email = email;
    p.accountId ??= facts.memberId ?? known?.memberId ?? null;
    p.external ||= facts.external || known?.external === true;
    return id;
  }

  private noteEmail(email: string): string {
    return this.note({ email, memberId: null, name: null, external: false });
  }

  private noteMember(memberId: string): string {
    const known = this.context.people.byMemberId(memberId);
    return this.note({ email: known?.email ?? null, memberId, name: known?.displayName ?? null, external: known?.external ?? false });
  }

  // --- events ----------------------------------------------------------------------------------

  private toEvent(m: MessageHistory): RsmfEvent {
    const participant = this.note({ email: m.sender.email, memberId: m.sender.memberId, name: m.sender.displayName, external: m.sender.external });
    if (m.receiver) this.noteEmail(m.receiver);
    const event: RsmfEvent = {
      id: m.messageId,
      type: 'message',
      conversation: this.sessionId,
      participant,
      timestamp: m.sentAt,
      body: m.currentText,
    };
    if (m.replyTo !== null && this.eventIds.has(m.replyTo)) event.parent = m.replyTo;
    if (m.deletedAt) event.deleted = true;
    if (m.edits.length > 0) {
      event.edits = m.edits.map((edit) => ({ participant, timestamp: edit.at, ...(edit.previous === null ? {} : { previous: edit.previous }), new: edit.text }));
    }
    if (m.reactions.length > 0) {
      event.reactions = m.reactions.map((r) => {
        const reactors = [...new Set(r.memberIds.map((id) => this.noteMember(id)))];
        return { value: r.shown, ...(r.count === null ? {} : { count: r.count }), ...(reactors.length > 0 ? { participants: reactors } : {}) };
      });
    }
    if (this.context.custodians.size > 0) {
      // Someone without an email is never one of the export's custodians: incoming.
      event.direction = this.context.custodians.has(participant) ? 'outgoing' : 'incoming';
    }
    event.custom = [
      ...(m.firstSentTextUnknown ? custom('Text as first sent', 'not reported by Zoom: the message was edited before it was archived, and Zoom reports only the text after each edit') : []),
      ...custom('Deleted at', m.deletedAt),
      ...(m.replyTo !== null && event.parent === undefined ? custom('Reply to message (not in this file)', m.replyTo) : []),
      ...m.files.map((f, i) => {
        const a = f.id === null ? undefined : this.context.attachments?.get(f.id);
        const where = a?.entryPath ? `in this export at ${a.entryPath}, sha256 ${a.sha256 ?? ''}${a.digestMismatch ? `; differs from Zoom's digest ${a.zoomDigest ?? ''}` : ''}` : a && a.state !== 'pending' ? `not included (${a.state}${a.firstMissingAt ? ` since ${a.firstMissingAt}` : ''})` : 'not included';
        return { name: `File ${i + 1}`, value: `${f.name}${f.sizeBytes === null ? '' : ` (${f.sizeBytes} bytes)`}${f.id ? `, Zoom file id ${f.id}` : ''}; ${where}` };
      }),
      { name: 'Archived versions', value: String(m.versions.length) },
      ...custom('Version ids', m.versions.map((v) => v.version_id).join(', ')),
    ];
    this.textBytes += Buffer.byteLength(m.currentText) + m.edits.reduce((n, x) => n + x.text.length + (x.previous?.length ?? 0), 0) + 200;
    return event;
  }

  private conversationParticipants(): string[] {
    for (const email of this.session?.member_emails ?? []) this.noteEmail(email);
    return [...this.participants.keys()];
  }

  private participantList(): RsmfParticipant[] {
    return [...this.participants.values()].map((p) => {
      const display = rsmfDisplay(p.name ?? p.email ?? p.id) || p.id;
      return {
        id: p.id,
        display,
        ...(p.email ? { email: p.email } : {}),
        ...(p.accountId ? { account_id: p.accountId } : {}),
        ...((p.name !== null && p.name !== display) || p.external
          ? { custom: [...(p.name !== null && p.name !== display ? [{ name: 'Name in Zoom', value: p.name }] : []), ...(p.external ? [{ name: 'Outside the account', value: 'yes' }] : [])] }
          : {}),
      };
    });
  }

  private async renderFile(span: string, part: number): Promise<Buffer> {
    const members = this.conversationParticipants();
    const participants = this.participantList();
    const byId = new Map(participants.map((p) => [p.id, p]));
    const custodianIds = members.filter((id) => this.context.custodians.has(id));
    const custodian = custodianIds.length === 1 ? (custodianIds[0] as string) : undefined;
    const title = sessionTitle(this.session, this.sessionId);
    const conversation = {
      id: this.sessionId,
      display: title,
      platform: PLATFORM,
      type: this.session?.type === '1:1' ? 'direct' : 'channel',
      participants: members,
      ...(custodian ? { custodian } : {}),
      custom: [
        { name: 'Zoom session id', value: this.sessionId },
        ...custom('Zoom session type', this.session?.type),
        ...custom('Zoom channel id', this.session?.channel_id),
        ...custom('Status in Zoom', this.session?.status),
      ],
    };
    const manifest = {
      version: RSMF_VERSION,
      eventcollectionid: this.sessionId,
      participants,
      conversations: [conversation],
      events: this.events,
    };
    const timestamps = this.events.map((ev) => ev.timestamp).sort();
    const begin = timestamps[0] ?? `${this.firstDay}T00:00:00.000Z`;
    const end = timestamps[timestamps.length - 1] ?? begin;
    const json = JSON.stringify(manifest);
    const zip = await zipManifest(json, new Date(begin));
    const days = span.replace('--', ' to ');
    const text = this.renderText(title, days, part, byId);
    // From: the custodian when there is exactly one in the file, else the first sender with an email.
    const author = (custodian ? byId.get(custodian) : undefined) ?? this.events.map((ev) => byId.get(ev.participant)).find((p) => p?.email) ?? participants.find((p) => p.email);
    const identity = createHash('sha256').update(json).update('\u0000').update(text).digest('hex');
    return renderEml({
      subject: `${APPLICATION}: ${title} - ${days}${part > 1 ? ` (part ${part})` : ''}`,
      from: author?.email ? { display: author.display, email: author.email } : undefined,
      to: participants.filter((p): p is RsmfParticipant & { email: string } => p.email !== undefined).map((p) => ({ display: p.display, email: p.email })),
      begin,
      end,
      events: this.events.length,
      participantDisplays: participants.map((p) => p.display),
      custodian,
      collectionId: this.sessionId,
      generator: this.context.generator,
      exportBundle: this.context.bundleId,
      messageId: `${identity.slice(0, 40)}@zoom-chat-archiver.invalid`,
      boundary: `=_rsmf_${identity.slice(40, 64)}`,
      text,
      zip,
    });
  }

  private renderText(title: string, days: string, part: number, participants: ReadonlyMap<string, RsmfParticipant>): string {
    const lines = [`${APPLICATION} conversation "${title}", ${days} (UTC)${part > 1 ? `, part ${part}` : ''}.`, 'The messages, with every edit and reaction, are in the attached rsmf.zip.', ''];
    for (const ev of this.events) {
      const flags = [ev.edits ? 'edited' : null, ev.deleted ? 'deleted' : null].filter(Boolean).join(', ');
      lines.push(`[${formatUtc(ev.timestamp)}] ${participants.get(ev.participant)?.display ?? ev.participant}${flags ? ` (${flags})` : ''}: ${ev.body}`);
    }
    return `${lines.join('\r\n')}\r\n`;
  }
}

/** One RsmfSessionWriter per session; each finished file goes into the spool whole. */
export const rsmfFormat: FormatDefinition = {
  format: 'rsmf',
  needs: ['people', 'crossDayThreads', 'custodians'],
  create(context, entries) {
    const rsmfContext: RsmfContext = {
      bundleId: context.bundleId,
      generator: context.generator,
      custodians: context.lookups.custodians,
      people: context.lookups.people,
      crossDayThreads: context.lookups.crossDayThreads,
      attachments: context.lookups.attachments,
    };
    let writer: RsmfSessionWriter | undefined;
    return {
      async beginSession(session) {
        writer = new RsmfSessionWriter(session.id, session.info, session.safeId, rsmfContext);
      },
      async addMessage(message) {
        for (const file of (await writer?.add(message)) ?? []) await entries.writeWhole(file.path, file.content);
      },
      async endSession() {
        const file = await writer?.flush();
        writer = undefined;
        if (file) await entries.writeWhole(file.path, file.content);
      },
      async finish() {},
    };
  },
};

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
