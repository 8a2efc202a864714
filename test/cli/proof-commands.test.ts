import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHeadFile } from '../../src/audit/head.js';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { asDba } from '../audit/dba.js';
import { runCli } from '../helpers/cli.js';
import { startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';

// `audit`, `archive` and `retention` as an operator runs them: the CLI in its own process against a
// real archive synced from the simulator. Exit codes: 0 when everything matches, 1 when something
// does not (or a plan went stale), 2 for bad input. The retention commands use the real clock, so
// the archive is made of data that ended 100 days ago.

const DAY = 86_400_000;
const START = new Date(Math.floor((Date.now() - 100 * DAY) / 3_600_000) * 3_600_000);
let h: SyncHarness;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'zca-proof-cli-'));
  h = await startSyncHarness({ dataset: generateDataset({ seed: 73, now: START, sessions: 10, totalMessages: 600 }), clock: new ManualClock(START) });
  expect((await h.sync()).outcome).toBe('complete');
});

afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: h.db.url, ARCHIVE_DATA_DIR: dir, LOG_LEVEL: 'warn', AUDIT_HEAD_FILE: path.join(dir, 'heads.jsonl'), ...extra });

describe('audit and archive commands', () => {
  it('verify a clean archive (exit 0), publish the head, and name what a DBA changed (exit 1)', async () => {
    const published = await runCli(['audit', 'head', '--publish'], env());
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/^published head \d+:[0-9a-f]{64} \(audit row \d+, .*\) to .*heads\.jsonl; publication recorded as audit row \d+\n$/);
    expect(await readHeadFile(path.join(dir, 'heads.jsonl'))).toHaveLength(1);

    const ok = await runCli(['audit', 'verify'], env());
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: the audit chain verifies/);
    expect(ok.stdout).toContain('1 published head(s) checked');
    const archive = await runCli(['archive', 'verify'], env());
    expect(archive.code, archive.stderr).toBe(0);
    expect(archive.stdout).toMatch(/^OK: [\d,]+ version\(s\) in \d+ sealed window\(s\) match their seals/);

    const row = (await h.db.pool.query<{ id: number; chain_seq: number }>(`SELECT id, chain_seq FROM archive.audit_log WHERE action = 'archive.window.seal' ORDER BY id LIMIT 1`)).rows[0]!;
    await asDba(h.db, ['archive.audit_log'], [`UPDATE archive.audit_log SET details = details || '{"root": "0"}' WHERE id = ${row.id}`]);
    const broken = await runCli(['audit', 'verify', '--json'], env());
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, findings: [{ kind: 'changed', auditId: row.id, chainSeq: row.chain_seq }] });
    const text = await runCli(['audit', 'verify'], env());
    expect(text.stdout).toContain(`FAILED: audit row ${row.id} (chain position ${row.chain_seq}) was changed`);
    await asDba(h.db, ['archive.audit_log'], [`UPDATE archive.audit_log SET details = details - 'root' || jsonb_build_object('root', (SELECT encode(root, 'hex') FROM archive.window_root(subject_id::date))) WHERE id = ${row.id}`]);
    expect((await runCli(['audit', 'verify'], env())).code).toBe(0);

    const window = (await h.db.pool.query<{ w: string }>(`SELECT to_char(min(month_start), 'YYYY-MM') AS w FROM archive.sealed_versions`)).rows[0]!.w;
    const version = (await h.db.pool.query<{ id: number }>(`SELECT id FROM archive.message_versions WHERE to_char(archive.month_of(action_at), 'YYYY-MM') = $1 ORDER BY id LIMIT 1`, [window])).rows[0]!.id;
    await asDba(h.db, ['archive.message_versions'], [`UPDATE archive.message_versions SET sender = 'mallory@example.com' WHERE id = ${version}`]);
    const changed = await runCli(['archive', 'verify', '--window', window], env());
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(new RegExp(`^FAILED: version ${version} \\(session .*\\) of window ${window}-01 was changed`));
    await asDba(h.db, ['archive.message_versions'], [`UPDATE archive.message_versions SET sender = raw ->> 'sender' WHERE id = ${version}`]);
    expect((await runCli(['archive', 'verify', '--window', window], env())).code).toBe(0);

    const bad = await runCli(['archive', 'verify', '--window', 'May'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--window must be a month, yyyy-mm');
  });
});

describe('retention commands', () => {
  it('plan changes nothing; apply needs --yes, refuses a stale plan (exit 1) and disposes of exactly the plan', async () => {
    const policy = { RETENTION_DAYS: '190' };
    const off = await runCli(['retention', 'plan'], env());
    expect(off.stdout).toMatch(/^Retention is off/);
    const count = async () => Number((await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive.message_versions')).rows[0]!.n);
    const before = await count();
    const plan = await runCli(['retention', 'plan', '--json'], env(policy));
    expect(plan.code, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { planId: string; dispose: { versions: number } };
    expect(parsed.dispose.versions).toBeGreaterThan(0);
    expect(await count()).toBe(before);

    const noYes = await runCli(['retention', 'apply', '--plan', parsed.planId], env(policy));
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('add --yes');
    const stale = await runCli(['retention', 'apply', '--plan', parsed.planId.replace(/.$/, (c) => (c === '0' ? '1' : '0')), '--yes'], env(policy));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('RETENTION_PLAN_STALE');
    expect(await count()).toBe(before);

    const applied = await runCli(['retention', 'apply', '--plan', parsed.planId, '--yes'], env(policy));
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`${parsed.dispose.versions.toLocaleString('en-US')} version(s)`);
    expect(await count()).toBe(before - parsed.dispose.versions);
    expect((await runCli(['archive', 'verify'], env())).code).toBe(0);
    expect((await runCli(['audit', 'verify'], env())).code).toBe(0);
  });
});
