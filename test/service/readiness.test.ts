import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { generateDataset } from '../../src/simulator/dataset.js';
import { ManualClock } from '../../src/util/clock.js';
import { horizonFor, startSyncHarness, type SyncHarness } from '../helpers/sync-harness.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';
import { getJson, loadRuns, serviceEnv, startServiceProcess, waitFor, type ServiceProcess, removeServiceDataDirs } from './service-process.js';

// /readyz failing, with the failing check named: a window at horizon risk (Zoom keeps failing for
// the oldest window) and the database becoming unreachable under a running service.

interface Readiness {
  status: string;
  failing: string[];
  checks: Record<string, { ok: boolean | null; detail: string }>;
}

let harness: SyncHarness | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  service = undefined;
  await harness?.close();
  removeServiceDataDirs();
  harness = undefined;
});

describe('/readyz and /readyz/strict when something is wrong', () => {
  it('a failed sync and a window at horizon risk fail /readyz/strict, naming both, while /readyz stays ready to serve', async () => {
    const clock = new ManualClock(new Date());
    harness = await startSyncHarness({ dataset: generateDataset({ seed: 51, now: clock.now(), sessions: 6, totalMessages: 300 }), clock });
    const { horizonStart } = horizonFor(clock);
    harness.sim.faults.inject({ match: { endpoint: 'report.chat.session_messages', queryIncludes: { from: horizonStart } }, fault: { kind: 'status', status: 503 }, times: Infinity });
    // The service's own sync (catch-up at start) meets the fault; the horizon check reports the risk.
    service = await startServiceProcess(serviceEnv(harness, { ZOOM_MAX_RETRIES: '0', SCHEDULE_HORIZON_CHECK: '* * * * * *' }), ['--jobs', 'sync,horizon-check']);
    const db = harness.db;
    const failed = await waitFor(async () => (await loadRuns(db, 'sync')).find((r) => r.outcome === 'failed'), 30_000, 'the sync job to fail');
    const check = await waitFor(
      async () => (await loadRuns(db, 'horizon-check')).find((r) => r.outcome === 'succeeded' && r.startedMs >= failed.finishedMs!),
      10_000,
      'a horizon check after the sync',
    );

    // The API keeps serving: archive health is for alerts, metrics and `status`, not for traffic.
    const serving = await getJson<Readiness>(`${service.url}/readyz`);
    expect(serving.status).toBe(200);
    expect(serving.body.failing).toEqual([]);
    const res = await getJson<Readiness>(`${service.url}/readyz/strict`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.status).toBe('not_ready');
    expect(res.body.failing).toEqual(['last_sync', 'horizon']);
    expect(res.body.checks['database']?.ok).toBe(true);
    expect(res.body.checks['horizon']?.detail).toMatch(new RegExp(`window ${horizonStart.slice(0, 7)}-01 is not complete and its oldest day \\(${horizonStart}\\) leaves Zoom's horizon in \\d+ day`));
    expect(res.body.checks['last_sync']?.detail).toMatch(/finished incomplete/);

    // The same state in the job record, the error log and the metrics.
    expect(failed.error).toMatch(/session window\(s\) failed/);
    expect(check.figures?.['atRisk']).toEqual([expect.objectContaining({ window: `${horizonStart.slice(0, 7)}-01` })]);
    expect(service.logs.some((l) => l.level === 50 && l.msg.startsWith('HORIZON RISK'))).toBe(true);
    const metrics = parsePrometheusText((await getJson<string>(`${service.url}/metrics`)).body);
    expect(sampleValue(metrics, 'zca_horizon_windows_at_risk')).toBe(1);
    expect(sampleValue(metrics, 'zca_horizon_oldest_incomplete_window_days_until_expiry')).toBeLessThanOrEqual(14);
    expect(sampleValue(metrics, 'zca_zoom_api_calls_total', { endpoint: 'report.chat.session_messages', status: '503' })).toBeGreaterThan(0);
  });

  it('names the database check when PostgreSQL stops answering (both endpoints), and recovers when it is back', async () => {
    const clock = new ManualClock(new Date());
    harness = await startSyncHarness({ dataset: generateDataset({ seed: 52, now: clock.now(), sessions: 4, totalMessages: 100 }), clock });
    await harness.sync();
    service = await startServiceProcess(serviceEnv(harness), ['--no-jobs']);
    expect((await getJson<Readiness>(`${service.url}/readyz`)).status).toBe(200);

    const admin = new pg.Client({ connectionString: inject('testDb').adminUrl });
    await admin.connect();
    const name = harness.db.name;
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
      const down = await getJson<Readiness>(`${service.url}/readyz`);
      expect(down.status).toBe(503);
      expect(down.body.failing).toEqual(['database']);
      expect(down.body.checks['database']?.detail).toMatch(/^cannot reach PostgreSQL/);
      expect(down.body.checks['migrations']?.ok).toBeNull();
      expect(JSON.stringify(down.body)).not.toMatch(/postgres:\/\//);
      const strict = await getJson<Readiness>(`${service.url}/readyz/strict`);
      expect(strict.status).toBe(503);
      expect(strict.body.failing).toEqual(['database']);
      // Liveness is unaffected: restarting would not help.
      expect((await getJson(`${service.url}/healthz`)).status).toBe(200);
      // Metrics still answer, saying the database is down.
      const metrics = parsePrometheusText((await getJson<string>(`${service.url}/metrics`)).body);
      expect(sampleValue(metrics, 'zca_database_up')).toBe(0);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    const up = await waitFor(async () => {
      const r = await getJson<Readiness>(`${service!.url}/readyz`);
      return r.status === 200 ? r : undefined;
    }, 10_000, 'readiness to recover');
    expect(up.body.failing).toEqual([]);
  });
});
