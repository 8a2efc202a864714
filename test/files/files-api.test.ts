import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { startSyncHarness } from '../helpers/sync-harness.js';
import { getJson, loadRuns, sharedServiceProcess, waitFor } from '../service/service-process.js';

// Files through a real `serve` process: the files job runs right after the sync job's pass, the
// status and metrics show the files, and the API lists a session's files and downloads their
// content (Range, roles, audit).

interface FileItem {
  session_id: string;
  file_id: string;
  state: string;
  sha256: string | null;
  stored_bytes: number | null;
  content_url: string | null;
}

const fixture = sharedServiceProcess({
  harness: () => {
    const clock = new ManualClock(new Date());
    return startSyncHarness({
      dataset: generateDataset({ seed: 62, now: clock.now(), sessions: 5, totalMessages: 120, fileProbability: 0.3, fileMaxBytes: 150_000 }),
      clock,
      simulator: { serveFiles: true },
    });
  },
  tokens: { prefix: 'files', roles: { reader: 'reader', exporter: 'exporter' } },
  env: { SCHEDULE_FILES: '0 0 1 1 *' },
  args: ['--jobs', 'sync,files'],
});
const { tokens, url } = fixture;

describe('files in the service', () => {
  it('captures the files right after the sync pass, and shows them in status, metrics and the API', async () => {
    // The catch-up run at start may be waiting for the Zoom turn while the sync runs; then it does
    // the work and the follow-up finds it running. Either way a run after the pass stores the files.
    const run = await waitFor(async () => (await loadRuns(fixture.harness.db, 'files')).find((r) => r.outcome === 'succeeded' && Number(r.figures?.['stored']) > 0), 50_000, 'a files run after the sync pass');
    const sync = (await loadRuns(fixture.harness.db, 'sync')).find((r) => r.outcome === 'succeeded');
    expect(run.startedMs).toBeGreaterThanOrEqual(sync!.startedMs);
    expect(['follow-up', 'catch-up']).toContain(run.figures?.['trigger']);
    expect(Number(run.figures?.['stored'])).toBeGreaterThan(3);
    expect(run.figures).toMatchObject({ failed: 0, stoppedBy: null });

    const status = await getJson<{ files: { by_state: Record<string, number>; stored_bytes: number } }>(url('/v1/status'), tokens.reader);
    expect(status.status).toBe(200);
    expect(status.body.files.by_state['stored']).toBe(run.figures?.['stored']);
    expect(status.body.files.by_state['pending']).toBe(0);

    const metrics = await getJson<string>(url('/metrics'), tokens.reader);
    expect(metrics.body).toMatch(new RegExp(`zca_files\\{state="stored"\\} ${String(run.figures?.['stored'])}`));
    expect(metrics.body).toMatch(/zca_files_stored_bytes [1-9]/);

    const withFiles = await fixture.harness.db.pool.query<{ session_id: string }>(`SELECT DISTINCT session_id FROM public.chat_files ORDER BY 1 LIMIT 1`);
    const sessionId = withFiles.rows[0]!.session_id;
    const listed = await getJson<{ items: FileItem[]; next_cursor: string | null }>(url(`/v1/sessions/${sessionId}/files?limit=1`), tokens.reader);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    const item = listed.body.items[0]!;
    const total = (await fixture.harness.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM public.chat_files WHERE session_id = $1', [sessionId])).rows[0]!.n;
    if (total > 1) {
      expect(listed.body.next_cursor).not.toBeNull();
      const next = await getJson<{ items: FileItem[] }>(url(`/v1/sessions/${sessionId}/files?limit=1&cursor=${listed.body.next_cursor}`), tokens.reader);
      expect(next.status).toBe(200);
      expect(next.body.items).toHaveLength(1);
      expect(next.body.items[0]).not.toEqual(item);
    }
    expect(item).toMatchObject({ session_id: sessionId, state: 'stored', content_url: `/v1/files/${item.sha256}/content` });

    const forbidden = await getJson(url(item.content_url!), tokens.reader);
    expect(forbidden.status).toBe(403);
    const whole = await fetch(url(item.content_url!), { headers: { authorization: `Bearer ${tokens.exporter}` } });
    expect(whole.status).toBe(200);
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(bytes.equals(fixture.harness.sim.files.content(item.file_id))).toBe(true);
    expect(whole.headers.get('x-content-sha256')).toBe(item.sha256);
    const part = await fetch(url(item.content_url!), { headers: { authorization: `Bearer ${tokens.exporter}`, range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);

    const audit = await fixture.harness.db.pool.query<{ actor: string; action: string; subject_id: string }>(
      `SELECT actor, action, subject_id FROM public.audit_log WHERE action IN ('api.files.download', 'api.sessions.files') ORDER BY audit_id`,
    );
    expect(audit.rows).toEqual([
      { actor: 'api:files-reader', action: 'api.sessions.files', subject_id: sessionId },
      ...(total > 1 ? [{ actor: 'api:files-reader', action: 'api.sessions.files', subject_id: sessionId }] : []),
      { actor: 'api:files-exporter', action: 'api.files.download', subject_id: item.sha256 },
      { actor: 'api:files-exporter', action: 'api.files.download', subject_id: item.sha256 },
    ]);
  });
});
