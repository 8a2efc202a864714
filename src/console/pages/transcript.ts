import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { VersionRow } from '../../read-model/content-read.js';
import { findSession, sessionExists } from '../../read-model/sessions.js';
import { readTranscriptPage, type TranscriptPosition } from '../../read-model/transcript.js';
import { emojiOf } from '../../export/reactions.js';
import { readAuditFor, type ApiContext } from '../../service/api-context.js';
import { exactInstantKey, filterFingerprint, isExactInstant } from '../../service/cursor.js';
import { notFound } from '../../service/http-errors.js';
import { InputError } from '../../errors.js';
import { formatBytes } from '../../util/bytes.js';
import { captureNote, FileCaptures, fileLink, filesOf } from '../file-link.js';
import { listMessageFiles } from '../../read-model/chat-files.js';
import { roleAllows } from '../../service/token-store.js';
import { cursorField, encodeCursor, queryOf } from '../fields.js';
import { bodyBox, html, link, pathWith, renderBody, type SafeHtml } from '../html.js';
import { notice, timeTag, when } from '../layout.js';
import { renderDiff } from '../word-diff.js';

/**
 * A session's transcript, read like a chat: one entry per message (its latest version shown), replies
 * nested under the message they answer, reactions, files, people outside the account marked. Every
 * message with more than one version opens its whole history, oldest first, each version with a
 * word-level diff against the one before; when the first version archived is an edit or a deletion,
 * it says that Zoom never reported the text as first sent. The read is the API's (readTranscriptPage,
 * with its audit entry, `via: console`); `?at=<send time>` starts the page at a message (search hits
 * link there, with the message's anchor).
 */

export const TRANSCRIPT_PAGE_SIZE = 300;
const versionId = z.number().int().nonnegative();
const key = z.string().max(200);
const transcriptCursor = z.union([z.tuple([z.literal('s'), exactInstantKey, key, exactInstantKey, versionId]), z.tuple([z.literal('u'), key, exactInstantKey, versionId])]);
const EARLIEST = '0001-01-01T00:00:00.000000Z';

export function messageAnchor(messageId: string): string {
  return `m-${messageId}`;
}

/** Where a search hit opens: the transcript page that starts at the hit's send time, at its message. */
export function transcriptHref(sessionId: string, row: Pick<VersionRow, 'sent_key' | 'message_id'>): string {
  return `${pathWith(`/ui/sessions/${encodeURIComponent(sessionId)}`, { at: row.sent_key ?? 'unsent' })}#${encodeURIComponent(messageAnchor(row.message_id))}`;
}

interface MessageGroup {
  messageId: string;
  versions: VersionRow[];
  replies: MessageGroup[];
}

export async function renderTranscript(ctx: ApiContext, request: FastifyRequest, sessionId: string): Promise<{ title: string; body: SafeHtml }> {
  const fields = queryOf(request);
  const fingerprint = filterFingerprint({ sessionId });
  let position: TranscriptPosition | undefined;
  const at = fields.get('at');
  const c = cursorField(fields, 'console-transcript', fingerprint, transcriptCursor);
  if (c !== undefined) position = c[0] === 's' ? { phase: 'sent', sentKey: c[1], messageId: c[2], actionKey: c[3], versionId: c[4] } : { phase: 'unsent', messageId: c[1], actionKey: c[2], versionId: c[3] };
  else if (at === 'unsent') position = { phase: 'unsent', messageId: '', actionKey: EARLIEST, versionId: 0 };
  else if (at !== undefined) {
    if (!isExactInstant(at)) throw new InputError('at must be a send time as the console links it (2026-06-01T10:00:00.000000Z)', 'at');
    position = { phase: 'sent', sentKey: at, messageId: '', actionKey: EARLIEST, versionId: 0 };
  }
  const session = await findSession(ctx.pool, sessionId);
  const audit = readAuditFor(request, {
    action: 'api.sessions.transcript',
    subjectType: 'session',
    subjectId: sessionId,
    parameters: { limit: TRANSCRIPT_PAGE_SIZE, cursor: fields.get('cursor') ?? null, at: at ?? null, include_raw: true, via: 'console' },
  });
  const rows = await readTranscriptPage(ctx.pool, sessionId, position, TRANSCRIPT_PAGE_SIZE + 1, true, audit);
  if (!session && rows.length === 0 && !(await sessionExists(ctx.pool, sessionId))) throw notFound(`no session ${JSON.stringify(sessionId)} in the archive`);
  const page = rows.slice(0, TRANSCRIPT_PAGE_SIZE);
  const last = page[page.length - 1];
  const next =
    rows.length > TRANSCRIPT_PAGE_SIZE && last
      ? encodeCursor('console-transcript', fingerprint, last.sent_key === null ? ['u', last.message_id, last.action_key, last.version_id] : ['s', last.sent_key, last.message_id, last.action_key, last.version_id])
      : undefined;
  const title = session?.name ? `Transcript: ${session.name}` : `Transcript: ${session?.type === '1:1' ? (session.member_emails ?? []).join(' and ') || sessionId : sessionId}`;
  const groups = groupMessages(page);
  const captures = new FileCaptures(
    await listMessageFiles(ctx.pool, sessionId, [...new Set(page.map((r) => r.message_id))]),
    request.consoleSession !== null && roleAllows(request.consoleSession.role, 'exporter'),
  );
  const base = `/ui/sessions/${encodeURIComponent(sessionId)}`;
  const facts = session
    ? html`<dl class="facts">
  <dt>Session id</dt><dd class="mono">${sessionId}</dd>
  <dt>Type</dt><dd>${session.type ?? 'unknown'}${session.has_external_member ? html` <span class="badge external">Has external members</span>` : ''}</dd>
  ${session.member_emails?.length ? html`<dt>Members</dt><dd>${session.member_emails.join(', ')}</dd>` : ''}
  <dt>Messages</dt><dd>${Number(session.messages).toLocaleString('en-US')} (${Number(session.versions).toLocaleString('en-US')} versions), ${when(session.first_sent_at)} to ${when(session.last_sent_at)}</dd>
</dl>`
    : html`<p class="mono">${sessionId}</p>`;
  const pager = html`<nav class="pager" aria-label="Transcript pages">${position ? link(base, 'From the beginning') : ''}${next ? link(pathWith(base, { cursor: next }), 'Later messages', html` rel="next"`) : ''}</nav>`;
  const body = html`${facts}
<p><button type="button" class="link" data-toggle-histories aria-pressed="false" hidden>Expand all version histories</button> <span class="muted">Keys: j / k next / previous message.</span></p>
${page.length === 0 ? notice('info', position ? 'No later messages.' : 'No archived message in this session.') : html`<ol class="transcript" aria-label="Messages">${groups.map((g, i) => html`<li>${renderMessage(g, sessionId, i === 0 && position !== undefined, captures)}</li>`)}</ol>`}
${pager}`;
  return { title, body };
}

/** Consecutive versions of one message form a group (transcript order keeps them together); replies go under their thread's message when it is on the page. */
function groupMessages(rows: readonly VersionRow[]): MessageGroup[] {
  const groups: MessageGroup[] = [];
  const byId = new Map<string, MessageGroup>();
  for (const row of rows) {
    let g = byId.get(row.message_id);
    if (!g) {
      g = { messageId: row.message_id, versions: [], replies: [] };
      byId.set(row.message_id, g);
      const parent = row.reply_main_message_id ? byId.get(row.reply_main_message_id) : undefined;
      if (parent && parent !== g) parent.replies.push(g);
      else groups.push(g);
    }
    g.versions.push(row);
  }
  for (const g of byId.values()) g.versions.sort((a, b) => (a.action_key < b.action_key ? -1 : a.action_key > b.action_key ? 1 : a.version_id - b.version_id));
  return groups;
}

interface RawReaction {
  emoji?: unknown;
  total_count?: unknown;
}

function reactionsOf(versions: readonly VersionRow[]): Array<{ shown: string; count: number | null }> {
  for (let i = versions.length - 1; i >= 0; i--) {
    const raw = versions[i]?.raw as { reactions?: unknown; custom_emoji_reactions?: unknown } | undefined;
    const list = [...(Array.isArray(raw?.reactions) ? raw.reactions : []), ...(Array.isArray(raw?.custom_emoji_reactions) ? raw.custom_emoji_reactions : [])] as RawReaction[];
    if (list.length > 0) {
      return list
        .filter((r) => typeof r.emoji === 'string')
        .map((r) => ({ shown: emojiOf(r.emoji as string), count: typeof r.total_count === 'number' ? r.total_count : null }))
        .filter((r) => r.count !== 0);
    }
  }
  return [];
}

function senderOf(v: VersionRow): SafeHtml {
  const name = v.sender_display_name ?? v.sender ?? v.sender_member_id ?? 'unknown sender';
  return html`<span class="sender">${name}</span>${v.sender ? html` <span>${v.sender}</span>` : html` <span class="badge external" title="Zoom reports no email for people outside the account">External</span>`}`;
}

function renderMessage(g: MessageGroup, sessionId: string, maybeContinued: boolean, captures: FileCaptures): SafeHtml {
  const versions = g.versions;
  const first = versions[0] as VersionRow;
  const latest = versions[versions.length - 1] as VersionRow;
  const deleted = latest.kind === 'deleted';
  const edited = versions.some((v) => v.kind === 'edited');
  const shownText = deleted ? ([...versions].reverse().find((v) => v.body !== null && v.body !== '')?.body ?? latest.body) : latest.body;
  const files = filesOf(latest.files ?? first.files);
  const reactions = reactionsOf(versions);
  const neverFirstSent = first.kind !== 'original' && !maybeContinued;
  return html`<article class="message${deleted ? ' deleted' : ''}" id="${messageAnchor(g.messageId)}" tabindex="-1" aria-label="Message from ${first.sender_display_name ?? first.sender ?? 'unknown sender'}">
  <div class="meta">${senderOf(first)} ${timeTag(first.sent_key)}
    ${edited ? html`<span class="badge edited">Edited</span>` : ''}${deleted ? html` <span class="badge deleted">Deleted ${when(latest.action_key)}</span>` : ''}
    ${first.reply_main_message_id ? html`<span>reply in ${link(`#${encodeURIComponent(messageAnchor(first.reply_main_message_id))}`, 'thread')}</span>` : ''}
    <a class="muted" href="#${encodeURIComponent(messageAnchor(g.messageId))}" aria-label="Link to this message">#</a></div>
  ${bodyBox(shownText, shownText === null || shownText === '' ? html`<span class="muted">(no text)</span>` : renderBody(shownText))}
  ${files.length > 0 ? html`<ul class="files" aria-label="Files">${files.map((f) => {
    const capture = captures.of(g.messageId, f);
    const href = fileLink(capture, captures.canDownload);
    const label = html`📎 ${f.name}${f.sizeBytes !== null ? html` <span class="muted">(${formatBytes(f.sizeBytes)})</span>` : ''}`;
    return html`<li>${href ? link(href, label, html` download`) : label} <span class="muted file-state">${captureNote(capture)}</span></li>`;
  })}</ul>` : ''}
  ${reactions.length > 0 ? html`<ul class="reactions" aria-label="Reactions">${reactions.map((r) => html`<li>${r.shown}${r.count !== null ? html` <span class="muted">${r.count}</span>` : ''}</li>`)}</ul>` : ''}
  ${versions.length > 1 || neverFirstSent ? renderHistory(versions, neverFirstSent) : ''}
  ${g.replies.length > 0 ? html`<ol class="thread" aria-label="Replies">${g.replies.map((r) => html`<li>${renderMessage(r, sessionId, false, captures)}</li>`)}</ol>` : ''}
</article>`;
}

function renderHistory(versions: readonly VersionRow[], neverFirstSent: boolean): SafeHtml {
  const first = versions[0] as VersionRow;
  return html`<details class="history">
  <summary>Version history (${versions.length} version${versions.length === 1 ? '' : 's'})</summary>
  ${neverFirstSent ? notice('warn', `Zoom never reported this message's text as first sent: the earliest version archived is ${first.kind === 'edited' ? 'an edit' : 'the deletion'}.`) : ''}
  <ol>${versions.map((v, i) => {
    const prev = i > 0 ? versions[i - 1] : undefined;
    const label = v.kind === 'original' ? 'Sent' : v.kind === 'edited' ? 'Edited' : 'Deleted';
    const text = v.body ?? '';
    const diff = prev && v.kind !== 'deleted' ? renderDiff(prev.body ?? '', text) : renderBody(text);
    return html`<li><div class="meta"><strong>${label}</strong> ${timeTag(v.action_key)} <span class="mono">version ${v.version_id}</span></div>
      ${bodyBox(text, text === '' && v.kind === 'deleted' ? html`<span class="muted">(deleted; Zoom sent no text)</span>` : diff)}</li>`;
  })}</ol>
</details>`;
}
