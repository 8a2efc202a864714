import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { VersionRow } from '../../read-model/content-read.js';
import { isSearchableQuery, searchVersions, type SearchPosition } from '../../read-model/message-search.js';
import { readAuditFor, type ApiContext } from '../../service/api-context.js';
import { exactInstantKey, filterFingerprint } from '../../service/cursor.js';
import { InputError } from '../../errors.js';
import { cursorField, encodeCursor, instantField, queryOf, textField } from '../fields.js';
import { bodyBox, html, link, pathWith, queryWords, renderBody, type SafeHtml } from '../html.js';
import { notice, timeTag } from '../layout.js';
import { transcriptHref } from './transcript.js';

/**
 * Search: sender, receiver, session, a send-date range and full text in the API's syntax, over the
 * read model's searchVersions (the same query and the same audit entry as GET /v1/messages/search,
 * with `via: console`). Keyset paging: "Next page" carries the last hit's sort key, so page 500 costs
 * what page 1 costs. Each hit links to its place in the transcript.
 */

export const SEARCH_PAGE_SIZE = 50;
const searchCursor = z.union([z.tuple([z.literal('s'), exactInstantKey, z.number().int().nonnegative()]), z.tuple([z.literal('u'), z.number().int().nonnegative()])]);

export interface SearchView {
  status: number;
  body: SafeHtml;
}

export async function renderSearch(ctx: ApiContext, request: FastifyRequest): Promise<SearchView> {
  const fields = queryOf(request);
  const raw = { sender: fields.get('sender'), receiver: fields.get('receiver'), session: fields.get('session'), from: fields.get('from'), to: fields.get('to'), q: fields.get('q') };
  const form = html`<form class="filters" method="get" action="/ui/search" role="search">
  <label>Words <input type="search" name="q" value="${raw.q ?? ''}" maxlength="500" placeholder='budget "draft contract" -lunch'></label>
  <label>Sender <input type="email" name="sender" value="${raw.sender ?? ''}" maxlength="320" autocomplete="off"></label>
  <label>Receiver (1:1) <input type="email" name="receiver" value="${raw.receiver ?? ''}" maxlength="320" autocomplete="off"></label>
  <label>Session id <input type="text" name="session" value="${raw.session ?? ''}" maxlength="200"></label>
  <label>Sent from <input type="date" name="from" value="${raw.from ?? ''}"></label>
  <label>Sent to (inclusive) <input type="date" name="to" value="${raw.to ?? ''}"></label>
  <button type="submit">Search</button>
</form>
<p class="muted">Words use web-search syntax: <code>"a phrase"</code>, <code>-excluded</code>, <code>or</code>. Matching ignores case; there is no stemming.</p>`;
  if (Object.values(raw).every((v) => v === undefined)) return { status: 200, body: form };
  try {
    const filters = {
      sender: textField(fields, 'sender', 320, 'an email address'),
      receiver: textField(fields, 'receiver', 320, 'an email address'),
      sessionId: textField(fields, 'session', 200, 'a session id'),
      from: instantField(fields, 'from', 'from'),
      to: instantField(fields, 'to', 'to'),
      q: textField(fields, 'q', 500, 'words to search for'),
    };
    if (filters.sender === undefined && filters.receiver === undefined && filters.sessionId === undefined && filters.q === undefined) {
      throw new InputError('give words, a sender, a receiver or a session (dates only narrow a search)', 'q');
    }
    if (filters.from && filters.to && filters.from >= filters.to) throw new InputError('"Sent from" must be before "Sent to"', 'from');
    if (filters.q !== undefined && !(await isSearchableQuery(ctx.pool, filters.q))) throw new InputError('the words have nothing to search for (give words, "a phrase", -excluded or or)', 'q');
    const fingerprint = filterFingerprint(filters);
    const p = cursorField(fields, 'console-search', fingerprint, searchCursor);
    const position: SearchPosition | undefined = p === undefined ? undefined : p[0] === 's' ? { phase: 'sent', sentKey: p[1], versionId: p[2] } : { phase: 'unsent', versionId: p[1] };
    const audit = readAuditFor(request, {
      action: 'api.messages.search',
      ...(filters.sessionId !== undefined ? { subjectType: 'session', subjectId: filters.sessionId } : {}),
      parameters: { ...filters, limit: SEARCH_PAGE_SIZE, cursor: fields.get('cursor') ?? null, include_raw: false, via: 'console' },
    });
    const started = performance.now();
    const rows = await searchVersions(ctx.pool, filters, position, SEARCH_PAGE_SIZE + 1, false, audit);
    const ms = Math.round(performance.now() - started);
    const page = rows.slice(0, SEARCH_PAGE_SIZE);
    const last = page[page.length - 1];
    const next = rows.length > SEARCH_PAGE_SIZE && last ? encodeCursor('console-search', fingerprint, last.sent_key === null ? ['u', last.version_id] : ['s', last.sent_key, last.version_id]) : undefined;
    const words = queryWords(filters.q);
    const results =
      page.length === 0
        ? notice('info', position ? 'No more matches.' : 'No message matches.')
        : html`<p class="muted" role="status">${page.length}${next ? '+' : ''} versions on this page (${ms} ms)</p>
<ol class="hits" data-results>${page.map((row) => renderHit(row, words))}</ol>`;
    const pager = html`<nav class="pager" aria-label="Result pages">${position ? link(pathWith('/ui/search', raw), 'First page') : ''}${next ? link(pathWith('/ui/search', { ...raw, cursor: next }), 'Next page', html` rel="next"`) : ''}</nav>`;
    return { status: 200, body: html`${form}<h2>Results</h2>${results}${pager}` };
  } catch (err) {
    if (err instanceof InputError) return { status: 400, body: html`${form}${notice('error', err.message)}` };
    throw err;
  }
}

function renderHit(row: VersionRow, words: readonly string[]): SafeHtml {
  return html`<li>
  <div class="meta"><span class="sender">${row.sender_display_name ?? row.sender ?? row.sender_member_id ?? 'unknown sender'}</span>
    ${row.sender ? html`<span>${row.sender}</span>` : html`<span class="badge external">External</span>`}
    ${timeTag(row.sent_key)} ${row.kind !== 'original' ? html`<span class="badge ${row.kind}">${row.kind}</span>` : ''}
    <span>in ${link(transcriptHref(row.session_id, row), row.session_id)}</span></div>
  ${bodyBox(row.body, row.body === null ? html`<span class="muted">(no text)</span>` : renderBody(row.body, words))}
</li>`;
}
