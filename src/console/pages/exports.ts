import type { FastifyReply, FastifyRequest } from 'fastify';
import { EXPORT_FORMATS, getExport, resolveRecordedPath, summariseFilter, type ExportProgress, type ExportRecord } from '../../export/index.js';
import { loadMatters } from '../../legal-hold/index.js';
import { listExportIds } from '../../read-model/export-bundles.js';
import { auditRead, type ApiContext } from '../../service/api-context.js';
import { launchExport } from '../../service/export-launcher.js';
import { bundleFile, sendCheckedFile } from '../../service/stored-file.js';
import { ApiError, notFound, toErrorResponse } from '../../service/http-errors.js';
import { formatBytes } from '../../util/bytes.js';
import { formOf, requireConsoleRole, type FormFields } from '../console-auth.js';
import { html, link, type SafeHtml } from '../html.js';
import { csrfField, notice, timeTag } from '../layout.js';
import type { ConsoleSession } from '../session-store.js';

/**
 * Exports (role exporter): the request form (matter, custodians with dates, sessions, a query,
 * formats) started through the API's launcher, each export's live progress (console.js polls
 * /ui/exports/:id/progress; without script the page can be reloaded), the download with its SHA-256
 * (audited as the API's download is), and the latest exports.
 */

const EXPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RECENT = 20;

export function checkExportId(value: string): string {
  if (!EXPORT_ID.test(value)) throw notFound('no such export (an export id is a UUID)');
  return value;
}

const exportHref = (id: string) => `/ui/exports/${id}`;

async function exportForm(ctx: ApiContext, session: ConsoleSession, form: FormFields): Promise<SafeHtml> {
  const matters = await loadMatters(ctx.pool);
  const chosen = new Set(form.all('formats'));
  const selectedFormats = chosen.size === 0 ? new Set<string>(EXPORT_FORMATS) : chosen;
  const matter = form.get('matter');
  return html`<form class="stack" method="post" action="/ui/exports">${csrfField(session)}
  <p class="muted">Choose exactly one of a matter, custodians with dates, or sessions; words narrow any of them.</p>
  <label>Legal-hold matter <select name="matter"><option value="">— none —</option>${matters.map(
    (m) => html`<option value="${m.matterId}"${matter === m.matterId ? html` selected` : ''}>${m.matterName} (${m.state.replace(/_/g, ' ')})</option>`,
  )}</select></label>
  <label>Custodians (emails, one a line) <textarea name="custodians" rows="3">${form.get('custodians') ?? ''}</textarea></label>
  <label>From (UTC day, inclusive) <input type="date" name="from" value="${form.get('from') ?? ''}"></label>
  <label>To (UTC day, inclusive) <input type="date" name="to" value="${form.get('to') ?? ''}"></label>
  <label>Session ids (one a line) <textarea name="sessions" rows="3">${form.get('sessions') ?? ''}</textarea></label>
  <label>Only messages matching (web-search syntax) <input type="search" name="query" maxlength="1000" value="${form.get('query') ?? ''}"></label>
  <fieldset><legend>Formats</legend>${EXPORT_FORMATS.map((f) => html`<label class="check"><input type="checkbox" name="formats" value="${f}"${selectedFormats.has(f) ? html` checked` : ''}> ${f}</label>`)}</fieldset>
  <label>Requested by (a name or ticket; default: your token) <input name="requested_by" maxlength="200" value="${form.get('requested_by') ?? ''}"></label>
  <div><button type="submit">Start the export</button></div>
</form>`;
}

export async function renderExports(ctx: ApiContext, request: FastifyRequest, problem?: string): Promise<SafeHtml> {
  const session = requireConsoleRole(request, 'exporter');
  const ids = await listExportIds(ctx.pool, { limit: RECENT });
  const records: ExportRecord[] = [];
  for (const r of ids) {
    const record = await getExport(ctx.pool, r.exportId);
    if (record) records.push(record);
  }
  const list =
    records.length === 0
      ? notice('info', 'No export yet.')
      : html`<table><caption class="sr-only">Latest exports</caption><thead><tr><th scope="col">Export</th><th scope="col">Selection</th><th scope="col">State</th><th scope="col">Requested</th><th scope="col">Size</th></tr></thead>
<tbody>${records.map(
          (r) => html`<tr><td>${link(exportHref(r.exportId), r.exportId.slice(0, 8), html` aria-label="Export ${r.exportId}"`)}</td><td>${summariseFilter(r.filter)}</td><td>${r.state}</td>
<td>${timeTag(r.requestedAt)} by ${r.requestedBy}</td><td>${r.bytes !== null ? formatBytes(r.bytes) : '—'}</td></tr>`,
        )}</tbody></table>`;
  return html`${problem ? notice('error', problem) : ''}<h2>Request an export</h2>${await exportForm(ctx, session, formOf(request))}<h2>Latest exports</h2>${list}`;
}

const lines = (value: string | undefined) => (value ?? '').split(/[\s,;]+/).filter((v) => v !== '');

/** Starts the export; answers where to go next, or the form again with what was wrong. */
export async function startExportFromForm(ctx: ApiContext, request: FastifyRequest, maxConcurrentExports: number): Promise<{ location: string } | { status: number; body: SafeHtml }> {
  const session = requireConsoleRole(request, 'exporter');
  const form = formOf(request);
  const running = ctx.inFlight.list().filter((e) => e.kind === 'export').length;
  if (running >= maxConcurrentExports) throw new ApiError(429, 'TOO_MANY_EXPORTS', `${running} export(s) are already running on this instance; try again when one has finished`);
  try {
    const launched = await launchExport(
      { pool: ctx.backgroundPool, dataDir: ctx.config.dataDir, logger: ctx.logger, clock: ctx.clock, inFlight: ctx.inFlight },
      {
        matter: form.get('matter'),
        custodians: form.get('custodians') === undefined ? undefined : lines(form.get('custodians')),
        sessions: form.get('sessions') === undefined ? undefined : lines(form.get('sessions')),
        from: form.get('from'),
        to: form.get('to'),
        query: form.get('query'),
        formats: form.all('formats').length > 0 ? form.all('formats') : undefined,
        requestedBy: form.get('requested_by'),
      },
      `api:${session.tokenName}`,
    );
    return { location: exportHref(launched.record.exportId) };
  } catch (err) {
    const response = toErrorResponse(err, request.id);
    if (response.status >= 400 && response.status < 500) return { status: response.status, body: await renderExports(ctx, request, response.body.error.message) };
    throw err;
  }
}

interface ProgressView {
  state: string;
  done: number;
  total: number;
  text: string;
}

function progressOf(r: ExportRecord): ProgressView {
  const p = (r.progress ?? {}) as Partial<ExportProgress>;
  const done = typeof p.versionsWritten === 'number' ? p.versionsWritten : 0;
  const total = typeof p.versionsTotal === 'number' ? p.versionsTotal : 0;
  const phase = typeof p.phase === 'string' ? p.phase : 'starting';
  const text = r.state === 'running' ? `${phase}: ${done.toLocaleString('en-US')} of ${total > 0 ? total.toLocaleString('en-US') : '?'} versions written` : r.state;
  return { state: r.state, done, total, text };
}

export async function exportProgress(ctx: ApiContext, request: FastifyRequest, exportId: string): Promise<ProgressView> {
  requireConsoleRole(request, 'exporter');
  const r = await getExport(ctx.pool, checkExportId(exportId));
  if (!r) throw notFound(`no export ${exportId}`);
  return progressOf(r);
}

export async function renderExport(ctx: ApiContext, request: FastifyRequest, exportId: string): Promise<{ title: string; body: SafeHtml }> {
  requireConsoleRole(request, 'exporter');
  const r = await getExport(ctx.pool, checkExportId(exportId));
  if (!r) throw notFound(`no export ${exportId}`);
  const p = progressOf(r);
  const counts = r.counts
    ? html`<dt>Contents</dt><dd>${r.counts.sessions} sessions, ${r.counts.messages} messages, ${r.counts.versions} versions (${r.counts.edits} edits, ${r.counts.deletions} deletions), ${r.counts.files} files referenced</dd>`
    : '';
  const body = html`<dl class="facts">
  <dt>Export id</dt><dd class="mono">${r.exportId}</dd>
  <dt>Selection</dt><dd>${summariseFilter(r.filter)}</dd>
  <dt>Formats</dt><dd>${r.formats.join(', ')}</dd>
  <dt>Requested</dt><dd>${timeTag(r.requestedAt)} by ${r.requestedBy}</dd>
  <dt>State</dt><dd>${r.state}${r.finishedAt ? html`, finished ${timeTag(r.finishedAt)}` : ''}</dd>
  ${counts}
  ${r.bytes !== null ? html`<dt>Size</dt><dd>${formatBytes(r.bytes)} (${r.bytes.toLocaleString('en-US')} bytes)</dd>` : ''}
  ${r.sha256 ? html`<dt>SHA-256</dt><dd class="mono" data-sha256>${r.sha256}</dd>` : ''}
</dl>
${
  r.state === 'running'
    ? html`<div data-export-progress="${exportHref(r.exportId)}/progress" data-state="running">
  <label>Progress <progress max="${Math.max(p.total, 1)}" value="${p.done}">${p.text}</progress></label>
  <p role="status" aria-live="polite" data-progress-text>${p.text}</p>
  <p class="muted">This page follows the export while it runs; reload it if scripts are off.</p></div>`
    : ''
}
${r.state === 'complete' ? html`<p>${link(`${exportHref(r.exportId)}/bundle`, 'Download the bundle', html` download data-download`)}</p>` : ''}
${r.state === 'failed' ? notice('error', `The export failed: ${r.error ?? 'no reason recorded'}`) : ''}
<p>${link('/ui/exports', 'All exports')}</p>`;
  return { title: `Export ${r.exportId.slice(0, 8)}`, body };
}

/** The bundle, whole, with its SHA-256; audited as the API's download (action api.exports.download, `via: console`). */
export async function sendBundle(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, exportId: string): Promise<FastifyReply> {
  requireConsoleRole(request, 'exporter');
  const record = await getExport(ctx.pool, checkExportId(exportId));
  if (!record) throw notFound(`no export ${exportId}`);
  if (record.state !== 'complete' || !record.path || !record.sha256 || record.bytes === null) throw new ApiError(409, 'CONFLICT', `export ${exportId} has no bundle (${record.state})`);
  const { sha256, bytes } = record;
  return sendCheckedFile(ctx, request, reply, {
    ...bundleFile(exportId, resolveRecordedPath(ctx.config.dataDir, record.path), { sha256, bytes }),
    audit: (range) => auditRead(ctx.pool, request, { action: 'api.exports.download', subjectType: 'export', subjectId: exportId, parameters: { range, sha256, bytes, via: 'console' } }),
  });
}
