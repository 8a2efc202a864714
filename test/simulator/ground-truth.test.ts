import { describe, expect, it } from 'vitest';
import { expectedMalformedItems, expectedVersions, generateDataset, type SimDataset } from '../../src/simulator/index.js';
import { readEpochMs } from '../../src/zoom/report-parser.js';
import { ALL_INCLUDED, HORIZON_START, NOW, TODAY, fetchAllPages, horizonWindows, listAllSessions, startTestSim, type TestSim } from './helpers.js';

// The ground truth must equal, byte for byte, the union of what the server serves when an archiver
// sweeps every window of the horizon for every session any window listed.

interface Served {
  versions: Set<string>;
  malformed: Set<string>;
}

function keyOf(sessionId: string, kind: string, json: string): string {
  return `${sessionId}|${kind}|${json}`;
}

async function sweep(t: TestSim, pageSize: number, queryAllModifications: boolean): Promise<Served> {
  const windows = horizonWindows(HORIZON_START, TODAY);
  const sessions = new Set<string>();
  for (const w of windows) for (const id of await listAllSessions(t, w.from, w.to, 7)) sessions.add(id);
  const served: Served = { versions: new Set(), malformed: new Set() };
  const tasks: Array<Promise<void>> = [];
  for (const sessionId of sessions) {
    for (const w of windows) {
      tasks.push(
        (async () => {
          const { items } = await fetchAllPages(t, sessionId, { from: w.from, to: w.to, page_size: pageSize, query_all_modifications: String(queryAllModifications), ...ALL_INCLUDED });
          for (const [kind, list] of [['original', items.messages], ['edited', items.edited], ['deleted', items.deleted]] as const) {
            for (const json of list) {
              const item = JSON.parse(json) as Record<string, unknown>;
              const usable = typeof item['id'] === 'string' && readEpochMs(item['action_timestamp']) !== undefined;
              (usable ? served.versions : served.malformed).add(usable ? keyOf(sessionId, kind, json) : `${sessionId}|${json}`);
            }
          }
        })(),
      );
    }
  }
  await Promise.all(tasks);
  return served;
}

function expected(dataset: SimDataset): Served {
  return {
    versions: new Set(expectedVersions(dataset, { today: TODAY, horizonStart: HORIZON_START }).map((v) => keyOf(v.sessionId, v.kind, v.json))),
    malformed: new Set(expectedMalformedItems(dataset, { today: TODAY, horizonStart: HORIZON_START }).map((m) => `${m.sessionId}|${m.json}`)),
  };
}

describe('ground truth', () => {
  const dataset = generateDataset({ seed: 5, now: NOW, sessions: 30, totalMessages: 1500, quirks: 'all', editProbability: 0.15, deleteProbability: 0.05 });

  for (const variant of [
    { sessionListing: 'every-active-window', modificationsPaging: 'first-page', pageSize: 9 },
    { sessionListing: 'last-activity-window', modificationsPaging: 'every-page', pageSize: 100 },
  ] as const) {
    it(`equals the union of everything served over a full sweep (${variant.sessionListing}, ${variant.modificationsPaging})`, async () => {
      const t = await startTestSim({ dataset, sessionListing: variant.sessionListing, modificationsPaging: variant.modificationsPaging });
      const served = await sweep(t, variant.pageSize, true);
      const truth = expected(dataset);
      expect(truth.versions.size).toBeGreaterThan(1000);
      expect([...served.versions].filter((k) => !truth.versions.has(k))).toEqual([]);
      expect([...truth.versions].filter((k) => !served.versions.has(k))).toEqual([]);
      expect(served.malformed).toEqual(truth.malformed);
      expect(truth.malformed.size).toBe(2);
    });
  }

  it('holds every kind of version, including changes inside the horizon to messages sent before it', () => {
    const versions = expectedVersions(dataset, { today: TODAY, horizonStart: HORIZON_START });
    const kinds = new Set(versions.map((v) => v.kind));
    expect(kinds).toEqual(new Set(['original', 'edited', 'deleted']));
    const horizonStartMs = Date.parse(`${HORIZON_START}T00:00:00Z`);
    const oldButChanged = versions.filter((v) => v.kind !== 'original' && readEpochMs((JSON.parse(v.json) as { timestamp: unknown }).timestamp)! < horizonStartMs);
    expect(oldButChanged.length).toBeGreaterThan(0);
    // One JSON text per (message, kind, action time): the archive's version key is unique.
    const keys = versions.map((v) => `${v.messageId}|${v.kind}|${v.actionMs}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('with query_all_modifications=false misses the late changes of old messages, and adds nothing new', async () => {
    const t = await startTestSim({ dataset });
    const served = await sweep(t, 100, false);
    const truth = expected(dataset);
    expect([...served.versions].filter((k) => !truth.versions.has(k))).toEqual([]);
    expect(served.versions.size).toBeLessThan(truth.versions.size);
  });

  it('includes sessions the archiver already knows even when no horizon window lists them', () => {
    const invisible = dataset.sessions.filter((s) => s.lastMessageSentMs < Date.parse(`${HORIZON_START}T00:00:00Z`) && s.lastActivityMs >= Date.parse(`${HORIZON_START}T00:00:00Z`));
    expect(invisible.length).toBeGreaterThan(0);
    const without = expectedVersions(dataset, { today: TODAY, horizonStart: HORIZON_START });
    const withKnown = expectedVersions(dataset, { today: TODAY, horizonStart: HORIZON_START, knownSessionIds: invisible.map((s) => s.id) });
    const invisibleIds = new Set(invisible.map((s) => s.id));
    expect(without.some((v) => invisibleIds.has(v.sessionId))).toBe(false);
    const added = withKnown.filter((v) => invisibleIds.has(v.sessionId));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((v) => v.kind !== 'original')).toBe(true);
  });

  it('as of an earlier instant, shows the account as it was then', () => {
    const earlierMs = NOW.getTime() - 5 * 86_400_000;
    const then = expectedVersions(dataset, { today: '2026-11-16', horizonStart: '2026-05-16', asOfMs: earlierMs });
    expect(then.every((v) => v.actionMs <= earlierMs)).toBe(true);
    const now = expectedVersions(dataset, { today: TODAY, horizonStart: HORIZON_START });
    expect(now.some((v) => v.actionMs > earlierMs)).toBe(true);
  });
});
