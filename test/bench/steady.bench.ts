/**
 * npm run bench:steady — what keeping an account current costs, day by day.
 *
 * For each account size (default 10,000 and 100,000 sessions, ~12 messages each, most sessions quiet
 * on any given day): the simulator (its own process, clock pinned and moved by this script) serves
 * a dataset whose activity runs to the end of the simulated period; the shipped sync pass (its own
 * process, test/bench/steady-archiver.mjs) backfills the horizon, then runs every BENCH_STEADY_PASS_HOURS
 * (default 1) for BENCH_STEADY_DAYS (default 32) simulated days, crossing a month end and its
 * settled-month sweep. Printed per simulated day: report calls by kind, the activity-driven minimum
 * (listing pages for the days since the previous pass + sessions that sent a message since it), and
 * the recurring total against the Pro budget at ZOOM_RATE_SHARE 0.5 (10 req/s = 864,000 calls/day).
 * At the end: peak RSS of the archiver process and whether the archive is exact.
 *
 * Environment: BENCH_STEADY_SESSIONS (comma-separated sizes), BENCH_STEADY_MESSAGES_PER_SESSION,
 * BENCH_STEADY_DAYS, BENCH_STEADY_PASS_HOURS, BENCH_STEADY_START (ISO), BENCH_DATABASE_URL.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { generateDataset, type SimDataset } from '../../src/simulator/dataset.js';
import { iterateAdmissibleVersions, iterateExpectedVersions } from '../../src/simulator/ground-truth.js';
import { listSessionsIn } from '../../src/simulator/report-selection.js';
import { CALL_KINDS, emptyCallsByKind, type CallsByKind } from '../../src/sync/call-accounting.js';
import { computeHorizon } from '../../src/sync/horizon.js';
import { DAY_MS, maxDate, utcToday } from '../../src/util/dates.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { buildDist, createScratchDatabase, fetchJson, mb, printTable, ROOT, startSimulatorProcess } from './bench-support.js';

const HOUR_MS = 3_600_000;
const SESSION_PAGE = 300;
/** Pro MEDIUM 20 req/s at the default ZOOM_RATE_SHARE of 0.5, for a day. */
const PRO_BUDGET_AT_HALF_SHARE = 10 * 86_400;

interface PassFigures {
  outcome: string;
  callsByKind: CallsByKind;
  readsByKind: Record<string, number>;
  sessionsKnown: number;
  sessionsNew: number;
  listingMisses: number;
  versionsAdded: number;
  apiCalls: number;
  windowsComplete: string[];
  wallMs: number;
  maxRssBytes: number;
}

interface DayFigures {
  day: string;
  passes: number;
  calls: CallsByKind;
  minimum: number;
  activeSessions: number;
  listingMisses: number;
  /** Peak RSS of the archiver process by the end of the day. */
  rssBytes: number;
}

/** Sessions with at least one send in (fromMs, toMs], from send times sorted per session. */
function activeSessions(ds: SimDataset, fromMs: number, toMs: number): number {
  let n = 0;
  const sent = ds.messages.sentMs;
  for (const s of ds.sessions) {
    let lo = s.firstMessage;
    let hi = s.firstMessage + s.messageCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sent[mid] ?? 0) <= fromMs) lo = mid + 1;
      else hi = mid;
    }
    if (lo < s.firstMessage + s.messageCount && (sent[lo] ?? 0) <= toMs) n++;
  }
  return n;
}

/** Listing pages an archiver needs to learn what happened since the previous pass: the days since it, per window. */
function minimumListingPages(ds: SimDataset, prevMs: number, nowMs: number): number {
  const horizon = computeHorizon(new Date(nowMs), { settleHours: 24, marginDays: 0 });
  const firstDay = utcToday(new Date(prevMs));
  let pages = 0;
  for (const w of horizon.windows) {
    if (w.to < firstDay) continue;
    const listed = listSessionsIn(ds, maxDate(w.from, firstDay), w.to, 'every-active-window', nowMs).length;
    pages += Math.max(1, Math.ceil(listed / SESSION_PAGE));
  }
  return pages;
}

function startArchiver(env: NodeJS.ProcessEnv): { pass(nowMs: number): Promise<PassFigures>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [`${ROOT}test/bench/steady-archiver.mjs`], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async pass(nowMs) {
      child.stdin!.write(`${JSON.stringify({ op: 'pass', nowMs })}\n`);
      const next = await lines.next();
      if (next.done) throw new Error('the archiver process ended');
      return JSON.parse(next.value) as PassFigures;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end(`${JSON.stringify({ op: 'exit' })}\n`);
      }),
  };
}

/** Exactness of the archive kept current (see test/helpers/sync-harness.ts, diffArchiveOverTime), by key. */
async function checkExact(db: pg.Pool, ds: SimDataset, nowMs: number): Promise<{ unexpected: number; duplicates: number; missing: number; awaitingSweep: number; versions: number }> {
  const key = (s: string, m: string, k: string, a: number) => `${s}|${m}|${k}|${a}`;
  const archived = new Map<string, number>();
  const cursor = await db.query<{ k: string; n: number }>(
    `SELECT session_id || '|' || message_id || '|' || kind || '|' || (extract(epoch FROM action_at) * 1000)::bigint AS k, count(*)::int AS n
     FROM archive.message_versions GROUP BY 1`,
  );
  for (const r of cursor.rows) archived.set(r.k, r.n);
  let versions = 0;
  let duplicates = 0;
  for (const n of archived.values()) {
    versions += n;
    if (n > 1) duplicates += n - 1;
  }
  const admissible = new Set<string>();
  for (const v of iterateAdmissibleVersions(ds, { asOfMs: nowMs, json: false })) admissible.add(key(v.sessionId, v.messageId, v.kind, v.actionMs));
  let unexpected = 0;
  for (const k of archived.keys()) if (!admissible.has(k)) unexpected++;
  admissible.clear();

  const complete = new Set((await db.query<{ m: string }>('SELECT month_start::text AS m FROM archive.sync_windows WHERE completed_at IS NOT NULL')).rows.map((r) => r.m));
  const known = (await db.query<{ session_id: string }>('SELECT session_id FROM archive.sessions')).rows.map((r) => r.session_id);
  const withOriginal = new Set<string>();
  for (const k of archived.keys()) if (k.split('|')[2] === 'original') withOriginal.add(k.split('|').slice(0, 2).join('|'));
  let missing = 0;
  let awaitingSweep = 0;
  for (const w of computeHorizon(new Date(nowMs), { settleHours: 24, marginDays: 0 }).windows) {
    for (const v of iterateExpectedVersions(ds, { today: w.to, horizonStart: w.from, asOfMs: nowMs, knownSessionIds: known })) {
      const present = v.kind === 'original' ? withOriginal.has(`${v.sessionId}|${v.messageId}`) : archived.has(key(v.sessionId, v.messageId, v.kind, v.actionMs));
      if (present) continue;
      if (complete.has(w.monthStart)) missing++;
      else awaitingSweep++;
    }
  }
  return { unexpected, duplicates, missing, awaitingSweep, versions };
}

async function runScenario(sessions: number): Promise<void> {
  const perSession = Number(process.env['BENCH_STEADY_MESSAGES_PER_SESSION'] ?? 12);
  const days = Number(process.env['BENCH_STEADY_DAYS'] ?? 32);
  const passHours = Number(process.env['BENCH_STEADY_PASS_HOURS'] ?? 1);
  const start = new Date(process.env['BENCH_STEADY_START'] ?? '2026-10-27T00:00:00Z');
  const end = new Date(start.getTime() + days * DAY_MS);
  console.log(`\n== ${sessions.toLocaleString('en-US')} sessions, ${(sessions * perSession).toLocaleString('en-US')} messages; backfill at ${start.toISOString()}, then a pass every ${passHours} h for ${days} days`);
  const seed = 7;
  const generatedAt = process.hrtime.bigint();
  const ds = generateDataset({ seed, now: end, sessions, totalMessages: sessions * perSession });
  console.log(`  dataset generated in ${(Number(process.hrtime.bigint() - generatedAt) / 1e9).toFixed(1)} s`);
  const sim = await startSimulatorProcess(['--seed', String(seed), '--now', end.toISOString(), '--clock', start.toISOString(), '--sessions', String(sessions), '--messages', String(sessions * perSession)]);
  const database = await createScratchDatabase('zca_bench_steady');
  const archiver = startArchiver({
    ...process.env,
    DATABASE_URL: database.url,
    ...simulatorEnv(sim),
    ZOOM_RATE_MEDIUM: '100000',
    SYNC_CONCURRENCY: process.env['BENCH_CONCURRENCY'] ?? '8',
    LOG_LEVEL: 'silent',
  });
  const moveClock = async (nowMs: number) => {
    const res = await fetch(`${sim.baseUrl}/__sim/clock`, { method: 'POST', body: JSON.stringify({ now: new Date(nowMs).toISOString() }) });
    if (!res.ok) throw new Error(`could not move the simulator clock: ${res.status} ${await res.text()}`);
  };
  try {
    const backfillStarted = process.hrtime.bigint();
    const backfill = await archiver.pass(start.getTime());
    const backfillSeconds = Number(process.hrtime.bigint() - backfillStarted) / 1e9;
    printTable([
      ['backfill (first pass)', `${backfill.outcome}: ${backfill.apiCalls.toLocaleString('en-US')} calls (${Object.entries(backfill.callsByKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`).join(', ')}), ${backfill.versionsAdded.toLocaleString('en-US')} versions, ${backfillSeconds.toFixed(0)} s, peak RSS ${mb(backfill.maxRssBytes)}`],
    ]);

    const byDay = new Map<string, DayFigures>();
    let prevMs = start.getTime();
    let peakRss = backfill.maxRssBytes;
    let failures = 0;
    let passWallMs = 0;
    let passes = 0;
    for (let t = start.getTime() + passHours * HOUR_MS; t <= end.getTime(); t += passHours * HOUR_MS) {
      await moveClock(t);
      const pass = await archiver.pass(t);
      passes++;
      passWallMs += pass.wallMs;
      if (pass.outcome !== 'complete') failures++;
      peakRss = Math.max(peakRss, pass.maxRssBytes);
      const active = activeSessions(ds, prevMs, t);
      const minimum = minimumListingPages(ds, prevMs, t) + active;
      // A pass belongs to the day of its first hour (a pass at 00:00 covers the previous day's last hour).
      const day = utcToday(new Date(t - 1));
      const d = byDay.get(day) ?? { day, passes: 0, calls: emptyCallsByKind(), minimum: 0, activeSessions: 0, listingMisses: 0, rssBytes: 0 };
      d.rssBytes = pass.maxRssBytes;
      d.passes++;
      for (const k of CALL_KINDS) d.calls[k] += pass.callsByKind[k];
      d.minimum += minimum;
      d.activeSessions += active;
      d.listingMisses += pass.listingMisses;
      byDay.set(day, d);
      prevMs = t;
    }

    console.log('\n  day         passes  listing  activity  backfill  settled  interim   routine   minimum  ratio  recurring  % of Pro budget (share 0.5)  misses  peak RSS');
    let routineTotal = 0;
    let minimumTotal = 0;
    let worstDay = { day: '', recurring: 0 };
    let worstRatio = 0;
    for (const d of byDay.values()) {
      const routine = d.calls.listing + d.calls.activity;
      const recurring = routine + d.calls.backfill + d.calls.settled + d.calls.interim + d.calls.resweep;
      routineTotal += routine;
      minimumTotal += d.minimum;
      worstRatio = Math.max(worstRatio, routine / Math.max(1, d.minimum));
      if (recurring > worstDay.recurring) worstDay = { day: d.day, recurring };
      const cells = [d.day, d.passes, d.calls.listing, d.calls.activity, d.calls.backfill, d.calls.settled, d.calls.interim, routine, d.minimum];
      console.log(
        `  ${String(cells[0]).padEnd(10)} ${cells.slice(1).map((c) => String(c).padStart(9)).join('')}  ${(routine / Math.max(1, d.minimum)).toFixed(2).padStart(5)}  ${String(recurring).padStart(9)}  ${((100 * recurring) / PRO_BUDGET_AT_HALF_SHARE).toFixed(2).padStart(27)}%  ${String(d.listingMisses).padStart(6)}  ${mb(d.rssBytes).padStart(8)}`,
      );
    }
    const sim_stats = await fetchJson<{ byEndpoint: Record<string, { requests: number }> }>(`${sim.baseUrl}/__sim/stats`);
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const exact = await checkExact(pool, ds, end.getTime());
    await pool.end();
    console.log('');
    printTable([
      ['passes (after the backfill)', `${passes}, ${failures} not complete; mean pass wall time ${(passWallMs / Math.max(1, passes) / 1000).toFixed(2)} s`],
      ['routine calls / activity-driven minimum', `${routineTotal.toLocaleString('en-US')} / ${minimumTotal.toLocaleString('en-US')} = ${(routineTotal / Math.max(1, minimumTotal)).toFixed(3)} (worst day ${worstRatio.toFixed(3)}; target <= 1.2)`],
      ['busiest day of recurring calls', `${worstDay.day}: ${worstDay.recurring.toLocaleString('en-US')} = ${((100 * worstDay.recurring) / PRO_BUDGET_AT_HALF_SHARE).toFixed(2)}% of ${PRO_BUDGET_AT_HALF_SHARE.toLocaleString('en-US')} (target <= 25%)`],
      ['report calls the simulator served', `${((sim_stats.byEndpoint['report.chat.sessions']?.requests ?? 0) + (sim_stats.byEndpoint['report.chat.session_messages']?.requests ?? 0)).toLocaleString('en-US')}`],
      ['peak RSS (archiver process)', `${mb(peakRss)} (target < 300 MB)`],
      [
        'archive exact',
        `${exact.unexpected === 0 && exact.duplicates === 0 && exact.missing === 0 ? 'yes' : 'NO'}: ${exact.versions.toLocaleString('en-US')} versions; ${exact.unexpected} not served by Zoom, ${exact.duplicates} duplicated, ${exact.missing} missing from complete windows; ${exact.awaitingSweep} in the open month await its settled sweep (edits in sessions no listing showed)`,
      ],
    ]);
  } finally {
    await archiver.stop();
    await sim.stop();
    await database.drop();
  }
}

async function main(): Promise<void> {
  buildDist();
  for (const size of (process.env['BENCH_STEADY_SESSIONS'] ?? '10000,100000').split(',')) await runScenario(Number(size));
}

await main();
