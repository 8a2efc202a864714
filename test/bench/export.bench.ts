/**
 * npm run bench:export — export throughput and memory against Info-ZIP.
 *
 * 1. A scratch database gets BENCH_VERSIONS (default 1,000,000) message versions with ~1 KB of raw
 *    JSON each, over BENCH_SESSIONS (default 1,000) sessions, ~10% of them edits and ~2% deletions,
 *    written straight into archive.message_versions with set-based INSERT … SELECT FROM unnest(…).
 * 2. The real CLI, compiled (src/ → a private build directory, so the shipped JavaScript is measured,
 *    not a dev loader), runs `export --session … --formats jsonl,csv,html` over every session; peak RSS
 *    is read from /proc while it runs.
 * 3. The bundle's content (everything but manifest.json) is unpacked to a temp dir and zipped again
 *    with Info-ZIP `zip -6 -r`: the same bytes, the same compression level.
 * Prints MB/s of uncompressed content for both, the ratio, and peak RSS. Cleans up after itself
 * (BENCH_KEEP=1 keeps the database and files).
 *
 * Environment: BENCH_VERSIONS, BENCH_SESSIONS, BENCH_DATABASE_URL (admin URL; default the local server),
 * BENCH_REUSE=<database> to export from a database a BENCH_KEEP=1 run kept instead of filling a new one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runMigrations } from '../../src/db/migrate.js';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { trackPeakRss } from './bench-support.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Beside dist/ (same depth, so package.json and migrations/ resolve the same way), and removed afterwards. */
const BUILD_DIR = path.join(ROOT, '.bench-export-build');
const ADMIN_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VERSIONS = Number(process.env['BENCH_VERSIONS'] ?? 1_000_000);
const SESSIONS = Number(process.env['BENCH_SESSIONS'] ?? 1_000);
const KEEP = process.env['BENCH_KEEP'] === '1';
const REUSE = process.env['BENCH_REUSE'];
const INSERT_BATCH = 20_000;

const WORDS = (
  'the report is ready for review please check numbers before Friday meeting moved to room budget approved contract draft attached ' +
  'can you sign off deploy went fine rollback plan customer asked about pricing renewal ticket escalated thanks agreed let us sync ' +
  'tomorrow morning lunch invoice overdue legal hold notice retention policy archive compliance audit trail quarter goals naïve café 🎉'
).split(' ');

/** Deterministic pseudo-random numbers (mulberry32), so every run exports the same content. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mb = (bytes: number) => bytes / 1024 / 1024;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function fill(pool: Pool): Promise<void> {
  // The full-text index costs most of the fill time and exports with no --query never use it; this
  // database is thrown away afterwards.
  await pool.query('DROP INDEX archive.message_versions_body_fts');
  const random = rng(42);
  const sessionIds = Array.from({ length: SESSIONS }, (_, i) => `bench-session-${String(i).padStart(5, '0')}`);
  await pool.query(
    `INSERT INTO archive.sessions (session_id, type, name, member_emails, raw)
     SELECT s, CASE WHEN i % 3 = 0 THEN '1:1' ELSE 'Group' END, CASE WHEN i % 3 = 0 THEN '' ELSE 'Bench channel ' || i END,
            CASE WHEN i % 3 = 0 THEN ARRAY['user' || (i % 50) || '@example.com', 'user' || ((i + 1) % 50) || '@example.com'] END, '{}'::jsonb
     FROM unnest($1::text[]) WITH ORDINALITY AS t(s, i)`,
    [sessionIds],
  );
  const start = Date.parse('2026-06-01T00:00:00Z');
  let written = 0;
  let message = 0;
  const started = performance.now();
  while (written < VERSIONS) {
    const cols: Record<string, Array<string | null>> = { session: [], message: [], kind: [], action: [], sent: [], sender: [], name: [], body: [], raw: [], sha: [] };
    while (cols['session']!.length < INSERT_BATCH && written + cols['session']!.length < VERSIONS) {
      message++;
      // Messages are spread over sessions in runs, so each session has a real timeline.
      const session = sessionIds[Math.floor((message * SESSIONS) / (VERSIONS * 0.9)) % SESSIONS] as string;
      const sentMs = start + message * 13_000;
      const sender = `user${Math.floor(random() * 50)}@example.com`;
      const words = 20 + Math.floor(random() * 60);
      let body = '';
      for (let w = 0; w < words; w++) body += `${w ? ' ' : ''}${WORDS[Math.floor(random() * WORDS.length)]}`;
      const kinds: Array<['original' | 'edited' | 'deleted', number, string]> = [['original', sentMs, body]];
      if (random() < 0.1) kinds.push(['edited', sentMs + 60_000, `${body} (edited)`]);
      if (random() < 0.02) kinds.push(['deleted', sentMs + 120_000, kinds.at(-1)![2]]);
      for (const [kind, actionMs, text] of kinds) {
        const id = `${message.toString(16).padStart(8, '0')}-bench-4000-8000-${String(message).padStart(12, '0')}`;
        const raw = {
          id,
          message: text,
          sender,
          sender_member_id: `member-${sender.slice(4, 6)}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
          sender_display_name: `Bench User ${sender.slice(4, 6)}`,
          date_time: new Date(sentMs).toISOString().slice(0, 19) + 'Z',
          timestamp: sentMs,
          action_timestamp: actionMs,
          reactions: [{ emoji: 'U+1F44D', total_count: 2, user_ids: ['u1xxxxxxxxxxxxxxxxxxxx', 'u2xxxxxxxxxxxxxxxxxxxx'], member_ids: ['m1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'm2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'] }],
          rich_text: [{ start_position: 0, end_position: 10, format_type: 'Bold' }],
          bot_message: { is_markdown_support: false, content: '{"head":{"text":"Reminder","version":1}}' },
        };
        cols['session']!.push(session);
        cols['message']!.push(id);
        cols['kind']!.push(kind);
        cols['action']!.push(new Date(actionMs).toISOString());
        cols['sent']!.push(new Date(sentMs).toISOString());
        cols['sender']!.push(sender);
        cols['name']!.push(raw.sender_display_name);
        cols['body']!.push(text);
        cols['raw']!.push(JSON.stringify(raw));
        cols['sha']!.push(`${id}:${kind}`);
      }
    }
    // The table has an identity key and triggers on UPDATE/DELETE only: a plain set-based insert.
    await pool.query(
      `INSERT INTO archive.message_versions (session_id, message_id, kind, action_at, sent_at, sender, sender_display_name, body, raw, content_sha256)
       SELECT s, m, k, a::timestamptz, t::timestamptz, snd, n, b, r::jsonb, sha256(convert_to(h, 'UTF8'))
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) AS x(s, m, k, a, t, snd, n, b, r, h)`,
      [cols['session'], cols['message'], cols['kind'], cols['action'], cols['sent'], cols['sender'], cols['name'], cols['body'], cols['raw'], cols['sha']],
    );
    written += cols['session']!.length;
    process.stdout.write(`\r  filling: ${written.toLocaleString('en-US')} / ${VERSIONS.toLocaleString('en-US')} versions (${fmt((performance.now() - started) / 1000, 0)} s)`);
  }
  process.stdout.write('\n');
  await pool.query('ANALYZE archive.message_versions');
  await pool.query('ANALYZE archive.sessions');
}


async function main(): Promise<void> {
  for (const tool of ['zip', 'unzip']) {
    if (spawnSync(tool, ['-v'], { stdio: 'ignore' }).status !== 0) throw new Error(`Info-ZIP ${tool} is not installed (apt-get install -y zip unzip)`);
  }
  const name = REUSE ?? `zca_bench_export_${Date.now().toString(36)}`;
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`BENCH_REUSE must be a plain database name (got ${name})`);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  if (!REUSE) await admin.query(`CREATE DATABASE ${name}`);
  const url = withDatabase(ADMIN_URL, name);
  const work = mkdtempSync(path.join(tmpdir(), 'zca-bench-export-'));
  const pool = createPool({ connectionString: url, max: 2 });
  try {
    console.log(`bench:export — ${REUSE ? 'reusing' : `${VERSIONS.toLocaleString('en-US')} versions over ${SESSIONS.toLocaleString('en-US')} sessions in`} database ${name}`);
    await runMigrations(pool, createSilentLogger());
    if (!REUSE) await fill(pool);
    const sessions = (await pool.query<{ session_id: string }>('SELECT session_id FROM archive.sessions ORDER BY session_id')).rows.map((r) => r.session_id);

    const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('could not compile src/');
    const bundle = path.join(work, 'bundle.zip');
    const args = [path.join(BUILD_DIR, 'cli/main.js'), 'export', '--formats', 'jsonl,csv,html', '--out', bundle, '--requested-by', 'bench', '--json'];
    for (const s of sessions) args.push('--session', s);
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url, ARCHIVE_DATA_DIR: work, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rss = trackPeakRss(child.pid as number);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const exportSeconds = (performance.now() - started) / 1000;
    const peakRss = rss.stop();
    if (code !== 0) throw new Error(`export exited ${code}: ${stderr}`);
    // Phase timings from the export's own structured log.
    const phases = stderr
      .split('\n')
      .filter((l) => l.includes('"export phase"'))
      .map((l) => JSON.parse(l) as { phase: string; elapsedMs: number });
    const phaseTimes = [
      `start-up ${fmt(exportSeconds - (phases.at(-1)?.elapsedMs ?? 0) / 1000)} s`,
      `counting ${fmt((phases[0]?.elapsedMs ?? 0) / 1000)} s`,
      ...phases.slice(0, -1).map((p, i) => `${p.phase} ${fmt(((phases[i + 1]?.elapsedMs ?? p.elapsedMs) - p.elapsedMs) / 1000)} s`),
    ].join(' · ');
    const record = JSON.parse(stdout) as { bytes: number; counts: { versions: number } };

    const manifest = JSON.parse(spawnSync('unzip', ['-p', bundle, 'manifest.json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout) as { entries: Array<{ path: string; bytes: number }> };
    const contentBytes = manifest.entries.reduce((n, e) => n + e.bytes, 0);
    const byKind = (prefix: string) => manifest.entries.filter((e) => e.path.startsWith(prefix)).reduce((n, e) => n + e.bytes, 0);

    // The same files, zipped by Info-ZIP at the same level.
    const unpacked = path.join(work, 'unpacked');
    if (spawnSync('unzip', ['-q', bundle, '-d', unpacked, '-x', 'manifest.json']).status !== 0) throw new Error('unzip failed');
    const testStarted = performance.now();
    const unzipTest = spawnSync('unzip', ['-tq', bundle], { encoding: 'utf8' });
    const unzipTestSeconds = (performance.now() - testStarted) / 1000;
    const infoZip = path.join(work, 'infozip.zip');
    const zipStarted = performance.now();
    const zipped = spawnSync('zip', ['-6', '-r', '-q', infoZip, '.'], { cwd: unpacked });
    const zipSeconds = (performance.now() - zipStarted) / 1000;
    if (zipped.status !== 0) throw new Error('zip failed');
    const infoZipBytes = statSync(infoZip).size;
    unlinkSync(infoZip);

    const rows: Array<[string, string]> = [
      ['versions exported', record.counts.versions.toLocaleString('en-US')],
      ['content (uncompressed)', `${fmt(mb(contentBytes))} MB  (jsonl ${fmt(mb(byKind('messages.jsonl')))} · csv ${fmt(mb(byKind('messages.csv')))} · html ${fmt(mb(byKind('transcripts/') + byKind('index.html')))})`],
      ['entries', manifest.entries.length.toLocaleString('en-US')],
      ['export wall time', `${fmt(exportSeconds)} s  (CLI start-up, migrations check, counting, one pass, packing, fsync)`],
      ['export phases', phaseTimes],
      ['export throughput', `${fmt(mb(contentBytes) / exportSeconds)} MB/s content · ${fmt(mb(record.bytes) / exportSeconds)} MB/s bundle · ${Math.round(record.counts.versions / exportSeconds).toLocaleString('en-US')} versions/s`],
      ['bundle size', `${fmt(mb(record.bytes))} MB (ratio ${fmt(record.bytes / contentBytes, 3)})`],
      ['Info-ZIP zip -6 -r', `${fmt(zipSeconds)} s · ${fmt(mb(contentBytes) / zipSeconds)} MB/s content · ${fmt(mb(infoZipBytes))} MB`],
      ['export time / zip -6 time', `${fmt(exportSeconds / zipSeconds, 2)}x  (target: ≤ 2x)`],
      ['peak RSS of the export', `${fmt(mb(peakRss))} MB  (target: < 200 MB)`],
      ['unzip -t of the bundle', `${unzipTest.status === 0 ? 'OK' : `FAILED: ${unzipTest.stdout}`} (${fmt(unzipTestSeconds)} s)`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  } finally {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    await pool.end();
    if (!KEEP && !REUSE) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(work, { recursive: true, force: true });
    } else if (REUSE && !KEEP) {
      rmSync(work, { recursive: true, force: true });
    } else {
      console.log(`kept database ${name} and ${work}`);
    }
    await admin.end();
  }
}

await main();
