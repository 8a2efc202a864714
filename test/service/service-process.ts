import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createToken, type Role } from '../../src/service/token-store.js';
import { spawnCli, type CliResult } from '../helpers/cli.js';
import type { TestDatabase } from '../helpers/database.js';
import type { SyncHarness } from '../helpers/sync-harness.js';
import { simulatorEnv } from '../helpers/simulator-env.js';

/**
 * `zoom-chat-archiver serve` as a real process (tsx, from the sources) against a test database and
 * the simulator. It listens on a free port (HTTP_PORT=0) and the port is read from its one
 * "listening on …" log line. Log lines are parsed as they arrive so tests can wait for one.
 */

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServiceProcess {
  pid: number;
  port: number;
  url: string;
  logs: LogLine[];
  /** Resolves with the first log line (already seen or later) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and resolves when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
  result: Promise<CliResult>;
  kill(signal: NodeJS.Signals): void;
}

const dataDirs: string[] = [];

/** Removes the ARCHIVE_DATA_DIRs serviceEnv made (call after the processes have stopped). */
export function removeServiceDataDirs(): void {
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Service processes started by one test file's tests, each test's stopped (SIGKILL) after it with its
 * harness closed and its data directories removed: `const fixture = serviceProcesses();`.
 */
export function serviceProcesses(): { start(env: Record<string, string>, args: string[]): Promise<ServiceProcess>; harness: SyncHarness | undefined } {
  const processes: ServiceProcess[] = [];
  const fixture = {
    harness: undefined as SyncHarness | undefined,
    async start(env: Record<string, string>, args: string[]): Promise<ServiceProcess> {
      const p = await startServiceProcess(env, args);
      processes.push(p);
      return p;
    },
  };
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
    await fixture.harness?.close();
    removeServiceDataDirs();
    fixture.harness = undefined;
  });
  return fixture;
}

/** A `serve` process that the tests of a file share, over its own harness (sharedServiceProcess). */
export interface SharedServiceProcess<Name extends string> {
  /** The harness and the process: set by beforeAll (reading them earlier throws). */
  readonly harness: SyncHarness;
  readonly service: ServiceProcess;
  /** A token per name asked for (created before the process starts). */
  tokens: Record<Name, string>;
  /** The process's URL of `path`. */
  url(path: string): string;
}

/**
 * One `serve` process shared by the tests of a file. beforeAll starts the harness, creates a token
 * `<prefix>-<name>` per name of `tokens.roles` with its role, runs `prepare` (a first sync, a token
 * revoked…) and starts the process with `env` over serviceEnv's and `args`; afterAll stops it
 * (SIGTERM), closes the harness and removes the data directories, however far the set-up got.
 */
export function sharedServiceProcess<Name extends string>(options: {
  harness: () => Promise<SyncHarness>;
  tokens: { prefix: string; roles: Record<Name, Role> };
  prepare?: (fixture: SharedServiceProcess<Name>) => Promise<void>;
  env?: Record<string, string>;
  args: string[];
}): SharedServiceProcess<Name> {
  let harness: SyncHarness | undefined;
  let service: ServiceProcess | undefined;
  const fixture: SharedServiceProcess<Name> = {
    get harness() {
      if (!harness) throw new Error('the shared service process is not set up yet (beforeAll)');
      return harness;
    },
    get service() {
      if (!service) throw new Error('the shared service process is not started yet (beforeAll)');
      return service;
    },
    tokens: {} as Record<Name, string>,
    url: (path) => `${fixture.service.url}${path}`,
  };
  beforeAll(async () => {
    harness = await options.harness();
    for (const [name, role] of Object.entries<Role>(options.tokens.roles)) fixture.tokens[name as Name] = await createTestToken(harness.db, `${options.tokens.prefix}-${name}`, role);
    await options.prepare?.(fixture);
    service = await startServiceProcess(serviceEnv(harness, options.env), options.args);
  }, 90_000);
  afterAll(async () => {
    await service?.stop('SIGTERM');
    await harness?.close();
    removeServiceDataDirs();
  });
  return fixture;
}

export function serviceEnv(h: SyncHarness, extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zca-service-'));
  dataDirs.push(dataDir);
  return {
    DATABASE_URL: h.db.url,
    ...simulatorEnv(h.sim),
    ZOOM_RATE_MEDIUM: '2000',
    ZOOM_RATE_LIGHT: '2000',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    ARCHIVE_DATA_DIR: dataDir,
    // Nothing fires on its own unless a test asks for it.
    SCHEDULE_SYNC: '0 0 1 1 *',
    SCHEDULE_DEEP_SYNC: '0 0 1 1 *',
    SCHEDULE_LEGAL_HOLD: '0 0 1 1 *',
    SCHEDULE_HORIZON_CHECK: '0 0 1 1 *',
    // Off: not after each sync pass either (the simulators of most tests serve no files).
    SCHEDULE_FILES: 'off',
    ...extra,
  };
}

export async function startServiceProcess(env: Record<string, string>, args: string[] = [], startTimeoutMs = 30_000): Promise<ServiceProcess> {
  const child = spawnCli(['serve', ...args], env);
  const logs: LogLine[] = [];
  const waiters: Array<{ predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let buffer = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (process.env['SERVICE_DEBUG']) process.stderr.write(`[service] ${text}\n`);
      if (!text.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of [...waiters]) {
        if (w.predicate(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; last lines:\n${logs.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
      waiters.push({
        predicate,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  };
  const listening = await Promise.race([
    waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on '), startTimeoutMs),
    child.result.then((r) => {
      throw new Error(`serve exited before listening (code ${r.code}):\n${r.stderr.slice(-3000)}`);
    }),
  ]);
  const port = Number(listening['port']);
  return {
    pid: child.pid ?? 0,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    waitForLog,
    result: child.result,
    kill: (signal) => child.kill(signal),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return child.result;
    },
  };
}

/** A token straight into the test database (the CLI path has its own test). */
export async function createTestToken(db: TestDatabase, name: string, role: Role): Promise<string> {
  return (await createToken(db.pool, { name, role }, 'test')).token;
}

export async function getJson<T = unknown>(url: string, token?: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: T }> {
  const res = await fetch(url, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics, bundles)
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

/** job_runs rows as intervals, for overlap checks. */
export interface RunInterval {
  id: number;
  job: string;
  instance: string;
  outcome: string;
  startedMs: number;
  finishedMs: number | null;
  error: string | null;
  figures: Record<string, unknown> | null;
}

export async function loadRuns(db: TestDatabase, job?: string): Promise<RunInterval[]> {
  const res = await db.pool.query<{ job_run_id: number; job: string; instance: string; outcome: string; started_at: Date; finished_at: Date | null; error: string | null; figures: Record<string, unknown> | null }>(
    `SELECT job_run_id, job, instance, outcome, started_at, finished_at, error, figures FROM public.job_runs WHERE ($1::text IS NULL OR job = $1) ORDER BY job_run_id`,
    [job ?? null],
  );
  return res.rows.map((r) => ({ id: r.job_run_id, job: r.job, instance: r.instance, outcome: r.outcome, startedMs: r.started_at.getTime(), finishedMs: r.finished_at?.getTime() ?? null, error: r.error, figures: r.figures }));
}

/** Pairs of runs of the same job (skipped ticks excluded) whose intervals overlap. */
export function overlappingRuns(runs: readonly RunInterval[]): Array<[RunInterval, RunInterval]> {
  const real = runs.filter((r) => r.outcome !== 'skipped');
  const out: Array<[RunInterval, RunInterval]> = [];
  for (let i = 0; i < real.length; i++) {
    for (let j = i + 1; j < real.length; j++) {
      const a = real[i]!;
      const b = real[j]!;
      if (a.job !== b.job) continue;
      const aEnd = a.finishedMs ?? Infinity;
      const bEnd = b.finishedMs ?? Infinity;
      if (a.startedMs < bEnd && b.startedMs < aEnd) out.push([a, b]);
    }
  }
  return out;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number, what: string, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
