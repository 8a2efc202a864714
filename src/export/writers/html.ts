import type { MessageHistory } from '../message-history.js';
import { escapeHtml as e, formatBytes, formatUtc } from '../text.js';
import type { ExportCounts, SessionInfo } from '../types.js';

/**
 * transcripts/<session>.html: one self-contained page per session, readable offline in any
 * browser: inline CSS, no script, no external resource, and a Content-Security-Policy that forbids
 * all of them. Every value from the archive is escaped (`& < > " '`), so a message cannot inject
 * markup; `\u0000` markers show literally.
 *
 * Pages are streamed: a message is rendered as soon as its versions have been read, so a session of
 * any size never sits in memory. Threads: the document lists messages by send time; each reply also
 * names its parent with a link, and CSS flex `order` draws it directly under its parent (main
 * message k has order 2k, its replies 2k+1, ties keep document order). A reply whose parent is not
 * in the export stays in time order with a note saying so.
 */

/** Parents remembered per session for nesting; beyond this the oldest are forgotten (their replies then stay in time order, still linked). */
const MAX_THREAD_PARENTS = 200_000;

const CSP = "default-src 'none'; style-src 'unsafe-inline'";

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45}
body{margin:0 auto;max-width:72rem;padding:1rem 1.25rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0 0 .8rem;font-size:.9rem}
dl.facts dt{color:#57606a}dl.facts dd{margin:0;word-break:break-all}
.note{font-size:.85rem;color:#57606a}
.messages{display:flex;flex-direction:column;gap:.45rem;margin:1rem 0}
.msg{border:1px solid #d0d7de;border-left:4px solid #8c959f;border-radius:6px;padding:.45rem .7rem}
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

export function sessionTitle(session: SessionInfo | undefined, sessionId: string): string {
  if (session?.name) return session.name;
  if (session?.type === '1:1' && session.member_emails?.length) return `1:1 chat: ${session.member_emails.join(' & ')}`;
  return `Session ${sessionId}`;
}

function person(name: string | null, email: string | null, memberId: string | null): string {
  const label = name ?? email ?? (memberId ? `member ${memberId}` : 'unknown sender');
  const detail = email && email !== label ? ` <span class="email">&lt;${e(email)}&gt;</span>` : '';
  return `<span class="who">${e(label)}</span>${detail}`;
}

function kindLabel(kind: string, actionAt: string, sentAt: string): string {
  if (kind === 'deleted') return 'Deleted';
  if (kind === 'edited') return 'Edited';
  // Zoom lists a message in its current state; an 'original' archived after an edit carries the edit's time.
  return actionAt === sentAt ? 'Sent' : 'Listed by Zoom in this state';
}

/** One session's page, rendered piece by piece as its messages arrive. */
export class SessionTranscript {
  private readonly parents = new Map<string, number>();
  private mainCount = 0;
  readonly stats: TranscriptStats = { messages: 0, versions: 0, edits: 0, deletions: 0, firstAt: null, lastAt: null };

  constructor(
    readonly sessionId: string,
    private readonly session: SessionInfo | undefined,
    private readonly context: TranscriptContext,
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
      `Replies appear under the message they answer. Each edit keeps the earlier text under “History”; deleted messages are marked with the time of deletion. ` +
      `File names are listed as Zoom reported them; the files themselves are not part of this export.</p>\n</header>\n<main class="messages">\n`
    );
  }

  renderMessage(m: MessageHistory): string {
    this.stats.messages++;
    this.stats.versions += m.versions.length;
    this.stats.edits += m.versions.filter((v) => v.kind === 'edited').length;
    this.stats.deletions += m.versions.filter((v) => v.kind === 'deleted').length;
    if (this.stats.firstAt === null || m.sentAt < this.stats.firstAt) this.stats.firstAt = m.sentAt;
    if (this.stats.lastAt === null || m.sentAt > this.stats.lastAt) this.stats.lastAt = m.sentAt;

    const parentOrder = m.replyTo === null ? undefined : this.parents.get(m.replyTo);
    let order: number;
    const classes = ['msg'];
    if (parentOrder !== undefined) {
      order = parentOrder + 1;
      classes.push('reply');
    } else {
      order = 2 * this.mainCount++;
      if (m.replyTo === null) this.rememberParent(m.messageId, order);
    }
    if (m.deletedAt) classes.push('deleted');

    const badges: string[] = [];
    if (m.sender.external) badges.push('<span class="badge external">outside the account</span>');
    if (m.editedAt) badges.push(`<span class="badge edited">edited ${e(formatUtc(m.editedAt))}</span>`);
    if (m.deletedAt) badges.push(`<span class="badge deleted">DELETED ${e(formatUtc(m.deletedAt))}</span>`);

    let html = `<article class="${classes.join(' ')}" id="m-${e(m.messageId)}" style="order:${order}">\n`;
    html += `<div class="meta">${person(m.sender.displayName, m.sender.email, m.sender.memberId)}`;
    if (m.receiver) html += ` <span>to ${e(m.receiver)}</span>`;
    html += ` <time datetime="${e(m.sentAt)}">${e(formatUtc(m.sentAt))}</time>${badges.join('')}</div>\n`;
    if (m.replyTo !== null) {
      html +=
        parentOrder !== undefined
          ? `<p class="reply-to">↳ reply to <a href="#m-${e(m.replyTo)}">this thread's first message</a></p>\n`
          : `<p class="reply-to">↳ reply to a message that is not in this export or this page (id ${e(m.replyTo)}) — <a href="#m-${e(m.replyTo)}">go to it if present</a></p>\n`;
    }
    html += `<div class="body">${e(m.currentText)}</div>\n`;
    if (m.files.length > 0) {
      const items = m.files.map((f) => `<li>${e(f.name)}${f.sizeBytes === null ? '' : ` (${e(formatBytes(f.sizeBytes))})`}</li>`).join('');
      html += `<div class="files">Files (not included): <ul>${items}</ul></div>\n`;
    }
    if (m.versions.length > 1) html += this.renderHistory(m);
    return `${html}</article>\n`;
  }

  private renderHistory(m: MessageHistory): string {
    const items = m.versions.map((v, i) => {
      const text = v.body ?? '';
      const earlier = m.versions[i - 1];
      const same = earlier !== undefined && (earlier.body ?? '') === text;
      // Struck through: a text the message no longer has.
      const shown = same ? '<span class="text">(text unchanged)</span>' : text === m.currentText ? `<span class="text">${e(text)}</span>` : `<del>${e(text)}</del>`;
      return `<li><time datetime="${e(v.action_at)}">${e(formatUtc(v.action_at))}</time> — ${e(kindLabel(v.kind, v.action_at, m.sentAt))}: ${shown}</li>`;
    });
    return `<details class="history" open><summary>History: ${m.versions.length} archived versions, ${m.changes.length} change${m.changes.length === 1 ? '' : 's'} of text</summary><ol>${items.join('')}</ol></details>\n`;
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

  private rememberParent(messageId: string, order: number): void {
    if (this.parents.size >= MAX_THREAD_PARENTS) {
      const oldest = this.parents.keys().next();
      if (!oldest.done) this.parents.delete(oldest.value);
    }
    this.parents.set(messageId, order);
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
