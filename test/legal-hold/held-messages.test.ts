import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMatter, deleteMatter, loadMatter, syncMatters, type LegalHoldDeps } from '../../src/legal-hold/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { SIM_CREDENTIALS } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { addDays } from '../../src/util/dates.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { horizonFor, startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

// held_messages over a real archive: the sync engine fills it from the simulator, a matter is
// created through the project, and the view must return exactly the versions our own reading of
// its rules selects — computed here in TypeScript from the archive, not with the view's SQL.

const NOW = new Date('2026-11-21T15:00:00Z');
let h: SyncHarness;
let deps: LegalHoldDeps;
let zoom: ZoomClient;
let clock: ManualClock;

interface Version {
  version_id: number;
  session_id: string;
  sender: string | null;
  receiver: string | null;
  sent_at: Date | null;
  action_at: Date;
}

beforeAll(async () => {
  clock = new ManualClock(NOW);
  const dataset = generateDataset({ seed: 17, now: NOW, sessions: 30, totalMessages: 3000, editProbability: 0.1, deleteProbability: 0.05 });
  // Matters are RESOURCE-INTENSIVE (a few calls a minute by default): paced for a test, not for Zoom.
  h = await startSyncHarness({ dataset, clock, env: { ZOOM_RATE_RESOURCE_INTENSIVE: '600000' } });
  const summary = await h.sync();
  expect(summary.outcome).toBe('complete');
  zoom = new ZoomClient({ config: h.config.zoom, credentials: SIM_CREDENTIALS, clock, logger: createSilentLogger(), retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  deps = { pool: h.db.pool, zoom, config: h.config, logger: createSilentLogger(), clock, actor: 'cli:test' };
});

afterAll(async () => {
  await zoom?.close();
  await h?.close();
});

async function archive(): Promise<{ versions: Version[]; members: Map<string, string[]> }> {
  const versions = await h.db.pool.query<Version>('SELECT version_id, session_id, sender, receiver, sent_at, action_at FROM public.chat_message_versions');
  const sessions = await h.db.pool.query<{ session_id: string; member_emails: string[] | null }>('SELECT session_id, member_emails FROM public.chat_sessions');
  return { versions: versions.rows, members: new Map(sessions.rows.map((s) => [s.session_id, s.member_emails ?? []])) };
}

/**
 * The rules, read independently: sessions the custodian took part in or belongs to; versions whose
 * message was sent, or which themselves happened, inside the dates.
 */
function expectedHeld(data: { versions: Version[]; members: Map<string, string[]> }, custodian: string, from: string, to: string | null): number[] {
  const email = custodian.toLowerCase();
  const sessions = new Set<string>();
  for (const v of data.versions) if (v.sender?.toLowerCase() === email || v.receiver?.toLowerCase() === email) sessions.add(v.session_id);
  for (const [id, members] of data.members) if (members.some((m) => m.toLowerCase() === email)) sessions.add(id);
  const startMs = Date.parse(`${from}T00:00:00Z`);
  const endMs = to === null ? Number.POSITIVE_INFINITY : Date.parse(`${addDays(to, 1)}T00:00:00Z`);
  return data.versions
    .filter((v) => sessions.has(v.session_id))
    .filter((v) => {
      const sent = (v.sent_at ?? v.action_at).getTime();
      const acted = v.action_at.getTime();
      return (sent >= startMs && sent < endMs) || (acted >= startMs && acted < endMs);
    })
    .map((v) => v.version_id)
    .sort((a, b) => a - b);
}

async function heldFor(matterId: string, custodian?: string): Promise<number[]> {
  const res = await h.db.pool.query<{ version_id: number }>(
    'SELECT version_id FROM public.held_messages WHERE matter_id = $1 AND ($2::text IS NULL OR custodian = $2) ORDER BY version_id',
    [matterId, custodian ?? null],
  );
  return res.rows.map((r) => r.version_id);
}

describe('held_messages', () => {
  it('holds exactly the archived versions of the custodians’ sessions sent or changed within the matter’s dates', async () => {
    const data = await archive();
    // The busiest internal sender, and a quieter one who also appears in 1:1 member lists.
    const counts = new Map<string, number>();
    for (const v of data.versions) if (v.sender) counts.set(v.sender, (counts.get(v.sender) ?? 0) + 1);
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([e]) => e);
    const [busy, quiet] = [ranked[0]!, ranked[ranked.length - 1]!];
    const { today, horizonStart } = horizonFor(h.clock);
    const from = addDays(horizonStart, 40);
    const to = addDays(today, -35);

    const matter = await createMatter(deps, { name: 'Held messages', custodians: [busy, quiet.toUpperCase()], from, to }, 'cli:test');
      const busyHeld = await heldFor(matter.matterId, busy);
    const quietHeld = await heldFor(matter.matterId, quiet.toUpperCase());
    expect(busyHeld).toEqual(expectedHeld(data, busy, from, to));
    expect(quietHeld).toEqual(expectedHeld(data, quiet, from, to));
    expect(busyHeld.length).toBeGreaterThan(100);
    expect(busyHeld.length).toBeLessThan(data.versions.length);
    // Edits and deletions are held like originals.
    const kinds = await h.db.pool.query<{ kind: string }>('SELECT DISTINCT kind FROM public.held_messages WHERE matter_id = $1 ORDER BY kind', [matter.matterId]);
    expect(kinds.rows.map((r) => r.kind)).toEqual(['deleted', 'edited', 'original']);
    // An open-ended matter holds from its start on.
    const open = await createMatter(deps, { name: 'Open-ended', custodians: [busy], from }, 'cli:test');
    expect(await heldFor(open.matterId)).toEqual(expectedHeld(data, busy, from, null));
    // A matter deleted in Zoom keeps holding; one deleted through this project releases its hold.
    clock.set(NOW.getTime() + 11 * 60_000);
    h.sim.legalHold.deleteMatter(matter.matterId);
    await syncMatters(deps);
    expect((await loadMatter(h.db.pool, matter.matterId))?.state).toBe('deleted_in_zoom');
    expect(await heldFor(matter.matterId, busy)).toEqual(busyHeld);
    await deleteMatter(deps, { matter: open.matterId }, 'cli:test');
    expect(await heldFor(open.matterId)).toEqual([]);
  });
});
