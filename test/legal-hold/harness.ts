import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { afterEach } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createMatter, loadFiles, refreshFiles, type FileRecord, type LegalHoldDeps } from '../../src/legal-hold/index.js';
import { createSilentLogger, type Logger } from '../../src/logging/logger.js';
import type { SimDataset, SimUser } from '../../src/simulator/dataset.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { SIM_CREDENTIALS, startZoomSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index.js';
import type { SimLegalHoldOptions } from '../../src/simulator/legal-hold-state.js';
import { ManualClock } from '../../src/util/clock.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { simulatorEnv } from '../helpers/simulator-env.js';

/**
 * Legal hold end to end: the Zoom simulator over real HTTP, a real PostgreSQL database (fresh per
 * harness), a real ZoomClient and a temporary ARCHIVE_DATA_DIR. Nothing is mocked; only retry
 * delays are shortened and the clock is a ManualClock the test moves.
 */

export const NOW = new Date('2026-11-21T15:00:00.000Z');

export interface LegalHoldHarness {
  sim: RunningSimulator;
  db: TestDatabase;
  dataset: SimDataset;
  clock: ManualClock;
  config: Readonly<Config>;
  dataDir: string;
  /** Internal users of the dataset (possible custodians). */
  users: SimUser[];
  deps: LegalHoldDeps;
  /** Another set of deps with its own Zoom client (a second process, as far as locks go). */
  newDeps(overrides?: Partial<LegalHoldDeps>): LegalHoldDeps;
  audit(action?: string): Promise<Array<{ actor: string; action: string; subject_id: string | null; before: unknown; after: unknown; details: unknown }>>;
  apiCalls(endpoint: string): number;
  close(): Promise<void>;
}

export interface HarnessOptions {
  legalHold?: SimLegalHoldOptions;
  simulator?: Partial<SimulatorOptions>;
  env?: Record<string, string>;
  dataset?: SimDataset;
  logger?: Logger;
}

export async function startLegalHoldHarness(options: HarnessOptions = {}): Promise<LegalHoldHarness> {
  const clock = new ManualClock(NOW);
  const dataset = options.dataset ?? generateDataset({ seed: 21, now: NOW, sessions: 6, totalMessages: 120 });
  const sim = await startZoomSimulator({ dataset, clock, ...options.simulator, legalHold: options.legalHold ?? options.simulator?.legalHold ?? {} });
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zca-lh-'));
  const config = loadConfig({
    DATABASE_URL: db.url,
    ARCHIVE_DATA_DIR: dataDir,
    ...simulatorEnv(sim),
    ZOOM_RATE_LIGHT: '5000',
    ZOOM_RATE_RESOURCE_INTENSIVE: '600000',
    ZOOM_MAX_RETRIES: '3',
    LEGAL_HOLD_DOWNLOAD_ATTEMPTS: '3',
    LEGAL_HOLD_DOWNLOAD_CONCURRENCY: '2',
    ...options.env,
  });
  const logger = options.logger ?? createSilentLogger();
  const clients: ZoomClient[] = [];
  const newDeps = (overrides: Partial<LegalHoldDeps> = {}): LegalHoldDeps => {
    const zoom = new ZoomClient({
      config: config.zoom,
      credentials: SIM_CREDENTIALS,
      clock,
      logger,
      retry: { baseDelayMs: 5, maxDelayMs: 40, qpsRetryDelayMs: 20 },
      maxDailyWaitMs: 1000,
    });
    clients.push(zoom);
    return { pool: db.pool, zoom, config, logger, clock, actor: 'cli:test-officer', downloadBackoff: { baseDelayMs: 5, maxDelayMs: 20 }, ...overrides };
  };
  return {
    sim,
    db,
    dataset,
    clock,
    config,
    dataDir,
    users: dataset.users.filter((u) => !u.external),
    deps: newDeps(),
    newDeps,
    async audit(action) {
      const res = await db.pool.query(
        // The chain's genesis row (migration 0008) is the archive's, not the legal-hold code's.
        `SELECT actor, action, subject_id, before, after, details FROM public.audit_log WHERE action <> 'audit.chain.genesis' AND ($1::text IS NULL OR action = $1) ORDER BY audit_id`,
        [action ?? null],
      );
      return res.rows as Array<{ actor: string; action: string; subject_id: string | null; before: unknown; after: unknown; details: unknown }>;
    },
    apiCalls(endpoint) {
      return sim.stats().byEndpoint[endpoint]?.requests ?? 0;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await sim.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A starter for test files that build a fresh harness per test: each call starts one, and the
 * harness of the test that just ran is closed after it.
 */
export function harnessPerTest(): (options?: HarnessOptions) => Promise<LegalHoldHarness> {
  let current: LegalHoldHarness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options = {}) => {
    current = await startLegalHoldHarness(options);
    return current;
  };
}

/**
 * A fresh harness with one matter holding the dataset's first user from January to June, its files
 * listed: the set-up of every test about a single download.
 */
export async function withOneFileMatter(
  harness: (options?: HarnessOptions) => Promise<LegalHoldHarness>,
  options: HarnessOptions = {},
  name = 'Download matter',
): Promise<{ t: LegalHoldHarness; matterId: string; file: FileRecord }> {
  const t = await harness(options);
  const matter = await createMatter(t.deps, { name, custodians: [t.users[0]!.email], from: '2026-01-01', to: '2026-06-30' }, 'cli:x');
  await refreshFiles(t.deps);
  const [file] = await loadFiles(t.db.pool);
  return { t, matterId: matter.matterId, file: file! };
}

/** Every file under `root`, as paths relative to it (none when `root` does not exist). */
export async function filesOnDisk(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}
