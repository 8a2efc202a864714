import { gatherStatus, formatAge } from '../../read-model/status-report.js';
import { API_STATEMENT_TIMEOUT_MS, type ApiContext } from '../../service/api-context.js';
import { inBoundedTransaction } from '../../service/bounded-transaction.js';
import { loadLatestRuns } from '../../service/job-run-store.js';
import { html, type SafeHtml } from '../html.js';
import { notice, timeTag } from '../layout.js';
import { formatBytes } from '../../util/bytes.js';

/**
 * What an on-call person opens first: the last sync, windows at risk of leaving Zoom's horizon,
 * every window, each job's last run, legal-hold files pending or failed, exports running, the sync
 * cost plan. The same report as GET /v1/status (gatherStatus without exact totals).
 */

export async function renderStatus(ctx: ApiContext): Promise<SafeHtml> {
  return inBoundedTransaction(ctx.pool, { statementTimeoutMs: API_STATEMENT_TIMEOUT_MS, readOnly: true }, async (client) => {
    const r = await gatherStatus({ db: client, clock: ctx.clock, sync: ctx.config.sync, totals: false, mediumRatePerSecond: ctx.config.zoom.ratePerSecond.medium });
    const latest = await loadLatestRuns(client, ctx.jobs.map((j) => j.name));
    const sync = r.last_sync;
    const risk =
      r.horizon.at_risk.length > 0
        ? notice(
            'error',
            html`${r.horizon.at_risk.length} window${r.horizon.at_risk.length === 1 ? ' is' : 's are'} not complete and will leave Zoom's horizon within ${r.horizon.risk_days} days: ${r.horizon.at_risk.map((w) => `${w.window} (leaves on ${w.leaves_horizon_on}, ${w.days_until_expiry} days)`).join('; ')}`,
          )
        : notice('info', `No incomplete window is about to leave Zoom's horizon (horizon starts ${r.horizon.start}; risk threshold ${r.horizon.risk_days} days).`);
    const lastSync = html`<dl class="facts">
  <dt>Last finished pass</dt><dd>${sync.last_finished ? html`#${sync.last_finished.run_id} ${sync.last_finished.mode}, ${sync.last_finished.outcome}, ${formatAge(sync.last_finished.age_seconds)} ago${sync.last_finished.error ? html` — ${sync.last_finished.error}` : ''}` : 'none yet'}</dd>
  <dt>Last complete pass</dt><dd>${sync.last_complete ? html`#${sync.last_complete.run_id}, finished ${timeTag(sync.last_complete.finished_at)}` : 'none yet'}</dd>
  <dt>Running now</dt><dd>${sync.running ? `#${sync.running.run_id} ${sync.running.mode}, for ${formatAge(sync.running.age_seconds)}` : 'no'}</dd>
  <dt>Failing session windows</dt><dd>${r.failing_units.count}</dd>
</dl>`;
    const windows = html`<table><caption class="sr-only">Archive windows</caption><thead><tr><th scope="col">Window</th><th scope="col">Status</th><th scope="col">Sessions</th><th scope="col">Units complete</th><th scope="col">Failing</th><th scope="col">Versions</th><th scope="col">Days until it leaves the horizon</th></tr></thead>
<tbody>${r.windows.map((w) => html`<tr><td>${w.window}</td><td>${w.status}</td><td>${w.sessions}</td><td>${w.units_complete} of ${w.units}</td><td>${w.failing}</td><td>${w.versions}</td><td>${w.days_until_expiry ?? '—'}</td></tr>`)}</tbody></table>`;
    const jobs = html`<table><caption class="sr-only">Jobs</caption><thead><tr><th scope="col">Job</th><th scope="col">Schedule (UTC)</th><th scope="col">Last run</th><th scope="col">Outcome</th><th scope="col">Error</th></tr></thead>
<tbody>${ctx.jobs.map((j) => {
      const last = latest.get(j.name);
      return html`<tr><td>${j.name}</td><td class="mono">${j.schedule}</td><td>${last ? timeTag(last.startedAt) : 'never'}</td><td>${last?.outcome ?? '—'}</td><td>${last?.error ?? ''}</td></tr>`;
    })}</tbody></table>`;
    const f = r.legal_hold.files;
    const files = html`<p>Legal-hold files: ${f.pending} pending, ${f.ready} ready, ${f.downloading} downloading, <strong>${f.failed} failed</strong>, ${f.stored} stored.</p>
${
  r.legal_hold.not_stored.length > 0
    ? html`<table><caption class="sr-only">Legal-hold files not stored</caption><thead><tr><th scope="col">Matter</th><th scope="col">Custodian</th><th scope="col">File</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr></thead>
<tbody>${r.legal_hold.not_stored.map((n) => html`<tr><td>${n.matter_name}</td><td>${n.custodian}</td><td class="mono">${n.file_key}</td><td>${n.state}</td><td>${n.attempts}</td><td>${n.last_error ?? ''}</td></tr>`)}</tbody></table>`
    : ''
}`;
    const cf = r.files;
    const chatFiles = html`<p>Files shared in chat: ${cf.by_state['stored'] ?? 0} stored (${formatBytes(cf.stored_bytes)}), ${cf.by_state['pending'] ?? 0} pending, <strong>${cf.by_state['failed'] ?? 0} failed</strong>, ${cf.by_state['gone'] ?? 0} gone from Zoom, ${cf.by_state['too_large'] ?? 0} over the size limit${cf.digest_mismatches > 0 ? html`; <strong>${cf.digest_mismatches} differ from Zoom's digest</strong>` : ''}.</p>
${
  cf.not_stored.length > 0
    ? html`<table><caption class="sr-only">Files shared in chat that failed or are gone</caption><thead><tr><th scope="col">File</th><th scope="col">Name</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Missing since</th><th scope="col">Last error</th></tr></thead>
<tbody>${cf.not_stored.map((n) => html`<tr><td class="mono">${n.file_id}</td><td>${n.file_name ?? ''}</td><td>${n.state}</td><td>${n.attempts}</td><td>${n.first_missing_at ? timeTag(n.first_missing_at) : ''}</td><td>${n.last_error ?? ''}</td></tr>`)}</tbody></table>`
    : ''
}`;
    const exportsPart = html`<p>${r.exports.running.length} export${r.exports.running.length === 1 ? '' : 's'} running; ${r.exports.failed_last_7_days} failed in the last 7 days.</p>`;
    const c = r.sync_cost;
    const cost = c
      ? html`<dl class="facts">
  <dt>Known sessions</dt><dd>${c.known_sessions}</dd>
  <dt>MEDIUM calls a day (budget)</dt><dd>${c.budget_per_day}</dd>
  <dt>Calls in the last ${c.last_day.hours} h</dt><dd>${c.last_day.total}</dd>
  <dt>Recurring calls a day</dt><dd>${Math.round(c.projected.recurring_average)} on average, ${Math.round(c.projected.recurring_peak)} at peak (${Math.round(c.projected.peak_share_of_budget * 100)}% of the budget)</dd>
  <dt>Backfill</dt><dd>${c.backfill.units_pending} units pending${c.backfill.hours_at_budget !== null ? `, about ${Math.round(c.backfill.hours_at_budget)} h at budget` : ''}</dd>
  <dt>Over budget in</dt><dd>${c.growth.days_until_over_budget === null ? 'not at the current growth' : `${c.growth.days_until_over_budget} days`}</dd>
</dl>${c.warnings.length > 0 ? notice('warn', c.warnings.join(' ')) : ''}`
      : notice('info', 'No sync cost plan yet.');
    return html`<h2>Horizon</h2>${risk}<h2>Sync</h2>${lastSync}<h2>Jobs</h2>${jobs}<h2>Legal-hold files</h2>${files}<h2>Files shared in chat</h2>${chatFiles}<h2>Exports</h2>${exportsPart}<h2>Sync cost plan</h2>${cost}<h2>Windows</h2>${windows}`;
  });
}
