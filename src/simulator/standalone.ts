import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ManualClock } from '../util/clock.js';
import { generateDataset, type DatasetQuirks, type DatasetQuirksInput } from './dataset.js';
import type { RateLimits } from './rate-limits.js';
import type { RateLabel } from './route-table.js';
import type { SessionListingMode } from './report-selection.js';
import { startZoomSimulator, type RunningSimulator } from './server.js';

/**
 * The simulator as its own process: generate a dataset, listen, print one JSON line saying where
 * (`{"baseUrl","apiBaseUrl","tokenUrl","credentials"}`) and serve until SIGTERM or SIGINT. Another
 * process drives it through `/__sim/` (faults, stats, reset).
 *
 *   npx tsx src/simulator/standalone.ts --sessions 1000 --messages 200000 --seed 7 --rate-medium 20
 *   … --now 2026-12-06T00:00:00Z --clock 2026-10-28T00:00:00Z   (then move time with POST /__sim/clock)
 *
 * The credentials printed are the simulator's fixed test credentials, not secrets.
 */

export interface StandaloneOptions {
  seed?: number;
  /** The dataset's "now" (default: the current time, so the run is only repeatable with it set). */
  now?: Date;
  /**
   * Pin the simulator's clock here (default: follow the system clock). With a `now` later than
   * this, the dataset's activity arrives as the clock is moved (`POST /__sim/clock`).
   */
  clock?: Date;
  sessions?: number;
  /** Total messages (default 30,000, like the CLI). */
  messages?: number;
  spanDays?: number;
  quirks?: DatasetQuirksInput;
  port?: number;
  rateLimits?: RateLimits | null;
  dailyLimit?: number | null;
  latencyMs?: number;
  sessionListing?: SessionListingMode;
  modificationsPaging?: 'first-page' | 'every-page';
  pageTokenTtlMs?: number;
  accessTokenTtlSeconds?: number;
  recordRequests?: boolean;
  /** Serve the files the messages share ("Get file info", signed download URLs). */
  serveFiles?: boolean;
  /** Largest `file_size` of a shared file. */
  fileMaxBytes?: number;
}

export interface StandaloneIo {
  /** Where the ready line goes (default: stdout). */
  writeLine?: (line: string) => void;
  /** Stops the simulator when aborted (in addition to SIGTERM/SIGINT). */
  signal?: AbortSignal;
  /** Listen for SIGTERM/SIGINT (default true). */
  handleProcessSignals?: boolean;
  /** Called once listening, e.g. by tests that want the handle. */
  onReady?: (simulator: RunningSimulator) => void;
}

const QUIRK_NAMES: ReadonlyArray<keyof DatasetQuirks> = ['numbersAsStrings', 'nulInBody', 'longBodies', 'externalSenders', 'unknownFields', 'duplicateAcrossPages', 'malformedItems'];

function toCamel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** `all`, `none`, `default`, or a comma-separated list of quirks to switch on (all others off). */
export function parseQuirks(value: string): DatasetQuirksInput | undefined {
  if (value === 'all' || value === 'none') return value;
  if (value === 'default') return undefined;
  const enabled: Partial<Record<keyof DatasetQuirks, boolean>> = Object.fromEntries(QUIRK_NAMES.map((q) => [q, false]));
  for (const raw of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const name = toCamel(raw) as keyof DatasetQuirks;
    if (!QUIRK_NAMES.includes(name)) throw new Error(`--quirks: unknown quirk ${raw} (expected all, none, default or a list of ${QUIRK_NAMES.join(', ')})`);
    enabled[name] = true;
  }
  return enabled;
}

function number(flag: string, value: string | undefined, check: (n: number) => boolean, expected: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new Error(`--${flag}: expected ${expected} (got ${JSON.stringify(value)})`);
  return n;
}

/** parseArgs options for flags that each take a value (a string, checked after parsing). */
function takingValues<const F extends string>(flags: readonly F[]): Record<F, { type: 'string' }> {
  return Object.fromEntries(flags.map((flag) => [flag, { type: 'string' }])) as Record<F, { type: 'string' }>;
}

function oneOf<const T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.some((a) => a === value)) throw new Error(`--${flag}: expected ${allowed.join(' or ')}`);
  return value as T;
}

function dateTime(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`--${flag}: expected an ISO date-time such as 2026-03-01T12:00:00Z (got ${JSON.stringify(value)})`);
  return date;
}

/** Zoom's rate-limit labels, each with its `--rate-<label>` flag. */
const RATE_LABELS: readonly RateLabel[] = ['light', 'medium', 'heavy', 'resource-intensive'];

const whole = (n: number) => Number.isInteger(n) && n >= 0;
const positive = (n: number) => n > 0;

/** What `zoom-chat-archiver simulator --help` prints: every flag parseStandaloneArgs takes. */
export const STANDALONE_USAGE = `Usage: zoom-chat-archiver simulator [options]

Runs the built-in Zoom API simulator until Ctrl-C (SIGINT) or SIGTERM and prints one JSON line with
its URLs (apiBaseUrl, tokenUrl) and its fixed test credentials. Point the archiver at it with
ZOOM_API_BASE_URL, ZOOM_OAUTH_TOKEN_URL, ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET.

Dataset
  --seed <n>                        random seed (default 1)
  --now <date-time>                 the dataset's "now", e.g. 2026-03-01T12:00:00Z (default: the current time)
  --sessions <n>                    chat sessions (default 120)
  --messages <n>                    messages in all (default 30000)
  --span-days <n>                   days of history to generate
  --quirks <list>                   all, none, default, or a comma-separated list of:
                                    ${QUIRK_NAMES.map((q) => q.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', ')}

Server
  --port <n>                        TCP port on 127.0.0.1 (default 0: a free one)
  --latency-ms <ms>                 added to every answer (default 0)
  --rate-light, --rate-medium, --rate-heavy, --rate-resource-intensive <requests/s>
                                    enforce Zoom's per-second limits with 429s (default: no limit)
  --daily-limit <n>                 HEAVY and RESOURCE-INTENSIVE calls per day before a daily 429
  --session-listing <mode>          every-active-window (default) or last-activity-window
  --modifications-paging <mode>     first-page (default) or every-page
  --page-token-ttl-ms <ms>          lifetime of next_page_token (default 15 minutes)
  --access-token-ttl-seconds <s>    lifetime of access tokens (default 3600)
  --record-requests                 keep every request for /__sim/requests
  --serve-files                     serve the shared files: "Get file info" and signed, expiring download URLs
  --file-max-bytes <n>              largest shared file (default 25000000)
  -h, --help                        show this help

Faults, statistics and resets are driven over HTTP under /__sim/ (see src/simulator/README.md).
`;

/** True when the command line asks for help rather than a simulator. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function parseStandaloneArgs(argv: readonly string[]): StandaloneOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      ...takingValues([
        'seed', 'now', 'clock', 'sessions', 'messages', 'span-days', 'quirks',
        'port', 'rate-light', 'rate-medium', 'rate-heavy', 'rate-resource-intensive', 'daily-limit', 'latency-ms',
        'session-listing', 'modifications-paging', 'page-token-ttl-ms', 'access-token-ttl-seconds', 'file-max-bytes',
      ]),
      'record-requests': { type: 'boolean' },
      'serve-files': { type: 'boolean' },
    },
  });
  const options: StandaloneOptions = {};
  const set = <K extends keyof StandaloneOptions>(key: K, value: StandaloneOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('seed', number('seed', values.seed, Number.isInteger, 'an integer'));
  set('now', dateTime('now', values.now));
  set('clock', dateTime('clock', values.clock));
  set('sessions', number('sessions', values.sessions, (n) => whole(n) && n >= 1, 'a whole number >= 1'));
  set('messages', number('messages', values.messages, (n) => whole(n) && n >= 1, 'a whole number >= 1'));
  set('spanDays', number('span-days', values['span-days'], (n) => n >= 1, 'a number of days >= 1'));
  if (values.quirks !== undefined) set('quirks', parseQuirks(values.quirks));
  set('port', number('port', values.port, (n) => whole(n) && n <= 65_535, 'a TCP port (0-65535, 0 picks a free one)'));
  const rates: RateLimits = {};
  for (const label of RATE_LABELS) {
    const flag = `rate-${label}` as const;
    const rate = number(flag, values[flag], positive, 'requests per second > 0');
    if (rate !== undefined) rates[label] = rate;
  }
  if (Object.keys(rates).length > 0) options.rateLimits = rates;
  set('dailyLimit', number('daily-limit', values['daily-limit'], whole, 'a whole number of calls'));
  set('latencyMs', number('latency-ms', values['latency-ms'], (n) => n >= 0, 'milliseconds >= 0'));
  set('sessionListing', oneOf('session-listing', values['session-listing'], ['every-active-window', 'last-activity-window']));
  set('modificationsPaging', oneOf('modifications-paging', values['modifications-paging'], ['first-page', 'every-page']));
  set('pageTokenTtlMs', number('page-token-ttl-ms', values['page-token-ttl-ms'], positive, 'milliseconds > 0'));
  set('accessTokenTtlSeconds', number('access-token-ttl-seconds', values['access-token-ttl-seconds'], positive, 'seconds > 0'));
  if (values['record-requests']) options.recordRequests = true;
  if (values['serve-files']) options.serveFiles = true;
  set('fileMaxBytes', number('file-max-bytes', values['file-max-bytes'], (n) => whole(n) && n >= 200, 'a whole number of bytes >= 200'));
  return options;
}

/** Runs until SIGTERM/SIGINT (or `io.signal`), then closes the server and resolves. */
export async function runStandaloneSimulator(input: readonly string[] | StandaloneOptions, io: StandaloneIo = {}): Promise<void> {
  const options = Array.isArray(input) ? parseStandaloneArgs(input as readonly string[]) : (input as StandaloneOptions);
  const dataset = generateDataset({
    seed: options.seed ?? 1,
    now: options.now ?? new Date(),
    sessions: options.sessions ?? 120,
    totalMessages: options.messages ?? 30_000,
    ...(options.spanDays === undefined ? {} : { spanDays: options.spanDays }),
    ...(options.quirks === undefined ? {} : { quirks: options.quirks }),
    ...(options.fileMaxBytes === undefined ? {} : { fileMaxBytes: options.fileMaxBytes }),
  });
  const simulator = await startZoomSimulator({
    dataset,
    ...(options.clock === undefined ? {} : { clock: new ManualClock(options.clock) }),
    port: options.port ?? 0,
    rateLimits: options.rateLimits ?? null,
    dailyLimit: options.dailyLimit ?? null,
    latencyMs: options.latencyMs ?? 0,
    sessionListing: options.sessionListing ?? 'every-active-window',
    modificationsPaging: options.modificationsPaging ?? 'first-page',
    recordRequests: options.recordRequests ?? false,
    serveFiles: options.serveFiles ?? false,
    seed: options.seed ?? 1,
    ...(options.pageTokenTtlMs === undefined ? {} : { pageTokenTtlMs: options.pageTokenTtlMs }),
    ...(options.accessTokenTtlSeconds === undefined ? {} : { accessTokenTtlSeconds: options.accessTokenTtlSeconds }),
  });

  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      cleanup();
      void simulator.close().then(resolve, resolve);
    };
    const handleSignals = io.handleProcessSignals ?? true;
    const cleanup = () => {
      if (handleSignals) {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
      }
      io.signal?.removeEventListener('abort', stop);
    };
    if (handleSignals) {
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    }
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });

  const line = JSON.stringify({ baseUrl: simulator.baseUrl, apiBaseUrl: simulator.apiBaseUrl, tokenUrl: simulator.tokenUrl, credentials: simulator.credentials });
  (io.writeLine ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
  io.onReady?.(simulator);
  await stopped;
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  runStandaloneSimulator(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`zoom simulator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  });
}
