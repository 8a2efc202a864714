// @ts-check
/**
 * The archiver side of `npm run bench:steady`, in its own process so its memory is measured alone:
 * the shipped sync pass (dist/, plain JavaScript, no TypeScript loader) with a clock the benchmark
 * moves. Reads one JSON command per line on stdin — `{"op":"pass","nowMs":…}` runs a pass as of that
 * instant, `{"op":"exit"}` ends — and answers each pass with one JSON line: the pass summary's
 * figures and the process's peak RSS.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../../dist/config/config.js';
import { createPool } from '../../dist/db/pool.js';
import { createSilentLogger } from '../../dist/logging/logger.js';
import { runSyncPass } from '../../dist/sync/sync-pass.js';
import { ManualClock } from '../../dist/util/clock.js';
import { ZoomClient } from '../../dist/zoom/client.js';

const config = loadConfig(process.env);
const clock = new ManualClock(0);
const logger = createSilentLogger();
const pool = createPool({ connectionString: config.databaseUrl ?? '', max: config.sync.concurrency + 4 });
const zoom = new ZoomClient({
  config: config.zoom,
  credentials: { accountId: config.zoom.accountId ?? '', clientId: config.zoom.clientId ?? '', clientSecret: config.zoom.clientSecret ?? '' },
  clock,
  logger,
});

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.op === 'exit') break;
  clock.set(command.nowMs);
  const started = process.hrtime.bigint();
  const s = await runSyncPass({ sync: config.sync, pool, zoom, logger, clock });
  process.stdout.write(
    `${JSON.stringify({
      outcome: s.outcome,
      callsByKind: s.callsByKind,
      readsByKind: s.readsByKind,
      sessionsKnown: s.sessionsKnown,
      sessionsNew: s.sessionsNew,
      listingMisses: s.listingMisses,
      versionsAdded: s.versionsAdded,
      apiCalls: s.apiCalls,
      windowsComplete: s.windowsComplete,
      wallMs: Number(process.hrtime.bigint() - started) / 1e6,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    })}\n`,
  );
}
await zoom.close();
await pool.end();
