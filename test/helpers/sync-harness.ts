import { loadConfig, type Config } from '../../src/config/config.js';
import type { IsoDate } from '../../src/domain/types.js';
import { createSilentLogger, type Logger } from '../../src/logging/logger.js';
import { SIM_CREDENTIALS, startZoomSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { expectedMalformedItems, expectedVersions } from '../../src/simulator/ground-truth.js';
import type { SimDataset } from '../../src/simulator/dataset.js';
import { computeHorizon } from '../../src/sync/horizon.js';
import { SyncProgress } from '../../src/sync/progress.js';
import { runSync, type SyncSummary } from '../../src/sync/sync-engine.js';
import { zoomReportSource } from '../../src/sync/zoom-report-source.js';
import type { Clock } from '../../src/util/clock.js';
import { escapeNulInJsonText } from '../../src/util/nul.js';
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
  sync(mode?: 'incremental' | 'all', options?: { signal?: AbortSignal; logger?: Logger; concurrency?: number }): Promise<SyncSummary & { progress: SyncProgress }>;
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
      const progress = new SyncProgress(() => options.clock.now().getTime());
      const logger = runOptions.logger ?? createSilentLogger();
      const zoom = new ZoomClient({
        config: config.zoom,
        credentials: SIM_CREDENTIALS,
        clock: options.clock,
        logger,
        onCall: (e) => progress.recordCall(e.status),
        retry: { baseDelayMs: 5, maxDelayMs: 40, qpsRetryDelayMs: 20 },
      });
      try {
        const summary = await runSync(
          {
            pool: db.pool,
            reports: zoomReportSource(zoom),
            clock: options.clock,
            logger,
            settings: {
              concurrency: runOptions.concurrency ?? config.sync.concurrency,
              settleHours: config.sync.settleHours,
              horizonMarginDays: config.sync.horizonMarginDays,
              horizonRiskDays: config.sync.horizonRiskDays,
            },
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

export function horizonFor(clock: Clock): { today: IsoDate; horizonStart: IsoDate } {
  const h = computeHorizon(clock.now(), { settleHours: 24, marginDays: 0 });
  return { today: h.today, horizonStart: h.start };
}
