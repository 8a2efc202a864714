/**
 * npm run bench:console — the review console in a real browser on a large archive.
 *
 * Loads the same archive as `bench:api` (>= 1,000,000 versions, BENCH_VERSIONS; ~1,000 sessions, 200
 * senders; every word of the word list is in about 5% of bodies), starts the built service
 * (`node dist/cli/main.js serve --no-jobs`), signs in with a reader token in Debian's headless
 * Chromium (playwright-core) and opens BENCH_PAGES pages of each kind one after another, recording
 * from the browser's own timings (Navigation Timing, Paint Timing):
 *   - ttfb: navigation start → first byte of the page (the server's work);
 *   - first result: navigation start → first contentful paint (the pages are server-rendered, so the
 *     first paint already holds the results);
 *   - ready: navigation start → DOMContentLoaded (page parsed, the console's script run).
 * Scenarios: full-text search for a common word (~5% of rows), page 1 and deep pages (10–20, by
 * following "Next page"); a rare term; sender + 30-day range; a transcript's first page; a transcript
 * opened at a search hit; the session list. Then the same common-word search through the API
 * (GET /v1/messages/search, limit 50, sequential) for comparison with bench:api, the JavaScript and
 * CSS the console ships (gzip), and EXPLAIN ANALYZE of the common-word query.
 *
 * Environment: BENCH_VERSIONS, BENCH_PAGES (default 40), BENCH_KEEP_DB=1, BENCH_REUSE_DB=<url>,
 * BENCH_DATABASE_URL, as bench:api.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Page } from 'playwright-core';
import { STATIC_ASSETS } from '../../src/console/static-assets.js';
import { createPool } from '../../src/db/pool.js';
import { createToken } from '../../src/service/token-store.js';
import { day, endRun, FULL_TEXT_QUERY, HORIZON_START, loadArchive, pick, RARE_TERMS, SENDERS, SESSIONS, SPAN_DAYS, startService, VERSIONS, WORDS } from './api.bench.js';
import { benchDatabase, buildDist, printExplain, printTable } from './bench-support.js';

const PAGES = Number(process.env['BENCH_PAGES'] ?? 40);
const CHROMIUM = '/usr/bin/chromium';

interface Timing {
  ttfb: number;
  firstResult: number;
  ready: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function open(page: Page, url: string): Promise<Timing> {
  const res = await page.goto(url, { waitUntil: 'load' });
  if (!res || res.status() !== 200) throw new Error(`${url}: HTTP ${res?.status()}`);
  // A string: the project's TypeScript has no DOM types.
  return (await page.evaluate(`(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { ttfb: n.responseStart - n.startTime, firstResult: fcp ? fcp.startTime : n.domContentLoadedEventEnd - n.startTime, ready: n.domContentLoadedEventEnd - n.startTime };
  })()`)) as Timing;
}

async function main(): Promise<void> {
  buildDist();
  console.log(`\n== Console benchmark: ${VERSIONS.toLocaleString('en-US')} versions, ${SESSIONS} sessions, ${SENDERS} senders; ${PAGES} pages of each kind in headless Chromium`);
  const db = await benchDatabase('zca_bench_console');
  const pool = createPool({ connectionString: db.url, max: 4 });
  let service: { child: ChildProcess; baseUrl: string } | undefined;
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'zca-bench-chromium-'));
  try {
    if (db.reuse) console.log(`  reusing the loaded database ${db.reuse}`);
    else await loadArchive(pool);
    const { token } = await createToken(pool, { name: `bench-console-${Date.now().toString(36)}`, role: 'reader' }, 'bench');
    service = await startService(db.url);
    const base = service.baseUrl;
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/ui/sign-in`);
    await page.getByLabel('API token').fill(token);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui\/search$/);

    const spanMs = SPAN_DAYS * 86_400_000;
    const scenarios: Array<{ name: string; url: () => Promise<string> | string }> = [
      { name: 'search: a common word (~5% of rows), page 1', url: () => `${base}/ui/search?q=${encodeURIComponent(pick(WORDS))}` },
      { name: 'search: a rare term (~200 matches)', url: () => `${base}/ui/search?q=ticket${Math.floor(Math.random() * RARE_TERMS)}` },
      {
        name: 'search: sender + 30-day range',
        url: () => {
          const start = new Date(HORIZON_START.getTime() + Math.random() * (spanMs - 30 * 86_400_000));
          return `${base}/ui/search?sender=user${Math.floor(Math.random() * SENDERS)}%40example.com&from=${day(start)}&to=${day(new Date(start.getTime() + 29 * 86_400_000))}`;
        },
      },
      { name: 'transcript: first page (300 versions)', url: () => `${base}/ui/sessions/bench-session-${String(Math.floor(Math.random() * SESSIONS)).padStart(4, '0')}` },
      {
        name: 'transcript: opened at a search hit',
        url: async () => {
          await page.goto(`${base}/ui/search?q=ticket${Math.floor(Math.random() * RARE_TERMS)}`);
          const hrefs = await page.locator('[data-results] a[href^="/ui/sessions/"]').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
          return `${base}${pick(hrefs)}`;
        },
      },
      { name: 'sessions list', url: () => `${base}/ui/sessions` },
    ];

    const results: Array<{ name: string; timings: Timing[] }> = [];
    for (const s of scenarios) {
      const timings: Timing[] = [];
      for (let i = 0; i < PAGES; i++) timings.push(await open(page, await s.url()));
      results.push({ name: s.name, timings });
    }
    // Deep pages: follow "Next page" of a common-word search 20 times, timing pages 10 to 20.
    const deep: Timing[] = [];
    for (let run = 0; run < Math.max(2, Math.ceil(PAGES / 10)); run++) {
      let url = `${base}/ui/search?q=${encodeURIComponent(pick(WORDS))}`;
      for (let p = 1; p <= 20; p++) {
        const t = await open(page, url);
        if (p >= 10) deep.push(t);
        const next = await page.locator('a[rel="next"]').first().getAttribute('href');
        if (!next) break;
        url = `${base}${next}`;
      }
    }
    results.splice(1, 0, { name: 'search: a common word, pages 10–20 ("Next page")', timings: deep });
    await context.close();

    console.log('');
    for (const r of results) {
      const f = (k: keyof Timing) => `${percentile(r.timings.map((t) => t[k]), 50).toFixed(0)} / ${percentile(r.timings.map((t) => t[k]), 99).toFixed(0)} ms`;
      console.log(`  ${r.name} (${r.timings.length} pages)`);
      printTable([
        ['first result (FCP) p50 / p99', f('firstResult')],
        ['server (TTFB) p50 / p99', f('ttfb')],
        ['DOMContentLoaded p50 / p99', f('ready')],
      ]);
    }

    // The same common-word search through the API, for comparison with bench:api's 3.2 s p99.
    const api: number[] = [];
    for (let i = 0; i < PAGES; i++) {
      const started = performance.now();
      const res = await fetch(`${base}/v1/messages/search?q=${encodeURIComponent(pick(WORDS))}&limit=50`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`API search: HTTP ${res.status}`);
      api.push(performance.now() - started);
    }
    console.log('  API GET /v1/messages/search, a common word (limit 50, sequential)');
    printTable([['latency p50 / p99', `${percentile(api, 50).toFixed(0)} / ${percentile(api, 99).toFixed(0)} ms`]]);

    const js = STATIC_ASSETS['console.js']!.body;
    const css = STATIC_ASSETS['console.css']!.body;
    printTable([
      ['JavaScript shipped (gzip)', `${gzipSync(js).length} B (${Buffer.byteLength(js)} B raw)`],
      ['CSS shipped (gzip)', `${gzipSync(css).length} B (${Buffer.byteLength(css)} B raw)`],
    ]);
    const worst = Math.max(...results.map((r) => percentile(r.timings.map((t) => t.firstResult), 99)));
    console.log(`\n  target: first result < 1 s (p99 of every scenario, worst ${worst.toFixed(0)} ms): ${worst < 1000 ? 'met' : 'MISSED'}; JavaScript < 150 KB gzipped: ${gzipSync(js).length < 150 * 1024 ? 'met' : 'MISSED'}`);

    await printExplain(pool, 'a common word', FULL_TEXT_QUERY, ['contract']);
  } finally {
    rmSync(userDataDir, { recursive: true, force: true });
    await endRun(service, pool, db);
  }
}

await main();
// A kept scratch database leaves its admin connection open (bench-support closes it in drop()).
process.exit(0);
