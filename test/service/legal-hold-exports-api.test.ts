import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness } from '../helpers/sync-harness.js';
import { getJson, loadRuns, sharedServiceProcess, waitFor } from './service-process.js';

// Legal-hold matters and export bundles through a real `serve` process: the same logic as the CLI
// (src/legal-hold, src/export), the simulator's Zoom legal-hold API, Range downloads of a real
// bundle with its SHA-256, and the audit trail with the token's name.

interface ErrorBody {
  error: { code: string; message: string; parameter?: string };
}
interface ExportView {
  export_id: string;
  state: string;
  sha256: string | null;
  bytes: number | null;
  progress: Record<string, unknown> | null;
  counts: Record<string, number> | null;
  download_url: string | null;
  status_url?: string;
}
interface MatterView {
  matter_id: string;
  name: string;
  state: string;
  custodians: Array<{ identifier: string }>;
  files?: unknown;
}

const fixture = sharedServiceProcess({
  harness: () => {
    const clock = new ManualClock(new Date());
    return startSyncHarness({ dataset: generateDataset({ seed: 61, now: clock.now(), sessions: 10, totalMessages: 900 }), clock });
  },
  tokens: { prefix: 'lh', roles: { reader: 'reader', exporter: 'exporter', admin: 'admin' } },
  prepare: async ({ harness }) => {
    expect((await harness.sync()).outcome).toBe('complete');
  },
  // The legal-hold job runs once at start (catch-up) and every second after; the simulator has no
  // rate limits, so the client's RESOURCE-INTENSIVE pace (5 a minute by default) is lifted too.
  env: { SCHEDULE_LEGAL_HOLD: '* * * * * *', ZOOM_RATE_RESOURCE_INTENSIVE: '60000', ZOOM_RATE_HEAVY: '2000' },
  args: ['--jobs', 'legal-hold'],
});
const { tokens, url } = fixture;
const send = <T>(method: string, path: string, token: string, body?: unknown) =>
  getJson<T>(url(path), token, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });

describe('legal-hold matters over HTTP', () => {
  // First, while no matter exists: the matter changes below race the every-second job on purpose.
  it('runs the legal-hold job on its schedule and records it', async () => {
    const run = await waitFor(
      async () => (await loadRuns(fixture.harness.db, 'legal-hold')).find((r) => r.outcome === 'succeeded' && r.figures?.['trigger'] === 'schedule'),
      30_000,
      'a scheduled legal-hold run',
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}; runs so far: ${JSON.stringify((await loadRuns(fixture.harness.db, 'legal-hold')).slice(-5))}`);
    });
    expect(run.figures).toMatchObject({ downloadsFailed: 0, fileListingFailures: 0 });
    expect(typeof run.figures?.['mattersListed']).toBe('number');

    // /v1/status shows the scheduled job's next tick on this instance, and its last run.
    const status = await send<{ jobs: Array<{ job: string; next_run_here: string | null; last_run: { outcome: string } | null }> }>('GET', '/v1/status', tokens.admin);
    expect(status.status).toBe(200);
    const job = status.body.jobs.find((j) => j.job === 'legal-hold');
    expect(job?.next_run_here).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(job?.last_run?.outcome).toBeDefined();
  });

  it('creates, lists, shows, renames and deletes a matter in Zoom and here, audited as api:<token>', async () => {
    const internal = fixture.harness.dataset.users.filter((u) => !u.external).slice(0, 2);
    const custodians = internal.map((u) => u.email);
    const created = await send<MatterView>('POST', '/v1/legal-hold/matters', tokens.admin, { name: 'Case 2026-17', custodians });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/legal-hold/matters/${encodeURIComponent(created.body.matter_id)}`);
    expect(created.body).toMatchObject({ name: 'Case 2026-17', state: 'active' });
    expect(created.body.custodians.map((c) => c.identifier).sort()).toEqual([...custodians].sort());
    // Zoom has it too.
    expect(fixture.harness.sim.legalHold.matters().map((m) => m.name)).toContain('Case 2026-17');

    const list = await send<{ items: MatterView[] }>('GET', '/v1/legal-hold/matters', tokens.reader);
    expect(list.status).toBe(200);
    expect(list.body.items.map((m) => m.matter_id)).toContain(created.body.matter_id);
    const byName = await send<MatterView>('GET', `/v1/legal-hold/matters/${encodeURIComponent('Case 2026-17')}`, tokens.reader);
    expect(byName.status).toBe(200);
    expect(byName.body.matter_id).toBe(created.body.matter_id);
    expect(Array.isArray(byName.body.files)).toBe(true);

    const renamed = await send<{ changed: boolean; matter: MatterView }>('PATCH', `/v1/legal-hold/matters/${created.body.matter_id}`, tokens.admin, { name: 'Case 2026-17 (renamed)' });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({ changed: true, matter: { name: 'Case 2026-17 (renamed)' } });

    // Validation is the CLI's: a bad custodian is refused before Zoom is called.
    const bad = await send<ErrorBody>('POST', '/v1/legal-hold/matters', tokens.admin, { name: 'x', custodians: ['not an email'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INPUT_INVALID', parameter: 'custodians' });
    const unknownMatter = await send<ErrorBody>('GET', '/v1/legal-hold/matters/no-such-matter', tokens.reader);
    expect(unknownMatter.status).toBe(404);

    const deleted = await send<MatterView>('DELETE', `/v1/legal-hold/matters/${created.body.matter_id}?force=true`, tokens.admin);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body.state).toBe('deleted_here');

    const audit = await fixture.harness.db.pool.query<{ actor: string; action: string }>(
      `SELECT actor, action FROM public.audit_log WHERE subject_id = $1 AND actor LIKE 'api:%' ORDER BY audit_id`,
      [created.body.matter_id],
    );
    expect(audit.rows.map((r) => r.actor)).toEqual(audit.rows.map(() => 'api:lh-admin'));
    expect(audit.rows.length).toBeGreaterThanOrEqual(3);
  });

});

describe('exports over HTTP', () => {
  let exportId = '';
  let bundle: Buffer;
  let sha256 = '';

  it('POST answers 202 at once with the id; the status shows progress until the bundle is complete', async () => {
    const sessions = (await fixture.harness.db.pool.query<{ session_id: string }>(`SELECT session_id FROM archive.message_versions GROUP BY 1 ORDER BY count(*) DESC LIMIT 2`)).rows.map((r) => r.session_id);
    const started = await send<ExportView>('POST', '/v1/exports', tokens.exporter, { sessions, formats: ['jsonl', 'csv'], requested_by: 'ticket LEGAL-42' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.export_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(started.headers.get('location')).toBe(`/v1/exports/${started.body.export_id}`);
    expect(['running', 'complete']).toContain(started.body.state);
    exportId = started.body.export_id;

    const done = await waitFor(async () => {
      const r = await send<ExportView>('GET', `/v1/exports/${exportId}`, tokens.exporter);
      return r.body.state === 'complete' || r.body.state === 'failed' ? r.body : undefined;
    }, 30_000, 'the export to finish');
    expect(done.state).toBe('complete');
    expect(done.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(done.counts?.['versions']).toBeGreaterThan(0);
    expect(done.download_url).toBe(`/v1/exports/${exportId}/bundle`);
    expect(done).not.toHaveProperty('path');
    sha256 = done.sha256!;

    const list = await send<{ items: ExportView[] }>('GET', '/v1/exports?state=complete', tokens.exporter);
    expect(list.body.items.map((e) => e.export_id)).toContain(exportId);
    const audit = await fixture.harness.db.pool.query<{ actor: string }>(`SELECT actor FROM public.audit_log WHERE action = 'export.create' AND subject_id = $1`, [exportId]);
    expect(audit.rows[0]?.actor).toBe('api:lh-exporter');
  });

  it('refuses bad export requests with 400 before anything starts', async () => {
    const none = await send<ErrorBody>('POST', '/v1/exports', tokens.exporter, {});
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/say what to export/);
    const unknownSession = await send<ErrorBody>('POST', '/v1/exports', tokens.exporter, { sessions: ['no-such-session'] });
    expect(unknownSession.status).toBe(400);
    const badFormat = await send<ErrorBody>('POST', '/v1/exports', tokens.exporter, { sessions: ['x'], formats: ['pdf'] });
    expect(badFormat.status).toBe(400);
    expect(badFormat.body.error.parameter).toBe('formats');
    const badId = await send<ErrorBody>('GET', '/v1/exports/not-a-uuid', tokens.exporter);
    expect(badId.status).toBe(400);
  });

  it('downloads the bundle whole and in ranges, with the SHA-256 in headers, each download audited', async () => {
    const auditBefore = (await fixture.harness.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.audit_log WHERE action = 'api.exports.download'`)).rows[0]!.n;
    const whole = await fetch(url(`/v1/exports/${exportId}/bundle`), { headers: { authorization: `Bearer ${tokens.exporter}` } });
    expect(whole.status).toBe(200);
    bundle = Buffer.from(await whole.arrayBuffer());
    expect(createHash('sha256').update(bundle).digest('hex')).toBe(sha256);
    expect(whole.headers.get('x-content-sha256')).toBe(sha256);
    expect(whole.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-length')).toBe(String(bundle.length));
    expect(whole.headers.get('content-type')).toBe('application/zip');
    expect(bundle.subarray(0, 2).toString()).toBe('PK');
    expect(bundle.length).toBeGreaterThan(300);

    const range = async (header: string, extra: Record<string, string> = {}) => {
      const r = await fetch(url(`/v1/exports/${exportId}/bundle`), { headers: { authorization: `Bearer ${tokens.exporter}`, range: header, ...extra } });
      return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
    };
    const first = await range('bytes=0-99');
    expect(first.status).toBe(206);
    expect(first.body.equals(bundle.subarray(0, 100))).toBe(true);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${bundle.length}`);
    expect(first.headers.get('content-length')).toBe('100');
    expect(first.headers.get('x-content-sha256')).toBe(sha256);

    const suffix = await range('bytes=-100');
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(bundle.subarray(bundle.length - 100))).toBe(true);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${bundle.length - 100}-${bundle.length - 1}/${bundle.length}`);

    const open = await range('bytes=100-');
    expect(open.status).toBe(206);
    expect(open.body.equals(bundle.subarray(100))).toBe(true);

    const clipped = await range(`bytes=${bundle.length - 10}-${bundle.length + 500}`);
    expect(clipped.status).toBe(206);
    expect(clipped.body.equals(bundle.subarray(bundle.length - 10))).toBe(true);

    const unsatisfiable = await range(`bytes=${bundle.length}-`);
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${bundle.length}`);

    // A stale If-Range gets the whole current bundle; a matching one gets the range.
    const stale = await range('bytes=0-9', { 'if-range': '"sha256-0000"' });
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(bundle.length);
    const fresh = await range('bytes=0-9', { 'if-range': whole.headers.get('etag')! });
    expect(fresh.status).toBe(206);
    expect(fresh.body.length).toBe(10);

    const audit = await fixture.harness.db.pool.query<{ actor: string; details: { parameters: { range: string } } }>(
      `SELECT actor, details FROM public.audit_log WHERE action = 'api.exports.download' AND subject_id = $1 ORDER BY audit_id`,
      [exportId],
    );
    const rows = audit.rows.slice(auditBefore);
    expect(rows.map((r) => r.details.parameters.range)).toEqual([
      'all',
      'bytes=0-99',
      `bytes=${bundle.length - 100}-${bundle.length - 1}`,
      `bytes=100-${bundle.length - 1}`,
      `bytes=${bundle.length - 10}-${bundle.length - 1}`,
      'all',
      'bytes=0-9',
    ]);
    expect(rows.every((r) => r.actor === 'api:lh-exporter')).toBe(true);
  });

  it('needs the exporter role to download, and 409s a bundle that does not exist yet', async () => {
    const denied = await send<ErrorBody>('GET', `/v1/exports/${exportId}/bundle`, tokens.reader);
    expect(denied.status).toBe(403);
    await fixture.harness.db.pool.query(
      `INSERT INTO archive.exports (export_id, requested_by, filter, formats, state) VALUES ('00000000-0000-4000-8000-000000000001', 'test', '{"kind":"sessions","sessionIds":["x"]}', '{jsonl}', 'running')`,
    );
    const running = await send<ErrorBody>('GET', '/v1/exports/00000000-0000-4000-8000-000000000001/bundle', tokens.exporter);
    expect(running.status).toBe(409);
    expect(running.body.error.message).toMatch(/still running/);
    const missing = await send<ErrorBody>('GET', '/v1/exports/00000000-0000-4000-8000-0000000000ff', tokens.exporter);
    expect(missing.status).toBe(404);
  });
});
