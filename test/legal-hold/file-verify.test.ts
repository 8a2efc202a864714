import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { verifyStoredFiles, type LocalLegalHoldDeps, type VerifyReport } from '../../src/legal-hold/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { databasesClosedAfterAll, type TestDatabase } from '../helpers/database.js';
import { captureLogs, LEVEL, type CapturedLogs } from '../helpers/log-capture.js';

// Verification of stored legal-hold zips (src/legal-hold/file-verify.ts) on a temporary data
// directory: rows inserted by SQL as a download would have left them, files written (or damaged,
// or left out) by the test. Each test has its own database, since a run without a matter checks
// every stored file there is.

const databases = databasesClosedAfterAll();
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'zca-lh-verify-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Setup {
  db: TestDatabase;
  deps: LocalLegalHoldDeps;
  logs: CapturedLogs;
}

async function setup(actor?: string): Promise<Setup> {
  const db = await databases.fresh();
  const logs = captureLogs('info');
  const config = loadConfig({ DATABASE_URL: db.url, ARCHIVE_DATA_DIR: dataDir });
  const deps: LocalLegalHoldDeps = { pool: db.pool, config, logger: logs.logger, clock: new ManualClock(new Date('2026-11-21T15:00:00.000Z')), actor };
  return { db, deps, logs };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const STORED_AT = new Date('2026-11-20T10:00:00.000Z');

/**
 * A stored row for `fileKey` of custodian a@example.com; `content` (when given) is written at
 * `storedPath` below the data dir and recorded as the copy's size and hash unless `recorded` says
 * otherwise.
 */
async function stored(
  db: TestDatabase,
  matterId: string,
  fileKey: string,
  options: { content?: Buffer; storedPath?: string; recorded?: { bytes: number; sha256: string } },
): Promise<{ storedPath: string; bytes: number; sha256: string }> {
  await db.pool.query(`INSERT INTO archive.legal_hold_matters (matter_id, matter_name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, [matterId]);
  const storedPath = options.storedPath ?? `legal-hold/${matterId}/${fileKey}.zip`;
  if (options.content) {
    const absolute = path.join(dataDir, ...storedPath.split('/'));
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, options.content);
  }
  const recorded = options.recorded ?? { bytes: options.content?.length ?? 0, sha256: sha256(options.content ?? Buffer.alloc(0)) };
  await db.pool.query(
    `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state, stored_path, stored_bytes, sha256, zip_entries, stored_at)
     VALUES ($1, 'a@example.com', $2, 'stored', $3, $4, $5, 1, $6)`,
    [matterId, fileKey, storedPath, recorded.bytes, recorded.sha256, STORED_AT],
  );
  return { storedPath, ...recorded };
}

async function audit(db: TestDatabase, action: string): Promise<Array<Record<string, unknown>>> {
  const res = await db.pool.query(`SELECT actor, subject_type, subject_id, before, after, details FROM public.audit_log WHERE action = $1 ORDER BY audit_id`, [action]);
  return res.rows as Array<Record<string, unknown>>;
}

/** The report, and how long the call took as seen from outside (its durationMs cannot exceed it). */
async function timedVerify(deps: LocalLegalHoldDeps, matterId?: string): Promise<{ report: VerifyReport; outsideMs: number }> {
  const before = performance.now();
  const report = await verifyStoredFiles(deps, matterId);
  return { report, outsideMs: performance.now() - before };
}

describe('verifying intact copies', () => {
  it('re-hashes every stored file of every matter, counts the bytes read and audits the totals without a subject', async () => {
    const { db, deps, logs } = await setup();
    await stored(db, 'm1', 'k1', { content: Buffer.alloc(100, 1) });
    await stored(db, 'm2', 'k1', { content: Buffer.alloc(250, 2) });
    // Not stored: nothing to verify.
    await db.pool.query(`INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state) VALUES ('m1', 'a@example.com', 'pending', 'pending')`);
    const { report, outsideMs } = await timedVerify(deps);
    expect(report).toMatchObject({ checked: 2, ok: 2, bytes: 350, problems: [] });
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    expect(report.durationMs).toBeLessThanOrEqual(Math.ceil(outsideMs));
    expect(await audit(db, 'legal_hold.files.verify')).toEqual([
      { actor: 'system:legal-hold', subject_type: null, subject_id: null, before: null, after: null, details: { checked: 2, ok: 2, problems: 0, bytes: 350 } },
    ]);
    expect(await audit(db, 'legal_hold.file.verify_failed')).toEqual([]);
    // The closing line carries the job's bindings, and no matter when none was asked for.
    const [line, ...more] = logs.find('verified stored legal-hold files');
    expect(more).toEqual([]);
    expect(line).toMatchObject({ level: LEVEL.info, job: 'legal-hold', step: 'verify', checked: 2, ok: 2, problems: 0 });
    expect(line).not.toHaveProperty('matterId');
  });

  it('checks only the matter asked for, and audits and logs the run as that matter’s', async () => {
    const { db, deps, logs } = await setup('cli:officer');
    await stored(db, 'm1', 'k1', { content: Buffer.alloc(64, 1) });
    await stored(db, 'm2', 'k1', { content: Buffer.alloc(32, 2) });
    await stored(db, 'm2', 'k2', { content: Buffer.alloc(16, 3) });
    const { report } = await timedVerify(deps, 'm2');
    expect(report).toMatchObject({ checked: 2, ok: 2, bytes: 48, problems: [] });
    expect(await audit(db, 'legal_hold.files.verify')).toEqual([
      { actor: 'cli:officer', subject_type: 'legal_hold_matter', subject_id: 'm2', before: null, after: null, details: { checked: 2, ok: 2, problems: 0, bytes: 48 } },
    ]);
    expect(logs.find('verified stored legal-hold files')).toEqual([
      expect.objectContaining({ level: LEVEL.info, job: 'legal-hold', step: 'verify', matterId: 'm2', checked: 2, ok: 2, problems: 0 }),
    ]);
  });
});

describe('verifying damaged copies', () => {
  it('reports a missing, a truncated and a changed file, each with what was stored and what was found', async () => {
    const { db, deps, logs } = await setup();
    const original = Buffer.from('PK'.padEnd(500, 'x'));
    const missing = await stored(db, 'm1', 'gone', { recorded: { bytes: 500, sha256: sha256(original) } });
    const truncated = await stored(db, 'm1', 'short', { content: original.subarray(0, 120), recorded: { bytes: 500, sha256: sha256(original) } });
    const changed = Buffer.from(original);
    changed[10] = 0x00;
    const tampered = await stored(db, 'm1', 'tampered', { content: changed, recorded: { bytes: 500, sha256: sha256(original) } });
    await stored(db, 'm1', 'fine', { content: Buffer.alloc(7, 9) });
    const abs = (p: string) => path.join(dataDir, ...p.split('/'));
    const expected = { bytes: 500, sha256: sha256(original) };
    const base = { matterId: 'm1', custodian: 'a@example.com' };

    const { report } = await timedVerify(deps);
    // Only the copies whose size matched were read through: the fine one and the tampered one.
    expect(report).toMatchObject({ checked: 4, ok: 1, bytes: 507 });
    expect([...report.problems].sort((a, b) => a.fileKey.localeCompare(b.fileKey))).toEqual([
      { ...base, fileKey: 'gone', storedPath: missing.storedPath, problem: 'missing', expected, actual: { bytes: null, sha256: null }, message: `${abs(missing.storedPath)} is missing` },
      {
        ...base,
        fileKey: 'short',
        storedPath: truncated.storedPath,
        problem: 'size-mismatch',
        expected,
        actual: { bytes: 120, sha256: null },
        message: `${abs(truncated.storedPath)} has 120 bytes; 500 were stored`,
      },
      {
        ...base,
        fileKey: 'tampered',
        storedPath: tampered.storedPath,
        problem: 'hash-mismatch',
        expected,
        actual: { bytes: 500, sha256: sha256(changed) },
        message: `${abs(tampered.storedPath)} hashes to ${sha256(changed)}; ${sha256(original)} was stored`,
      },
    ]);
    // One audit entry per problem, with what an investigator needs to compare.
    const failed = (await audit(db, 'legal_hold.file.verify_failed')).sort((a, b) => String(a.subject_id).localeCompare(String(b.subject_id)));
    expect(failed).toEqual([
      { actor: 'system:legal-hold', subject_type: 'legal_hold_file', subject_id: 'm1/a@example.com/gone', before: null, after: null, details: { problem: 'missing', storedPath: missing.storedPath, expected, actual: { bytes: null, sha256: null } } },
      { actor: 'system:legal-hold', subject_type: 'legal_hold_file', subject_id: 'm1/a@example.com/short', before: null, after: null, details: { problem: 'size-mismatch', storedPath: truncated.storedPath, expected, actual: { bytes: 120, sha256: null } } },
      {
        actor: 'system:legal-hold',
        subject_type: 'legal_hold_file',
        subject_id: 'm1/a@example.com/tampered',
        before: null,
        after: null,
        details: { problem: 'hash-mismatch', storedPath: tampered.storedPath, expected, actual: { bytes: 500, sha256: sha256(changed) } },
      },
    ]);
    expect((await audit(db, 'legal_hold.files.verify'))[0]!.details).toEqual({ checked: 4, ok: 1, problems: 3, bytes: 507 });
    // Each problem is an error line an operator can act on: the message names the file and the fault.
    expect(
      logs
        .find(/^stored legal-hold file failed verification: /)
        .map((r) => [r.level, r.job, r.step, r.fileKey, r.problem, r.msg])
        .sort(),
    ).toEqual(
      report.problems.map((p) => [LEVEL.error, 'legal-hold', 'verify', p.fileKey, p.problem, `stored legal-hold file failed verification: ${p.message}`]).sort(),
    );
  });

  it('reports a directory where the zip should be, a path through a file, and a path outside the data dir', async () => {
    const { db, deps } = await setup();
    const dir = await stored(db, 'm1', 'dir', { recorded: { bytes: 10, sha256: 'ab'.repeat(32) } });
    await mkdir(path.join(dataDir, ...dir.storedPath.split('/')), { recursive: true });
    await writeFile(path.join(dataDir, 'plain.zip'), 'not a folder');
    const through = await stored(db, 'm1', 'through', { storedPath: 'plain.zip/inner.zip', recorded: { bytes: 10, sha256: 'ab'.repeat(32) } });
    const outside = await stored(db, 'm1', 'outside', { storedPath: '../escaped.zip', recorded: { bytes: 10, sha256: 'ab'.repeat(32) } });
    const expected = { bytes: 10, sha256: 'ab'.repeat(32) };
    const none = { bytes: null, sha256: null };
    const base = { matterId: 'm1', custodian: 'a@example.com', expected, actual: none };

    const { report } = await timedVerify(deps, 'm1');
    expect(report).toMatchObject({ checked: 3, ok: 0, bytes: 0 });
    expect([...report.problems].sort((a, b) => a.fileKey.localeCompare(b.fileKey))).toEqual([
      { ...base, fileKey: 'dir', storedPath: dir.storedPath, problem: 'not-a-file', message: `${path.join(dataDir, ...dir.storedPath.split('/'))} is not a regular file` },
      { ...base, fileKey: 'outside', storedPath: outside.storedPath, problem: 'unreadable', message: 'stored path "../escaped.zip" points outside ARCHIVE_DATA_DIR' },
      { ...base, fileKey: 'through', storedPath: through.storedPath, problem: 'unreadable', message: `cannot read ${path.join(dataDir, 'plain.zip', 'inner.zip')} (ENOTDIR)` },
    ]);
    expect((await audit(db, 'legal_hold.file.verify_failed')).map((a) => (a.details as { problem: string }).problem).sort()).toEqual(['not-a-file', 'unreadable', 'unreadable']);
    // Nothing is repaired or changed.
    const states = await db.pool.query(`SELECT DISTINCT state FROM archive.legal_hold_files`);
    expect(states.rows).toEqual([{ state: 'stored' }]);
  });
});
