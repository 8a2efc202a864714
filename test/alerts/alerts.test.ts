import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAlertPass, composeMessage, type AlertPassDeps } from '../../src/alerts/alert-pass.js';
import { publishChainHead } from '../../src/audit/head.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { parseExportRequest, runExport } from '../../src/export/index.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { generateDataset, type SimDataset } from '../../src/simulator/dataset.js';
import { SIM_CREDENTIALS, type SentChatMessage } from '../../src/simulator/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { ZoomClient } from '../../src/zoom/client.js';
import { formatBytes } from '../../src/util/bytes.js';
import { simulatorEnv } from '../helpers/simulator-env.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

// Alerts end to end: a real archive synced from the simulator, the real Zoom client posting to the
// simulator's "Send a chat message" over HTTP, and what was posted read back from the simulator.
// Conditions are brought about the way the archive records them (job runs, legal-hold files, an
// export, published heads, windows); the pass is run as the alerts job runs it.

const START = new Date('2026-11-21T15:00:00Z');
const HOUR = 3_600_000;
let h: SyncHarness;
let clock: ManualClock;
let dataset: SimDataset;
let zoom: ZoomClient;
let dataDir: string;
let sender: string;
let channel: string;

beforeAll(async () => {
  clock = new ManualClock(START);
  dataDir = await mkdtemp(path.join(tmpdir(), 'zca-alerts-'));
  dataset = generateDataset({ seed: 61, now: START, sessions: 12, totalMessages: 700 });
  h = await startSyncHarness({ dataset, clock, env: { ARCHIVE_DATA_DIR: dataDir } });
  expect((await h.sync()).outcome).toBe('complete');
  zoom = new ZoomClient({ config: h.config.zoom, credentials: SIM_CREDENTIALS, clock, logger: createSilentLogger(), retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  sender = dataset.users.find((u) => !u.external)!.userId;
  channel = dataset.sessions.find((s) => s.channelId !== null)!.channelId!;
});

afterAll(async () => {
  await zoom?.close();
  await h?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function configWith(env: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({ DATABASE_URL: h.db.url, ARCHIVE_DATA_DIR: dataDir, ...simulatorEnv(h.sim), ZOOM_RATE_MEDIUM: '5000', ALERT_ZOOM_USER_ID: sender, ALERT_ZOOM_CHANNEL: channel, ALERT_REMIND_HOURS: '0', ...env });
}

function pass(config = configWith()) {
  const deps: AlertPassDeps = { pool: h.db.pool, zoom, config, clock, logger: createSilentLogger() };
  return runAlertPass(deps);
}

/** What the simulator recorded since the last call (through its control route, as another process would read it). */
let seen = 0;
async function posted(): Promise<SentChatMessage[]> {
  const all = ((await (await fetch(`${h.sim.baseUrl}/__sim/chat-messages`)).json()) as { messages: SentChatMessage[] }).messages;
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh;
}

async function failRuns(job: string, count: number, outcome = 'failed'): Promise<void> {
  for (let i = 0; i < count; i++) {
    clock.advance(60_000);
    await h.db.pool.query(
      `INSERT INTO archive.job_runs (job, instance, started_at, finished_at, outcome, error) VALUES ($1, 'test:1', $2, $2, $3, $4)`,
      [job, clock.now(), outcome, outcome === 'failed' ? 'ZOOM_SERVER_ERROR: Zoom answered HTTP 503' : null],
    );
  }
}

describe('alerts in Zoom Team Chat', () => {
  beforeEach(async () => {
    await posted();
  });

  it('start quiet on an archive that is fine, and never replay its history', async () => {
    await publishChainHead({ db: h.db.pool, clock, headFile: undefined, actor: 'system:audit' });
    const first = await pass();
    expect(first).toMatchObject({ messagesSent: 0, incidentsOpen: 0, failure: null });
    expect(await posted()).toEqual([]);
  });

  it('a job failing again and again is announced once, then resolved once', async () => {
    await failRuns('sync', 2);
    await pass();
    expect(await posted()).toEqual([]);
    await failRuns('sync', 1);
    const opened = await pass();
    expect(opened.opened).toEqual(['job-failing:sync']);
    const [message, ...more] = await posted();
    expect(more).toEqual([]);
    expect(message).toMatchObject({ userId: sender, toChannel: channel, toContact: null, contentType: 'application/json' });
    expect(message!.message).toMatch(/^ALERT zoom-chat-archiver: Job failing\n- job sync has failed 3 run\(s\) in a row/);

    // It keeps failing: no storm.
    for (let i = 0; i < 5; i++) {
      await failRuns('sync', 1);
      clock.advance(5 * 60_000);
      await pass();
    }
    expect(await posted()).toEqual([]);

    await failRuns('sync', 1, 'succeeded');
    const resolved = await pass();
    expect(resolved.resolved).toEqual(['job-failing:sync']);
    expect((await posted()).map((m) => m.message)).toEqual(['RESOLVED zoom-chat-archiver: Job failing\n- job sync succeeded again']);
    await pass();
    expect(await posted()).toEqual([]);
    // Every message posted is in the audit chain.
    const sentEvents = await h.db.pool.query<{ details: { keys: string[]; role: string } }>(`SELECT details FROM archive.audit_log WHERE action = 'alert.sent' ORDER BY id`);
    expect(sentEvents.rows.map((r) => [r.details.role, r.details.keys])).toEqual([
      ['open', ['job-failing:sync']],
      ['resolve', ['job-failing:sync']],
    ]);
  });

  it('legal-hold files failed: one message per incident, naming the matter by id only, never custodians or names', async () => {
    await h.db.pool.query(`INSERT INTO archive.legal_hold_matters (matter_id, matter_name, state) VALUES ('m-7f3c', 'Acme v. Us (secret)', 'active')`);
    await h.db.pool.query(
      `INSERT INTO archive.legal_hold_files (matter_id, custodian, file_key, state, attempts, last_error) VALUES
       ('m-7f3c', 'ada.secret@example.com', 'k1', 'failed', 5, 'connection reset'), ('m-7f3c', 'bo.secret@example.com', 'k2', 'failed', 5, 'bad zip')`,
    );
    await pass();
    const [message] = await posted();
    expect(message!.message).toBe('ALERT zoom-chat-archiver: Legal-hold files failed\n- legal-hold matter m-7f3c: 2 zip file(s) failed to download and are retried every run (`zoom-chat-archiver legal-hold files m-7f3c`)');
    expect(message!.message).not.toMatch(/secret|Acme/);
    await pass();
    expect(await posted()).toEqual([]);
  });

  it('windows at horizon risk open together in one message and resolve when complete', async () => {
    // Months later, the windows the archive never completed are about to leave the horizon.
    const later = new ManualClock(Date.parse('2027-05-12T12:00:00Z'));
    const deps: AlertPassDeps = { pool: h.db.pool, zoom, config: configWith(), clock: later, logger: createSilentLogger() };
    const opened = await runAlertPass(deps);
    expect(opened.opened).toContain('horizon-risk:2026-11-01');
    const messages = await posted();
    const risk = messages.find((m) => m.message.includes('Horizon risk'))!;
    expect(risk.message).toMatch(/^ALERT zoom-chat-archiver: Horizon risk\n- window 2026-11 is not complete and starts leaving Zoom's six-month horizon in \d+ day\(s\)/);
    await h.db.pool.query(`UPDATE archive.sync_windows SET completed_at = now() WHERE month_start = '2026-11-01'`);
    later.advance(HOUR);
    const resolved = await runAlertPass(deps);
    expect(resolved.resolved).toContain('horizon-risk:2026-11-01');
    expect((await posted()).map((m) => m.message)).toContain('RESOLVED zoom-chat-archiver: Horizon risk\n- window 2026-11 is no longer at horizon risk');
  });

  it('the sync cost plan outgrowing the budget is announced once', async () => {
    const tight = configWith({ ZOOM_RATE_MEDIUM: '0.001' });
    await pass(tight);
    const [message] = (await posted()).filter((m) => m.message.includes('Sync cost'));
    expect(message!.message).toMatch(/^ALERT zoom-chat-archiver: Sync cost\n- sync cost: FALLING BEHIND/);
    await pass(tight);
    expect(await posted()).toEqual([]);
    await pass();
    expect((await posted()).map((m) => m.message)).toEqual(['RESOLVED zoom-chat-archiver: Sync cost\n- the sync cost plan is within the rate budget again']);
  });

  it('an export finished, a listing miss and the daily head are each posted once, rate-limited, with ids, sizes and hashes only', async () => {
    const session = (await h.db.pool.query<{ session_id: string }>('SELECT session_id FROM archive.sessions ORDER BY session_id LIMIT 1')).rows[0]!.session_id;
    const record = await runExport({ pool: h.db.pool, config: { dataDir }, logger: createSilentLogger(), clock }, parseExportRequest({ sessions: [session], formats: 'jsonl' }), 'cli:test');
    const run = (await h.db.pool.query<{ id: number }>('SELECT max(id)::int AS id FROM archive.sync_runs')).rows[0]!.id;
    const version = (await h.db.pool.query<{ id: number; session_id: string; message_id: string; action_at: Date }>(`SELECT id, session_id, message_id, action_at FROM archive.message_versions WHERE kind = 'edited' LIMIT 1`)).rows[0]!;
    await h.db.pool.query(
      `INSERT INTO archive.listing_misses (version_id, session_id, month_start, message_id, kind, action_at, read_kind, sync_run_id) VALUES ($1, $2, '2026-10-01', $3, 'edited', $4, 'settled', $5)`,
      [version.id, version.session_id, version.message_id, version.action_at, run],
    );
    const head = await publishChainHead({ db: h.db.pool, clock, headFile: undefined, actor: 'system:audit' });

    const limited = configWith({ ALERT_MAX_PER_HOUR: '2' });
    clock.advance(2 * HOUR);
    const first = await pass(limited);
    expect(first).toMatchObject({ messagesSent: 2, deferred: 1 });
    const second = await pass(limited);
    expect(second).toMatchObject({ messagesSent: 0, deferred: 1 });
    clock.advance(HOUR + 1);
    expect(await pass(limited)).toMatchObject({ messagesSent: 1, deferred: 0 });
    const messages = (await posted()).map((m) => m.message);
    expect(messages).toHaveLength(3);
    const exportMessage = messages.find((m) => m.startsWith('zoom-chat-archiver: Export finished\n'))!;
    expect(exportMessage).toContain(`- export ${record.exportId} complete (sessions selection): `);
    // The size for people in binary units, like every size the program shows, then the exact count.
    expect(exportMessage).toContain(`, ${formatBytes(record.bytes!)} (${record.bytes!.toLocaleString('en-US')} bytes), SHA-256 ${record.sha256}`);
    expect(messages).toContain(
      `zoom-chat-archiver: Listing miss\n- sync pass #${run} found 1 listing miss(es), versions no listing had shown (1 edited) in window(s) 2026-10; archived now (see sync_listing_misses and docs/sync.md, "Calibration")`,
    );
    const headMessage = messages.find((m) => m.startsWith('zoom-chat-archiver: Daily audit chain head\n'))!;
    expect(headMessage).toContain(`${head.head.chainSeq}:${head.head.rowHash}`);
    expect(headMessage).toContain(`audit verify --head ${head.head.chainSeq}:${head.head.rowHash}`);
    expect(await pass(limited)).toMatchObject({ messagesSent: 0, deferred: 0 });
  });

  it('a message Zoom refuses waits and is posted once when Zoom takes it again', async () => {
    h.sim.chatMessages.sendingAllowed = false;
    await failRuns('legal-hold', 3);
    const refused = await pass();
    expect(refused.failure).toMatchObject({ code: 'ZOOM_BAD_REQUEST' });
    expect(await posted()).toEqual([]);
    h.sim.chatMessages.sendingAllowed = true;
    clock.advance(5 * 60_000);
    await pass();
    expect((await posted()).map((m) => m.message)).toEqual([expect.stringMatching(/^ALERT zoom-chat-archiver: Job failing\n- job legal-hold has failed 3 run\(s\)/)]);
    await pass();
    expect(await posted()).toEqual([]);
  });

  it('never carries message content, custodians or session names', async () => {
    const everything = h.sim.chatMessages.sent().map((m) => m.message).join('\n');
    expect(everything.length).toBeGreaterThan(200);
    const bodies = (await h.db.pool.query<{ body: string }>(`SELECT DISTINCT body FROM archive.message_versions WHERE length(body) >= 12`)).rows.map((r) => r.body);
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies) expect(everything.includes(body), body).toBe(false);
    for (const user of dataset.users) {
      expect(everything.toLowerCase().includes(user.email.toLowerCase()), user.email).toBe(false);
      expect(everything.includes(user.displayName), user.displayName).toBe(false);
    }
    for (const s of dataset.sessions) if (s.name) expect(everything.includes(s.name), s.name).toBe(false);
  });
});

describe('composeMessage', () => {
  it('fits Zoom\'s 1,024 characters, saying how many lines were left out', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `window 20${String(i).padStart(2, '0')}-01 is not complete and starts leaving Zoom's horizon soon`);
    const text = composeMessage('ALERT zoom-chat-archiver: Horizon risk', lines);
    expect(text.length).toBeLessThanOrEqual(1024);
    expect(text).toMatch(/\n… and \d+ more \(zoom-chat-archiver status\)$/);
    const shown = text.split('\n').filter((l) => l.startsWith('- ')).length;
    expect(Number(/and (\d+) more/.exec(text)![1]) + shown).toBe(40);
    expect(composeMessage('T', ['x'.repeat(2000)]).length).toBe(1024);
  });
});
