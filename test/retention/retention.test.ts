import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChainHead } from '../../src/audit/head.js';
import { verifyArchive } from '../../src/audit/seals.js';
import { verifyAuditChain } from '../../src/audit/verify-chain.js';
import { hasCode } from '../../src/errors.js';
import { referenceNewVersions } from '../../src/files/index.js';
import { createMatter, deleteMatter, runLegalHoldPass, syncMatters, type LegalHoldDeps } from '../../src/legal-hold/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { applyRetention, planRetention, type RetentionPolicy } from '../../src/retention/retention.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { hashFile } from '../../src/util/files.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

// Retention on a real archive: synced from the simulator over HTTP, legal-hold matters created,
// deleted in Zoom and deleted here through the project, their zip files downloaded; then, a year
// on, plan and apply. What the plan should hold is computed here from the archive's rows, not with
// the plan's SQL. What is real: PostgreSQL, the simulator, the Zoom client, the files on disk.

const SYNCED_AT = new Date('2026-11-21T15:00:00Z');
const AS_OF = '2027-03-01';
const POLICY: RetentionPolicy = { days: 200, daysByType: {} };
const CUTOFF = Date.parse('2026-08-13T00:00:00Z');

let h: SyncHarness;
let clock: ManualClock;
let zoom: ZoomClient;
let deps: LegalHoldDeps;
let dataDir: string;
const matters: Record<'active' | 'goneInZoom' | 'released' | 'late', string> = { active: '', goneInZoom: '', released: '', late: '' };
const senders: string[] = [];

interface Row {
  version_id: number;
  session_id: string;
  message_id: string;
  action_at: Date;
}

const q = async <T extends Record<string, unknown>>(sql: string, values: unknown[] = []) => (await h.db.pool.query<T>(sql, values)).rows;
const key = (r: { session_id: string; message_id: string }) => `${r.session_id}\u0001${r.message_id}`;

/**
 * The versions the policy disposes of, read from the rows: whole messages whose last version is
 * before the cutoff, none held, and none a custodian of a holding matter sent or received (those tie
 * the custodian's sessions to them: disposing of them would release what the matter holds there).
 */
async function expectedDisposal(): Promise<number[]> {
  const rows = await q<Row & Record<string, unknown> & { sender: string | null; receiver: string | null }>('SELECT version_id, session_id, message_id, action_at, sender, receiver FROM public.chat_message_versions');
  const last = new Map<string, number>();
  for (const r of rows) last.set(key(r), Math.max(last.get(key(r)) ?? 0, r.action_at.getTime()));
  const held = new Set((await q<{ session_id: string; message_id: string }>('SELECT DISTINCT session_id, message_id FROM public.held_messages')).map(key));
  const custodians = new Set(
    (await q<{ email: string }>(`SELECT lower(c.email) AS email FROM public.legal_hold_custodians c JOIN public.legal_hold_matters m USING (matter_id) WHERE m.state <> 'deleted_here' AND c.email IS NOT NULL`)).map((r) => r.email),
  );
  for (const r of rows) if (custodians.has(r.sender?.toLowerCase() ?? '') || custodians.has(r.receiver?.toLowerCase() ?? '')) held.add(key(r));
  return rows
    .filter((r) => (last.get(key(r)) ?? 0) < CUTOFF && !held.has(key(r)))
    .map((r) => r.version_id)
    .sort((a, b) => a - b);
}

async function snapshot() {
  return {
    versions: (await q<{ id: number }>('SELECT id FROM archive.message_versions ORDER BY id')).map((r) => r.id),
    held: await q('SELECT matter_id, custodian, version_id, content_sha256 FROM public.held_messages ORDER BY 1, 2, 3'),
    files: await q('SELECT matter_id, custodian, file_key, state, stored_path, stored_bytes, sha256 FROM archive.legal_hold_files ORDER BY 1, 2, 3'),
    sessions: await q('SELECT session_id FROM archive.sessions ORDER BY 1'),
    head: await loadChainHead(h.db.pool),
  };
}

beforeAll(async () => {
  clock = new ManualClock(SYNCED_AT);
  dataDir = await mkdtemp(path.join(tmpdir(), 'zca-retention-'));
  const dataset = generateDataset({ seed: 29, now: SYNCED_AT, sessions: 30, totalMessages: 3000, editProbability: 0.1, deleteProbability: 0.05 });
  h = await startSyncHarness({ dataset, clock, env: { ZOOM_RATE_RESOURCE_INTENSIVE: '600000', ARCHIVE_DATA_DIR: dataDir }, simulator: { legalHold: { fileReadyAfterListings: 1 } } });
  expect((await h.sync()).outcome).toBe('complete');
  zoom = new ZoomClient({ config: h.config.zoom, credentials: SIM_CREDENTIALS, clock, logger: createSilentLogger(), retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  deps = { pool: h.db.pool, zoom, config: h.config, logger: createSilentLogger(), clock, actor: 'cli:test', downloadBackoff: { baseDelayMs: 5, maxDelayMs: 20 } };

  const ranked = await q<{ sender: string }>(`SELECT sender FROM public.chat_message_versions WHERE sender <> '' GROUP BY sender ORDER BY count(*) DESC, sender`);
  senders.push(...ranked.map((r) => r.sender));
  matters.active = (await createMatter(deps, { name: 'Active matter', custodians: [senders[0]!], from: '2026-06-01', to: '2026-07-31' }, 'cli:test')).matterId;
  matters.goneInZoom = (await createMatter(deps, { name: 'Deleted in Zoom', custodians: [senders[1]!], from: '2026-05-20', to: '2026-06-10' }, 'cli:test')).matterId;
  matters.released = (await createMatter(deps, { name: 'Released', custodians: [senders[2]!], from: '2026-05-01', to: '2026-08-01' }, 'cli:test')).matterId;
  clock.advance(11 * 60_000);
  const pass = await runLegalHoldPass(deps);
  expect(pass.downloads?.stored.length).toBeGreaterThan(0);
  h.sim.legalHold.deleteMatter(matters.goneInZoom);
  clock.advance(11 * 60_000);
  await syncMatters(deps);
  await deleteMatter(deps, { matter: matters.released, force: true }, 'cli:test');
  expect((await q<{ state: string }>('SELECT state FROM archive.legal_hold_matters ORDER BY created_here_at')).map((r) => r.state)).toEqual(['active', 'deleted_in_zoom', 'deleted_here']);
  clock.set(Date.parse(`${AS_OF}T12:00:00Z`));
});

afterAll(async () => {
  await zoom?.close();
  await h?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('retention', () => {
  it('is off by default, and off disposes of nothing', async () => {
    const off: RetentionPolicy = { days: null, daysByType: {} };
    const plan = await planRetention(h.db.pool, off, clock);
    expect(plan.dispose).toMatchObject({ messages: 0, versions: 0 });
    await expect(applyRetention(h.db.pool, off, { clock, actor: 'cli:test' })).rejects.toThrow(/retention is off/);
  });

  it('plan shows what would go and what is held, and changes nothing', async () => {
    const before = await snapshot();
    const plan = await planRetention(h.db.pool, POLICY, clock);
    expect(await snapshot()).toEqual(before);

    const expected = await expectedDisposal();
    expect(plan.planId).toMatch(/^rp-2027-03-01-[0-9a-f]{16}$/);
    expect(plan.cutoffs.default).toBe(new Date(CUTOFF).toISOString());
    expect(plan.dispose.versions).toBe(expected.length);
    expect(plan.dispose.versions).toBeGreaterThan(100);
    expect(plan.dispose.bytes).toBeGreaterThan(0);
    expect(Date.parse(plan.dispose.newest!)).toBeLessThan(CUTOFF);
    // The active matter and the one deleted in Zoom keep what they hold; the one deleted here does not.
    expect(plan.held.map((m) => [m.matterId, m.matterState])).toEqual(
      [
        [matters.active, 'active'],
        [matters.goneInZoom, 'deleted_in_zoom'],
      ].sort(),
    );
    expect(plan.held.find((m) => m.matterId === matters.goneInZoom)?.reason).toMatch(/deleted in Zoom: what was held stays held here/);
    expect(plan.heldTotal.messages).toBeGreaterThan(0);
    // Same archive, same day: same plan.
    expect((await planRetention(h.db.pool, POLICY, clock)).planId).toBe(plan.planId);
  });

  it('apply refuses a plan the archive no longer matches, and disposes of nothing', async () => {
    const stale = await planRetention(h.db.pool, POLICY, clock);
    // A new matter puts a hold on messages the plan would dispose of.
    clock.set(Date.parse(`${AS_OF}T12:00:00Z`));
    matters.late = (await createMatter(deps, { name: 'Late matter', custodians: [senders[3]!], from: '2026-05-01', to: '2026-05-31' }, 'cli:test')).matterId;
    const before = await snapshot();
    await expect(applyRetention(h.db.pool, POLICY, { clock, actor: 'cli:test', expectedPlanId: stale.planId })).rejects.toSatisfy(
      (e: unknown) => hasCode(e, 'RETENTION_PLAN_STALE') && /Nothing was disposed of/.test((e as Error).message),
    );
    const after = await snapshot();
    expect(after.versions).toEqual(before.versions);
    expect(after.head).toEqual(before.head);
  });

  it('the disposal path itself refuses held data, whoever calls it', async () => {
    const held = (await q<{ version_id: number }>('SELECT version_id FROM public.held_messages WHERE matter_id = $1 LIMIT 1', [matters.active]))[0]!.version_id;
    const siblings = (await q<{ id: number }>('SELECT v.id FROM archive.message_versions v JOIN archive.message_versions x ON x.session_id = v.session_id AND x.message_id = v.message_id WHERE x.id = $1', [held])).map((r) => r.id);
    await expect(h.db.pool.query(`SELECT archive.dispose_versions($1::bigint[], '{"plan_id": "rp-by-hand"}', 'cli:mallory')`, [siblings])).rejects.toMatchObject({ code: 'ZC423' });
    expect((await q('SELECT id FROM archive.message_versions WHERE id = $1', [held])).length).toBe(1);
    await expect(h.db.pool.query('DELETE FROM archive.message_versions WHERE id = $1', [held])).rejects.toThrow(/append-only/);
  });

  it('apply disposes of exactly the plan; held data and legal-hold files survive; both verifications pass and tell disposal apart', async () => {
    const plan = await planRetention(h.db.pool, POLICY, clock);
    const expected = await expectedDisposal();
    expect(plan.dispose.versions).toBe(expected.length);
    const before = await snapshot();
    // The capture stage's file references (issue 13): those of disposed versions go with them.
    await referenceNewVersions(h.db.pool);
    const refs = async () => (await q<{ version_id: string; ordinal: number }>('SELECT version_id, ordinal FROM archive.file_refs ORDER BY version_id, ordinal')).map((r) => `${r.version_id}/${r.ordinal}`);
    const refsBefore = await refs();
    const disposedRefs = refsBefore.filter((r) => expected.includes(Number(r.split('/')[0])));
    expect(disposedRefs.length).toBeGreaterThan(0);

    const outcome = await applyRetention(h.db.pool, POLICY, { clock, actor: 'cli:test', expectedPlanId: plan.planId });
    expect(await refs()).toEqual(refsBefore.filter((r) => !disposedRefs.includes(r)));
    expect(outcome.plan.planId).toBe(plan.planId);
    const after = await snapshot();
    expect(before.versions.filter((id) => !after.versions.includes(id))).toEqual(expected);
    expect(after.versions.filter((id) => !before.versions.includes(id))).toEqual([]);
    expect(after.held).toEqual(before.held);
    expect(after.files).toEqual(before.files);
    expect(after.sessions).toEqual(before.sessions);
    for (const f of after.files as Array<{ state: string; stored_path: string; sha256: string }>) {
      if (f.state === 'stored') expect((await hashFile(path.join(dataDir, f.stored_path))).sha256).toBe(f.sha256);
    }
    expect((after.files as unknown[]).length).toBeGreaterThan(0);

    // Every version that went is listed, with its identity and content hash, in the audit chain.
    const listed = (await q<{ id: string }>(`SELECT e ->> 0 AS id FROM archive.audit_log a, jsonb_array_elements(a.details -> 'versions') e WHERE a.action = 'retention.dispose' AND a.subject_id = $1`, [plan.planId])).map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(listed).toEqual(expected);
    const summary = (await q<{ id: number; details: Record<string, unknown> }>(`SELECT id, details FROM archive.audit_log WHERE action = 'retention.apply'`))[0]!;
    expect(summary).toMatchObject({ id: outcome.auditId, details: { plan_id: plan.planId, versions: expected.length, disposed_sha256: outcome.disposedSha256 } });

    const chain = await verifyAuditChain(h.db.pool);
    expect(chain.findings).toEqual([]);
    const archive = await verifyArchive(h.db.pool);
    expect(archive.findings).toEqual([]);
    const disposedInSealedWindows = archive.windows.reduce((n, w) => n + w.disposed, 0);
    expect(disposedInSealedWindows).toBe(expected.length);

    // Nothing left to dispose of under the same policy.
    expect((await planRetention(h.db.pool, POLICY, clock)).dispose.versions).toBe(0);
  });

  it('a deletion that forges the disposal setting is not a disposal: archive verify names it as removed', async () => {
    const victim = (await q<{ id: number; window: string }>(`SELECT id, to_char(archive.month_of(action_at), 'YYYY-MM-DD') AS window FROM archive.message_versions v
      WHERE archive.month_of(action_at) < '2026-11-01' AND NOT EXISTS (SELECT 1 FROM public.held_messages h WHERE h.version_id = v.id) ORDER BY id DESC LIMIT 1`))[0]!;
    const client = await h.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('zca.disposal', 'on', true)`);
      await client.query('DELETE FROM archive.message_versions WHERE id = $1', [victim.id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const found = await verifyArchive(h.db.pool);
    expect(found.findings).toEqual([expect.objectContaining({ kind: 'removed', versionId: victim.id, window: victim.window, message: expect.stringMatching(/no retention disposal lists it/) })]);
    // The chain is intact (the forger wrote no audit row): the gap is only visible against the seal.
    expect((await verifyAuditChain(h.db.pool)).ok).toBe(true);
  });
});
