/**
 * npm run bench:files — the file capture stage over loopback: a few thousand files of mixed sizes
 * (2–64 KiB mostly, every 100th 4 MiB, three of 200 MB and one of BENCH_HUGE_BYTES, 1 GiB by
 * default) served by the simulator in its own process at signed, expiring URLs.
 *
 * 1. `sync --all` archives the account (its versions reference the files).
 * 2. `files sync` with FILES_MAX_BYTES=1 MiB: the small files only (files/s); the others are
 *    listed too_large and then put back to pending (here only: a benchmark's shortcut).
 * 3. `files sync`: the large files (MB/s), the whole path: "Get file info" for expired URLs,
 *    streaming with SHA-256, temp + fsync + link into the content store, recorded.
 * 4. `curl --parallel` fetching the same large files into files, then `sha256sum` over them: the
 *    ceiling of network + disk + hashing, with the same concurrency (4).
 *
 * Both `files sync` runs are the compiled CLI as a child process; peak RSS is its VmHWM. Target:
 * < 200 MB whatever the file sizes. Every temporary file, directory and database is removed.
 *
 * Environment: BENCH_MESSAGES (default 8000), BENCH_HUGE_BYTES (default 1 GiB; 0 for none).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { generateDataset } from '../../src/simulator/dataset.js';
import { signFileToken } from '../../src/simulator/file-tokens.js';
import { startZoomSimulator } from '../../src/simulator/server.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { buildDist, createScratchDatabase, ROOT, simulatorAddress, trackPeakRss, type SimulatorAddress } from './bench-support.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 8000);
const HUGE_BYTES = Number(process.env['BENCH_HUGE_BYTES'] ?? 1024 ** 3);
const LARGE_BYTES = 200_000_000;
const MEDIUM_BYTES = 4 * 1024 * 1024;
const SMALL_LIMIT = 1024 * 1024;
const CONCURRENCY = 4;
const TARGET_RSS_BYTES = 200_000_000;

// --- the simulator process --------------------------------------------------------------------

async function serve(): Promise<void> {
  const now = new Date();
  const dataset = generateDataset({ seed: 13, now, sessions: 30, totalMessages: MESSAGES, fileProbability: 0.3, spanDays: 150, fileMaxBytes: 60_000 });
  const sim = await startZoomSimulator({ dataset, serveFiles: true });
  const files = sim.files.all().filter((f) => f.createdMs <= now.getTime());
  files.forEach((f, i) => {
    if (i === 0 && HUGE_BYTES > 0) sim.files.setSize(f.fileId, HUGE_BYTES);
    else if (i >= 1 && i <= 3) sim.files.setSize(f.fileId, LARGE_BYTES);
    else if (i % 100 === 50) sim.files.setSize(f.fileId, MEDIUM_BYTES);
    else sim.files.setSize(f.fileId, 2048 + ((i * 7919) % (62 * 1024)));
  });
  const served: SimulatorAddress = { baseUrl: sim.baseUrl, apiBaseUrl: sim.apiBaseUrl, tokenUrl: sim.tokenUrl, credentials: sim.credentials };
  process.stdout.write(`${JSON.stringify(served)}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// --- helpers ----------------------------------------------------------------------------------

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; peakRss: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), ...args], { cwd: ROOT, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const rss = trackPeakRss(child.pid as number);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr, ms: performance.now() - started, peakRss: rss.stop() };
}

interface Summary {
  stored: number;
  bytes: number;
  failed: number;
  tooLarge: number;
  infoCalls: number;
  downloads: number;
  durationMs: number;
  stoppedBy: unknown;
}

async function main(): Promise<void> {
  console.log('building dist/ …');
  buildDist();
  const simChild = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/bench/files.bench.ts'), '--serve'], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const served = await simulatorAddress(simChild);
  const db = await createScratchDatabase('zca_bench_files');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zca-bench-files-'));
  const curlDir = await mkdtemp(path.join(tmpdir(), 'zca-bench-curl-'));
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    const env = { DATABASE_URL: db.url, ARCHIVE_DATA_DIR: dataDir, ...simulatorEnv(served), ZOOM_RATE_MEDIUM: '2000', ZOOM_RATE_LIGHT: '2000', SYNC_CONCURRENCY: '4', FILES_CONCURRENCY: String(CONCURRENCY) };
    console.log(`archiving ${MESSAGES} messages …`);
    const sync = await runCli(['sync', '--all', '--json'], env);
    if (sync.code !== 0) throw new Error(`sync failed: ${sync.stderr.slice(-2000)}`);

    console.log('files sync, small files only …');
    const small = await runCli(['files', 'sync', '--json'], { ...env, FILES_MAX_BYTES: String(SMALL_LIMIT) });
    const smallSummary = JSON.parse(small.stdout) as Summary;
    await pool.query(`UPDATE archive.files SET state = 'pending', attempts = 0, last_error = NULL WHERE state = 'too_large'`);

    console.log('files sync, the large files …');
    const large = await runCli(['files', 'sync', '--json'], env);
    const largeSummary = JSON.parse(large.stdout) as Summary;
    if (largeSummary.failed > 0 || largeSummary.stoppedBy) throw new Error(`the large run failed: ${large.stdout}`);

    // curl: the same large files, fresh signed URLs, the same concurrency, then sha256sum.
    const bigFiles = (await pool.query<{ file_id: string; bytes: string }>(
      `SELECT f.file_id, c.bytes::text AS bytes FROM archive.files f JOIN archive.file_contents c ON c.sha256 = f.sha256 WHERE c.bytes > $1 ORDER BY f.file_id`,
      [SMALL_LIMIT],
    )).rows;
    const expiresMs = Date.now() + 3600_000;
    const config = bigFiles.map((f, i) => `url = "${served.baseUrl}/file/download/${encodeURIComponent(f.file_id)}?jwt=${signFileToken(f.file_id, expiresMs)}"\noutput = "${path.join(curlDir, String(i))}"\n`).join('');
    const configPath = path.join(curlDir, 'curl.cfg');
    await writeFile(configPath, config);
    const curlStarted = performance.now();
    const curl = spawnSync('curl', ['--parallel', '--parallel-max', String(CONCURRENCY), '-sS', '--fail', '-K', configPath], { stdio: 'inherit' });
    if (curl.status !== 0) throw new Error('curl failed');
    const curlFetchMs = performance.now() - curlStarted;
    const outputs = bigFiles.map((_f, i) => path.join(curlDir, String(i)));
    const sums = spawnSync('sha256sum', outputs, { encoding: 'utf8' });
    if (sums.status !== 0) throw new Error('sha256sum failed');
    spawnSync('sync', [], { stdio: 'ignore' });
    const curlMs = performance.now() - curlStarted;
    const curlBytes = bigFiles.reduce((n, f) => n + Number(f.bytes), 0);

    const smallStored = smallSummary.stored;
    const rows = [
      ['run', 'files', 'bytes', 'time', 'throughput', 'peak RSS', 'API calls (Get file info)', 'downloads'],
      ['files sync (≤ 1 MiB files)', String(smallStored), mb(smallSummary.bytes), `${(small.ms / 1000).toFixed(1)} s`, `${(smallStored / (smallSummary.durationMs / 1000)).toFixed(0)} files/s`, mb(small.peakRss), String(smallSummary.infoCalls), String(smallSummary.downloads)],
      ['files sync (large files)', String(largeSummary.stored), mb(largeSummary.bytes), `${(large.ms / 1000).toFixed(1)} s`, `${mbps(largeSummary.bytes, largeSummary.durationMs).toFixed(0)} MB/s`, mb(large.peakRss), String(largeSummary.infoCalls), String(largeSummary.downloads)],
      ['curl + sha256sum (same large files)', String(bigFiles.length), mb(curlBytes), `${(curlMs / 1000).toFixed(1)} s`, `${mbps(curlBytes, curlMs).toFixed(0)} MB/s (fetch alone ${mbps(curlBytes, curlFetchMs).toFixed(0)} MB/s)`, '', '', String(bigFiles.length)],
    ];
    const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
    const ratio = mbps(largeSummary.bytes, largeSummary.durationMs) / mbps(curlBytes, curlMs);
    const peak = Math.max(small.peakRss, large.peakRss);
    console.log(`\nours / curl+sha256sum: ${(ratio * 100).toFixed(0)}%; peak RSS ${mb(peak)} (target < ${mb(TARGET_RSS_BYTES)}: ${peak < TARGET_RSS_BYTES ? 'met' : 'MISSED'})`);
    console.log(JSON.stringify({ bench: 'files', smallFiles: smallStored, smallFilesPerSecond: smallStored / (smallSummary.durationMs / 1000), largeFiles: largeSummary.stored, largeBytes: largeSummary.bytes, mbPerSecond: mbps(largeSummary.bytes, largeSummary.durationMs), curlMbPerSecond: mbps(curlBytes, curlMs), peakRssBytes: peak, infoCalls: smallSummary.infoCalls + largeSummary.infoCalls, downloads: smallSummary.downloads + largeSummary.downloads }));
  } finally {
    await pool.end();
    simChild.kill('SIGTERM');
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(curlDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) {
  void serve();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
