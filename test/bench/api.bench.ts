/**
 * npm run bench:api — HTTP API latency on a large archive.
 *
 * Builds a scratch database with >= 1,000,000 message versions (BENCH_VERSIONS; ~1,000 sessions,
 * ~200 senders, bodies from a word list, raw JSON of ~0.6 KB each, content_sha256 from
 * archive.version_identity(raw)), loaded with set-based INSERTs on four connections with the
 * secondary indexes dropped and rebuilt afterwards, then VACUUM ANALYZE. Starts the built service
 * (`node dist/cli/main.js serve --no-jobs`) with an API token and drives it over loopback with
 * autocannon for BENCH_SECONDS each:
 *   1. sender + date-range search (random sender, random 30-day range, limit 100);
 *   2. transcript page (random session, first page or a later page through a real cursor, limit 100);
 *   3. full-text search for a rare term (a ticket number: ~200 matches, limit 50);
 *   4. full-text search for a common word (worst case: tens of thousands of matches, all sorted by
 *      send time; the targets do not cover it).
 * Prints p50/p99 latency, requests/s, non-2xx answers, and the service's peak RSS; then EXPLAIN
 * ANALYZE of one query of each kind.
 *
 * Environment: BENCH_VERSIONS (default 1,000,000), BENCH_SECONDS (12), BENCH_CONNECTIONS (10),
 * BENCH_KEEP_DB=1 (keep the loaded database), BENCH_REUSE_DB=<url> (skip the load and
 * measure a database kept earlier), BENCH_DATABASE_URL (an admin URL; default the local server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { createPool, type Pool } from '../../src/db/pool.js';
import { createToken } from '../../src/service/token-store.js';
import { benchDatabase, buildDist, keepOrDrop, mb, printExplain, printTable, ROOT, trackPeakRss, type BenchDatabase } from './bench-support.js';

export const VERSIONS = Number(process.env['BENCH_VERSIONS'] ?? 1_000_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 12);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 10);
export const SESSIONS = 1000;
export const SENDERS = 200;
const LOADERS = 4;
export const SPAN_DAYS = 180;
export const RARE_TERMS = 5000;
export const HORIZON_START = new Date(Date.now() - SPAN_DAYS * 86_400_000);

export const WORDS = (
  'contract budget approved draft review meeting customer invoice quarter release deadline launch risk legal ' +
  'vendor pricing renewal forecast hiring roadmap security audit incident outage deploy rollback migration ' +
  'schema backup compliance retention policy privacy consent export archive matter custodian evidence ' +
  'the a of to and in for on with at by from about as into like through after over between out against during ' +
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec ' +
  'romeo sierra tango uniform victor whiskey xray yankee zulu north south east west red green blue amber ' +
  'monday tuesday wednesday thursday friday morning afternoon evening tomorrow yesterday today urgent later ' +
  'please thanks sorry great fine agree disagree maybe yes no ok sure done pending blocked ready shipped'
).split(' ');

/** Loads the benchmark archive (also used by `bench:console`). */
export async function loadArchive(pool: Pool): Promise<void> {
  const started = Date.now();
  const client = await pool.connect();
  let dropped: Array<{ name: string; def: string }>;
  let statTargets: Array<{ index: string; column: number; target: number }> = [];
  try {
    await client.query(`SET maintenance_work_mem = '512MB'`);
    const idx = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'archive' AND tablename = 'message_versions' AND indexname <> 'message_versions_pkey'`,
    );
    dropped = idx.rows.map((r) => ({ name: r.indexname, def: r.indexdef }));
    // Per-column statistics targets of the indexes (0010 raises the full-text expression's) are not
    // in indexdef: kept here and set again after the rebuild.
    statTargets = (
      await client.query<{ index: string; column: number; target: number }>(
        `SELECT c.relname AS index, a.attnum::int AS column, a.attstattarget::int AS target
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a ON a.attrelid = c.oid
         WHERE i.indrelid = 'archive.message_versions'::regclass AND a.attstattarget > 0`,
      )
    ).rows;
    for (const i of dropped) await client.query(`DROP INDEX archive.${i.name}`);
    // 20,000 sentences of 4-24 common words: bodies repeat the way chat does, and full text has
    // real matches. Every sentence also names one of 5,000 rare terms ("ticket1234"), as chat names
    // projects, tickets and people: a search for one matches ~200 versions.
    await client.query(`CREATE TABLE public.bench_sentences (i int NOT NULL, body text NOT NULL)`);
    await client.query(`SELECT setseed(0.42)`);
    await client.query(
      `INSERT INTO public.bench_sentences
       SELECT s, (SELECT string_agg(($1::text[])[1 + floor(random() * cardinality($1::text[]))::int], ' ') FROM generate_series(1, 4 + (s * 7) % 21 + s * 0) AS k)
                 || ' ticket' || (s % ${RARE_TERMS})
       FROM generate_series(0, 19999) AS s`,
      [WORDS],
    );
    await client.query(`CREATE UNIQUE INDEX ON public.bench_sentences (i)`);
    await client.query(
      `INSERT INTO archive.sessions (session_id, type, name, member_emails, raw)
       SELECT 'bench-session-' || lpad(s::text, 4, '0'),
              CASE WHEN s % 3 = 0 THEN '1:1' ELSE 'Group' END,
              CASE WHEN s % 3 = 0 THEN '' ELSE 'Channel ' || s END,
              CASE WHEN s % 3 = 0 THEN ARRAY['user' || (s % ${SENDERS}) || '@example.com', 'user' || ((s + 1) % ${SENDERS}) || '@example.com'] END,
              jsonb_build_object('session_id', 'bench-session-' || lpad(s::text, 4, '0'), 'type', CASE WHEN s % 3 = 0 THEN '1:1' ELSE 'Group' END)
       FROM generate_series(0, ${SESSIONS - 1}) AS s`,
    );
  } finally {
    client.release();
  }

  // Row g: session g % 1000, sender from a skewed mix of 200, every 10th row an edit of the row
  // before it, every 25th a deletion; send times spread over the last six months.
  const perLoader = Math.ceil(VERSIONS / LOADERS);
  await Promise.all(
    Array.from({ length: LOADERS }, async (_, n) => {
      const from = n * perLoader;
      const to = Math.min(VERSIONS, from + perLoader) - 1;
      const c = await pool.connect();
      try {
        await c.query(
          `INSERT INTO archive.message_versions
             (session_id, message_id, kind, action_at, sent_at, sender, sender_member_id, sender_display_name, receiver, body, raw, content_sha256)
           SELECT x.session_id, x.message_id, x.kind, x.action_at, x.sent_at, x.sender, x.member_id, x.display_name, x.receiver, x.body, x.raw,
                  archive.version_identity(x.raw)
           FROM (
             SELECT r.*, jsonb_build_object(
                      'id', r.message_id, 'message', r.body, 'sender', r.sender, 'sender_member_id', r.member_id,
                      'sender_display_name', r.display_name, 'receiver', r.receiver,
                      'date_time', to_char(r.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                      'timestamp', (extract(epoch FROM r.sent_at) * 1000)::bigint,
                      'action_timestamp', (extract(epoch FROM r.action_at) * 1000)::bigint,
                      'message_type', 'plain', 'client_type', 'desktop',
                      'reactions', jsonb_build_array(jsonb_build_object('emoji', '1F44D', 'total_count', r.g % 4)),
                      'rich_text', jsonb_build_array(jsonb_build_object('start_position', 0, 'end_position', length(r.body), 'format_type', 'Paragraph', 'format_attr', 'normal')),
                      'bot_message', '{}'::jsonb,
                      'files', '[]'::jsonb) AS raw
             FROM (
               SELECT g,
                      'bench-session-' || lpad((base % ${SESSIONS})::text, 4, '0') AS session_id,
                      md5('m' || base) AS message_id,
                      CASE WHEN g % 25 = 24 THEN 'deleted' WHEN g % 10 = 9 THEN 'edited' ELSE 'original' END AS kind,
                      sent + CASE WHEN g = base THEN interval '0' ELSE interval '7 minutes' END AS action_at,
                      sent AS sent_at,
                      'user' || u || '@example.com' AS sender,
                      'member-' || u AS member_id,
                      'User ' || u AS display_name,
                      CASE WHEN base % ${SESSIONS} % 3 = 0 THEN 'user' || ((u + 1) % ${SENDERS}) || '@example.com' END AS receiver,
                      (SELECT body FROM public.bench_sentences WHERE i = (g::bigint * 7919) % 20000) AS body
               FROM generate_series($1::int, $2::int) AS g,
                    LATERAL (SELECT CASE WHEN g % 10 = 9 OR g % 25 = 24 THEN g - 1 ELSE g END AS base) b,
                    LATERAL (SELECT (floor(power(((base * 2654435761::bigint) % 1000003) / 1000003.0, 1.6) * ${SENDERS}))::int AS u) s,
                    LATERAL (SELECT $3::timestamptz + (base::double precision / $4) * interval '${SPAN_DAYS} days' AS sent) t
             ) r
           ) x`,
          [from, to, HORIZON_START.toISOString(), VERSIONS],
        );
      } finally {
        c.release();
      }
    }),
  );
  console.log(`  loaded ${VERSIONS.toLocaleString('en-US')} versions in ${((Date.now() - started) / 1000).toFixed(0)} s; building indexes…`);

  // Rebuild the indexes, in parallel (each on its own connection).
  const defs = dropped.map((i) => i.def);
  const indexStarted = Date.now();
  await Promise.all(
    defs.map(async (def) => {
      const c = await pool.connect();
      try {
        await c.query(`SET maintenance_work_mem = '256MB'`);
        await c.query(def);
      } finally {
        c.release();
      }
    }),
  );
  for (const t of statTargets) await pool.query(`ALTER INDEX archive.${t.index} ALTER COLUMN ${t.column} SET STATISTICS ${t.target}`);
  await pool.query('VACUUM (ANALYZE) archive.message_versions');
  await pool.query('ANALYZE archive.sessions');
  console.log(`  ${defs.length} indexes built in ${((Date.now() - indexStarted) / 1000).toFixed(0)} s`);
}

export async function startService(url: string): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--no-jobs'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], DATABASE_URL: url, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ARCHIVE_DATA_DIR: '/tmp/zca-bench-api' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { msg?: string; port?: number; level?: number };
        if (parsed.msg?.startsWith('listening on ') && parsed.port) resolve(parsed.port);
        else if ((parsed.level ?? 0) >= 50) console.error(line);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`service exited early (${code})`)));
  });
  return { child, baseUrl: `http://127.0.0.1:${port}` };
}

/** The end of a run on the benchmark archive: the service stopped (if started), the pool closed, the database kept or dropped. */
export async function endRun(service: { child: ChildProcess } | undefined, pool: Pool, db: BenchDatabase): Promise<void> {
  if (service) {
    const exited = new Promise((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGTERM');
    await exited;
  }
  await pool.end();
  await keepOrDrop(db);
}

/** A full-text search's query as the API runs it (limit 50): EXPLAINed by bench:api and bench:console. */
export const FULL_TEXT_QUERY = `SELECT v.id FROM archive.message_versions v WHERE public.chat_body_tsvector(v.body) @@ websearch_to_tsquery('simple', $1) AND v.sent_at IS NOT NULL ORDER BY v.sent_at, v.id LIMIT 51`;

interface ScenarioResult {
  name: string;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function drive(name: string, baseUrl: string, token: string, nextPath: () => string): Promise<ScenarioResult> {
  const result = await autocannon({
    url: baseUrl,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: nextPath() }) }],
  });
  return {
    name,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    rps: result.requests.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
export const day = (d: Date) => d.toISOString().slice(0, 10);

async function main(): Promise<void> {
  buildDist();
  console.log(`\n== API benchmark: ${VERSIONS.toLocaleString('en-US')} versions, ${SESSIONS} sessions, ${SENDERS} senders; ${CONNECTIONS} connections, ${SECONDS} s per scenario`);
  const db = await benchDatabase('zca_bench_api');
  const pool = createPool({ connectionString: db.url, max: 12 });
  let service: { child: ChildProcess; baseUrl: string } | undefined;
  try {
    if (db.reuse) console.log(`  reusing the loaded database ${db.reuse}`);
    else await loadArchive(pool);
    const { token } = await createToken(pool, { name: `bench-${Date.now().toString(36)}`, role: 'reader' }, 'bench');
    service = await startService(db.url);
    const rss = trackPeakRss(service.child.pid!);
    const baseUrl = service.baseUrl;

    // Cursors into transcripts: pages 2-4 of 200 random sessions, fetched once through the API.
    const cursors: Array<{ session: string; cursor: string | null }> = [];
    for (let i = 0; i < 200; i++) {
      const session = `bench-session-${String(Math.floor(Math.random() * SESSIONS)).padStart(4, '0')}`;
      cursors.push({ session, cursor: null });
      let cursor: string | null = null;
      for (let p = 0; p < 3; p++) {
        const res: Response = await fetch(`${baseUrl}/v1/sessions/${session}/transcript?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { next_cursor: string | null };
        cursor = body.next_cursor;
        if (!cursor) break;
        cursors.push({ session, cursor });
      }
    }

    const spanMs = SPAN_DAYS * 86_400_000;
    const results: ScenarioResult[] = [];
    results.push(
      await drive('sender + 30-day range search (limit 100)', baseUrl, token, () => {
        const start = new Date(HORIZON_START.getTime() + Math.random() * (spanMs - 30 * 86_400_000));
        const end = new Date(start.getTime() + 29 * 86_400_000);
        return `/v1/messages/search?sender=USER${Math.floor(Math.random() * SENDERS)}@example.com&from=${day(start)}&to=${day(end)}&limit=100`;
      }),
    );
    results.push(
      await drive('transcript page (limit 100)', baseUrl, token, () => {
        const c = pick(cursors);
        return `/v1/sessions/${c.session}/transcript?limit=100${c.cursor ? `&cursor=${c.cursor}` : ''}`;
      }),
    );
    results.push(await drive('full-text search, a rare term (~200 matches, limit 50)', baseUrl, token, () => `/v1/messages/search?q=ticket${Math.floor(Math.random() * RARE_TERMS)}&limit=50`));
    results.push(await drive('full-text search, a common word (worst case: ~5% of rows match, limit 50)', baseUrl, token, () => `/v1/messages/search?q=${encodeURIComponent(pick(WORDS))}&limit=50`));
    const peakRss = rss.stop();

    console.log('');
    for (const r of results) {
      console.log(`  ${r.name}`);
      printTable([
        ['latency p50 / p90 / p99 / max', `${r.p50} / ${r.p90} / ${r.p99} / ${r.max} ms`],
        ['requests/s (mean)', r.rps.toFixed(0)],
        ['requests (non-2xx, errors)', `${r.requests.toLocaleString('en-US')} (${r.non2xx}, ${r.errors})`],
      ]);
    }
    printTable([['peak RSS (service)', mb(peakRss)]]);
    const target = (r: ScenarioResult | undefined) => (r && r.p99 < 100 && r.non2xx === 0 ? 'met' : 'MISSED');
    console.log(`\n  targets: p99 < 100 ms for sender+range search: ${target(results[0])}; for a transcript page: ${target(results[1])}`);

    // What PostgreSQL does for one query of each kind.
    const explain = (title: string, sql: string, values: unknown[]) => printExplain(pool, title, sql, values);
    const mid = new Date(HORIZON_START.getTime() + spanMs / 2);
    await explain(
      'sender + range',
      `SELECT v.id FROM archive.message_versions v WHERE lower(v.sender) = lower($1) AND v.sent_at IS NOT NULL AND v.sent_at >= $2 AND v.sent_at < $3 ORDER BY v.sent_at, v.id LIMIT 101`,
      ['USER7@example.com', mid, new Date(mid.getTime() + 30 * 86_400_000)],
    );
    await explain(
      'transcript page',
      `SELECT v.id FROM archive.message_versions v WHERE v.session_id = $1 AND v.sent_at IS NOT NULL ORDER BY v.sent_at, v.message_id, v.action_at, v.id LIMIT 101`,
      ['bench-session-0042'],
    );
    await explain('full text', FULL_TEXT_QUERY, ['contract']);
  } finally {
    await endRun(service, pool, db);
  }
}

// Run as a script (`npm run bench:api`), not when bench:console imports the loader.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
  // A kept scratch database leaves its admin connection open (bench-support closes it in drop()).
  process.exit(0);
}
