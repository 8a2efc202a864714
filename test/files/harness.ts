import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.js';
import { captureFiles, type CaptureSummary, type FileCaptureDeps } from '../../src/files/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { generateDataset, SIM_CREDENTIALS, type DatasetOptions, type SimDataset, type SimulatorOptions } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

/**
 * Files end to end: the simulator serving files over real HTTP (signed, expiring URLs on its
 * clock), a real PostgreSQL database, the real sync and the real capture stage writing into a
 * temporary ARCHIVE_DATA_DIR. Nothing is mocked; retry delays are shortened.
 */

export const NOW = new Date('2026-11-21T15:00:00.000Z');

export interface FilesHarness extends SyncHarness {
  clock: ManualClock;
  dataDir: string;
  config: Readonly<Config>;
  deps(overrides?: Partial<FileCaptureDeps>): FileCaptureDeps;
  capture(overrides?: Partial<FileCaptureDeps>): Promise<CaptureSummary>;
  rows(): Promise<Array<Record<string, unknown>>>;
  storeTree(): Promise<string[]>;
  calls(endpoint: string): number;
}

export async function startFilesHarness(options: { dataset?: Partial<DatasetOptions>; simulator?: Partial<SimulatorOptions>; env?: Record<string, string>; ds?: SimDataset } = {}): Promise<FilesHarness> {
  const clock = new ManualClock(NOW);
  const dataset = options.ds ?? generateDataset({ seed: 21, now: NOW, sessions: 6, totalMessages: 150, fileProbability: 0.3, fileMaxBytes: 300_000, ...options.dataset });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zca-files-'));
  const base = await startSyncHarness({ dataset, clock, simulator: { serveFiles: true, ...options.simulator }, env: { ARCHIVE_DATA_DIR: dataDir, ...options.env } });
  const config = loadConfig({
    DATABASE_URL: base.db.url,
    ARCHIVE_DATA_DIR: dataDir,
    ...simulatorEnv(base.sim),
    ZOOM_RATE_LIGHT: '5000',
    ZOOM_RATE_MEDIUM: '5000',
    ZOOM_MAX_RETRIES: '2',
    FILES_CONCURRENCY: '3',
    FILES_DOWNLOAD_ATTEMPTS: '3',
    ...options.env,
  });
  const clients: ZoomClient[] = [];
  const deps = (overrides: Partial<FileCaptureDeps> = {}): FileCaptureDeps => {
    const zoom = new ZoomClient({ config: config.zoom, credentials: SIM_CREDENTIALS, clock, logger: createSilentLogger(), retry: { baseDelayMs: 5, maxDelayMs: 20, qpsRetryDelayMs: 10 } });
    clients.push(zoom);
    return { pool: base.db.pool, zoom, config, logger: createSilentLogger(), clock, backoff: { baseDelayMs: 5, maxDelayMs: 20 }, ...overrides };
  };
  return {
    ...base,
    clock,
    dataDir,
    config,
    deps,
    capture: (overrides) => captureFiles(deps(overrides)),
    async rows() {
      const res = await base.db.pool.query('SELECT * FROM archive.files ORDER BY file_id');
      return res.rows as Array<Record<string, unknown>>;
    },
    async storeTree() {
      const out: string[] = [];
      const walk = async (dir: string) => {
        for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) await walk(full);
          else out.push(path.relative(dataDir, full));
        }
      };
      await walk(path.join(dataDir, 'files'));
      return out.sort();
    },
    calls(endpoint) {
      return base.sim.stats().byEndpoint[endpoint]?.requests ?? 0;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await base.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function harnessPerTest(): (options?: Parameters<typeof startFilesHarness>[0]) => Promise<FilesHarness> {
  let current: FilesHarness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options) => {
    current = await startFilesHarness(options);
    return current;
  };
}
