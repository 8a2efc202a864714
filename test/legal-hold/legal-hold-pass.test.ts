import { describe, expect, it } from 'vitest';
import { createMatter, findUnreadyFiles, loadFiles, passHasFailures, runLegalHoldPass, type LegalHoldPassSummary } from '../../src/legal-hold/index.js';
import { useTestDatabase } from '../helpers/database.js';
import { NOW, harnessPerTest } from './harness.js';

// One full legal-hold pass (what `legal-hold sync` and the scheduler run), in process, against the
// simulator over HTTP and a real PostgreSQL; then the verdict a person acts on (passHasFailures) and
// the report of files Zoom keeps unready.

const harness = harnessPerTest();

describe('runLegalHoldPass', () => {
  it('refreshes the matters, lists their files and downloads what is ready, in that order, in one pass', async () => {
    const t = await harness({ legalHold: { fileReadyAfterListings: 0, zipBytes: 2000 } });
    // Made in Zoom's portal: only the pass's own matter refresh can make its files listable.
    const portal = t.sim.legalHold.addMatter({ name: 'Portal', identifiers: [t.users[0]!.email] });
    const summary = await runLegalHoldPass(t.deps);
    expect(summary.matters).toMatchObject({ listed: 1, discovered: [portal.matterId], deletedInZoom: [], malformed: [], absenceChecked: true, apiPages: 1 });
    expect(summary.files).toEqual({ matters: 1, custodians: 1, filesListed: 1, added: 1, becameReady: 0, malformed: 0, failures: [], unready: [] });
    expect(summary.downloads).toMatchObject({ candidates: 1, failed: [], stoppedBy: null, skipped: 0 });
    expect(summary.downloads?.stored).toEqual([expect.objectContaining({ matterId: portal.matterId, custodian: t.users[0]!.email, attempts: 1 })]);
    expect(Object.keys(summary).sort()).toEqual(['downloads', 'files', 'matters']);
    expect((await loadFiles(t.db.pool)).map((f) => f.state)).toEqual(['stored']);
    expect(t.apiCalls('legalhold.files.download')).toBe(1);
    expect(passHasFailures(summary)).toBe(false);
  });

  it('lists but downloads nothing when asked not to, and downloads when asked explicitly', async () => {
    const t = await harness({ legalHold: { fileReadyAfterListings: 0, zipBytes: 2000 } });
    await createMatter(t.deps, { name: 'Listed only', custodians: [t.users[0]!.email] }, 'cli:x');
    const listed = await runLegalHoldPass(t.deps, { download: false });
    expect(listed.downloads).toBeNull();
    expect(listed.files).toMatchObject({ filesListed: 1, added: 1, becameReady: 0 });
    expect((await loadFiles(t.db.pool)).map((f) => f.state)).toEqual(['ready']);
    expect(t.apiCalls('legalhold.files.download')).toBe(0);
    expect(passHasFailures(listed)).toBe(false);

    const downloaded = await runLegalHoldPass(t.deps, { download: true });
    expect(downloaded.downloads).toMatchObject({ candidates: 1, failed: [], stoppedBy: null });
    expect(downloaded.downloads?.stored).toHaveLength(1);
    expect((await loadFiles(t.db.pool)).map((f) => f.state)).toEqual(['stored']);
  });

  it('counts a custodian whose file listing failed as a failure of the pass, and still downloads the others', async () => {
    const t = await harness({ legalHold: { fileReadyAfterListings: 0, zipBytes: 2000 } });
    const [a, b] = t.users;
    await createMatter(t.deps, { name: 'Half listed', custodians: [a!.email, b!.email] }, 'cli:x');
    // One custodian's listing keeps failing (5xx beyond the client's retries); the other lists fine.
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.list', queryIncludes: { identifier: a!.email } }, fault: { kind: 'status', status: 500 }, times: 10 });
    const summary = await runLegalHoldPass(t.deps);
    expect(summary.files.failures).toEqual([expect.objectContaining({ custodian: a!.email })]);
    expect(summary.downloads?.stored.map((s) => s.custodian)).toEqual([b!.email]);
    expect(passHasFailures(summary)).toBe(true);
  });

  it('keeps what the matter refresh did when listing files then fails for good', async () => {
    const t = await harness();
    const portal = t.sim.legalHold.addMatter({ name: 'Portal', identifiers: [t.users[0]!.email] });
    t.sim.faults.inject({ match: { endpoint: 'legalhold.files.list' }, fault: { kind: 'rate-limit', type: 'daily', retryAfter: 'date' } });
    await expect(runLegalHoldPass(t.deps)).rejects.toMatchObject({ code: 'ZOOM_DAILY_LIMIT_REACHED' });
    expect((await t.audit('legal_hold.matter.discovered')).map((e) => e.subject_id)).toEqual([portal.matterId]);
    expect(t.apiCalls('legalhold.files.download')).toBe(0);
  });
});

/** A pass that did everything it set out to do; each case below spoils one part of it. */
function cleanPass(): LegalHoldPassSummary {
  return {
    matters: { listed: 1, discovered: [], changed: [], reappeared: [], deletedInZoom: [], malformed: [], absenceChecked: true, apiPages: 1 },
    files: { matters: 1, custodians: 1, filesListed: 1, added: 0, becameReady: 0, malformed: 0, failures: [], unready: [] },
    downloads: { candidates: 0, stored: [], failed: [], skipped: 0, sweptTempFiles: 0, stoppedBy: null, bytes: 0, durationMs: 3 },
  };
}

describe('passHasFailures', () => {
  it('is false for a clean pass, with or without downloads', () => {
    expect(passHasFailures(cleanPass())).toBe(false);
    expect(passHasFailures({ ...cleanPass(), downloads: null })).toBe(false);
  });

  it('is true when any one part of the pass left something undone', () => {
    const failure = { matterId: 'm', custodian: 'c@example.com', error: 'ZOOM_SERVER_ERROR: boom' };
    const spoilt: Array<[string, LegalHoldPassSummary]> = [
      ['a custodian listing failed (downloads skipped)', { ...cleanPass(), files: { ...cleanPass().files, failures: [failure] }, downloads: null }],
      ['a custodian listing failed', { ...cleanPass(), files: { ...cleanPass().files, failures: [failure] } }],
      ['a matter without a usable id', { ...cleanPass(), matters: { ...cleanPass().matters, malformed: [{ source: 'legal_hold_matters', rawJson: '{}', reason: 'missing or unusable matter_id' }], absenceChecked: false }, downloads: null }],
      ['a download failed', { ...cleanPass(), downloads: { ...cleanPass().downloads!, failed: [{ matterId: 'm', custodian: 'c@example.com', fileKey: 'k', attempts: 3, error: 'reset' }] } }],
      ['the downloads were stopped', { ...cleanPass(), downloads: { ...cleanPass().downloads!, stoppedBy: { code: 'LEGAL_HOLD_STORAGE_FAILED', message: 'disk full' } } }],
    ];
    for (const [what, summary] of spoilt) expect(passHasFailures(summary), what).toBe(true);
  });
});

describe('findUnreadyFiles', () => {
  const db = useTestDatabase();

  it('reports files pending longer than the warning age, of active matters, for one matter when asked', async () => {
    await db.pool.query(
      `INSERT INTO archive.legal_hold_matters (matter_id, matter_name, state) VALUES ('m-a', 'A', 'active'), ('m-b', 'B', 'active'), ('m-gone', 'Gone', 'deleted_here')`,
    );
    const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);
    await db.pool.query(
      `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state, first_seen_at) VALUES
         ('m-a', 'a@example.com', 'old-a', 'pending', $1), ('m-b', 'b@example.com', 'old-b', 'pending', $2),
         ('m-b', 'b@example.com', 'fresh-b', 'pending', $3), ('m-b', 'b@example.com', 'ready-b', 'ready', $1),
         ('m-gone', 'g@example.com', 'old-gone', 'pending', $1)`,
      [hoursAgo(80), hoursAgo(72), hoursAgo(71.9)],
    );
    const all = await findUnreadyFiles(db.pool, { now: NOW, warnHours: 72 });
    expect(all.map((f) => [f.matterId, f.fileKey, f.waitingHours])).toEqual([
      ['m-a', 'old-a', 80],
      ['m-b', 'old-b', 72],
    ]);
    expect(await findUnreadyFiles(db.pool, { now: NOW, warnHours: 72, matterId: 'm-b' })).toEqual([
      { matterId: 'm-b', matterName: 'B', custodian: 'b@example.com', fileKey: 'old-b', firstSeenAt: hoursAgo(72), waitingHours: 72 },
    ]);
  });
});
