import type { ExportAttachment } from '../attachments.js';
import type { FormatDefinition, TextEntry } from '../format-writer.js';
import type { FileRef, MessageEdit, MessageHistory } from '../message-history.js';
import { bodyStateOf } from '../message-history.js';
import type { PeopleDirectory } from '../people.js';
import { sessionTitle } from '../session-title.js';
import { escapeHtml as e, formatBytes, formatUtc } from '../text.js';
import type { ExportCounts, SessionInfo, VersionRow } from '../types.js';

/**
 * transcripts/<session>.html: one self-contained page per session, readable offline in any
 * browser: inline CSS, no script, no external resource, and a Content-Security-Policy that forbids
 * all of them. Every value from the archive is escaped (`& < > " '`), so a message cannot inject
 * markup; `\u0000` markers show literally.
 *
 * Pages are streamed: a message is rendered as soon as its versions have been read, so a session of
 * any size never sits in memory. Messages appear in the document in the order they are shown — send
 * order — so a screen reader, a copy-paste and a printout read what the eye sees. A reply is indented
 * and opens with who wrote the message it answers and when, linked; a reply whose parent is not in
 * the export says so.
 *
 * Machine-readable facts sit in data attributes (member ids, versions and their times, reaction codes)
 * so a page can be checked against messages.jsonl without parsing prose.
 */

/** Messages remembered per session for the line that opens a reply; beyond this the oldest are forgotten (a reply to one is still linked). */
const MAX_THREAD_PARENTS = 200_000;

const CSP = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45}
body{margin:0 auto;max-width:72rem;padding:1rem 1.25rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0 0 .8rem;font-size:.9rem}
dl.facts dt{color:#57606a}dl.facts dd{margin:0;word-break:break-all}
.note{font-size:.85rem;color:#57606a}
.messages{margin:1rem 0}
.msg{border:1px solid #d0d7de;border-left:4px solid #8c959f;border-radius:6px;padding:.45rem .7rem;margin:0 0 .45rem}
.msg.reply{margin-left:2.2rem;border-left-color:#54aeff}
.msg.deleted{border-left-color:#cf222e;background:#fff5f5}
.meta{font-size:.85rem;color:#57606a;display:flex;flex-wrap:wrap;gap:.2rem .7rem;align-items:baseline}
.who{font-weight:600;color:#1b1f24}
.badge{font-size:.75rem;border-radius:1rem;padding:0 .5rem;border:1px solid currentColor}
.badge.deleted{color:#cf222e;font-weight:600}.badge.edited{color:#9a6700}.badge.external{color:#8250df}
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0}
.deleted .body{text-decoration:line-through;text-decoration-color:#cf222e}
.reply-to,.files{font-size:.85rem;color:#57606a;margin:.2rem 0}
.files ul{margin:.1rem 0;padding-left:1.2rem}
.reactions{font-size:.85rem;color:#57606a;margin:.2rem 0}.reactions ul{margin:.1rem 0;padding-left:1.2rem}
details.history .first-text{margin:.3rem 0;color:#9a6700}
details.history{font-size:.85rem;margin-top:.3rem}
details.history ol{margin:.3rem 0;padding-left:1.4rem}
details.history del{color:#57606a;white-space:pre-wrap;overflow-wrap:anywhere}
details.history .text{white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;border-bottom:1px solid #d0d7de;padding:.3rem .4rem;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}td small{color:#57606a;word-break:break-all}
footer{font-size:.8rem;color:#57606a;border-top:1px solid #d0d7de;padding-top:.5rem;margin-top:1rem}
@media print{.msg{break-inside:avoid}details.history{display:block}}
`;

export interface TranscriptContext {
  /** Files of the selection by Zoom file id (attachments.ts); absent or empty: none captured. */
  attachments?: ReadonlyMap<string, ExportAttachment>;
  bundleId: string;
  createdAt: string;
  /** One line saying what the export selected. */
  filterSummary: string;
}

export interface TranscriptStats {
  messages: number;
  versions: number;
  edits: number;
  deletions: number;
  firstAt: string | null;
  lastAt: string | null;
}

function pageHead(title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
`;
}

function person(name: string | null, email: string | null, memberId: string | null): string {
  const label = name ?? email ?? (memberId ? `member ${memberId}` : 'unknown sender');
  const detail = email && email !== label ? ` <span class="email">&lt;${e(email)}&gt;</span>` : '';
  return `<span class="who"${memberId ? ` data-member-id="${e(memberId)}"` : ''}>${e(label)}</span>${detail}`;
}

/** One version in "History": when, what it is, and its text, in words that claim no more than Zoom said. */
function renderVersion(v: VersionRow, m: MessageHistory): string {
  const text = v.body ?? '';
  const head = `<li class="version v-${e(v.kind)}" data-version-id="${v.version_id}" data-action-at="${e(v.action_at)}"><time datetime="${e(v.action_at)}">${e(formatUtc(v.action_at))}</time> — `;
  const shown = (t: string) => (t === m.currentText ? `<span class="text">${e(t)}</span>` : `<del>${e(t)}</del>`);
  switch (bodyStateOf(v)) {
    case 'as_sent':
      return `${head}Sent: ${shown(text)}</li>`;
    case 'listed_after_edit':
      return `${head}Listed by Zoom after an edit, with the latest text (not the text as first sent): ${shown(text)}</li>`;
    case 'at_deletion':
      return `${head}Deleted; its text then: ${shown(text)}</li>`;
    case 'after_edit': {
      const edit = m.edits.find((x: MessageEdit) => x.at === v.action_at);
      const previous = edit?.previous ?? null;
      const before =
        previous === null ? ' <span class="was">(the text before this edit was not reported by Zoom)</span>' : previous === text ? ' <span class="was">(text unchanged)</span>' : ` <span class="was">— before: <del>${e(previous)}</del></span>`;
      return `${head}Edited: ${shown(text)}${before}</li>`;
    }
  }
}

function hasCapturedFiles(context: TranscriptContext): boolean {
  for (const a of context.attachments?.values() ?? []) if (a.state !== 'pending') return true;
  return false;
}

/** A file of a message: a link to its content in the bundle, or why it is not there. */
function renderAttachment(f: FileRef, a: ExportAttachment | undefined): string {
  const size = f.sizeBytes === null ? '' : ` (${e(formatBytes(f.sizeBytes))})`;
  if (a?.entryPath) {
    const mismatch = a.digestMismatch ? ` <span class="badge deleted">SHA-256 differs from Zoom's digest ${e(a.zoomDigest ?? '')}</span>` : '';
    return `<a href="../${e(a.entryPath.split('/').map(encodeURIComponent).join('/'))}">${e(f.name)}</a>${size} <span class="was">sha256 ${e(a.sha256 ?? '')}</span>${mismatch}`;
  }
  const why: Record<string, string> = {
    gone: `gone from Zoom${a?.firstMissingAt ? ` (missing since ${formatUtc(a.firstMissingAt)})` : ''}: not captured`,
    failed: 'could not be downloaded yet: not included',
    too_large: 'larger than FILES_MAX_BYTES: not included',
    skipped: 'no usable file id: not included',
  };
  return `${e(f.name)}${size} — ${e(why[a?.state ?? ''] ?? 'not captured yet: not included')}`;
}

/** One session's page, rendered piece by piece as its messages arrive. */
export class SessionTranscript {
  /** Message id → "who, when", for the line that opens a reply to it (no text: that would keep every body alive). */
  private readonly parents = new Map<string, string>();
  readonly stats: TranscriptStats = { messages: 0, versions: 0, edits: 0, deletions: 0, firstAt: null, lastAt: null };

  constructor(
    readonly sessionId: string,
    private readonly session: SessionInfo | undefined,
    private readonly context: TranscriptContext,
    private readonly people: PeopleDirectory,
  ) {}

  get title(): string {
    return sessionTitle(this.session, this.sessionId);
  }

  renderHeader(): string {
    const s = this.session;
    const facts: Array<[string, string | null | undefined]> = [
      ['Session id', this.sessionId],
      ['Type', s?.type],
      ['Channel id', s?.channel_id],
      ['Members', s?.member_emails?.join(', ')],
      ['Status in Zoom', s?.status],
      ['External members', s?.has_external_member === null || s?.has_external_member === undefined ? null : s.has_external_member ? 'yes' : 'no'],
      ['Export', `${this.context.bundleId} (${this.context.filterSummary})`],
      ['Exported at', formatUtc(this.context.createdAt)],
    ];
    const dl = facts
      .filter((f): f is [string, string] => typeof f[1] === 'string' && f[1] !== '')
      .map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`)
      .join('');
    return (
      pageHead(`${this.title} — Zoom Team Chat transcript`) +
      `<header>\n<p class="note"><a href="../index.html">All sessions in this export</a></p>\n<h1>${e(this.title)}</h1>\n<dl class="facts">${dl}</dl>\n` +
      `<p class="note">Times are UTC. Text is shown exactly as archived; <code>\\u0000</code> marks a NUL character Zoom sent. ` +
      `Messages are in the order they were sent; a reply is indented and opens with the message it answers. ` +
      `Every edit Zoom reported is listed under “History” with its time. Zoom does not report the text a message had before it was edited: ` +
      `when a message was edited before it was archived, its text as first sent is unknown, and the page says so. Deleted messages are marked with the time of deletion. ` +
      (hasCapturedFiles(this.context)
        ? `File names are listed as Zoom reported them; files the archive captured are in this export under attachments/ and linked, the others say why they are not.</p>\n</header>\n<main class="messages">\n`
        : `File names are listed as Zoom reported them; the files themselves are not part of this export.</p>\n</header>\n<main class="messages">\n`)
    );
  }

  renderMessage(m: MessageHistory): string {
    this.stats.messages++;
    this.stats.versions += m.versions.length;
    this.stats.edits += m.versions.filter((v) => v.kind === 'edited').length;
    this.stats.deletions += m.versions.filter((v) => v.kind === 'deleted').length;
    if (this.stats.firstAt === null || m.sentAt < this.stats.firstAt) this.stats.firstAt = m.sentAt;
    if (this.stats.lastAt === null || m.sentAt > this.stats.lastAt) this.stats.lastAt = m.sentAt;

    const classes = ['msg'];
    const parent = m.replyTo === null ? undefined : this.parents.get(m.replyTo);
    if (m.replyTo !== null) classes.push('reply');
    this.rememberParent(m);
    if (m.deletedAt) classes.push('deleted');

    const badges: string[] = [];
    if (m.sender.external) badges.push('<span class="badge external">outside the account</span>');
    if (m.editedAt) badges.push(`<span class="badge edited">edited ${e(formatUtc(m.editedAt))}</span>`);
    if (m.deletedAt) badges.push(`<span class="badge deleted">DELETED ${e(formatUtc(m.deletedAt))}</span>`);

    let html = `<article class="${classes.join(' ')}" id="m-${e(m.messageId)}">\n`;
    html += `<div class="meta">${person(m.sender.displayName, m.sender.email, m.sender.memberId)}`;
    if (m.receiver) html += ` <span>to ${e(m.receiver)}</span>`;
    html += ` <time datetime="${e(m.sentAt)}">${e(formatUtc(m.sentAt))}</time>${badges.join('')}</div>\n`;
    if (m.replyTo !== null) {
      html +=
        parent !== undefined
          ? `<p class="reply-to">↳ reply to <a href="#m-${e(m.replyTo)}">${e(parent)}</a></p>\n`
          : `<p class="reply-to">↳ reply to a message that is not in this export or this page (id ${e(m.replyTo)}) — <a href="#m-${e(m.replyTo)}">go to it if present</a></p>\n`;
    }
    html += `<div class="body">${e(m.currentText)}</div>\n`;
    if (m.files.length > 0) {
      const captured = m.files.map((f) => (f.id === null ? undefined : this.context.attachments?.get(f.id)));
      if (captured.every((a) => a === undefined || a.state === 'pending')) {
        // Nothing captured (yet): the page reads as it always did.
        const items = m.files.map((f) => `<li>${e(f.name)}${f.sizeBytes === null ? '' : ` (${e(formatBytes(f.sizeBytes))})`}</li>`).join('');
        html += `<div class="files">Files (not included): <ul>${items}</ul></div>\n`;
      } else {
        const items = m.files.map((f, i) => `<li>${renderAttachment(f, captured[i])}</li>`).join('');
        html += `<div class="files">Files: <ul>${items}</ul></div>\n`;
      }
    }
    if (m.reactions.length > 0) html += this.renderReactions(m);
    if (m.versions.length > 1 || m.edits.length > 0 || m.deletedAt !== null || m.firstSentTextUnknown) html += this.renderHistory(m);
    return `${html}</article>\n`;
  }

  private renderReactions(m: MessageHistory): string {
    const items = m.reactions.map((r) => {
      const who = r.memberIds.map((id) => `<span class="reactor" data-member-id="${e(id)}">${e(this.people.nameOf(id) ?? 'a member who did not write here')}</span>`).join(', ');
      const shown = r.custom ? `:${r.shown}:` : r.shown;
      return `<li class="reaction" data-emoji="${e(r.code)}" data-count="${r.count ?? ''}">${e(shown)}${r.count === null ? '' : ` ${r.count}`}${who ? ` — ${who}` : ''}</li>`;
    });
    return `<div class="reactions">Reactions: <ul>${items.join('')}</ul></div>\n`;
  }

  private renderHistory(m: MessageHistory): string {
    const unknown = m.firstSentTextUnknown
      ? '<p class="first-text">The text as first sent was not reported by Zoom: the message was edited before it was archived, and Zoom gives only the text after each edit.</p>'
      : '';
    const edits = m.edits.length;
    return (
      `<details class="history" open><summary>History: ${m.versions.length} archived version${m.versions.length === 1 ? '' : 's'}, ` +
      `${edits} edit${edits === 1 ? '' : 's'} reported by Zoom${m.deletedAt ? ', deleted' : ''}</summary>${unknown}<ol>${m.versions.map((v) => renderVersion(v, m)).join('')}</ol></details>\n`
    );
  }

  renderFooter(): string {
    const s = this.stats;
    return (
      `</main>\n<footer>${s.messages.toLocaleString('en-US')} messages, ${s.versions.toLocaleString('en-US')} versions ` +
      `(${s.edits.toLocaleString('en-US')} edits, ${s.deletions.toLocaleString('en-US')} deletions)` +
      `${s.firstAt ? `, ${e(formatUtc(s.firstAt))} – ${e(formatUtc(s.lastAt))}` : ''}. ` +
      `Export ${e(this.context.bundleId)}; check its integrity with <code>zoom-chat-archiver export verify</code>.</footer>\n</body>\n</html>\n`
    );
  }

  private rememberParent(m: MessageHistory): void {
    if (this.parents.size >= MAX_THREAD_PARENTS) {
      const oldest = this.parents.keys().next();
      if (!oldest.done) this.parents.delete(oldest.value);
    }
    const who = m.sender.displayName ?? m.sender.email ?? (m.sender.memberId ? `member ${m.sender.memberId}` : 'unknown sender');
    this.parents.set(m.messageId, `${who}, ${formatUtc(m.sentAt)}`);
  }
}

export interface IndexRow {
  href: string;
  title: string;
  sessionId: string;
  type: string | null;
  stats: TranscriptStats;
}

/** index.html at the bundle root, streamed like the transcripts: head, one row per session, foot. */
export function renderIndexHeader(context: TranscriptContext, formats: readonly string[]): string {
  const links = [
    formats.includes('jsonl') ? '<a href="messages.jsonl">messages.jsonl</a> (every version with Zoom\'s raw JSON)' : null,
    formats.includes('csv') ? '<a href="messages.csv">messages.csv</a> (one row per version)' : null,
    formats.includes('rsmf') ? 'rsmf/ (Relativity Short Message Format, one file per session and day)' : null,
    '<a href="manifest.json">manifest.json</a> (every file with its size and SHA-256)',
  ].filter((l): l is string => l !== null);
  return (
    pageHead(`Zoom Team Chat export ${context.bundleId}`) +
    `<header><h1>Zoom Team Chat export</h1>\n<dl class="facts"><dt>Bundle id</dt><dd>${e(context.bundleId)}</dd><dt>Selection</dt><dd>${e(context.filterSummary)}</dd>` +
    `<dt>Exported at</dt><dd>${e(formatUtc(context.createdAt))}</dd></dl>\n<p class="note">Also in this bundle: ${links.join('; ')}. Times are UTC.</p></header>\n` +
    `<main><table><thead><tr><th>Session</th><th>Type</th><th>Messages</th><th>Versions</th><th>Edits</th><th>Deletions</th><th>First message (UTC day)</th><th>Last message</th></tr></thead><tbody>\n`
  );
}

export function renderIndexRow(row: IndexRow): string {
  const s = row.stats;
  return (
    `<tr><td><a href="${e(row.href)}">${e(row.title)}</a><br><small>${e(row.sessionId)}</small></td><td>${e(row.type ?? '')}</td>` +
    `<td class="num">${s.messages}</td><td class="num">${s.versions}</td><td class="num">${s.edits}</td><td class="num">${s.deletions}</td>` +
    `<td>${e(s.firstAt?.slice(0, 10) ?? '')}</td><td>${e(s.lastAt?.slice(0, 10) ?? '')}</td></tr>\n`
  );
}

export function renderIndexFooter(counts: ExportCounts): string {
  const empty = counts.versions === 0 ? '<p>This export selected no messages.</p>\n' : '';
  return (
    `</tbody></table>\n${empty}</main>\n<footer>${counts.sessions} sessions, ${counts.messages} messages, ${counts.versions} versions ` +
    `(${counts.edits} edits, ${counts.deletions} deletions), ${counts.files} files referenced. ` +
    'Check this bundle with <code>zoom-chat-archiver export verify &lt;bundle.zip&gt;</code>.</footer>\n</body>\n</html>\n'
  );
}

/** index.html and one page per session, both through the spool: index.html is finished last and packed first. */
export const htmlFormat: FormatDefinition = {
  format: 'html',
  needs: ['people'],
  create(context, entries) {
    const transcriptContext: TranscriptContext = { bundleId: context.bundleId, createdAt: context.createdAt, filterSummary: context.filterSummary, attachments: context.lookups.attachments };
    let index: TextEntry | undefined;
    let page: { transcript: SessionTranscript; file: TextEntry } | undefined;
    return {
      async begin() {
        index = entries.openText('index.html');
        await index.write(renderIndexHeader(transcriptContext, context.formats));
      },
      async beginSession(session) {
        const transcript = new SessionTranscript(session.id, session.info, transcriptContext, context.lookups.people);
        page = { transcript, file: entries.openText(`transcripts/${session.safeId}.html`) };
        await page.file.write(transcript.renderHeader());
      },
      async addMessage(message) {
        const wait = page?.file.write(page.transcript.renderMessage(message));
        if (wait) await wait;
      },
      async endSession(session) {
        if (!page) return;
        const { transcript, file } = page;
        page = undefined;
        await file.write(transcript.renderFooter());
        await file.end();
        await index?.write(renderIndexRow({ href: file.path, title: transcript.title, sessionId: session.id, type: session.info?.type ?? null, stats: transcript.stats }));
      },
      async finish(counts) {
        await index?.write(renderIndexFooter(counts));
        await index?.end();
      },
    };
  },
};
