import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { createSilentLogger } from '../../src/logging/logger.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';

/** Shared plumbing for the `npm run bench:*` scripts: processes, a scratch database, RSS sampling. */

export const ROOT = new URL('../../', import.meta.url).pathname;
const ADMIN_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A fresh, migrated database on the benchmark server; dropped by `drop()`. */
export async function createScratchDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(ADMIN_URL, name);
  const pool = createPool({ connectionString: url, max: 2 });
  await runMigrations(pool, createSilentLogger());
  await pool.end();
  return {
    url,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface BenchDatabase {
  url: string;
  /** BENCH_REUSE_DB: a database loaded and kept by an earlier run. */
  reuse: string | undefined;
  drop(): Promise<void>;
}

/** The database a run measures: the one named by BENCH_REUSE_DB (loaded earlier), or a fresh scratch one. */
export async function benchDatabase(prefix: string): Promise<BenchDatabase> {
  const reuse = process.env['BENCH_REUSE_DB'];
  const db = reuse ? { url: reuse, drop: async () => undefined } : await createScratchDatabase(prefix);
  return { url: db.url, reuse, drop: () => db.drop() };
}

/** After a run: the database kept (BENCH_KEEP_DB=1, or one reused) or dropped. */
export async function keepOrDrop(db: BenchDatabase): Promise<void> {
  if (process.env['BENCH_KEEP_DB'] === '1' || db.reuse) console.log(`  kept the database: ${db.url} (BENCH_REUSE_DB=<url> runs again on it)`);
  else await db.drop();
}

/** Prints PostgreSQL's EXPLAIN ANALYZE of one query under `title`. */
export async function printExplain(pool: pg.Pool, title: string, sql: string, values: unknown[]): Promise<void> {
  const plan = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, values);
  console.log(`\n  EXPLAIN ANALYZE: ${title}\n${plan.rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
}

/** Compiles src/ to dist/ so benchmarks measure the shipped JavaScript, not a dev loader. */
export function buildDist(): void {
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  // tsc emits JavaScript even when types fail; BENCH_ALLOW_TYPE_ERRORS=1 measures it anyway.
  if (result.status !== 0 && process.env['BENCH_ALLOW_TYPE_ERRORS'] !== '1') throw new Error('build failed');
}

/** What a simulator process prints as its first line once it listens (JSON). */
export interface SimulatorAddress {
  apiBaseUrl: string;
  tokenUrl: string;
  baseUrl: string;
  credentials: { accountId: string; clientId: string; clientSecret: string };
}

export interface StartedSimulator extends SimulatorAddress {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The address a simulator child process prints on its first line of stdout (it fails if the child exits first). */
export async function simulatorAddress(child: ChildProcess): Promise<SimulatorAddress> {
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited early (${code})`)));
  });
  return JSON.parse(ready) as SimulatorAddress;
}

/** The simulator in its own process, so it never competes with the archiver's event loop. */
export async function startSimulatorProcess(args: string[]): Promise<StartedSimulator> {
  const child = spawn(process.execPath, [`${ROOT}dist/simulator/standalone.js`, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await simulatorAddress(child);
  return {
    ...info,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
  const busy = fields.reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + (v || 0)), 0);
  return busy / 100;
}

/** Peak resident set size of a child, read from /proc while it runs (VmHWM is the high-water mark). */
export function trackPeakRss(pid: number, sampleMs = 20): { stop(): number; cpuSeconds(): number } {
  let peakKb = 0;
  let lastCpu = 0;
  const sample = () => {
    lastCpu = cpuSeconds(pid) ?? lastCpu;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
    } catch {
      // The process is gone; keep the last reading.
    }
  };
  const timer = setInterval(sample, sampleMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peakKb * 1024;
    },
    /** CPU seconds of the process at the last sample before it exited. */
    cpuSeconds: () => lastCpu,
  };
}

export async function fetchJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function printTable(rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
