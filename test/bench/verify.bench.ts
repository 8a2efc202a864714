/**
 * npm run bench:verify — what tamper evidence costs and how fast it checks.
 *
 * 1. `archive verify` over 1,000,000 message versions in six sealed windows, as the real CLI
 *    (`node dist/cli/main.js archive verify`): versions/s and peak RSS; and sealing those windows
 *    (what a window's completion costs, once).
 * 2. The hash chain on audit inserts, side by side with today's log (the chain trigger disabled):
 *    single-row inserts one after another, and 8 writers at once; then `audit verify` (rows/s, RSS).
 * 3. What sealing adds to a sync: the hot path (page writes of 100 versions, with the late-version
 *    trigger of message_versions and without it), and a real `sync` (the CLI, against the
 *    simulator in its own process) into a fresh archive with the seal triggers and without them,
 *    plus sealing that second archive afterwards (`archive seal`).
 *
 * Wall times on a shared machine are noisy: inserts and page writes are measured in alternating
 * rounds (minimum and median shown), and PostgreSQL's own function timing (track_functions, when the
 * benchmark's user may set it) gives what the triggers themselves cost.
 *
 * Environment: BENCH_VERSIONS (default 1,000,000), BENCH_AUDIT_ROWS (20,000), BENCH_SYNC_SESSIONS
 * (1,000), BENCH_SYNC_MESSAGES (100,000), BENCH_SYNC_ROUNDS (2), BENCH_PARTS (1,2,3),
 * BENCH_DATABASE_URL (an admin URL; default the local server).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { recordAudit } from '../../src/audit/audit-log.js';
import { writeMessagePage } from '../../src/archive/version-store.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { buildDist, createScratchDatabase, mb, printTable, ROOT, startSimulatorProcess, trackPeakRss } from './bench-support.js';

const VERSIONS = Number(process.env['BENCH_VERSIONS'] ?? 1_000_000);
const AUDIT_ROWS = Number(process.env['BENCH_AUDIT_ROWS'] ?? 20_000);
const SYNC_SESSIONS = Number(process.env['BENCH_SYNC_SESSIONS'] ?? 1_000);
const SYNC_MESSAGES = Number(process.env['BENCH_SYNC_MESSAGES'] ?? 100_000);
const MONTHS = ['2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-09-01', '2026-10-01'];
const SEAL_TRIGGERS = [
  ['archive.sync_windows', 'sync_windows_seal'],
  ['archive.message_versions', 'message_versions_seal_queue'],
  ['archive.sync_runs', 'sync_runs_seal'],
] as const;

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${fmt(ms / 1000, 2)} s`;

/** Six months of versions, written by SQL (no client round trips): consistent raw items, hashes and columns. */
async function fill(pool: Pool): Promise<void> {
  await pool.query('DROP INDEX archive.message_versions_body_fts');
  const batch = 100_000;
  const spacingSeconds = (183 * 86_400) / VERSIONS;
  const started = performance.now();
  for (let from = 1; from <= VERSIONS; from += batch) {
    const to = Math.min(VERSIONS, from + batch - 1);
    await pool.query(
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, body, raw, content_sha256)
       SELECT s, m, 'original', t, t, raw ->> 'sender', raw ->> 'sender_member_id', raw ->> 'sender_display_name', raw ->> 'message', raw, archive.version_identity(raw)
       FROM (
         SELECT 'bench-session-' || lpad((g % 10000)::text, 5, '0') AS s, 'msg-' || lpad(g::text, 9, '0') AS m, t,
                jsonb_build_object('id', 'msg-' || lpad(g::text, 9, '0'), 'message', 'benchmark message number ' || g || ' about the quarterly numbers and the invoice that is overdue',
                  'sender', 'user' || (g % 50) || '@example.com', 'sender_member_id', 'member-' || (g % 50) || '-xxxxxxxxxxxxxxxxxxxxxxxxxxxx',
                  'sender_display_name', 'Bench User ' || (g % 50), 'timestamp', (extract(epoch FROM t) * 1000)::bigint,
                  'reactions', jsonb_build_array(jsonb_build_object('emoji', 'U+1F44D', 'total_count', 2))) AS raw
         FROM generate_series($1::int, $2::int) g, LATERAL (SELECT timestamptz '2026-05-01T00:00:00Z' + (g * $3::float8) * interval '1 second' AS t) x
       ) v`,
      [from, to, spacingSeconds],
    );
    process.stdout.write(`\r  filling: ${int(to)} / ${int(VERSIONS)} versions (${fmt((performance.now() - started) / 1000, 0)} s)`);
  }
  process.stdout.write('\n');
  await pool.query('ANALYZE archive.message_versions');
}

/** The CLI as a process: wall time, peak RSS, parsed JSON output. */
async function runCli(args: string[], env: Record<string, string>): Promise<{ ms: number; rss: number; out: string; code: number | null }> {
  const started = performance.now();
  const child = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rss = trackPeakRss(child.pid!);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { ms: performance.now() - started, rss: rss.stop(), out, code };
}

async function benchArchiveVerify(): Promise<void> {
  console.log(`\n== 1. archive verify over ${int(VERSIONS)} versions`);
  const db = await createScratchDatabase('zca_bench_verify');
  const pool = createPool({ connectionString: db.url, max: 4 });
  try {
    await fill(pool);
    const sealStarted = performance.now();
    await pool.query(`SELECT archive.seal_windows($1::date[], 'bench', 'system:bench')`, [MONTHS]);
    const sealMs = performance.now() - sealStarted;
    await pool.query('ANALYZE archive.sealed_versions');
    const verify = await runCli(['archive', 'verify', '--json'], { DATABASE_URL: db.url });
    const result = JSON.parse(verify.out) as { ok: boolean; versionsChecked: number; durationMs: number };
    const size = (await pool.query<{ versions: string; sealed: string }>(`SELECT pg_size_pretty(pg_total_relation_size('archive.message_versions')) AS versions, pg_size_pretty(pg_total_relation_size('archive.sealed_versions')) AS sealed`)).rows[0]!;
    printTable([
      ['versions checked', `${int(result.versionsChecked)} (ok: ${result.ok}, exit ${verify.code})`],
      ['archive verify (process)', `${seconds(verify.ms)}, ${int(result.versionsChecked / (verify.ms / 1000))} versions/s (${int(result.versionsChecked / (result.durationMs / 1000))}/s inside the verification)`],
      ['peak RSS', mb(verify.rss)],
      ['sealing 6 windows at once', `${seconds(sealMs)} (${int(VERSIONS / (sealMs / 1000))} versions/s): the one-off cost of windows becoming complete`],
      ['storage', `message_versions ${size.versions} (without the full-text index); sealed_versions ${size.sealed}`],
    ]);
  } finally {
    await pool.end();
    await db.drop();
  }
}

/** Per-call time of our PL/pgSQL functions, from PostgreSQL's own accounting (track_functions). */
async function trackFunctions(pool: Pool, url: string): Promise<boolean> {
  try {
    await pool.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET track_functions = 'pl'`);
    return true;
  } catch {
    return false; // not a superuser: the figures below then come from wall time only
  }
}

/**
 * A scratch database whose PL/pgSQL functions PostgreSQL times (when it may: `tracked`), and a pool of
 * `max` connections opened after the setting is made, so every backend has it.
 */
async function scratchDatabaseTimingFunctions(prefix: string, max: number): Promise<{ db: { url: string; drop(): Promise<void> }; pool: Pool; tracked: boolean }> {
  const db = await createScratchDatabase(prefix);
  const admin = createPool({ connectionString: db.url, max: 1 });
  const tracked = await trackFunctions(admin, db.url);
  await admin.end();
  return { db, pool: createPool({ connectionString: db.url, max }), tracked };
}

async function functionTimes(pool: Pool): Promise<Map<string, { calls: number; totalMs: number }>> {
  await new Promise((r) => setTimeout(r, 1500)); // other backends flush their statistics when idle
  const rows = (await pool.query<{ funcname: string; calls: number; total_time: number }>('SELECT funcname, calls::int, total_time FROM pg_stat_user_functions')).rows;
  return new Map(rows.map((r) => [r.funcname, { calls: r.calls, totalMs: r.total_time }]));
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)] as number;
const minimum = (xs: number[]) => sorted(xs)[0] as number;

async function timeInserts(pool: Pool, rows: number, writers: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = w; i < rows; i += writers) {
        await recordAudit(pool, { actor: `api:bench-${w}`, action: 'api.messages.read', subjectType: 'session', subjectId: `bench-session-${i % 1000}`, details: { parameters: { limit: 100, q: 'invoice' }, returned: 100, request_id: `req-${i}` } });
      }
    }),
  );
  return ((performance.now() - started) * 1000) / rows;
}

async function benchAuditChain(): Promise<void> {
  console.log(`\n== 2. the hash chain on audit inserts (${int(AUDIT_ROWS)} rows each way, in alternating rounds)`);
  const { db, pool: writersPool, tracked } = await scratchDatabaseTimingFunctions('zca_bench_chain', 10);
  try {
    const results: Array<[string, string]> = [];
    const rounds = 6;
    for (const writers of [1, 8]) {
      const today: number[] = [];
      const chained: number[] = [];
      await timeInserts(writersPool, 300, writers); // warm-up
      if (tracked) await writersPool.query('SELECT pg_stat_reset()');
      for (let r = 0; r < rounds; r++) {
        await writersPool.query('ALTER TABLE archive.audit_log DISABLE TRIGGER audit_log_chain');
        today.push(await timeInserts(writersPool, AUDIT_ROWS / rounds, writers));
        await writersPool.query('ALTER TABLE archive.audit_log ENABLE TRIGGER audit_log_chain');
        chained.push(await timeInserts(writersPool, AUDIT_ROWS / rounds, writers));
      }
      results.push([
        `${writers} writer(s), µs per insert`,
        `today min ${fmt(minimum(today), 0)} / median ${fmt(median(today), 0)} · chained min ${fmt(minimum(chained), 0)} / median ${fmt(median(chained), 0)} (${int(1e6 / median(chained))} inserts/s)`,
      ]);
      if (tracked) {
        const f = (await functionTimes(writersPool)).get('chain_audit_row');
        if (f) results.push([`  the chain trigger itself`, `${fmt((f.totalMs * 1000) / f.calls, 0)} µs a row over ${int(f.calls)} rows (PostgreSQL's own function timing${writers > 1 ? '; includes waiting for the chain lock' : ''})`]);
      }
    }
    printTable(results);
    // Rows written while the trigger was off would be reported as inserted behind the chain's back.
    await writersPool.query('ALTER TABLE archive.audit_log DISABLE TRIGGER USER');
    await writersPool.query('DELETE FROM archive.audit_log WHERE chain_seq IS NULL');
    await writersPool.query('ALTER TABLE archive.audit_log ENABLE TRIGGER USER');
    const rows = (await writersPool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.audit_log')).rows[0]!.n;
    const verify = await runCli(['audit', 'verify', '--json'], { DATABASE_URL: db.url });
    const result = JSON.parse(verify.out) as { ok: boolean; rowsChecked: number; durationMs: number };
    printTable([['audit verify (process)', `${int(result.rowsChecked)} of ${int(rows)} rows, ok: ${result.ok}; ${seconds(verify.ms)}, ${int(result.rowsChecked / (result.durationMs / 1000))} rows/s inside the verification; peak RSS ${mb(verify.rss)}`]]);
  } finally {
    await writersPool.end();
    await db.drop();
  }
}

async function timePages(pool: Pool, month: string, pages: number, offset: number, run: number): Promise<number> {
  const started = performance.now();
  const base = Date.parse(`${month}T00:00:00Z`);
  for (let p = 0; p < pages; p++) {
    const versions = Array.from({ length: 100 }, (_, i) => {
      const n = offset + p * 100 + i;
      const ms = base + (n % 2_000_000) * 1000;
      return { messageId: `page-msg-${n}`, kind: 'original' as const, actionMs: ms, sentMs: ms, rawJson: JSON.stringify({ id: `page-msg-${n}`, message: `page message ${n} with a sentence or two of text in it`, sender: 'user1@example.com', timestamp: ms }) };
    });
    await writeMessagePage(pool, { sessionId: `page-session-${p % 50}`, monthStart: month, syncRunId: run, versions, malformed: [], nextPageToken: 'next', sweep: { from: month, to: month, startedAt: new Date() } });
  }
  return (performance.now() - started) / pages;
}

async function benchSealingInSync(): Promise<void> {
  console.log('\n== 3. what sealing adds to a sync');
  const { db, pool, tracked } = await scratchDatabaseTimingFunctions('zca_bench_pages', 1);
  try {
    const run = (await pool.query<{ id: number }>(`INSERT INTO archive.sync_runs (mode, horizon_start, horizon_end) VALUES ('incremental', '2026-05-01', '2026-11-30') RETURNING id`)).rows[0]!.id;
    // A sealed window to receive late versions.
    await pool.query(`SELECT archive.seal_windows(ARRAY['2026-06-01']::date[], 'bench', 'system:bench')`);
    await timePages(pool, '2026-09-01', 100, 50_000_000, run); // warm-up: plans, caches
    const today: number[] = [];
    const sealing: number[] = [];
    const late: number[] = [];
    let offset = 0;
    for (let r = 0; r < 10; r++) {
      await pool.query('ALTER TABLE archive.message_versions DISABLE TRIGGER message_versions_seal_queue');
      today.push(await timePages(pool, '2026-07-01', 40, (offset += 10_000), run));
      await pool.query('ALTER TABLE archive.message_versions ENABLE TRIGGER message_versions_seal_queue');
      sealing.push(await timePages(pool, '2026-08-01', 40, (offset += 10_000), run));
      late.push(await timePages(pool, '2026-06-01', 10, (offset += 10_000), run));
    }
    const rows: Array<[string, string]> = [
      ['page of 100 versions, today', `min ${fmt(minimum(today), 2)} ms / median ${fmt(median(today), 2)} ms`],
      ['with the late-version trigger', `min ${fmt(minimum(sealing), 2)} ms / median ${fmt(median(sealing), 2)} ms`],
      ['into a sealed window (queued)', `min ${fmt(minimum(late), 2)} ms / median ${fmt(median(late), 2)} ms: the rare case of a late version`],
    ];
    if (tracked) {
      const f = (await functionTimes(pool)).get('queue_late_versions');
      if (f) rows.push(['the trigger itself', `${fmt((f.totalMs * 1000) / f.calls, 0)} µs a page over ${int(f.calls)} pages (${fmt((100 * f.totalMs) / f.calls / minimum(today), 1)}% of a page's write)`]);
    }
    printTable(rows);
  } finally {
    await pool.end();
    await db.drop();
  }

  const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const sim = await startSimulatorProcess(['--seed', '9', '--now', now.toISOString(), '--sessions', String(SYNC_SESSIONS), '--messages', String(SYNC_MESSAGES)]);
  const rows: Array<[string, string]> = [];
  try {
    const rounds = Number(process.env['BENCH_SYNC_ROUNDS'] ?? 2);
    const variants = Array.from({ length: rounds }, () => ['today (seal triggers disabled)', 'with seals'] as const).flat();
    for (const variant of variants) {
      const archive = await createScratchDatabase('zca_bench_sync_seal');
      const apool = createPool({ connectionString: archive.url, max: 2 });
      try {
        const tracked = await trackFunctions(apool, archive.url);
        if (variant.startsWith('today')) for (const [table, trigger] of SEAL_TRIGGERS) await apool.query(`ALTER TABLE ${table} DISABLE TRIGGER ${trigger}`);
        const env = { DATABASE_URL: archive.url, ...simulatorEnv(sim), ZOOM_RATE_MEDIUM: '100000', SYNC_CONCURRENCY: '8' };
        const sync = await runCli(['sync', '--json'], env);
        const summary = JSON.parse(sync.out) as { versionsAdded: number; windowsComplete: string[] };
        const seals = (await apool.query<{ n: number }>(`SELECT count(*)::int AS n FROM archive.audit_log WHERE action = 'archive.window.seal'`)).rows[0]!.n;
        rows.push([`sync, ${variant}`, `${seconds(sync.ms)}, ${int(summary.versionsAdded)} versions (${int(summary.versionsAdded / (sync.ms / 1000))}/s), ${summary.windowsComplete.length} window(s) complete, ${seals} seal(s), peak RSS ${mb(sync.rss)}`]);
        if (tracked && !variant.startsWith('today')) {
          const f = await functionTimes(apool);
          const sealMs = f.get('seal_windows')?.totalMs ?? 0;
          const queueMs = f.get('queue_late_versions')?.totalMs ?? 0;
          rows.push(['  of which sealing', `${seconds(sealMs)} sealing ${seals} window(s) at completion + ${seconds(queueMs)} in the late-version trigger over ${int(f.get('queue_late_versions')?.calls ?? 0)} pages = ${fmt((100 * (sealMs + queueMs)) / sync.ms, 1)}% of the pass`]);
        }
        if (variant.startsWith('today')) {
          for (const [table, trigger] of SEAL_TRIGGERS) await apool.query(`ALTER TABLE ${table} ENABLE TRIGGER ${trigger}`);
          const seal = await runCli(['archive', 'seal'], { DATABASE_URL: archive.url });
          rows.push(['  then archive seal (those windows)', `${seconds(seal.ms)} as a process (${seal.out.trim()})`]);
        }
      } finally {
        await apool.end();
        await archive.drop();
      }
    }
  } finally {
    await sim.stop();
  }
  printTable(rows);
}

async function main(): Promise<void> {
  buildDist();
  console.log(`bench:verify on ${new Date().toISOString()}`);
  const only = (process.env['BENCH_PARTS'] ?? '1,2,3').split(',');
  if (only.includes('1')) await benchArchiveVerify();
  if (only.includes('2')) await benchAuditChain();
  if (only.includes('3')) await benchSealingInSync();
}

await main();
