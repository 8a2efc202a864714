import { afterEach, expect } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { IsoDate } from '../../src/domain/types.js';
import { createSilentLogger, type Logger } from '../../src/logging/logger.js';
import { SIM_CREDENTIALS, startZoomSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { expectedMalformedItems, expectedVersions, iterateAdmissibleVersions } from '../../src/simulator/ground-truth.js';
import { generateDataset, type DatasetOptions, type SimDataset } from '../../src/simulator/dataset.js';
import { computeHorizon } from '../../src/sync/horizon.js';
import { SyncProgress } from '../../src/sync/progress.js';
import type { SyncSummary } from '../../src/sync/sync-engine.js';
import { runSyncPass } from '../../src/sync/sync-pass.js';
import { ManualClock, type Clock } from '../../src/util/clock.js';
import { escapeNulInJsonText } from '../../src/util/nul.js';
import { DAY_MS, startOfDayMs } from '../../src/util/dates.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { simulatorEnv } from './simulator-env.js';

/**
 * A real PostgreSQL database, the project's Zoom simulator over real HTTP, and the real client and
 * sync engine between them. Nothing is mocked; only retry delays are shortened.
 */
export interface SyncHarness {
  sim: RunningSimulator;
  db: TestDatabase;
  dataset: SimDataset;
  clock: Clock;
  config: Readonly<Config>;
  sync(mode?: 'incremental' | 'all', options?: { signal?: AbortSignal; logger?: Logger; concurrency?: number; progress?: SyncProgress }): Promise<SyncSummary & { progress: SyncProgress }>;
  close(): Promise<void>;
}

export async function startSyncHarness(options: { dataset: SimDataset; clock: Clock; simulator?: Partial<SimulatorOptions>; env?: Record<string, string> }): Promise<SyncHarness> {
  const sim = await startZoomSimulator({ dataset: options.dataset, clock: options.clock, ...options.simulator });
  const db = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    ...simulatorEnv(sim),
    ZOOM_RATE_MEDIUM: '5000',
    ZOOM_RATE_LIGHT: '5000',
    ZOOM_MAX_RETRIES: '8',
    SYNC_CONCURRENCY: '6',
    ...options.env,
  });
  const harness: SyncHarness = {
    sim,
    db,
    dataset: options.dataset,
    clock: options.clock,
    config,
    async sync(mode = 'incremental', runOptions = {}) {
      const progress = runOptions.progress ?? new SyncProgress(() => options.clock.now().getTime());
      const logger = runOptions.logger ?? createSilentLogger();
      const zoom = new ZoomClient({
        config: config.zoom,
        credentials: SIM_CREDENTIALS,
        clock: options.clock,
        logger,
        retry: { baseDelayMs: 5, maxDelayMs: 40, qpsRetryDelayMs: 20 },
      });
      try {
        const summary = await runSyncPass(
          {
            sync: { ...config.sync, concurrency: runOptions.concurrency ?? config.sync.concurrency },
            pool: db.pool,
            zoom,
            clock: options.clock,
            logger,
            progress,
            ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          },
          mode,
        );
        return { ...summary, progress };
      } finally {
        await zoom.close();
      }
    },
    async close() {
      await sim.close();
      await db.close();
    },
  };
  return harness;
}

export type HarnessOptions = { simulator?: Partial<SimulatorOptions>; env?: Record<string, string> };

/** A harness whose clock the test moves. */
export type AccountHarness = SyncHarness & { clock: ManualClock };

/**
 * One harness per test, closed after it (this registers the `afterEach`): `start(at, account)` puts
 * a manual clock at `at` and serves an account generated as of `at` (or as of `account.now`), or a
 * dataset the test generated itself.
 */
export function harnessPerTest(): (at: Date, account: Omit<DatasetOptions, 'now'> & { now?: Date } | SimDataset, options?: HarnessOptions) => Promise<AccountHarness> {
  let current: SyncHarness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (at, account, options = {}) => {
    const clock = new ManualClock(at);
    const dataset = 'messages' in account ? account : generateDataset({ now: at, ...account });
    const harness = await startSyncHarness({ dataset, clock, ...options });
    current = harness;
    return { ...harness, clock };
  };
}

/** From now until the test clears faults, every request to `endpoint` for the horizon's oldest month answers HTTP 500. */
export function failOldestWindow(h: SyncHarness, endpoint: 'report.chat.sessions' | 'report.chat.session_messages'): void {
  const { horizonStart } = horizonFor(h.clock);
  h.sim.faults.inject({ match: { endpoint, queryIncludes: { from: horizonStart } }, fault: { kind: 'status', status: 500 }, times: Infinity });
}

/** Sorted-key JSON: the same text for the same JSON value, whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface VersionKey {
  sessionId: string;
  messageId: string;
  kind: string;
  actionMs: number;
  raw: string;
}

const keyOf = (v: VersionKey) => `${v.sessionId}|${v.messageId}|${v.kind}|${v.actionMs}|${v.raw}`;

/** Every archived version, as comparable keys (raw JSON canonicalised). */
export async function archivedVersions(db: TestDatabase): Promise<VersionKey[]> {
  const res = await db.pool.query<{ session_id: string; message_id: string; kind: string; action_at: Date; raw: unknown }>(
    'SELECT session_id, message_id, kind, action_at, raw FROM public.chat_message_versions',
  );
  return res.rows.map((r) => ({ sessionId: r.session_id, messageId: r.message_id, kind: r.kind, actionMs: r.action_at.getTime(), raw: canonicalJson(r.raw) }));
}

/** What a complete archive of the dataset holds as of `today`, in the archive's own terms (U+0000 as six characters). */
export function expectedArchive(dataset: SimDataset, options: { today: IsoDate; horizonStart: IsoDate; knownSessionIds?: Iterable<string>; asOfMs?: number }): VersionKey[] {
  return expectedVersions(dataset, options).map((v) => ({
    sessionId: v.sessionId,
    messageId: v.messageId,
    kind: v.kind,
    actionMs: v.actionMs,
    raw: canonicalJson(JSON.parse(escapeNulInJsonText(v.json))),
  }));
}

export function expectedMalformed(dataset: SimDataset, options: { today: IsoDate; horizonStart: IsoDate }): string[] {
  return expectedMalformedItems(dataset, options).map((m) => canonicalJson(JSON.parse(escapeNulInJsonText(m.json))));
}

/** Compares the archive with the expectation: missing, unexpected and duplicated versions. */
export function diffArchive(actual: VersionKey[], expected: VersionKey[]): { missing: string[]; unexpected: string[]; duplicates: string[] } {
  const actualKeys = actual.map(keyOf);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const k of actualKeys) {
    if (seen.has(k)) duplicates.push(k);
    seen.add(k);
  }
  const expectedKeys = new Set(expected.map(keyOf));
  return {
    missing: [...expectedKeys].filter((k) => !seen.has(k)).slice(0, 5),
    unexpected: [...seen].filter((k) => !expectedKeys.has(k)).slice(0, 5),
    duplicates: duplicates.slice(0, 5),
  };
}

/**
 * The archive holds exactly the dataset's admissible versions as of the harness clock (no version
 * missing, none unexpected, none twice); returns how many that is.
 */
export async function expectArchiveExact(h: Pick<SyncHarness, 'db' | 'dataset' | 'clock'>, options: { knownSessionIds?: Iterable<string> } = {}): Promise<number> {
  const { today, horizonStart } = horizonFor(h.clock);
  const expected = expectedArchive(h.dataset, { today, horizonStart, ...options });
  const actual = await archivedVersions(h.db);
  expect(diffArchive(actual, expected)).toEqual({ missing: [], unexpected: [], duplicates: [] });
  expect(actual.length).toBe(expected.length);
  return expected.length;
}

export function horizonFor(clock: Clock): { today: IsoDate; horizonStart: IsoDate } {
  const h = computeHorizon(clock.now(), { settleHours: 24, marginDays: 0 });
  return { today: h.today, horizonStart: h.start };
}

export interface OverTimeDiff {
  /** Archived versions Zoom never showed (not an admissible state of any message): must be none. */
  unexpected: string[];
  /** Versions archived twice: must be none. */
  duplicates: string[];
  /** Versions a full sweep of the required windows serves now that the archive lacks. */
  missing: string[];
}

/**
 * Exactness of an archive kept current over time rather than filled by one sweep: nothing
 * archived that Zoom never showed (iterateAdmissibleVersions), nothing twice, and everything a
 * sweep of `windows` (the windows the archive has completed) serves now — every edit and deletion
 * exactly, and every live message with its current text, as its original or as the edit that made
 * it (a window completed before a later edit of its message keeps the earlier state).
 */
export async function diffArchiveOverTime(h: Pick<SyncHarness, 'db' | 'dataset' | 'clock'>, windows: ReadonlyArray<{ from: IsoDate; to: IsoDate }>): Promise<OverTimeDiff> {
  const asOfMs = h.clock.now().getTime();
  const actual = await archivedVersions(h.db);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const v of actual) {
    const k = keyOf(v);
    if (seen.has(k)) duplicates.push(k);
    seen.add(k);
  }
  const admissible = new Set<string>();
  for (const v of iterateAdmissibleVersions(h.dataset, { asOfMs })) {
    admissible.add(keyOf({ ...v, raw: canonicalJson(JSON.parse(escapeNulInJsonText(v.json))) }));
  }
  const unexpected = [...seen].filter((k) => !admissible.has(k));
  const known = (await h.db.pool.query<{ session_id: string }>('SELECT session_id FROM archive.sessions')).rows.map((r) => r.session_id);
  const texts = new Set(actual.map((v) => `${v.sessionId}|${v.messageId}|${(JSON.parse(v.raw) as { message?: string }).message}`));
  const withOriginal = new Set(actual.filter((v) => v.kind === 'original').map((v) => `${v.sessionId}|${v.messageId}`));
  const inRequired = (ms: number) => windows.some((w) => ms >= startOfDayMs(w.from) && ms < startOfDayMs(w.to) + DAY_MS);
  const missing: string[] = [];
  for (const w of windows) {
    for (const v of expectedArchive(h.dataset, { today: w.to, horizonStart: w.from, knownSessionIds: known, asOfMs })) {
      const k = keyOf(v);
      if (seen.has(k)) continue;
      if (v.kind === 'original') {
        // Its current state comes from its latest edit: required only when that edit happened in a
        // required window (else the edit is still to be read), and then as the original or the edit.
        const text = `${v.sessionId}|${v.messageId}|${(JSON.parse(v.raw) as { message?: string }).message}`;
        if (withOriginal.has(`${v.sessionId}|${v.messageId}`) && (texts.has(text) || !inRequired(v.actionMs))) continue;
      }
      missing.push(k);
    }
  }
  return { unexpected: unexpected.slice(0, 5), duplicates: duplicates.slice(0, 5), missing: missing.slice(0, 5) };
}
