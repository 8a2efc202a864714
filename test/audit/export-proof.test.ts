import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBundleProof, type ArchiveProof } from '../../src/audit/export-proof.js';
import { loadChainHead } from '../../src/audit/head.js';
import { loadLatestSeals } from '../../src/audit/seals.js';
import { parseExportRequest, resolveRecordedPath, runExport, verifyBundle } from '../../src/export/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { applyRetention } from '../../src/retention/retention.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { runCli } from '../helpers/cli.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';
import { asDba } from './dba.js';

// The archive proof in export bundles, end to end: a real archive synced from the simulator, a real
// export, `export verify` as a process (offline, then --archive against the database), and the
// archive changed behind the bundle's back.

const START = new Date('2026-11-21T15:00:00Z');
let h: SyncHarness;
let dataDir: string;
let bundle: string;
let manifest: Record<string, unknown>;
let proof: ArchiveProof;
let sessionId: string;

beforeAll(async () => {
  const clock = new ManualClock(START);
  dataDir = await mkdtemp(path.join(tmpdir(), 'zca-export-proof-'));
  h = await startSyncHarness({ dataset: generateDataset({ seed: 41, now: START, sessions: 12, totalMessages: 900 }), clock, env: { ARCHIVE_DATA_DIR: dataDir } });
  expect((await h.sync()).outcome).toBe('complete');
  sessionId = (await h.db.pool.query<{ session_id: string }>('SELECT session_id FROM archive.message_versions GROUP BY 1 ORDER BY count(DISTINCT archive.month_of(action_at)) DESC, count(*) DESC, 1 LIMIT 1')).rows[0]!.session_id;
  const record = await runExport(
    { pool: h.db.pool, config: { dataDir }, logger: createSilentLogger(), clock },
    parseExportRequest({ sessions: [sessionId], formats: 'jsonl,csv' }),
    'cli:test',
  );
  bundle = resolveRecordedPath(dataDir, record.path!);
  const verified = await verifyBundle(bundle);
  expect(verified.ok).toBe(true);
  manifest = verified.manifest as Record<string, unknown>;
  proof = manifest['archive_proof'] as ArchiveProof;
});

afterAll(async () => {
  await h?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const env = () => ({ DATABASE_URL: h.db.url, ARCHIVE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });

describe('the archive proof of a bundle', () => {
  it('names the chain head and the seal of every exported window, as of the export', async () => {
    const head = await loadChainHead(h.db.pool);
    // The export itself wrote audit rows after reading its snapshot: the proof's head is earlier.
    expect(proof.chain_head!.chain_seq).toBeLessThan(head!.chainSeq);
    const seals = new Map((await loadLatestSeals(h.db.pool)).map((s) => [s.window, s]));
    const counts = (await h.db.pool.query<{ w: string; n: number }>(`SELECT to_char(archive.month_of(action_at), 'YYYY-MM-DD') AS w, count(*)::int AS n FROM archive.message_versions WHERE session_id = $1 GROUP BY 1 ORDER BY 1`, [sessionId])).rows;
    expect(proof.windows.map((w) => [w.window, w.versions])).toEqual(counts.map((c) => [c.w, c.n]));
    for (const w of proof.windows) {
      const seal = seals.get(w.window);
      if (seal) expect(w.seal).toEqual({ audit_id: seal.auditId, chain_seq: seal.chainSeq, root: seal.root, versions: seal.versions, row_hash: seal.rowHash });
      else expect(w).toMatchObject({ seal: null, unsealed_versions: w.versions });
    }
    expect(proof.windows.filter((w) => w.seal !== null).length).toBeGreaterThan(2);
  });

  it('matches the bundle offline and the archive with --archive; export verify shows it', async () => {
    const offline = await checkBundleProof(bundle, manifest);
    expect(offline).toMatchObject({ leavesChecked: true, archiveChecked: false, problems: [] });
    expect(offline.versionsChecked).toBe(proof.windows.reduce((n, w) => n + w.versions, 0));
    expect(await checkBundleProof(bundle, manifest, { pool: h.db.pool })).toMatchObject({ archiveChecked: true, problems: [] });

    const cli = await runCli(['export', 'verify', bundle, '--archive'], env());
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`archive proof: made at audit chain head ${proof.chain_head!.chain_seq}:${proof.chain_head!.row_hash}`);
    expect(cli.stdout).toMatch(/version\(s\) of messages\.jsonl match the proof/);
    expect(cli.stdout).toContain('checked against the archive: the head and every seal are in its chain');

    // A proof that does not describe the bundle's messages is refused.
    const forged = { ...manifest, archive_proof: { ...proof, windows: proof.windows.map((w, i) => (i === 0 ? { ...w, versions: w.versions + 1 } : w)) } };
    expect((await checkBundleProof(bundle, forged)).problems[0]).toMatchObject({ kind: 'leaves-mismatch' });
  });

  it('against the archive: finds a version changed behind the bundle and a rewritten history, and tells disposal apart', async () => {
    const sealedWindow = proof.windows.find((w) => w.seal !== null)!.window;
    const exported = (await h.db.pool.query<{ id: number }>(`SELECT id FROM archive.message_versions WHERE session_id = $1 AND archive.month_of(action_at) = $2::date ORDER BY id LIMIT 1`, [sessionId, sealedWindow])).rows[0]!.id;
    await asDba(h.db, ['archive.message_versions'], [`CREATE TABLE public.saved AS SELECT * FROM archive.message_versions WHERE id = ${exported}`, `UPDATE archive.message_versions SET content_sha256 = sha256(content_sha256) WHERE id = ${exported}`]);
    const changed = await checkBundleProof(bundle, manifest, { pool: h.db.pool });
    expect(changed.problems).toEqual([expect.objectContaining({ kind: 'version-changed', message: expect.stringContaining(`version ${exported} in the bundle differs`) })]);
    const cli = await runCli(['export', 'verify', bundle, '--archive'], env());
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`!! version ${exported} in the bundle differs`);
    await asDba(h.db, ['archive.message_versions'], [`UPDATE archive.message_versions m SET content_sha256 = s.content_sha256 FROM public.saved s WHERE m.id = s.id`, 'DROP TABLE public.saved']);

    const head = proof.chain_head!;
    await asDba(h.db, ['archive.audit_log'], [`UPDATE archive.audit_log SET row_hash = sha256(row_hash) WHERE id = ${head.audit_id}`]);
    expect((await checkBundleProof(bundle, manifest, { pool: h.db.pool })).problems.map((p) => p.kind)).toEqual(['head-not-in-archive']);
    await asDba(h.db, ['archive.audit_log'], [`UPDATE archive.audit_log SET row_hash = decode('${head.row_hash}', 'hex') WHERE id = ${head.audit_id}`]);

    // A year on, retention disposes of the exported messages: not a mismatch.
    const later = new ManualClock(new Date('2027-12-01T00:00:00Z'));
    const outcome = await applyRetention(h.db.pool, { days: 200, daysByType: {} }, { clock: later, actor: 'cli:test' });
    expect(outcome.plan.dispose.versions).toBeGreaterThan(0);
    const afterDisposal = await checkBundleProof(bundle, manifest, { pool: h.db.pool });
    expect(afterDisposal.problems).toEqual([]);
    expect(afterDisposal.disposedSince).toBe(afterDisposal.versionsChecked);
  });
});
