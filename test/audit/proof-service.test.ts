import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/audit/audit-log.js';
import { headHashPrefix, loadChainHead, readHeadFile } from '../../src/audit/head.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createSilentLogger } from '../../src/logging/logger.js';
import { buildJobs, type JobDefinition } from '../../src/service/jobs.js';
import { ServiceMetrics } from '../../src/service/metrics.js';
import { gatherStatus } from '../../src/read-model/status-report.js';
import { ManualClock } from '../../src/util/clock.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { parsePrometheusText } from '../service/prometheus-text.js';
import { asDba } from './dba.js';

// Publishing the chain head and the service's proof jobs, on a real PostgreSQL: `status` and
// /metrics show the head (and a metric that changes with it), the audit job verifies the chain and
// publishes the head to AUDIT_HEAD_FILE and the chain, and refuses to publish a broken chain; the
// retention and alerts jobs do nothing unless configured.

let db: TestDatabase;
let dir: string;
let config: Readonly<Config>;
let jobs: Map<string, JobDefinition>;
const clock = new ManualClock(new Date('2026-11-21T15:00:00Z'));
const metrics = new ServiceMetrics({ jobNames: ['audit'] });

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'zca-proof-service-'));
  config = loadConfig({ DATABASE_URL: db.url, ARCHIVE_DATA_DIR: dir, AUDIT_HEAD_FILE: path.join(dir, 'heads', 'heads.jsonl') });
  jobs = new Map(buildJobs({ config, pool: db.pool, clock, metrics, zoom: undefined }).map((j) => [j.name, j]));
  for (let i = 0; i < 3; i++) await recordAudit(db.pool, { actor: 'cli:test', action: 'test.entry', subjectId: String(i) });
});

afterAll(async () => {
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(job: string) {
  const logger = createSilentLogger();
  return jobs.get(job)!.run({ signal: new AbortController().signal, logger, moduleLogger: logger, jobRunId: 1, fences: [] });
}

async function scrape(): Promise<Map<string, number>> {
  await metrics.refreshFromDatabase({ pool: db.pool, clock, sync: config.sync, mediumRatePerSecond: config.zoom.ratePerSecond.medium, jobNames: ['audit'], logger: createSilentLogger() });
  const families = parsePrometheusText(await metrics.render());
  const value = (name: string) => families.get(name)?.samples[0]?.value ?? Number.NaN;
  return new Map(['zca_audit_chain_length', 'zca_audit_chain_head_hash_prefix', 'zca_audit_windows_sealed', 'zca_retention_disposed_versions_total'].map((n) => [n, value(n)]));
}

describe('publishing the head', () => {
  it('status shows the head; /metrics shows the chain length and a number that changes with every row', async () => {
    const head = (await loadChainHead(db.pool))!;
    const status = await gatherStatus({ db: db.pool, clock, sync: config.sync, totals: false });
    expect(status.audit).toMatchObject({ chain_head: { chain_seq: head.chainSeq, row_hash: head.rowHash, audit_id: head.auditId }, windows_sealed: 0, versions_waiting_for_seal: 0 });
    const before = await scrape();
    expect(before.get('zca_audit_chain_length')).toBe(head.chainSeq);
    expect(before.get('zca_audit_chain_head_hash_prefix')).toBe(headHashPrefix(head.rowHash));
    await recordAudit(db.pool, { actor: 'cli:test', action: 'test.more' });
    const after = await scrape();
    expect(after.get('zca_audit_chain_length')).toBe(head.chainSeq + 1);
    expect(after.get('zca_audit_chain_head_hash_prefix')).not.toBe(before.get('zca_audit_chain_head_hash_prefix'));
    expect(after.get('zca_retention_disposed_versions_total')).toBe(0);
  });

  it('the audit job verifies the chain, then publishes its head to AUDIT_HEAD_FILE and the chain itself', async () => {
    const head = (await loadChainHead(db.pool))!;
    const result = await run('audit');
    expect(result).toMatchObject({ outcome: 'succeeded', figures: { chainOk: true, headPublished: `${head.chainSeq}:${head.rowHash}`, headFile: config.audit.headFile } });
    const lines = (await readFile(config.audit.headFile!, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'zca-audit-head/1', chain_seq: head.chainSeq, row_hash: head.rowHash, audit_id: head.auditId });
    const event = (await db.pool.query<{ details: Record<string, unknown> }>(`SELECT details FROM archive.audit_log WHERE action = 'audit.head.published'`)).rows;
    expect(event).toEqual([{ details: expect.objectContaining({ chain_seq: head.chainSeq, row_hash: head.rowHash, file: config.audit.headFile }) }]);
    const status = await gatherStatus({ db: db.pool, clock, sync: config.sync, totals: false });
    expect(status.audit.last_published_head).toMatchObject({ chain_seq: head.chainSeq, row_hash: head.rowHash });

    // The next run checks the chain against every head the file holds, and appends the new one.
    expect(await run('audit')).toMatchObject({ outcome: 'succeeded', figures: { chainOk: true, headsChecked: 1 } });
    expect(await readHeadFile(config.audit.headFile!)).toHaveLength(2);
  });

  it('a broken chain fails the audit job, names the row, and publishes nothing', async () => {
    const victim = (await db.pool.query<{ id: number }>(`SELECT id FROM archive.audit_log WHERE action = 'test.entry' ORDER BY id LIMIT 1`)).rows[0]!.id;
    await asDba(db, ['archive.audit_log'], [`UPDATE archive.audit_log SET actor = 'cli:mallory' WHERE id = ${victim}`]);
    const heads = (await readHeadFile(config.audit.headFile!)).length;
    const result = await run('audit');
    expect(result.outcome).toBe('failed');
    expect(result.figures).toMatchObject({ chainOk: false });
    expect(result.error).toContain(`audit row ${victim}`);
    expect(await readHeadFile(config.audit.headFile!)).toHaveLength(heads);
    await asDba(db, ['archive.audit_log'], [`UPDATE archive.audit_log SET actor = 'cli:test' WHERE id = ${victim}`]);
  });

  it('retention and alerts do nothing unless configured', async () => {
    expect(config.service.schedules.retention).toBe('off');
    expect(config.service.schedules.alerts).toBe('off');
    expect(await run('retention')).toMatchObject({ outcome: 'skipped', error: expect.stringMatching(/retention is off/) });
    expect(await run('alerts')).toMatchObject({ outcome: 'skipped', error: expect.stringMatching(/alerts are not configured/) });
  });
});
