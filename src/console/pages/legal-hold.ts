import type { FastifyRequest } from 'fastify';
import { createMatter, deleteMatter, findMatterHere, loadFiles, loadMatters, renameMatter, type LegalHoldDeps, type MatterRecord } from '../../legal-hold/index.js';
import { countUnstoredFiles } from '../../legal-hold/file-store.js';
import { countFilesByMatter } from '../../read-model/legal-hold.js';
import type { ApiContext } from '../../service/api-context.js';
import { ApiError, notFound } from '../../service/http-errors.js';
import { roleAllows } from '../../service/token-store.js';
import { formatBytes } from '../../util/bytes.js';
import type { ZoomClient } from '../../zoom/client.js';
import { formOf, requireConsoleRole, sessionOf, type FormFields } from '../console-auth.js';
import { html, link, type SafeHtml } from '../html.js';
import { csrfField, notice, timeTag, when } from '../layout.js';
import type { ConsoleSession } from '../session-store.js';

/**
 * Legal hold: matters with their custodians, files and states (the legal-hold module's stores, as
 * GET /v1/legal-hold/matters), and for admins create, rename and delete through the same commands
 * as the CLI and the API. Each change is two steps: the form posts to a confirmation page that names
 * what the change does in Zoom, and only its "Confirm" button (with `confirmed=yes`) makes the change.
 */

export interface LegalHoldPageDeps {
  zoom: ZoomClient | undefined;
}

const matterHref = (m: Pick<MatterRecord, 'matterId'>) => `/ui/legal-hold/${encodeURIComponent(m.matterId)}`;

function stateLabel(state: string): SafeHtml {
  return state === 'active' ? html`<span class="badge ok">active</span>` : html`<span class="badge deleted">${state.replace(/_/g, ' ')}</span>`;
}

export async function renderMatters(ctx: ApiContext, request: FastifyRequest): Promise<SafeHtml> {
  const session = sessionOf(request);
  const matters = await loadMatters(ctx.pool);
  const counts = await countFilesByMatter(ctx.pool);
  const table =
    matters.length === 0
      ? notice('info', 'No legal-hold matter is known here (the legal-hold job lists them from Zoom).')
      : html`<table><caption class="sr-only">Legal-hold matters</caption>
<thead><tr><th scope="col">Matter</th><th scope="col">State</th><th scope="col">Held days</th><th scope="col">Custodians</th><th scope="col">Files by state</th></tr></thead>
<tbody>${matters.map((m) => {
          const c = counts.get(m.matterId) ?? {};
          return html`<tr><td>${link(matterHref(m), m.matterName)}<div class="muted mono">${m.matterId}</div></td><td>${stateLabel(m.state)}</td>
<td>${m.startDate ?? 'open'} to ${m.endDate ?? 'open'}</td><td>${m.custodians.map((x) => x.email ?? x.identifier).join(', ')}</td>
<td>${Object.keys(c).length === 0 ? html`<span class="muted">none</span>` : Object.entries(c).map(([state, n]) => html`${state}: ${n} `)}</td></tr>`;
        })}</tbody></table>`;
  const create = roleAllows(session.role, 'admin')
    ? html`<h2>Create a matter</h2>
<form class="stack" method="post" action="/ui/legal-hold">${csrfField(session)}
  <label>Name <input name="name" required maxlength="128"></label>
  <label>Custodians (emails or Zoom user ids, one a line, up to 20) <textarea name="custodians" rows="3" required></textarea></label>
  <label>First day held (default: today) <input type="date" name="from"></label>
  <label>Last day held (default: open-ended) <input type="date" name="to"></label>
  <div><button type="submit">Review and create…</button></div>
</form>`
    : '';
  return html`${table}${create}`;
}

export async function renderMatter(ctx: ApiContext, request: FastifyRequest, ref: string): Promise<{ title: string; body: SafeHtml }> {
  const session = sessionOf(request);
  const m = await findLocally(ctx, ref);
  const files = await loadFiles(ctx.pool, { matterId: m.matterId });
  const admin = roleAllows(session.role, 'admin') && m.state === 'active';
  const body = html`<dl class="facts">
  <dt>Matter id</dt><dd class="mono">${m.matterId}</dd>
  <dt>State</dt><dd>${stateLabel(m.state)}${m.deletedAt ? html` since ${when(m.deletedAt)}` : ''}</dd>
  <dt>Held days</dt><dd>${m.startDate ?? 'open'} to ${m.endDate ?? 'open'}</dd>
  <dt>Created</dt><dd>${m.creationDate ?? '—'}${m.createdHereAt ? ' (from this archive)' : ''}</dd>
  <dt>Custodians</dt><dd>${m.custodians.map((c) => c.email ?? c.identifier).join(', ') || '—'}</dd>
</dl>
<h2>Files from Zoom</h2>
${
  files.length === 0
    ? notice('info', 'Zoom has listed no file for this matter yet.')
    : html`<table><caption class="sr-only">Files of the matter</caption><thead><tr><th scope="col">Custodian</th><th scope="col">File</th><th scope="col">State</th><th scope="col">Days</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col">Last error</th></tr></thead>
<tbody>${files.map(
        (f) => html`<tr><td>${f.custodian}</td><td class="mono">${f.fileKey}</td><td>${f.state}${f.attempts > 0 && f.state !== 'stored' ? html` <span class="muted">(${f.attempts} attempts)</span>` : ''}</td>
<td>${f.fileStartDate ?? '—'} to ${f.fileEndDate ?? '—'}</td><td>${f.storedBytes !== null ? formatBytes(f.storedBytes) : f.announcedBytes !== null ? `${formatBytes(f.announcedBytes)} (announced)` : '—'}</td>
<td class="mono">${f.sha256 ?? '—'}</td><td>${f.lastError ?? ''} ${f.lastErrorAt ? timeTag(f.lastErrorAt) : ''}</td></tr>`,
      )}</tbody></table>`
}
${
  admin
    ? html`<h2>Change</h2>
<form class="stack" method="post" action="${matterHref(m)}/rename">${csrfField(session)}
  <label>New name <input name="name" required maxlength="128" value="${m.matterName}"></label>
  <div><button type="submit">Review and rename…</button></div>
</form>
<form class="stack" method="post" action="${matterHref(m)}/delete">${csrfField(session)}
  <div><button type="submit" class="danger">Review and delete…</button></div>
</form>`
    : ''
}`;
  return { title: `Matter: ${m.matterName}`, body };
}

async function findLocally(ctx: ApiContext, ref: string): Promise<MatterRecord> {
  const found = await findMatterHere(ctx, ref);
  if (!found) throw notFound(`no legal-hold matter ${JSON.stringify(ref)} is known here (the legal-hold job refreshes the list from Zoom)`);
  return found;
}

function zoomDeps(ctx: ApiContext, deps: LegalHoldPageDeps, actor: string): LegalHoldDeps {
  if (!deps.zoom) throw new ApiError(503, 'SERVICE_UNAVAILABLE', 'legal-hold changes need Zoom credentials, and this instance has none configured (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET)');
  return { pool: ctx.pool, zoom: deps.zoom, config: ctx.config, logger: ctx.logger, clock: ctx.clock, actor };
}

export type ChangeOutcome = { kind: 'page'; title: string; body: SafeHtml } | { kind: 'redirect'; location: string };

/**
 * The confirmation step of a change: what will happen, the values carried in hidden fields, Confirm
 * (which posts to `action` with `confirmed=yes`) and Cancel (back to `cancelHref`).
 */
function confirmation(
  session: ConsoleSession,
  change: 'create' | 'rename' | 'delete',
  target: { action: string; cancelHref: string },
  consequence: SafeHtml,
  fields: Record<string, string | undefined>,
): ChangeOutcome {
  const body = html`${notice('warn', consequence)}
<form method="post" action="${target.action}">${csrfField(session)}
  ${Object.entries(fields).map(([k, v]) => (v === undefined ? '' : html`<input type="hidden" name="${k}" value="${v}">`))}
  <input type="hidden" name="confirmed" value="yes">
  <p><button type="submit"${change === 'delete' ? html` class="danger"` : ''}>Confirm: ${change} the matter in Zoom</button> ${link(target.cancelHref, 'Cancel')}</p>
</form>`;
  return { kind: 'page', title: `Confirm: ${change} a legal-hold matter`, body };
}

export async function createMatterFromForm(ctx: ApiContext, deps: LegalHoldPageDeps, request: FastifyRequest): Promise<ChangeOutcome> {
  const session = requireConsoleRole(request, 'admin');
  const form = formOf(request);
  const name = form.get('name');
  const custodians = (form.get('custodians') ?? '').split(/[\s,;]+/).filter((c) => c !== '');
  const from = form.get('from');
  const to = form.get('to');
  if (form.get('confirmed') !== 'yes') {
    return confirmation(
      session,
      'create',
      { action: '/ui/legal-hold', cancelHref: '/ui/legal-hold' },
      html`Creating matter <strong>${name ?? '(no name)'}</strong> places a legal hold in Zoom on <strong>${custodians.length} custodian${custodians.length === 1 ? '' : 's'}</strong> (${custodians.join(', ')}) from ${from ?? 'today'} to ${to ?? 'no end date'}: Zoom keeps every message and file of theirs in that time, whatever its retention settings say, until the matter is deleted, and prepares export files that this archive downloads.`,
      { name, custodians: custodians.join('\n'), from, to },
    );
  }
  const actor = `api:${session.tokenName}`;
  const created = await createMatter(zoomDeps(ctx, deps, actor), { name: name as string, custodians, from, to }, actor);
  return { kind: 'redirect', location: matterHref(created) };
}

export async function renameMatterFromForm(ctx: ApiContext, deps: LegalHoldPageDeps, request: FastifyRequest, ref: string): Promise<ChangeOutcome> {
  const session = requireConsoleRole(request, 'admin');
  const form = formOf(request);
  const m = await findLocally(ctx, ref);
  const name = form.get('name');
  if (form.get('confirmed') !== 'yes') {
    return confirmation(
      session,
      'rename',
      { action: `${matterHref(m)}/rename`, cancelHref: matterHref(m) },
      html`Renaming changes the name of matter <strong>${m.matterName}</strong> to <strong>${name ?? '(no name)'}</strong> in Zoom and here. The hold itself does not change; exports and the audit log keep referring to the matter by its id.`,
      { name },
    );
  }
  const actor = `api:${session.tokenName}`;
  await renameMatter(zoomDeps(ctx, deps, actor), { matter: m.matterId, name: name as string }, actor);
  return { kind: 'redirect', location: matterHref(m) };
}

export async function deleteMatterFromForm(ctx: ApiContext, deps: LegalHoldPageDeps, request: FastifyRequest, ref: string): Promise<ChangeOutcome> {
  const session = requireConsoleRole(request, 'admin');
  const form: FormFields = formOf(request);
  const m = await findLocally(ctx, ref);
  if (form.get('confirmed') !== 'yes') {
    const unstored = await countUnstoredFiles(ctx.pool, m.matterId);
    return confirmation(
      session,
      'delete',
      { action: `${matterHref(m)}/delete`, cancelHref: matterHref(m) },
      html`Deleting matter <strong>${m.matterName}</strong> <strong>releases the legal hold in Zoom</strong> on ${m.custodians.length} custodian${m.custodians.length === 1 ? '' : 's'} (${m.custodians.map((c) => c.email ?? c.identifier).join(', ')}): Zoom's retention may then delete their messages and files for good. This archive keeps its own copy, the matter (marked deleted here) and its stored files.${
        unstored > 0 ? html` <strong>${unstored} file${unstored === 1 ? ' is' : 's are'} not stored here yet and will be given up</strong>: Zoom no longer serves them once the matter is deleted.` : ''
      }`,
      { force: unstored > 0 ? 'true' : undefined },
    );
  }
  const actor = `api:${session.tokenName}`;
  await deleteMatter(zoomDeps(ctx, deps, actor), { matter: m.matterId, force: form.get('force') === 'true' }, actor);
  return { kind: 'redirect', location: matterHref(m) };
}
