/**
 * npm run bench:download — one legal-hold zip of 2 GiB from the simulator over loopback.
 *
 * The simulator runs in its own process (so it never shares an event loop with the downloader) and
 * serves a real, streamed zip. The same URL is fetched with `curl -o /dev/null` (the ceiling:
 * network and server only), with `curl -o <file>` (the bytes written), with `curl -o <file>` plus
 * `sync` (the same bytes made durable), and
 * by the archiver's real code path, compiled, into a temporary ARCHIVE_DATA_DIR and a fresh
 * PostgreSQL database — SHA-256 while streaming, Content-Length check, fsync, zip check, move into
 * place, recorded — twice: the legal-hold functions alone (what the scheduler runs) and the CLI's
 * `legal-hold download`. Reports MB/s (10^6 bytes/s), our ratio to curl, and each process's peak
 * RSS (VmHWM). Targets: >= 80% of curl's throughput, peak RSS < 150 MB. Every temporary file,
 * directory and database is removed.
 *
 * Environment: BENCH_ZIP_BYTES (default 2 GiB), BENCH_RUNS (default 2; the best run counts),
 * BENCH_DATABASE_URL (an admin URL; default the local server).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createSilentLogger } from '../../src/logging/logger.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { startZoomSimulator } from '../../src/simulator/server.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { trackPeakRss } from './bench-support.js';

const ROOT = path.resolve(new URL('../../', import.meta.url).pathname);
const ADMIN_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ZIP_BYTES = Number(process.env['BENCH_ZIP_BYTES'] ?? 2 * 1024 ** 3);
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 2));
const RSS_SAMPLE_MS = 50;
const TARGET_RATIO = 0.8;
const TARGET_RSS_BYTES = 150 * 1024 * 1024;

interface Served {
  apiBaseUrl: string;
  tokenUrl: string;
  credentials: { accountId: string; clientId: string; clientSecret: string };
  matterId: string;
  fileKey: string;
  zipBytes: number;
  entries: number;
}

// --- the simulator process --------------------------------------------------------------------

async function serve(contentBytes: number): Promise<void> {
  const dataset = generateDataset({ seed: 3, now: new Date(), sessions: 2, totalMessages: 20 });
  const custodian = dataset.users.find((u) => !u.external);
  if (!custodian) throw new Error('the dataset has no internal user');
  const sim = await startZoomSimulator({
    dataset,
    legalHold: { matters: [{ name: 'Benchmark matter', identifiers: [custodian.email], fileReadyAfterListings: 0, zipBytes: contentBytes, entriesPerZip: 8 }] },
  });
  const matter = sim.legalHold.matters()[0];
  const file = matter?.files[0];
  if (!matter || !file) throw new Error('the benchmark matter has no file');
  const served: Served = { apiBaseUrl: sim.apiBaseUrl, tokenUrl: sim.tokenUrl, credentials: sim.credentials, matterId: matter.matterId, fileKey: file.fileKey, zipBytes: file.zipBytes, entries: file.entryCount };
  process.stdout.write(`${JSON.stringify(served)}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// --- helpers ----------------------------------------------------------------------------------

function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

function rate(bytes: number, ms: number): string {
  return `${mbPerSecond(bytes, ms).toFixed(0)} MB/s`;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** The shipped JavaScript, compiled into a scratch directory so the shared dist/ is left alone. */
async function buildInto(dir: string): Promise<string> {
  const tsc = run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')], { cwd: ROOT });
  const main = path.join(dir, 'dist/cli/main.js');
  await stat(main).catch(() => {
    throw new Error(`compiling src/ failed:\n${tsc.stdout}${tsc.stderr}`);
  });
  if (tsc.status !== 0) console.warn('  (tsc reported type errors elsewhere in src/; the JavaScript was emitted and is used)');
  // dist/db/migrate.js finds migrations at ../../migrations, dist/version.js the package.json beside
  // them (which also makes the .js files ES modules); packages resolve through node_modules.
  await symlink(path.join(ROOT, 'migrations'), path.join(dir, 'migrations'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  await symlink(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  await writeFile(path.join(dir, 'download-driver.js'), DRIVER);
  return main;
}

/**
 * What the scheduler will run: the legal-hold functions in a process that loads nothing else (the
 * CLI also loads every other command's dependencies). Written next to the compiled code.
 */
const DRIVER = `
import { loadConfig, requireZoomCredentials } from './dist/config/config.js';
import { openDatabase } from './dist/db/database.js';
import { createLogger } from './dist/logging/logger.js';
import { systemClock } from './dist/util/clock.js';
import { ZoomClient } from './dist/zoom/client.js';
import { downloadReadyFiles, refreshFiles, syncMatters } from './dist/legal-hold/index.js';
const config = loadConfig(process.env);
const logger = createLogger({ level: 'warn', format: 'json', destination: process.stderr });
const database = await openDatabase({ config, logger, poolSize: config.legalHold.downloadConcurrency + 4 });
const zoom = new ZoomClient({ config: config.zoom, credentials: requireZoomCredentials(config), logger });
const deps = { pool: database.pool, zoom, config, logger, clock: systemClock, actor: 'system:bench' };
await syncMatters(deps);
await refreshFiles(deps);
const downloads = await downloadReadyFiles(deps);
await zoom.close();
await database.close();
process.stdout.write(JSON.stringify({ downloads }));
`;

async function startSimulatorProcess(): Promise<{ served: Served; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/bench/download.bench.ts'), 'serve', String(ZIP_BYTES)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the simulator exited early (${code})`)));
  });
  return {
    served: JSON.parse(ready) as Served,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function accessToken(served: Served): Promise<string> {
  const basic = Buffer.from(`${served.credentials.clientId}:${served.credentials.clientSecret}`).toString('base64');
  const res = await fetch(served.tokenUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=account_credentials&account_id=${served.credentials.accountId}`,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function createScratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `zca_bench_dl_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = createPool({ connectionString: url.toString(), max: 2 });
  await runMigrations(pool, createSilentLogger());
  await pool.end();
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}


// --- the measurements -------------------------------------------------------------------------

interface CurlRun {
  bytes: number;
  ms: number;
}

function curlToDevNull(url: string, token: string): CurlRun {
  const result = run('curl', ['-s', '-f', '-o', '/dev/null', '-H', `Authorization: Bearer ${token}`, '-w', '%{size_download} %{time_total}', url]);
  if (result.status !== 0) throw new Error(`curl failed (${result.status}): ${result.stderr}`);
  const [bytes, seconds] = result.stdout.trim().split(' ').map(Number);
  return { bytes: bytes ?? 0, ms: (seconds ?? 0) * 1000 };
}

/** curl writing the file (page cache, not yet durable): what any downloader that keeps the bytes must at least do. */
async function curlToFile(url: string, token: string, dir: string): Promise<CurlRun> {
  const file = path.join(dir, 'curl.zip');
  const result = run('curl', ['-s', '-f', '-o', file, '-H', `Authorization: Bearer ${token}`, '-w', '%{size_download} %{time_total}', url]);
  if (result.status !== 0) throw new Error(`curl failed (${result.status}): ${result.stderr}`);
  await rm(file);
  const [bytes, seconds] = result.stdout.trim().split(' ').map(Number);
  return { bytes: bytes ?? 0, ms: (seconds ?? 0) * 1000 };
}

async function curlToDurableFile(url: string, token: string, dir: string): Promise<CurlRun> {
  const file = path.join(dir, 'curl.zip');
  const started = performance.now();
  const result = run('curl', ['-s', '-f', '-o', file, '-H', `Authorization: Bearer ${token}`, url]);
  if (result.status !== 0) throw new Error(`curl failed (${result.status}): ${result.stderr}`);
  run('sync', [file]);
  const ms = performance.now() - started;
  const { size } = await stat(file);
  await rm(file);
  return { bytes: size, ms };
}

interface OurRun {
  bytes: number;
  transferMs: number;
  durationMs: number;
  processMs: number;
  peakRssBytes: number;
  storedPath: string;
  dataDir: string;
}

async function ourDownload(entry: string[], served: Served, scratch: string, index: number): Promise<OurRun & { cleanup(): Promise<void> }> {
  const db = await createScratchDatabase();
  const dataDir = path.join(scratch, `data-${index}-${entry.length}`);
  await mkdir(dataDir);
  const env = {
    PATH: process.env['PATH'] ?? '',
    DATABASE_URL: db.url,
    ARCHIVE_DATA_DIR: dataDir,
    ...simulatorEnv(served),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
  const cleanup = async () => {
    await rm(dataDir, { recursive: true, force: true });
    await db.drop();
  };
  try {
    const started = performance.now();
    const child = spawn(process.execPath, entry, { cwd: scratch, env, stdio: ['ignore', 'pipe', 'inherit'] });
    const rss = trackPeakRss(child.pid ?? 0, RSS_SAMPLE_MS);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const processMs = performance.now() - started;
    const peakRssBytes = rss.stop();
    if (code !== 0) throw new Error(`${entry.join(' ')} exited ${code}: ${out}`);
    const summary = JSON.parse(out) as { downloads: { stored: Array<{ bytes: number; transferMs: number; durationMs: number; storedPath: string }> } };
    const stored = summary.downloads.stored[0];
    if (!stored || stored.bytes !== served.zipBytes) throw new Error(`expected one stored file of ${served.zipBytes} bytes, got ${JSON.stringify(summary.downloads.stored)}`);
    return { bytes: stored.bytes, transferMs: stored.transferMs, durationMs: stored.durationMs, processMs, peakRssBytes, storedPath: path.join(dataDir, stored.storedPath), dataDir, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Lets the disk finish what the previous measurement left (writeback, discards) before the next starts. */
async function settle(): Promise<void> {
  run('sync', []);
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

async function main(): Promise<void> {
  if (run('curl', ['--version']).status !== 0) throw new Error('curl is needed for the comparison');
  const scratch = await mkdtemp(path.join(tmpdir(), 'zca-bench-download-'));
  let stopSimulator: (() => Promise<void>) | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  try {
    console.log(`== legal-hold download benchmark: a ${(ZIP_BYTES / 1024 ** 3).toFixed(2)} GiB zip over loopback, best of ${RUNS} run(s)`);
    console.log('  compiling src/ …');
    const mainJs = await buildInto(path.join(scratch, 'build'));
    const sim = await startSimulatorProcess();
    stopSimulator = sim.stop;
    const { served } = sim;
    const url = `${served.apiBaseUrl}/chat/legalhold/matters/${encodeURIComponent(served.matterId)}/files/download?file_key=${encodeURIComponent(served.fileKey)}`;

    const driver = [path.join(scratch, 'build', 'download-driver.js')];
    const cli = [mainJs, 'legal-hold', 'download', '--json'];
    const curlRuns: CurlRun[] = [];
    const fileRuns: CurlRun[] = [];
    const durableRuns: CurlRun[] = [];
    const ours: OurRun[] = [];
    const oursCli: OurRun[] = [];
    let lastStored = '';
    for (let i = 0; i < RUNS; i++) {
      // Each of our runs takes a token of its own, which (as at Zoom) invalidates the previous one.
      const token = await accessToken(served);
      await settle();
      const c = curlToDevNull(url, token);
      if (c.bytes !== served.zipBytes) throw new Error(`curl got ${c.bytes} bytes, expected ${served.zipBytes}`);
      curlRuns.push(c);
      await settle();
      fileRuns.push(await curlToFile(url, token, scratch));
      await settle();
      durableRuns.push(await curlToDurableFile(url, token, scratch));
      await settle();
      const o = await ourDownload(driver, served, scratch, i);
      ours.push(o);
      await settle();
      const viaCli = await ourDownload(cli, served, scratch, i);
      oursCli.push(viaCli);
      await o.cleanup();
      if (i < RUNS - 1) await viaCli.cleanup();
      else {
        cleanups.push(viaCli.cleanup);
        lastStored = viaCli.storedPath;
      }
      const d = durableRuns[i]!;
      const f = fileRuns[i]!;
      console.log(
        `  run ${i + 1}: curl ${rate(c.bytes, c.ms)} · curl→file ${rate(f.bytes, f.ms)} · curl+sync ${rate(d.bytes, d.ms)} · ours ${rate(o.bytes, o.transferMs)} transfer, ${rate(o.bytes, o.durationMs)} stored, ${mb(o.peakRssBytes)} · CLI ${rate(viaCli.bytes, viaCli.durationMs)} stored, ${mb(viaCli.peakRssBytes)}`,
      );
    }

    // The stored copy is a valid zip: every entry's CRC checks out.
    const unzip = run('unzip', ['-tq', lastStored]);
    const integrity = unzip.status === 0 ? unzip.stdout.trim().replace(lastStored, 'it') : `unzip -t FAILED: ${unzip.stdout}${unzip.stderr}`;

    const curlRate = Math.max(...curlRuns.map((r) => mbPerSecond(r.bytes, r.ms)));
    const fileRate = Math.max(...fileRuns.map((r) => mbPerSecond(r.bytes, r.ms)));
    const durableRate = Math.max(...durableRuns.map((r) => mbPerSecond(r.bytes, r.ms)));
    const transferRate = Math.max(...ours.map((r) => mbPerSecond(r.bytes, r.transferMs)));
    const storedRate = Math.max(...ours.map((r) => mbPerSecond(r.bytes, r.durationMs)));
    const cliStoredRate = Math.max(...oursCli.map((r) => mbPerSecond(r.bytes, r.durationMs)));
    const peakRss = Math.max(...ours.map((o) => o.peakRssBytes));
    const cliPeakRss = Math.max(...oursCli.map((o) => o.peakRssBytes));
    const ratio = transferRate / curlRate;

    const rows: Array<[string, string, string]> = [
      ['what', 'result', 'note'],
      ['curl -o /dev/null', `${curlRate.toFixed(0)} MB/s`, 'network + simulator only: the ceiling'],
      ['curl -o file', `${fileRate.toFixed(0)} MB/s`, 'the bytes written to the page cache'],
      ['curl -o file; sync file', `${durableRate.toFixed(0)} MB/s`, 'the same bytes made durable'],
      ['ours: transfer', `${transferRate.toFixed(0)} MB/s`, `receive + SHA-256 + write: ${(ratio * 100).toFixed(0)}% of curl (target >= ${TARGET_RATIO * 100}%), ${((transferRate / fileRate) * 100).toFixed(0)}% of curl -o file`],
      ['ours: stored', `${storedRate.toFixed(0)} MB/s`, `request → fsync, zip check, link, fsync dir, recorded: ${((storedRate / durableRate) * 100).toFixed(0)}% of curl+sync`],
      ['ours: peak RSS', mb(peakRss), `legal-hold functions alone, as the scheduler runs them (target < ${TARGET_RSS_BYTES / 1024 / 1024} MiB)`],
      ['CLI: stored', `${cliStoredRate.toFixed(0)} MB/s`, '`legal-hold download` (compiled CLI)'],
      ['CLI: peak RSS', mb(cliPeakRss), 'the whole CLI process, which also loads every other command'],
    ];
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    console.log('');
    for (const [i, r] of rows.entries()) {
      console.log(`  ${r[0].padEnd(widths[0]!)}  ${r[1].padStart(widths[1]!)}  ${r[2]}`);
      if (i === 0) console.log(`  ${'-'.repeat(widths[0]!)}  ${'-'.repeat(widths[1]!)}  ${'-'.repeat(widths[2]!)}`);
    }
    console.log('');
    console.log(`  file: ${served.zipBytes} bytes, ${served.entries} entries; stored copy: ${integrity}`);
    console.log(`  machine: ${cpus().length} CPU(s), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const throughputOk = ratio >= TARGET_RATIO;
    const rssOk = peakRss < TARGET_RSS_BYTES;
    console.log(`  targets: throughput ${throughputOk ? 'MET' : 'MISSED'} (${(ratio * 100).toFixed(0)}% of curl), peak RSS ${rssOk ? 'MET' : 'MISSED'} (${(peakRss / 1024 / 1024).toFixed(0)} MiB)`);
    // A missed target is a finding to report, not a crash; a stored copy that fails unzip -t is a bug.
    process.exitCode = unzip.status === 0 ? 0 : 1;
  } finally {
    await stopSimulator?.();
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'serve') {
  await serve(Number(process.argv[3]));
} else {
  await main();
}
