import { describe, expect, it } from 'vitest';
import { createMatter, loadFiles, refreshFiles, syncMatters } from '../../src/legal-hold/index.js';
import { captureLogs, LEVEL } from '../helpers/log-capture.js';
import { harnessPerTest } from './harness.js';

// The file catalogue: which matters and custodians a refresh lists, what it counts, and what it
// reports when Zoom's listing of one custodian fails or carries an item without a file_key.

const harness = harnessPerTest();

const LIST = 'legalhold.files.list';

describe('which matters a refresh lists', () => {
  it('lists only the named matter when given one, and never a matter deleted in Zoom', async () => {
    const t = await harness({ legalHold: { fileReadyAfterListings: 0 } });
    const a = await createMatter(t.deps, { name: 'Two custodians', custodians: [t.users[0]!.email, t.users[1]!.email] }, 'cli:x');
    const b = await createMatter(t.deps, { name: 'One custodian', custodians: [t.users[2]!.email] }, 'cli:x');

    // Only b's one custodian is listed: one call, one file recorded, none of a's.
    const onlyB = await refreshFiles(t.deps, b.matterId);
    expect(onlyB).toEqual({ matters: 1, custodians: 1, filesListed: 1, added: 1, becameReady: 0, malformed: 0, failures: [], unready: [] });
    expect(t.apiCalls(LIST)).toBe(1);
    expect((await loadFiles(t.db.pool)).map((f) => f.matterId)).toEqual([b.matterId]);

    // Without a matter: every active one, each custodian once.
    const all = await refreshFiles(t.deps);
    expect(all).toEqual({ matters: 2, custodians: 3, filesListed: 3, added: 2, becameReady: 0, malformed: 0, failures: [], unready: [] });
    expect(t.apiCalls(LIST)).toBe(4);

    // A matter deleted in Zoom is no longer listed (its files are gone from Zoom).
    t.clock.advance(11 * 60_000);
    t.sim.legalHold.deleteMatter(a.matterId);
    await syncMatters(t.deps);
    const afterDelete = await refreshFiles(t.deps);
    expect(afterDelete).toMatchObject({ matters: 1, custodians: 1, filesListed: 1, added: 0 });
    expect(t.apiCalls(LIST)).toBe(5);
  });

  it('passes the run’s signal to Zoom calls: an aborted run lists nothing', async () => {
    const t = await harness({ legalHold: { fileReadyAfterListings: 0 } });
    await createMatter(t.deps, { name: 'Aborted', custodians: [t.users[0]!.email] }, 'cli:x');
    const controller = new AbortController();
    controller.abort(new Error('SIGTERM'));
    const err = await refreshFiles({ ...t.deps, signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ABORTED' });
    expect(t.apiCalls(LIST)).toBe(0);
    expect(await loadFiles(t.db.pool)).toEqual([]);
  });
});

describe('a custodian whose listing goes wrong', () => {
  it('reports a failed custodian and goes on with the others; a failure every call would share stops the refresh', async () => {
    const logs = captureLogs('info');
    const t = await harness({ legalHold: { fileReadyAfterListings: 0 }, logger: logs.logger });
    const [first, second] = [t.users[0]!.email, t.users[1]!.email];
    const matter = await createMatter(t.deps, { name: 'Failing custodian', custodians: [first, second] }, 'cli:x');
    t.sim.faults.inject({ match: { endpoint: LIST, queryIncludes: { identifier: first } }, fault: { kind: 'status', status: 404, body: { code: 1001, message: 'User does not exist: x' } } });
    logs.clear();
    const summary = await refreshFiles(t.deps);
    expect(summary).toMatchObject({ matters: 1, custodians: 2, filesListed: 1, added: 1, malformed: 0 });
    expect(summary.failures).toEqual([{ matterId: matter.matterId, custodian: first, error: expect.stringMatching(/^ZOOM_NOT_FOUND: .*User does not exist: x/) }]);
    expect((await loadFiles(t.db.pool)).map((f) => f.custodian)).toEqual([second]);
    // The operator's line names the matter, the custodian and Zoom's error.
    expect(logs.find("listing this custodian's legal-hold files failed; the other custodians go on and the next run retries")).toEqual([
      expect.objectContaining({ level: LEVEL.warn, job: 'legal-hold', matterId: matter.matterId, custodian: first, err: expect.objectContaining({ code: 'ZOOM_NOT_FOUND' }) }),
    ]);

    // The daily limit would stop every other custodian's call: the refresh stops with it.
    t.sim.faults.inject({ match: { endpoint: LIST }, fault: { kind: 'rate-limit', type: 'daily', retryAfter: 'date' }, times: 5 });
    const stopped = await refreshFiles(t.deps).catch((e: unknown) => e);
    expect(stopped).toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED' });
  });

  it('counts and reports an item Zoom listed without a file_key, storing the rest', async () => {
    const logs = captureLogs('info');
    const t = await harness({ legalHold: { fileReadyAfterListings: 0 }, logger: logs.logger });
    const custodian = t.users[0]!.email;
    const matter = await createMatter(t.deps, { name: 'Malformed item', custodians: [custodian] }, 'cli:x');
    const good = { file_key: 'k-good', file_count: 2, file_start_date: '2026-01-01', file_end_date: '2026-01-31', ready_for_download: true, total_file_size: 900 };
    const body = { data: [good, { file_count: 1, ready_for_download: true }, { file_key: '', file_count: 1 }], next_page_token: '', page_size: 20 };
    t.sim.faults.inject({ match: { endpoint: LIST }, fault: { kind: 'status', status: 200, body } });
    logs.clear();
    const summary = await refreshFiles(t.deps);
    expect(summary).toEqual({ matters: 1, custodians: 1, filesListed: 1, added: 1, becameReady: 0, malformed: 2, failures: [], unready: [] });
    expect((await loadFiles(t.db.pool)).map((f) => [f.fileKey, f.state, f.fileCount])).toEqual([['k-good', 'ready', 2]]);
    const reported = logs.find('Zoom listed a legal-hold file without a usable file_key; reported, not stored');
    expect(reported).toHaveLength(2);
    for (const line of reported) {
      expect(line).toMatchObject({ level: LEVEL.warn, job: 'legal-hold', matterId: matter.matterId, custodian, reason: expect.stringContaining('file_key') });
    }
  });
});

describe('files Zoom keeps unready', () => {
  it('warns about each file still unready after the threshold, naming it and how long it waited', async () => {
    const logs = captureLogs('info');
    const t = await harness({ legalHold: { fileReadyAfterListings: 100 }, env: { LEGAL_HOLD_UNREADY_WARN_HOURS: '10' }, logger: logs.logger });
    const custodian = t.users[0]!.email;
    const matter = await createMatter(t.deps, { name: 'Slow Zoom', custodians: [custodian] }, 'cli:x');
    await refreshFiles(t.deps);
    const message = /^Zoom has not made this legal-hold file ready for \d+ hours; it is polled again on every run$/;
    expect(logs.find(message)).toEqual([]);
    t.clock.advance(12 * 3_600_000);
    const summary = await refreshFiles(t.deps);
    const [row] = await loadFiles(t.db.pool);
    expect(summary.unready).toMatchObject([{ matterId: matter.matterId, custodian, fileKey: row!.fileKey, waitingHours: 12 }]);
    expect(logs.find(message)).toEqual([
      expect.objectContaining({
        level: LEVEL.warn,
        job: 'legal-hold',
        matterId: matter.matterId,
        custodian,
        fileKey: row!.fileKey,
        waitingHours: 12,
        msg: 'Zoom has not made this legal-hold file ready for 12 hours; it is polled again on every run',
      }),
    ]);
  });
});
