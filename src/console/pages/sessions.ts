import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findSessions } from '../../read-model/sessions.js';
import type { ApiContext } from '../../service/api-context.js';
import { exactInstantKey, filterFingerprint } from '../../service/cursor.js';
import { InputError } from '../../errors.js';
import { cursorField, encodeCursor, instantField, queryOf, textField } from '../fields.js';
import { html, link, pathWith, type SafeHtml } from '../html.js';
import { notice, timeTag } from '../layout.js';

/** Sessions by name, member and activity, newest activity first (the read model's findSessions), keyset-paged. */

const PAGE_SIZE = 50;
const sessionsCursor = z.tuple([z.union([exactInstantKey, z.literal('-infinity')]), z.string().max(200)]);

export async function renderSessions(ctx: ApiContext, request: FastifyRequest): Promise<{ status: number; body: SafeHtml }> {
  const fields = queryOf(request);
  const raw = { name: fields.get('name'), member: fields.get('member'), active_from: fields.get('active_from'), active_to: fields.get('active_to') };
  const form = html`<form class="filters" method="get" action="/ui/sessions">
  <label>Name contains <input type="search" name="name" value="${raw.name ?? ''}" maxlength="200"></label>
  <label>Member email <input type="email" name="member" value="${raw.member ?? ''}" maxlength="320" autocomplete="off"></label>
  <label>Active from <input type="date" name="active_from" value="${raw.active_from ?? ''}"></label>
  <label>Active to (inclusive) <input type="date" name="active_to" value="${raw.active_to ?? ''}"></label>
  <button type="submit">Filter</button>
</form>`;
  try {
    const filters = {
      type: undefined,
      name: textField(fields, 'name', 200),
      member: textField(fields, 'member', 320, 'an email address'),
      activeFrom: instantField(fields, 'active_from', 'from'),
      activeTo: instantField(fields, 'active_to', 'to'),
    };
    if (filters.activeFrom && filters.activeTo && filters.activeFrom >= filters.activeTo) throw new InputError('"Active from" must be before "Active to"', 'active_from');
    const fingerprint = filterFingerprint(filters);
    const after = cursorField(fields, 'console-sessions', fingerprint, sessionsCursor);
    const rows = await findSessions(ctx.pool, filters, after ? { sortKey: after[0], sessionId: after[1] } : undefined, PAGE_SIZE + 1);
    const page = rows.slice(0, PAGE_SIZE);
    const last = page[page.length - 1];
    const next = rows.length > PAGE_SIZE && last ? encodeCursor('console-sessions', fingerprint, [last.sort_key, last.session_id]) : undefined;
    const table =
      page.length === 0
        ? notice('info', 'No session matches.')
        : html`<table><caption class="sr-only">Sessions, newest activity first</caption>
<thead><tr><th scope="col">Session</th><th scope="col">Type</th><th scope="col">Members</th><th scope="col">Last message</th></tr></thead>
<tbody>${page.map(
            (s) => html`<tr><td>${link(`/ui/sessions/${encodeURIComponent(s.session_id)}`, s.name || (s.type === '1:1' ? (s.member_emails ?? []).join(' and ') : '') || s.session_id)}
  ${s.has_external_member ? html` <span class="badge external">External members</span>` : ''}<div class="muted mono">${s.session_id}</div></td>
<td>${s.type ?? '—'}</td><td>${(s.member_emails ?? []).slice(0, 6).join(', ')}${(s.member_emails?.length ?? 0) > 6 ? ` and ${(s.member_emails?.length ?? 0) - 6} more` : ''}</td><td>${timeTag(s.last_message_sent_at)}</td></tr>`,
          )}</tbody></table>`;
    const pager = html`<nav class="pager" aria-label="Session pages">${after ? link(pathWith('/ui/sessions', raw), 'First page') : ''}${next ? link(pathWith('/ui/sessions', { ...raw, cursor: next }), 'Next page', html` rel="next"`) : ''}</nav>`;
    return { status: 200, body: html`${form}${table}${pager}` };
  } catch (err) {
    if (err instanceof InputError) return { status: 400, body: html`${form}${notice('error', err.message)}` };
    throw err;
  }
}
