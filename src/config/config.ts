/**
 * Environment → one frozen, validated configuration, every problem named with its variable. Over 400
 * lines because every variable's parsing, default and error text is here, so the README's table and
 * this file can be compared side by side.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';

/**
 * Configuration comes from the environment only, is parsed once into a frozen object, and a bad
 * value is reported together with every other bad value, each naming its variable and what a good
 * value looks like. Defaults live here and nowhere else.
 */

import type { RateLabel } from '../domain/zoom-endpoints.js';

export type { RateLabel };
export type ZoomPlan = 'pro' | 'business';
export type LogFormat = 'auto' | 'json' | 'pretty';

/** Requests per second Zoom allows per label (per account, shared by every app on it). */
export const ZOOM_PLAN_RATES: Readonly<Record<ZoomPlan, Readonly<Record<RateLabel, number>>>> = {
  pro: { light: 30, medium: 20, heavy: 10, 'resource-intensive': 10 / 60 },
  business: { light: 80, medium: 60, heavy: 40, 'resource-intensive': 20 / 60 },
};

export interface ZoomConfig {
  accountId: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  apiBaseUrl: string;
  oauthTokenUrl: string;
  plan: ZoomPlan;
  rateShare: number;
  /** Requests per second this process may send, per label, after applying the share. */
  ratePerSecond: Readonly<Record<RateLabel, number>>;
  requestTimeoutMs: number;
  maxRetries: number;
  maxResponseBytes: number;
}

export interface SyncConfig {
  concurrency: number;
  horizonRiskDays: number;
  settleHours: number;
  horizonMarginDays: number;
  /** Days over which the settled-month sweep (every known session, once a month) is spread. */
  settledSweepDays: number;
  /** Also read every known session over the open month every this many days (0: only the settled-month sweep). */
  interimSweepDays: number;
  /** Warn when the projected busiest day of recurring calls exceeds this share of the daily budget. */
  budgetWarnShare: number;
  /** Warn when, at the current growth in sessions, the projection crosses the budget within this many days. */
  budgetWarnDays: number;
}

export interface LegalHoldConfig {
  /** Report a file Zoom has not made ready for longer than this. */
  unreadyWarnHours: number;
  downloadConcurrency: number;
  /** Attempts per file and run before it is marked failed (it is tried again on later runs). */
  downloadAttempts: number;
}

export interface ServiceConfig {
  httpHost: string;
  httpPort: number;
  /** Cron expressions (UTC) of the scheduled jobs; `off` leaves a job to be run on request only. */
  schedules: Readonly<{ sync: string; deepSync: string; legalHold: string; horizonCheck: string; audit: string; alerts: string; retention: string; files: string }>;
  /** How long in-flight work may take to finish after SIGTERM before it is aborted. */
  shutdownTimeoutMs: number;
  maxRequestBodyBytes: number;
  maxPageSize: number;
  /** The review console under /ui/ (src/console). */
  console: Readonly<ConsoleConfig>;
}

/** The review console (src/console): CONSOLE_ENABLED, CONSOLE_SESSION_HOURS, CONSOLE_TRUST_PROXY. */
export interface ConsoleConfig {
  enabled: boolean;
  /** A sign-in lasts this long (then the browser signs in again). */
  sessionHours: number;
  /** Believe X-Forwarded-Proto from a TLS-terminating proxy: cookies get `Secure` when it says https. */
  trustProxy: boolean;
}

/** Disposal of old messages (src/retention/). Off unless RETENTION_DAYS or RETENTION_DAYS_BY_TYPE says otherwise. */
export interface RetentionConfig {
  /** Days a message is kept after its last version (edit, deletion); null: kept forever. */
  days: number | null;
  /** Per session type (`Group`, `1:1`, …), overriding `days`; null for a type: kept forever. */
  daysByType: Readonly<Record<string, number | null>>;
}

/** Publishing the audit chain's head (src/audit/head.ts). */
export interface AuditConfig {
  /** Every published head is appended here as a JSON line (AUDIT_HEAD_FILE); unset: not written. */
  headFile: string | undefined;
}

/** Alerts posted to Zoom Team Chat (src/alerts/); off unless ALERT_ZOOM_USER_ID is set. */
export interface AlertsConfig {
  /** The account user the messages are posted as (`POST /chat/users/{userId}/messages`). */
  zoomUserId: string | undefined;
  /** Exactly one of a channel id or a contact (email, user id or member id). */
  toChannel: string | undefined;
  toContact: string | undefined;
  /** Alert when a job has failed this many runs in a row. */
  jobFailures: number;
  /** At most this many messages in any hour; more wait for the next pass. */
  maxPerHour: number;
  /** Repeat an incident still open after this many hours (0: never). */
  remindHours: number;
}

/** Capture of the files shared in chat (src/files/). */
export interface FilesConfig {
  /** Parallel downloads (FILES_CONCURRENCY). */
  concurrency: number;
  /** A file larger than this is not downloaded: state `too_large` (FILES_MAX_BYTES). */
  maxBytes: number;
  /** Attempts per file within one run before it is left `failed` (FILES_DOWNLOAD_ATTEMPTS). */
  downloadAttempts: number;
  /** Attempts per file over all runs; beyond it a failed file waits for `files sync --retry-failed` (FILES_MAX_ATTEMPTS). */
  maxAttempts: number;
  /**
   * A run starts no new download after this many minutes (0: no limit; FILES_RUN_MINUTES): the
   * stage holds the Zoom turn the sync also needs, so a backlog is worked off over several runs.
   */
  runMinutes: number;
}

export interface Config {
  /** DATABASE_URL, with DATABASE_PASSWORD filled in when that is given separately. */
  databaseUrl: string | undefined;
  embeddedPostgresPort: number;
  /** ALLOW_EMBEDDED_DATABASE: `serve` may run on the embedded PostgreSQL (it refuses otherwise). */
  allowEmbeddedDatabase: boolean;
  /** How often a held advisory lock's connection is probed (DATABASE_LOCK_HEARTBEAT_MS). */
  lockHeartbeatMs: number;
  dataDir: string;
  logLevel: string;
  logFormat: LogFormat;
  zoom: ZoomConfig;
  sync: SyncConfig;
  legalHold: LegalHoldConfig;
  files: FilesConfig;
  service: ServiceConfig;
  retention: RetentionConfig;
  audit: AuditConfig;
  alerts: AlertsConfig;
}

/** A retention shorter than this could dispose of messages Zoom still reports, which the next sweep would archive again. */
export const MIN_RETENTION_DAYS = 190;

type Env = Readonly<Record<string, string | undefined>>;

const positiveNumber = (what: string) =>
  z.coerce.number({ error: `expected ${what}` }).refine((n) => Number.isFinite(n) && n > 0, `expected ${what}`);
const positiveInt = (what: string) =>
  z.coerce.number({ error: `expected ${what}` }).int(`expected ${what}`).positive(`expected ${what}`);
const nonNegativeInt = (what: string) =>
  z.coerce.number({ error: `expected ${what}` }).int(`expected ${what}`).nonnegative(`expected ${what}`);
const httpUrl = z
  .string()
  .url('expected an http(s) URL such as https://api.zoom.us/v2')
  .refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL such as https://api.zoom.us/v2')
  .transform((u) => u.replace(/\/+$/, ''));
const cron = (example: string) =>
  z.string().refine((v) => isValidCron(v), `expected a cron expression (UTC, 5 or 6 fields), e.g. "${example}"`);
/** A schedule that may also be `off` (the job then runs only when asked through the API). */
const cronOrOff = (example: string) =>
  z.string().refine((v) => v === 'off' || isValidCron(v), `expected a cron expression (UTC, 5 or 6 fields) such as "${example}", or off`);
const postgresUrl = z
  .string()
  .refine((u) => /^postgres(ql)?:\/\//.test(u), 'expected a postgres:// or postgresql:// connection URL');

/** Variables whose value may instead be read from the file named by `<NAME>_FILE`. */
const FILE_BACKED = ['DATABASE_URL', 'DATABASE_PASSWORD', 'ZOOM_ACCOUNT_ID', 'ZOOM_CLIENT_ID', 'ZOOM_CLIENT_SECRET'] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const SCHEMA = {
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_PASSWORD: z.string().min(1, 'expected the database password').optional(),
  DATABASE_LOCK_HEARTBEAT_MS: positiveInt('milliseconds between probes of a held lock\'s connection, e.g. 2000 (keep it well below any idle timeout on the way to PostgreSQL)')
    .refine((n) => n >= 100 && n <= 60_000, 'expected milliseconds between 100 and 60000, e.g. 2000')
    .default(2_000),
  ALLOW_EMBEDDED_DATABASE: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(false),
  EMBEDDED_POSTGRES_PORT: z.coerce
    .number({ error: 'expected a TCP port (1-65535), or 0 to pick a free one' })
    .int('expected a TCP port (1-65535), or 0 to pick a free one')
    .min(0, 'expected a TCP port (1-65535), or 0 to pick a free one')
    .max(65535, 'expected a TCP port (1-65535), or 0 to pick a free one')
    .default(0),
  ARCHIVE_DATA_DIR: z.string().min(1, 'expected a directory path').default('./data'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'expected auto, json or pretty' }).default('auto'),
  ZOOM_ACCOUNT_ID: z.string().min(1, 'expected the account ID of the Server-to-Server OAuth app').optional(),
  ZOOM_CLIENT_ID: z.string().min(1, 'expected the client ID of the Server-to-Server OAuth app').optional(),
  ZOOM_CLIENT_SECRET: z.string().min(1, 'expected the client secret of the Server-to-Server OAuth app').optional(),
  ZOOM_API_BASE_URL: httpUrl.default('https://api.zoom.us/v2'),
  ZOOM_OAUTH_TOKEN_URL: httpUrl.default('https://zoom.us/oauth/token'),
  ZOOM_PLAN: z.enum(['pro', 'business'], { error: 'expected pro or business (the account plan whose rate limits apply)' }).default('pro'),
  ZOOM_RATE_SHARE: positiveNumber('a share of the plan rate limits between 0 and 1, e.g. 0.5')
    .refine((n) => n <= 1, 'expected a share of the plan rate limits between 0 and 1, e.g. 0.5')
    .default(0.5),
  ZOOM_RATE_LIGHT: positiveNumber('requests per second for LIGHT endpoints, e.g. 15').optional(),
  ZOOM_RATE_MEDIUM: positiveNumber('requests per second for MEDIUM endpoints, e.g. 10').optional(),
  ZOOM_RATE_HEAVY: positiveNumber('requests per second for HEAVY endpoints, e.g. 5').optional(),
  ZOOM_RATE_RESOURCE_INTENSIVE: positiveNumber('requests per minute for RESOURCE-INTENSIVE endpoints, e.g. 5').optional(),
  ZOOM_REQUEST_TIMEOUT_MS: positiveInt('a timeout in milliseconds, e.g. 60000').default(60_000),
  ZOOM_MAX_RETRIES: nonNegativeInt('a number of retries, e.g. 6').default(6),
  ZOOM_MAX_RESPONSE_BYTES: positiveInt('a size in bytes, e.g. 67108864').default(64 * 1024 * 1024),
  SYNC_CONCURRENCY: positiveInt('a number of concurrent session sweeps, e.g. 8').default(8),
  SYNC_HORIZON_RISK_DAYS: nonNegativeInt('a number of days, e.g. 14').default(14),
  SYNC_SETTLE_HOURS: nonNegativeInt('a number of hours, e.g. 24').default(24),
  SYNC_HORIZON_MARGIN_DAYS: nonNegativeInt('a number of days, e.g. 0').default(0),
  SYNC_SETTLED_SWEEP_DAYS: positiveNumber('a number of days, e.g. 3').refine((n) => n <= 60, 'expected a number of days up to 60, e.g. 3').default(3),
  SYNC_INTERIM_SWEEP_DAYS: nonNegativeInt('a number of days, e.g. 7, or 0 for none').refine((n) => n <= 31, 'expected a number of days up to 31, or 0 for none').default(0),
  SYNC_BUDGET_WARN_SHARE: positiveNumber('a share of the daily call budget between 0 and 1, e.g. 0.8')
    .refine((n) => n <= 1, 'expected a share of the daily call budget between 0 and 1, e.g. 0.8')
    .default(0.8),
  SYNC_BUDGET_WARN_DAYS: nonNegativeInt('a number of days, e.g. 30').default(30),
  LEGAL_HOLD_UNREADY_WARN_HOURS: positiveInt('a number of hours, e.g. 72').default(72),
  LEGAL_HOLD_DOWNLOAD_CONCURRENCY: positiveInt('a number of parallel downloads, e.g. 2').default(2),
  LEGAL_HOLD_DOWNLOAD_ATTEMPTS: positiveInt('a number of attempts, e.g. 5').default(5),
  FILES_CONCURRENCY: positiveInt('a number of parallel downloads, e.g. 4').default(4),
  FILES_MAX_BYTES: positiveInt('a number of bytes, e.g. 2147483648 (2 GiB)').default(2 * 1024 * 1024 * 1024),
  FILES_DOWNLOAD_ATTEMPTS: positiveInt('a number of attempts, e.g. 3').default(3),
  FILES_MAX_ATTEMPTS: positiveInt('a number of attempts, e.g. 10').default(10),
  FILES_RUN_MINUTES: nonNegativeInt('a number of minutes, e.g. 15 (0: no limit)').default(15),
  HTTP_HOST: z.string().min(1, 'expected an interface to listen on, e.g. 0.0.0.0').default('0.0.0.0'),
  HTTP_PORT: z.coerce
    .number({ error: 'expected a TCP port (1-65535), or 0 to pick a free one' })
    .int('expected a TCP port (1-65535), or 0 to pick a free one')
    .min(0, 'expected a TCP port (1-65535), or 0 to pick a free one')
    .max(65535, 'expected a TCP port (1-65535), or 0 to pick a free one')
    .default(8080),
  SCHEDULE_SYNC: cron('0 * * * *').default('0 * * * *'),
  SCHEDULE_DEEP_SYNC: cronOrOff('30 3 1 */3 *').default('off'),
  SCHEDULE_LEGAL_HOLD: cron('*/15 * * * *').default('*/15 * * * *'),
  SCHEDULE_HORIZON_CHECK: cron('10 */6 * * *').default('10 */6 * * *'),
  SCHEDULE_AUDIT: cron('30 0 * * *').default('30 0 * * *'),
  SCHEDULE_ALERTS: cronOrOff('*/5 * * * *').default('*/5 * * * *'),
  SCHEDULE_RETENTION: cronOrOff('0 3 * * 0').default('off'),
  SCHEDULE_FILES: cronOrOff('20 * * * *').default('20 * * * *'),
  RETENTION_DAYS: z
    .string()
    .refine((v) => v === 'off' || (/^\d{1,6}$/.test(v) && Number(v) >= MIN_RETENTION_DAYS), `expected a number of days of at least ${MIN_RETENTION_DAYS} (beyond Zoom's six-month horizon), e.g. 2555, or off`)
    .transform((v) => (v === 'off' ? null : Number(v)))
    .default(null),
  RETENTION_DAYS_BY_TYPE: z
    .string()
    .transform((v, ctx) => {
      const out: Record<string, number | null> = {};
      for (const part of v.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
        const m = /^([^=]+)=(off|\d{1,6})$/.exec(part);
        if (!m || (m[2] !== 'off' && Number(m[2]) < MIN_RETENTION_DAYS)) {
          ctx.addIssue({ code: 'custom', message: `expected session type=days pairs (days at least ${MIN_RETENTION_DAYS}, or off), e.g. "Group=2555,1:1=off"` });
          return z.NEVER;
        }
        out[(m[1] as string).trim()] = m[2] === 'off' ? null : Number(m[2]);
      }
      return out;
    })
    .default({}),
  AUDIT_HEAD_FILE: z.string().min(1, 'expected a file path, e.g. /var/lib/zca-heads/heads.jsonl').optional(),
  ALERT_ZOOM_USER_ID: z.string().min(1, 'expected the Zoom user id (or email) alerts are posted as').optional(),
  ALERT_ZOOM_CHANNEL: z.string().min(1, 'expected the channel id alerts go to').optional(),
  ALERT_ZOOM_CONTACT: z.string().min(1, 'expected the email (or user id) of the contact alerts go to').optional(),
  ALERT_JOB_FAILURES: positiveInt('a number of failed runs in a row, e.g. 3').default(3),
  ALERT_MAX_PER_HOUR: positiveInt('a number of messages, e.g. 10').default(10),
  ALERT_REMIND_HOURS: nonNegativeInt('a number of hours, e.g. 24, or 0 for never').default(24),
  SHUTDOWN_TIMEOUT_MS: positiveInt('milliseconds, e.g. 25000').default(25_000),
  HTTP_MAX_BODY_BYTES: positiveInt('a size in bytes, e.g. 65536').default(64 * 1024),
  API_MAX_PAGE_SIZE: positiveInt('a number of rows, e.g. 500').default(500),
  CONSOLE_ENABLED: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(true),
  CONSOLE_SESSION_HOURS: positiveInt('a number of hours, e.g. 8')
    .refine((n) => n <= 24 * 30, 'expected a number of hours up to 720 (30 days), e.g. 8')
    .default(8),
  CONSOLE_TRUST_PROXY: z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(false),
} as const;

type SchemaShape = typeof SCHEMA;
type Parsed = { [K in keyof SchemaShape]: z.output<SchemaShape[K]> };

/** Reads `NAME` or `NAME_FILE` (trailing newline dropped, as secret files usually end with one). */
function resolveFileBacked(env: Env, issues: ConfigIssue[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of FILE_BACKED) {
    const direct = env[name];
    const file = env[`${name}_FILE`];
    if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
      issues.push({ variable: `${name}_FILE`, message: `set either ${name} or ${name}_FILE, not both` });
      continue;
    }
    if (file !== undefined && file !== '') {
      try {
        out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
        issues.push({ variable: `${name}_FILE`, message: `cannot read secret file ${file} (${reason})` });
      }
    } else if (direct !== undefined && direct !== '') {
      out[name] = direct;
    }
  }
  return out;
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const issues: ConfigIssue[] = [];
  const fromFiles = resolveFileBacked(env, issues);

  const values: Record<string, unknown> = {};
  for (const key of Object.keys(SCHEMA) as (keyof SchemaShape)[]) {
    const rawValue = key in fromFiles ? fromFiles[key] : env[key];
    const input = rawValue === undefined || rawValue === '' ? undefined : rawValue;
    const result = SCHEMA[key].safeParse(input);
    if (result.success) {
      values[key] = result.data;
    } else {
      const message = result.error.issues[0]?.message ?? 'invalid value';
      issues.push({ variable: key, message: `${message}${input === undefined ? '' : `, got ${JSON.stringify(redactIfSecret(key, String(input)))}`}` });
    }
  }
  const v = values as Parsed;
  const databaseUrl = withPassword(v.DATABASE_URL, v.DATABASE_PASSWORD, issues);
  checkAlertTarget(v, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const planRates = ZOOM_PLAN_RATES[v.ZOOM_PLAN];
  const share = v.ZOOM_RATE_SHARE;
  const ratePerSecond: Record<RateLabel, number> = {
    light: v.ZOOM_RATE_LIGHT ?? planRates.light * share,
    medium: v.ZOOM_RATE_MEDIUM ?? planRates.medium * share,
    heavy: v.ZOOM_RATE_HEAVY ?? planRates.heavy * share,
    'resource-intensive':
      v.ZOOM_RATE_RESOURCE_INTENSIVE !== undefined
        ? v.ZOOM_RATE_RESOURCE_INTENSIVE / 60
        : planRates['resource-intensive'] * share,
  };

  const config: Config = {
    databaseUrl,
    embeddedPostgresPort: v.EMBEDDED_POSTGRES_PORT,
    allowEmbeddedDatabase: v.ALLOW_EMBEDDED_DATABASE,
    lockHeartbeatMs: v.DATABASE_LOCK_HEARTBEAT_MS,
    dataDir: path.resolve(v.ARCHIVE_DATA_DIR),
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    zoom: Object.freeze({
      accountId: v.ZOOM_ACCOUNT_ID,
      clientId: v.ZOOM_CLIENT_ID,
      clientSecret: v.ZOOM_CLIENT_SECRET,
      apiBaseUrl: v.ZOOM_API_BASE_URL,
      oauthTokenUrl: v.ZOOM_OAUTH_TOKEN_URL,
      plan: v.ZOOM_PLAN,
      rateShare: share,
      ratePerSecond: Object.freeze(ratePerSecond),
      requestTimeoutMs: v.ZOOM_REQUEST_TIMEOUT_MS,
      maxRetries: v.ZOOM_MAX_RETRIES,
      maxResponseBytes: v.ZOOM_MAX_RESPONSE_BYTES,
    }),
    sync: Object.freeze({
      concurrency: v.SYNC_CONCURRENCY,
      horizonRiskDays: v.SYNC_HORIZON_RISK_DAYS,
      settleHours: v.SYNC_SETTLE_HOURS,
      horizonMarginDays: v.SYNC_HORIZON_MARGIN_DAYS,
      settledSweepDays: v.SYNC_SETTLED_SWEEP_DAYS,
      interimSweepDays: v.SYNC_INTERIM_SWEEP_DAYS,
      budgetWarnShare: v.SYNC_BUDGET_WARN_SHARE,
      budgetWarnDays: v.SYNC_BUDGET_WARN_DAYS,
    }),
    legalHold: Object.freeze({
      unreadyWarnHours: v.LEGAL_HOLD_UNREADY_WARN_HOURS,
      downloadConcurrency: v.LEGAL_HOLD_DOWNLOAD_CONCURRENCY,
      downloadAttempts: v.LEGAL_HOLD_DOWNLOAD_ATTEMPTS,
    }),
    files: Object.freeze({
      concurrency: v.FILES_CONCURRENCY,
      maxBytes: v.FILES_MAX_BYTES,
      downloadAttempts: v.FILES_DOWNLOAD_ATTEMPTS,
      maxAttempts: v.FILES_MAX_ATTEMPTS,
      runMinutes: v.FILES_RUN_MINUTES,
    }),
    service: Object.freeze({
      httpHost: v.HTTP_HOST,
      httpPort: v.HTTP_PORT,
      schedules: Object.freeze({
        sync: v.SCHEDULE_SYNC,
        deepSync: v.SCHEDULE_DEEP_SYNC,
        legalHold: v.SCHEDULE_LEGAL_HOLD,
        horizonCheck: v.SCHEDULE_HORIZON_CHECK,
        audit: v.SCHEDULE_AUDIT,
        alerts: v.ALERT_ZOOM_USER_ID === undefined ? 'off' : v.SCHEDULE_ALERTS,
        retention: v.SCHEDULE_RETENTION,
        files: v.SCHEDULE_FILES,
      }),
      shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
      maxRequestBodyBytes: v.HTTP_MAX_BODY_BYTES,
      maxPageSize: v.API_MAX_PAGE_SIZE,
      console: Object.freeze({ enabled: v.CONSOLE_ENABLED, sessionHours: v.CONSOLE_SESSION_HOURS, trustProxy: v.CONSOLE_TRUST_PROXY }),
    }),
    retention: Object.freeze({ days: v.RETENTION_DAYS, daysByType: Object.freeze({ ...v.RETENTION_DAYS_BY_TYPE }) }),
    audit: Object.freeze({ headFile: v.AUDIT_HEAD_FILE === undefined ? undefined : path.resolve(v.AUDIT_HEAD_FILE) }),
    alerts: Object.freeze({
      zoomUserId: v.ALERT_ZOOM_USER_ID,
      toChannel: v.ALERT_ZOOM_CHANNEL,
      toContact: v.ALERT_ZOOM_CONTACT,
      jobFailures: v.ALERT_JOB_FAILURES,
      maxPerHour: v.ALERT_MAX_PER_HOUR,
      remindHours: v.ALERT_REMIND_HOURS,
    }),
  };
  return Object.freeze(config);
}

/** Alerts go to exactly one place, and only when a user to post as is named. */
function checkAlertTarget(v: { ALERT_ZOOM_USER_ID?: string | undefined; ALERT_ZOOM_CHANNEL?: string | undefined; ALERT_ZOOM_CONTACT?: string | undefined }, issues: ConfigIssue[]): void {
  const targets = [v.ALERT_ZOOM_CHANNEL, v.ALERT_ZOOM_CONTACT].filter((t) => t !== undefined).length;
  if (v.ALERT_ZOOM_USER_ID !== undefined && targets !== 1) {
    issues.push({ variable: 'ALERT_ZOOM_CHANNEL', message: 'alerts need exactly one of ALERT_ZOOM_CHANNEL (a channel id the user belongs to) or ALERT_ZOOM_CONTACT (an email)' });
  }
  if (v.ALERT_ZOOM_USER_ID === undefined && targets > 0) {
    issues.push({ variable: 'ALERT_ZOOM_USER_ID', message: 'is required with ALERT_ZOOM_CHANNEL or ALERT_ZOOM_CONTACT: the Zoom user alerts are posted as' });
  }
}

/** Whether any retention is configured (a default, or a type with a number of days). */
export function retentionEnabled(r: Readonly<RetentionConfig>): boolean {
  return r.days !== null || Object.values(r.daysByType).some((d) => d !== null);
}

export interface ZoomCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
}

/** Commands that call Zoom need credentials; this names every one that is missing. */
export function requireZoomCredentials(config: Readonly<Config>): ZoomCredentials {
  const { accountId, clientId, clientSecret } = config.zoom;
  const issues: ConfigIssue[] = [];
  const hint = '(or set it through the matching *_FILE variable)';
  if (!accountId) issues.push({ variable: 'ZOOM_ACCOUNT_ID', message: `required to call Zoom: the Server-to-Server OAuth app's account ID ${hint}` });
  if (!clientId) issues.push({ variable: 'ZOOM_CLIENT_ID', message: `required to call Zoom: the app's client ID ${hint}` });
  if (!clientSecret) issues.push({ variable: 'ZOOM_CLIENT_SECRET', message: `required to call Zoom: the app's client secret ${hint}` });
  if (issues.length > 0 || !accountId || !clientId || !clientSecret) throw new ConfigError(issues);
  return { accountId, clientId, clientSecret };
}

/**
 * DATABASE_PASSWORD (or DATABASE_PASSWORD_FILE) goes into DATABASE_URL's password, so one secret
 * file can serve both PostgreSQL (POSTGRES_PASSWORD_FILE) and the archiver, and the URL itself holds
 * nothing secret.
 */
function withPassword(url: string | undefined, password: string | undefined, issues: ConfigIssue[]): string | undefined {
  if (password === undefined) return url;
  if (url === undefined) {
    issues.push({ variable: 'DATABASE_PASSWORD', message: 'is set but DATABASE_URL is not: give the URL without a password, e.g. postgres://archiver@db:5432/zoom_archive' });
    return url;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // DATABASE_URL's own check reports it.
  }
  if (parsed.password !== '') {
    issues.push({ variable: 'DATABASE_PASSWORD', message: 'DATABASE_URL already holds a password: give the password in one place only' });
    return url;
  }
  if (parsed.username === '') {
    issues.push({ variable: 'DATABASE_URL', message: 'needs a user name when DATABASE_PASSWORD is set, e.g. postgres://archiver@db:5432/zoom_archive' });
    return url;
  }
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

function redactIfSecret(key: string, value: string): string {
  if (key === 'ZOOM_CLIENT_SECRET' || key === 'DATABASE_PASSWORD') return '***';
  if (key === 'DATABASE_URL') return redactDatabaseUrl(value);
  return value;
}

/**
 * A connection URL with its password masked, for logs and error messages, whatever its scheme; a
 * value that is not a URL at all (a typo, a bare `user:password@host`) is not shown, since it may
 * hold a password in a form no pattern recognises.
 */
export function redactDatabaseUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return '(not shown)';
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}
