import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/config.js';
import { openDatabase } from '../../db/database.js';
import type { Pool } from '../../db/pool.js';
import { InputError } from '../../errors.js';
import { SIM_CREDENTIALS, generateDataset, startZoomSimulator } from '../../simulator/index.js';
import { systemClock } from '../../util/clock.js';
import { ZoomClient } from '../../zoom/client.js';
import type { CommandContext } from '../context.js';
import type { ExitCode } from '../exit-codes.js';
import { formatTable } from '../format-table.js';
import { exitCodeForSync, formatSyncSummary, runSyncWithProgress } from './sync.js';

/** Marks a folder as a demo archive, so the demo only ever wipes a folder it created itself. */
const DEMO_MARKER = '.zoom-chat-archiver-demo';
/** Fast enough for a short demo, slow enough to watch the progress line move. */
const DEMO_MEDIUM_RATE_PER_SECOND = 150;

const EXAMPLE_QUERIES: ReadonlyArray<{ title: string; sql: string }> = [
  {
    title: 'Windows of the six-month horizon',
    sql: `SELECT month_start, range_from, range_to, status, sessions_listed, units, versions_archived FROM sync_windows ORDER BY month_start`,
  },
  {
    title: 'Busiest senders (original messages)',
    sql: `SELECT coalesce(nullif(sender, ''), '(external) ' || sender_display_name) AS sender, count(*) AS messages
          FROM chat_message_versions WHERE kind = 'original' GROUP BY 1 ORDER BY 2 DESC LIMIT 5`,
  },
  {
    title: 'Messages that were edited or deleted, in their latest state',
    sql: `SELECT session_id, message_id, is_edited, is_deleted, version_count, left(body, 40) AS body
          FROM chat_messages WHERE is_edited OR is_deleted ORDER BY version_count DESC, sent_at LIMIT 5`,
  },
  {
    title: "Full-text search: every version mentioning 'contract' and 'signed' or 'sign'",
    sql: `SELECT session_id, kind, action_at, left(body, 50) AS body FROM chat_message_versions
          WHERE chat_body_tsvector(body) @@ websearch_to_tsquery('simple', 'contract (sign or signed)') ORDER BY action_at LIMIT 5`,
  },
];

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`${flag} must be a whole number >= 1, got ${JSON.stringify(value)}`, flag);
  return n;
}

async function prepareDemoFolder(dir: string): Promise<void> {
  if (existsSync(dir) && !existsSync(path.join(dir, DEMO_MARKER))) {
    const entries = (await import('node:fs')).readdirSync(dir);
    if (entries.length > 0) throw new InputError(`${dir} exists and is not a demo archive; choose another folder with --data-dir`, '--data-dir');
  }
  // A fresh archive each time: the demo's synthetic account is regenerated relative to today.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, DEMO_MARKER), 'This folder holds a zoom-chat-archiver demo archive; `demo` wipes and recreates it.\n');
}

async function printExamples(pool: Pool): Promise<void> {
  for (const q of EXAMPLE_QUERIES) {
    const res = await pool.query(q.sql);
    process.stdout.write(`\n${q.title}:\n${formatTable(res.fields.map((f) => f.name), res.rows, 48)}\n`);
  }
}

/**
 * The README's first command: an embedded PostgreSQL and the built-in Zoom simulator serving six
 * months of synthetic chat, one full sync with the progress display, then what was archived.
 */
export async function demoCommand(ctx: CommandContext, options: { sessions: string; messages: string; dataDir?: string }): Promise<ExitCode> {
  const sessions = positiveInt(options.sessions, '--sessions');
  const messages = positiveInt(options.messages, '--messages');
  const dataDir = path.resolve(options.dataDir ?? path.join(ctx.config.dataDir, 'demo'));
  await prepareDemoFolder(dataDir);

  ctx.logger.info({ sessions, messages }, 'demo: generating six months of synthetic Zoom Team Chat (edits, deletions, threads, files, odd data)');
  const dataset = generateDataset({ seed: 42, now: new Date(), sessions, totalMessages: messages });
  const sim = await startZoomSimulator({ dataset, rateLimits: { medium: DEMO_MEDIUM_RATE_PER_SECOND } });
  try {
    const config: Config = {
      ...ctx.config,
      databaseUrl: undefined,
      dataDir,
      zoom: {
        ...ctx.config.zoom,
        accountId: SIM_CREDENTIALS.accountId,
        clientId: SIM_CREDENTIALS.clientId,
        clientSecret: SIM_CREDENTIALS.clientSecret,
        apiBaseUrl: sim.apiBaseUrl,
        oauthTokenUrl: sim.tokenUrl,
        ratePerSecond: { ...ctx.config.zoom.ratePerSecond, medium: DEMO_MEDIUM_RATE_PER_SECOND },
      },
    };
    const database = await openDatabase({ config, logger: ctx.logger, poolSize: config.sync.concurrency + 4 });
    try {
      ctx.logger.info({ apiBaseUrl: sim.apiBaseUrl }, 'demo: syncing from the Zoom simulator');
      const zoom = new ZoomClient({ config: config.zoom, credentials: SIM_CREDENTIALS, clock: systemClock, logger: ctx.logger });
      const summary = await runSyncWithProgress({ sync: config.sync, pool: database.pool, zoom, logger: ctx.logger, signal: ctx.signal }, false).finally(() => zoom.close());
      process.stdout.write(`\n${formatSyncSummary(summary)}\n`);
      await printExamples(database.pool);
      const relative = path.relative(process.cwd(), dataDir);
      const env = `ARCHIVE_DATA_DIR=${relative && !relative.startsWith('..') ? relative : dataDir}`;
      process.stdout.write(
        `\nThe demo archive is kept in ${dataDir}. Query it yourself (the read model is documented in README.md):\n` +
          `  ${env} npx zoom-chat-archiver sql "select * from chat_messages where is_deleted limit 10"\n` +
          `  ${env} npx zoom-chat-archiver status\n`,
      );
      return exitCodeForSync(summary);
    } finally {
      await database.close();
    }
  } finally {
    await sim.close();
  }
}
