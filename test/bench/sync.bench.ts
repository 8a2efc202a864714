/**
 * npm run bench:sync — end-to-end archiving throughput and pacing.
 *
 * Scenario 1 (throughput): the simulator with no rate limit and no latency, >= 1,000 sessions and
 * >= 500,000 message versions; the real CLI (`node dist/cli/main.js sync`) archives them into a fresh
 * PostgreSQL database. Reports versions/s, API calls made vs the minimum the data needs, peak RSS.
 * Scenario 2 (pacing): the simulator enforcing MEDIUM = 20 req/s with 50 ms latency and the client
 * configured to 20 req/s: achieved req/s and 429s caused by the client's own pacing.
 *
 * Environment: BENCH_SESSIONS, BENCH_MESSAGES, BENCH_CONCURRENCY, BENCH_SCENARIOS=throughput,paced,
 * BENCH_DATABASE_URL (an admin URL; default the local server).
 */
import { spawn } from 'node:child_process';
import { generateDataset } from '../../src/simulator/dataset.js';
import { expectedVersions } from '../../src/simulator/ground-truth.js';
import { countMessagesIn, listSessionsIn } from '../../src/simulator/report-selection.js';
import type { SimulatorStats } from '../../src/simulator/stats.js';
import { computeHorizon } from '../../src/sync/horizon.js';
import { buildDist, cpuSeconds, createScratchDatabase, fetchJson, mb, machineBusySeconds, printTable, ROOT, startSimulatorProcess, trackPeakRss } from './bench-support.js';
import { simulatorEnv } from '../helpers/simulator-env.js';

const SESSION_PAGE = 300;
const MESSAGE_PAGE = 100;

interface Scenario {
  name: string;
  sessions: number;
  messages: number;
  simulatorArgs: string[];
  clientRateMedium: string;
}

/** The fewest calls any archiver bound by the exactness contract can make (see README, "How a sync works"). */
function minimumCalls(seed: number, now: Date, sessions: number, messages: number): { calls: number; listing: number; units: number; versions: number } {
  const ds = generateDataset({ seed, now, sessions, totalMessages: messages });
  const horizon = computeHorizon(now, { settleHours: 24, marginDays: 0 });
  let listing = 0;
  const known = new Set<string>();
  for (const w of horizon.windows) {
    const listed = listSessionsIn(ds, w.from, w.to, 'every-active-window');
    listing += Math.max(1, Math.ceil(listed.length / SESSION_PAGE));
    for (const s of listed) known.add(s.id);
  }
  let units = 0;
  for (const id of known) {
    for (const w of horizon.windows) units += Math.max(1, Math.ceil(countMessagesIn(ds, id, w.from, w.to) / MESSAGE_PAGE));
  }
  const versions = expectedVersions(ds, { today: horizon.today, horizonStart: horizon.start }).length;
  return { calls: listing + units, listing, units, versions };
}

async function runScenario(scenario: Scenario, concurrency: string): Promise<void> {
  const seed = 7;
  const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  console.log(`\n== ${scenario.name}: ${scenario.sessions} sessions, ${scenario.messages} messages`);
  const minimum = minimumCalls(seed, now, scenario.sessions, scenario.messages);
  const sim = await startSimulatorProcess([
    '--seed', String(seed), '--now', now.toISOString(), '--sessions', String(scenario.sessions), '--messages', String(scenario.messages),
    ...scenario.simulatorArgs,
  ]);
  const db = await createScratchDatabase('zca_bench_sync');
  try {
    const env = {
      ...process.env,
      DATABASE_URL: db.url,
      ...simulatorEnv(sim),
      ZOOM_RATE_MEDIUM: scenario.clientRateMedium,
      SYNC_CONCURRENCY: concurrency,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    };
    const simCpuBefore = cpuSeconds(sim.child.pid!) ?? 0;
    const busyBefore = machineBusySeconds();
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'sync', '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    const rss = trackPeakRss(child.pid!);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const peakRss = rss.stop();
    const archiverCpu = rss.cpuSeconds();
    const simulatorCpu = (cpuSeconds(sim.child.pid!) ?? 0) - simCpuBefore;
    // PostgreSQL's backends end with the archiver's connections, so they are counted as the rest of the machine.
    const cpu = { archiver: archiverCpu, simulator: simulatorCpu, postgres: machineBusySeconds() - busyBefore - archiverCpu - simulatorCpu };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary = JSON.parse(out) as { outcome: string; versionsAdded: number; apiCalls: number; unitsAttempted: number; durationMs: number };
    const stats = await fetchJson<SimulatorStats>(`${sim.baseUrl}/__sim/stats`);
    const reportCalls = (stats.byEndpoint['report.chat.sessions']?.requests ?? 0) + (stats.byEndpoint['report.chat.session_messages']?.requests ?? 0);
    const syncSeconds = summary.durationMs / 1000;
    printTable([
      ['exit code / outcome', `${code} / ${summary.outcome}`],
      ['versions archived', `${summary.versionsAdded.toLocaleString('en-US')} (ground truth ${minimum.versions.toLocaleString('en-US')})`],
      ['wall time (process)', `${seconds.toFixed(1)} s`],
      ['sync pass time', `${syncSeconds.toFixed(1)} s`],
      ['versions/s (sync pass)', `${Math.round(summary.versionsAdded / syncSeconds).toLocaleString('en-US')}`],
      ['versions/s (whole process)', `${Math.round(summary.versionsAdded / seconds).toLocaleString('en-US')}`],
      ['API calls made (simulator count)', `${reportCalls.toLocaleString('en-US')}`],
      ['API calls minimum', `${minimum.calls.toLocaleString('en-US')} (${minimum.listing} listing pages + ${minimum.units.toLocaleString('en-US')} session-window pages)`],
      ['achieved req/s', `${(reportCalls / syncSeconds).toFixed(2)}`],
      ['429s from the client\'s pacing', `${stats.rateLimited.pacedQps}`],
      ['peak RSS (sync process)', mb(peakRss)],
      ['CPU seconds: archiver / simulator / PostgreSQL and the rest', `${cpu.archiver.toFixed(1)} / ${cpu.simulator.toFixed(1)} / ${cpu.postgres.toFixed(1)} (2 cores: ${(2 * seconds).toFixed(1)} available)`],
      ['CPU µs per version: archiver / simulator / rest', [cpu.archiver, cpu.simulator, cpu.postgres].map((c) => ((c * 1e6) / Math.max(1, summary.versionsAdded)).toFixed(0)).join(' / ')],
    ]);
    if (summary.versionsAdded !== minimum.versions) console.log('  !! archived versions differ from the ground truth');
  } finally {
    await sim.stop();
    await db.drop();
  }
}

async function main(): Promise<void> {
  buildDist();
  const wanted = (process.env['BENCH_SCENARIOS'] ?? 'throughput,paced').split(',');
  const concurrency = process.env['BENCH_CONCURRENCY'] ?? '8';
  if (wanted.includes('throughput')) {
    await runScenario(
      {
        name: 'throughput (no rate limit, no latency)',
        sessions: Number(process.env['BENCH_SESSIONS'] ?? 1000),
        messages: Number(process.env['BENCH_MESSAGES'] ?? 480_000),
        simulatorArgs: [],
        clientRateMedium: '100000',
      },
      concurrency,
    );
  }
  if (wanted.includes('paced')) {
    await runScenario(
      {
        name: 'paced (simulator enforces MEDIUM 20 req/s, 50 ms latency; client paced at 20 req/s)',
        sessions: 60,
        messages: 6000,
        simulatorArgs: ['--rate-medium', '20', '--latency-ms', '50'],
        clientRateMedium: '20',
      },
      concurrency,
    );
  }
}

await main();
