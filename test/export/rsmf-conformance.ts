import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import yauzl, { type Entry } from 'yauzl';

/**
 * What a review tool checks when it loads an `.rsmf` file, as a test helper:
 *
 * - the manifest against Relativity's published JSON schema (`test/fixtures/rsmf/`, draft-07, ajv);
 * - the rules the official validator (relativitydev/rsmf-validator-samples) states in its messages:
 *   exactly one attachment and it is `rsmf.zip` holding `rsmf_manifest.json`, body text present,
 *   `X-RSMF-Version`/`-EventCount`/`-BeginDate`/`-EndDate`/`-AttachmentCount` agreeing with the
 *   manifest, `X-RSMF-Participants` naming the same members as the manifest's participants (its
 *   comma-separated items against their `display`), encoded words it can decode, ids that resolve,
 *   no duplicates, edits not before their event, replies not before their parent, reaction and edit
 *   participants in the conversation;
 * - RFC 5322 / 2047 limits: 7-bit text, lines of at most 998 octets, encoded words of at most 75
 *   characters (longer only in a name of an address or participants header, which the writer keeps
 *   to two words), and never two encoded words on one line (a reader that does not join adjacent
 *   words would insert a space).
 */

const SCHEMA_PATH = path.resolve(import.meta.dirname, '../fixtures/rsmf/rsmf_schema_2_0_0.json');

/** The e-mail pattern the official validator applies to `email` (case-insensitive). */
const VALIDATOR_EMAIL = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)$/i;
/** RFC 3339 section 5.6 date-time. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
/** The header date forms the official validator accepts (`yyyy-MM-ddTHH:mm:ssK`, with up to 7 fraction digits). */
const HEADER_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?(?:Z|[+-]\d{2}:\d{2})$/;
/** The official validator's check of an encoded word (greedy, anchored at the start of a token). */
const VALIDATOR_ENCODED_WORD = /^=\?[a-zA-Z\d-]+\?([Bb]|[Qq])\?(.+)\?=/;
const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

let compiled: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } = undefined as never;

function schemaValidator(): typeof compiled {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('date-time', RFC3339);
  ajv.addFormat('idn-email', VALIDATOR_EMAIL);
  compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  return compiled;
}

export interface RsmfParticipant {
  id: string;
  display?: string;
  email?: string;
  account_id?: string;
  custom?: Array<{ name: string; value: string }>;
}

export interface RsmfEvent {
  id?: string;
  type: string;
  participant: string;
  conversation: string;
  timestamp: string;
  body?: string;
  parent?: string;
  deleted?: boolean;
  direction?: 'incoming' | 'outgoing';
  edits?: Array<{ participant: string; timestamp: string; previous?: string; new?: string }>;
  reactions?: Array<{ value: string; count?: number; participants?: string[] }>;
  custom?: Array<{ name: string; value: string }>;
}

export interface RsmfManifest {
  version: string;
  eventcollectionid?: string;
  participants: RsmfParticipant[];
  conversations: Array<{ id: string; display?: string; platform: string; type?: string; participants: string[]; custodian?: string; custom?: Array<{ name: string; value: string }> }>;
  events: RsmfEvent[];
}

export interface ParsedRsmf {
  /** Header name (lower case) → raw value, folding kept (`\r\n ` between lines). */
  rawHeaders: Map<string, string>;
  /** Header name (lower case) → value unfolded and RFC 2047-decoded. */
  headers: Map<string, string>;
  text: string;
  zip: Buffer;
  manifest: RsmfManifest;
}

/** RFC 2047 decoding after unfolding: whitespace between adjacent encoded words is dropped. */
export function decodeHeaderValue(raw: string): string {
  const unfolded = raw.replace(/\r\n(?=[ \t])/g, '');
  const joined = unfolded.replace(/(\?=)[ \t]+(?==\?)/g, '$1');
  return joined.replace(ENCODED_WORD, (_all, _charset: string, encoding: string, data: string) =>
    encoding.toLowerCase() === 'b' ? Buffer.from(data, 'base64').toString('utf8') : data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
  );
}

function zipEntries(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (err, file) => {
      if (err || !file) return reject(err ?? new Error('not a zip'));
      const out = new Map<string, Buffer>();
      file.on('entry', (entry: Entry) => {
        file.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error('unreadable entry'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            file.readEntry();
          });
          stream.on('error', reject);
        });
      });
      file.once('end', () => resolve(out));
      file.once('error', reject);
      file.readEntry();
    });
  });
}

function splitPart(part: string): { headers: string; body: string } {
  const at = part.indexOf('\r\n\r\n');
  return at < 0 ? { headers: part, body: '' } : { headers: part.slice(0, at), body: part.slice(at + 4) };
}

/** Parses an .rsmf file and returns the problems a review tool would report (empty when it loads cleanly). */
export async function checkRsmf(name: string, content: Buffer): Promise<{ problems: string[]; parsed: ParsedRsmf | undefined }> {
  const problems: string[] = [];
  const text = content.toString('latin1');
  if (!/^[\x20-\x7e\r\n\t]*$/.test(text)) problems.push(`${name}: not 7-bit text`);
  text.split('\r\n').forEach((line, i) => {
    if (line.length > 998) problems.push(`${name}: line ${i + 1} is ${line.length} octets (RFC 5322 allows 998)`);
  });
  const headerEnd = text.indexOf('\r\n\r\n');
  if (headerEnd < 0) return { problems: [...problems, `${name}: no header/body separator`], parsed: undefined };
  const head = text.slice(0, headerEnd);

  const rawHeaders = new Map<string, string>();
  let current: string | undefined;
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line) && current) {
      rawHeaders.set(current, `${rawHeaders.get(current) ?? ''}\r\n${line}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      problems.push(`${name}: header line without a name: ${line.slice(0, 40)}`);
      continue;
    }
    current = line.slice(0, colon).toLowerCase();
    if (rawHeaders.has(current)) problems.push(`${name}: header ${current} appears twice`);
    rawHeaders.set(current, line.slice(colon + 1).replace(/^ /, ''));
  }
  const headers = new Map<string, string>();
  for (const [key, raw] of rawHeaders) {
    for (const line of raw.split('\r\n')) {
      if (/\?=[ \t]+=\?/.test(line)) problems.push(`${name}: ${key} has two encoded words on one line`);
      for (const token of line.split(/[ \r\n]/)) {
        if (!token.startsWith('=?')) continue;
        const m = VALIDATOR_ENCODED_WORD.exec(token);
        if (!m) problems.push(`${name}: ${key}: malformed encoded word ${token.slice(0, 30)}`);
        else if ((m[1] ?? '').toLowerCase() === 'b' && !/^[A-Za-z0-9+/]*={0,2}$/.test(m[2] ?? '')) problems.push(`${name}: ${key}: encoded word is not base64: ${token.slice(0, 30)}`);
        const word = /^=\?[^?]+\?[BbQq]\?[^?]*\?=/.exec(token)?.[0] ?? token;
        if (word.length > 75 && !['from', 'to', 'x-rsmf-participants'].includes(key)) problems.push(`${name}: ${key}: encoded word of ${word.length} characters`);
      }
    }
    headers.set(key, decodeHeaderValue(raw));
  }

  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) return { problems: [...problems, `${name}: no multipart boundary`], parsed: undefined };
  const body = text.slice(headerEnd + 4);
  const parts = body.split(`--${boundary}`);
  if (!(parts.at(-1) ?? '').startsWith('--')) problems.push(`${name}: multipart not closed`);
  const inner = parts.slice(1, -1).map((p) => splitPart(p.replace(/^\r\n/, '')));
  const attachments = inner.filter((p) => /content-disposition:\s*attachment/i.test(p.headers));
  if (attachments.length !== 1) problems.push(`${name}: ${attachments.length} attachments (exactly one, rsmf.zip, expected)`);
  const zipPart = attachments[0];
  if (zipPart && !/filename="rsmf\.zip"/i.test(zipPart.headers)) problems.push(`${name}: the attachment is not named rsmf.zip`);
  if (zipPart && !/content-transfer-encoding:\s*base64/i.test(zipPart.headers)) problems.push(`${name}: rsmf.zip is not base64`);
  const textPart = inner.find((p) => /content-type:\s*text\/plain/i.test(p.headers));
  const textBody = textPart ? Buffer.from(textPart.body.replace(/\s+/g, ''), 'base64').toString('utf8') : '';
  if (textBody.trim() === '') problems.push(`${name}: no body text`);
  if (!zipPart) return { problems, parsed: undefined };

  const zip = Buffer.from(zipPart.body.replace(/\s+/g, ''), 'base64');
  const files = await zipEntries(zip).catch((err: Error) => {
    problems.push(`${name}: rsmf.zip is not a valid zip (${err.message})`);
    return new Map<string, Buffer>();
  });
  const manifestBytes = files.get('rsmf_manifest.json');
  if (!manifestBytes) return { problems: [...problems, `${name}: rsmf.zip has no rsmf_manifest.json`], parsed: undefined };
  for (const entry of files.keys()) if (entry !== 'rsmf_manifest.json') problems.push(`${name}: rsmf.zip holds ${entry}, which nothing references`);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as RsmfManifest;

  const validate = schemaValidator();
  if (!validate(manifest)) for (const e of validate.errors ?? []) problems.push(`${name}: schema: ${e.instancePath} ${e.message ?? ''}`);
  problems.push(...manifestRuleProblems(name, manifest));

  // Headers against the manifest.
  const h = (key: string) => headers.get(key);
  if (h('x-rsmf-version') !== manifest.version) problems.push(`${name}: X-RSMF-Version ${h('x-rsmf-version')} but the manifest says ${manifest.version}`);
  const eventCount = Number(h('x-rsmf-eventcount'));
  if (!Number.isInteger(eventCount) || eventCount <= 0) problems.push(`${name}: X-RSMF-EventCount is not a number greater than 0`);
  else if (eventCount !== manifest.events.length) problems.push(`${name}: X-RSMF-EventCount ${eventCount} but ${manifest.events.length} events`);
  const attachmentCount = h('x-rsmf-attachmentcount');
  if (attachmentCount !== undefined && !(Number.isInteger(Number(attachmentCount)) && Number(attachmentCount) >= 0)) problems.push(`${name}: X-RSMF-AttachmentCount is not an integer >= 0`);
  const stamps = manifest.events.map((e) => Date.parse(e.timestamp)).sort((a, b) => a - b);
  for (const [key, expected] of [
    ['x-rsmf-begindate', stamps[0]],
    ['x-rsmf-enddate', stamps.at(-1)],
  ] as const) {
    const value = h(key);
    if (value === undefined) continue;
    if (!HEADER_DATE.test(value)) problems.push(`${name}: ${key} ${value} is not yyyy-MM-ddTHH:mm:ss[.f]K`);
    else if (Date.parse(value) !== expected) problems.push(`${name}: ${key} ${value} is not the ${key.endsWith('begindate') ? 'earliest' : 'latest'} event's timestamp`);
  }
  const listed = h('x-rsmf-participants');
  if (listed !== undefined) {
    const fromHeader = listed.split(',').map((s) => s.trim()).sort();
    const fromManifest = manifest.participants.map((p) => p.display ?? '').sort();
    if (JSON.stringify(fromHeader) !== JSON.stringify(fromManifest)) {
      problems.push(`${name}: X-RSMF-Participants has different members than the JSON participants list (${fromHeader.length} vs ${fromManifest.length})`);
    }
  }
  if (h('x-rsmf-eventcollectionid') !== undefined && h('x-rsmf-eventcollectionid') !== manifest.eventcollectionid) problems.push(`${name}: X-RSMF-EventCollectionID differs from eventcollectionid`);
  const custodian = h('x-rsmf-custodian');
  if (custodian !== undefined && !manifest.participants.some((p) => p.id === custodian)) problems.push(`${name}: X-RSMF-Custodian ${custodian} is not a participant`);
  for (const required of ['from', 'date', 'subject', 'mime-version']) if (!headers.has(required)) problems.push(`${name}: no ${required} header`);

  return { problems, parsed: { rawHeaders, headers, text: textBody, zip, manifest } };
}

/** The cross-reference rules of the official validator (the schema cannot express them). */
export function manifestRuleProblems(name: string, m: RsmfManifest): string[] {
  const problems: string[] = [];
  const dupes = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  if (m.participants.length === 0) problems.push(`${name}: the participant array contains no participants`);
  if (m.conversations.length === 0) problems.push(`${name}: the conversation array contains no conversations`);
  if (m.events.length === 0) problems.push(`${name}: the event array contains no events`);
  for (const [what, n] of [
    ['participant', m.participants.length],
    ['conversation', m.conversations.length],
    ['event', m.events.length],
  ] as const) {
    if (n > 10_000) problems.push(`${name}: ${what} count ${n} exceeds the recommended 10,000`);
  }
  for (const id of dupes(m.participants.map((p) => p.id))) problems.push(`${name}: participant ${id} is duplicated`);
  for (const id of dupes(m.conversations.map((c) => c.id))) problems.push(`${name}: conversation ${id} is duplicated`);
  for (const id of dupes(m.events.flatMap((e) => (e.id === undefined ? [] : [e.id])))) problems.push(`${name}: event ${id} is duplicated`);
  const participants = new Set(m.participants.map((p) => p.id));
  for (const p of m.participants) if (p.display === undefined || p.display.trim() === '') problems.push(`${name}: participant ${p.id} has no display (X-RSMF-Participants lists displays)`);
  const conversations = new Map(m.conversations.map((c) => [c.id, c]));
  for (const c of m.conversations) {
    for (const p of c.participants) if (!participants.has(p)) problems.push(`${name}: participant ${p} of conversation ${c.id} is not defined`);
    if (c.custodian !== undefined && !(participants.has(c.custodian) && c.participants.includes(c.custodian))) problems.push(`${name}: custodian ${c.custodian} is not a participant of conversation ${c.id}`);
    if (!m.events.some((e) => e.conversation === c.id)) problems.push(`${name}: conversation ${c.id} has no events`);
  }
  const events = new Map(m.events.flatMap((e) => (e.id === undefined ? [] : [[e.id, e] as const])));
  for (const e of m.events) {
    const where = `event ${e.id ?? '(no id)'}`;
    const conversation = conversations.get(e.conversation);
    if (!conversation) problems.push(`${name}: ${where} has a conversation id (${e.conversation}) that is not defined`);
    if (!participants.has(e.participant)) problems.push(`${name}: ${where} participant ${e.participant} is missing from the participant list`);
    if (conversation?.type === 'direct' && (e.type === 'join' || e.type === 'leave')) problems.push(`${name}: direct conversation ${conversation.id} has a join/leave event`);
    const eventMs = Date.parse(e.timestamp);
    for (const [i, edit] of (e.edits ?? []).entries()) {
      if (edit.timestamp !== undefined && Date.parse(edit.timestamp) < eventMs) problems.push(`${name}: edit ${i} of ${where} (${edit.timestamp}) is before the event (${e.timestamp})`);
      if (!conversation?.participants.includes(edit.participant)) problems.push(`${name}: edit ${i} of ${where}: participant ${edit.participant} is not in the conversation`);
    }
    for (const [i, reaction] of (e.reactions ?? []).entries()) {
      for (const p of reaction.participants ?? []) if (!conversation?.participants.includes(p)) problems.push(`${name}: reaction ${i} of ${where}: participant ${p} is not in the conversation`);
    }
    if (e.parent !== undefined) {
      const parent = events.get(e.parent);
      if (e.parent === e.id) problems.push(`${name}: ${where} is its own parent`);
      else if (!parent || parent.conversation !== e.conversation) problems.push(`${name}: ${where} has an invalid parent ${e.parent} or one in another conversation`);
      else if (eventMs < Date.parse(parent.timestamp)) problems.push(`${name}: ${where} (${e.timestamp}) is before its parent (${parent.timestamp})`);
    }
  }
  return problems;
}

/** Every `.rsmf` entry of a bundle, checked; returns the parsed files by path. */
export async function checkBundleRsmf(entries: Map<string, Buffer>): Promise<{ problems: string[]; files: Map<string, ParsedRsmf> }> {
  const problems: string[] = [];
  const files = new Map<string, ParsedRsmf>();
  for (const [name, content] of entries) {
    if (!name.endsWith('.rsmf')) continue;
    const result = await checkRsmf(name, content);
    problems.push(...result.problems);
    if (result.parsed) files.set(name, result.parsed);
  }
  return { problems, files };
}
