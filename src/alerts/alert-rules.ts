import type { Config } from '../config/config.js';
import type { Queryable } from '../db/pool.js';
import { assessHorizonStatus } from '../read-model/horizon.js';
import { loadCostPlan } from '../sync/cost-plan.js';
import type { Clock } from '../util/clock.js';
import { formatBytes } from '../util/bytes.js';

/**
 * What is worth telling the team, read from the database (so it does not matter which replica or
 * CLI process did the work). Two kinds:
 *
 * - **incidents**, conditions that open and later resolve: a window at horizon risk, a job that
 *   failed its last N runs, a matter with legal-hold files failed or unready too long, the sync cost
 *   plan outgrowing the rate budget, the audit chain failing verification;
 * - **notices**, things that happened once: an export finished, a listing miss found by a sync
 *   pass, the chain head published (daily).
 *
 * Texts carry identifiers, counts, sizes and hashes only: never message content, never a custodian,
 * a session name or a matter name (a matter is named by its id), since an alert channel is read by
 * people who are not entitled to what the archive holds.
 */

export type IncidentKind = 'horizon-risk' | 'job-failing' | 'legal-hold-failed' | 'legal-hold-unready' | 'sync-cost' | 'audit-chain';
export type NoticeKind = 'export-complete' | 'listing-miss' | 'chain-head';

export interface Incident {
  key: string;
  kind: IncidentKind;
  /** One line: what is wrong now. */
  text: string;
  facts: Record<string, unknown>;
}

export interface Notice {
  key: string;
  kind: NoticeKind;
  text: string;
  facts: Record<string, unknown>;
}

export interface AlertRuleSettings {
  config: Readonly<Pick<Config, 'sync' | 'legalHold' | 'alerts' | 'zoom'>>;
  clock: Clock;
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const month = (day: string) => day.slice(0, 7);

export async function evaluateIncidents(db: Queryable, s: AlertRuleSettings): Promise<Incident[]> {
  const incidents: Incident[] = [];
  const { config } = s;

  const horizon = await assessHorizonStatus(db, s.clock, config.sync);
  for (const r of horizon.atRisk) {
    incidents.push({
      key: `horizon-risk:${r.monthStart}`,
      kind: 'horizon-risk',
      text: `window ${month(r.monthStart)} is not complete and starts leaving Zoom's six-month horizon in ${r.daysUntilExpiry} day(s) (on ${r.leavesHorizonOn}); after that its data is gone for good`,
      facts: { window: r.monthStart, daysUntilExpiry: r.daysUntilExpiry, leavesHorizonOn: r.leavesHorizonOn },
    });
  }

  const failures = config.alerts.jobFailures;
  const jobs = await db.query<{ job: string; outcomes: string[]; last_at: Date; failed_since: Date }>(
    `SELECT job, array_agg(outcome ORDER BY started_at DESC) AS outcomes, max(finished_at) AS last_at, min(started_at) AS failed_since
     FROM (SELECT job, outcome, started_at, finished_at, row_number() OVER (PARTITION BY job ORDER BY started_at DESC) AS rn
           FROM archive.job_runs WHERE outcome IN ('succeeded', 'failed')) r
     WHERE rn <= $1 GROUP BY job ORDER BY job`,
    [failures],
  );
  for (const j of jobs.rows) {
    if (j.outcomes.length < failures || !j.outcomes.every((o) => o === 'failed')) continue;
    incidents.push({
      key: `job-failing:${j.job}`,
      kind: 'job-failing',
      text: `job ${j.job} has failed ${failures} run(s) in a row (the last finished ${j.last_at.toISOString()}); what it stored is kept and it keeps retrying: see \`zoom-chat-archiver status\` and job_runs`,
      facts: { job: j.job, failures, lastAt: j.last_at.toISOString() },
    });
  }

  const files = await db.query<{ matter_id: string; failed: number; unready: number }>(
    `SELECT matter_id, count(*) FILTER (WHERE state = 'failed')::int AS failed,
            count(*) FILTER (WHERE state = 'pending' AND unready_hours >= $1)::int AS unready
     FROM public.legal_hold_files WHERE matter_state <> 'deleted_here' AND state IN ('failed', 'pending')
     GROUP BY matter_id ORDER BY matter_id`,
    [config.legalHold.unreadyWarnHours],
  );
  for (const f of files.rows) {
    if (f.failed > 0) {
      incidents.push({
        key: `legal-hold-failed:${f.matter_id}`,
        kind: 'legal-hold-failed',
        text: `legal-hold matter ${f.matter_id}: ${f.failed} zip file(s) failed to download and are retried every run (\`zoom-chat-archiver legal-hold files ${f.matter_id}\`)`,
        facts: { matterId: f.matter_id, failed: f.failed },
      });
    }
    if (f.unready > 0) {
      incidents.push({
        key: `legal-hold-unready:${f.matter_id}`,
        kind: 'legal-hold-unready',
        text: `legal-hold matter ${f.matter_id}: ${f.unready} zip file(s) not made ready by Zoom for over ${config.legalHold.unreadyWarnHours} h`,
        facts: { matterId: f.matter_id, unready: f.unready },
      });
    }
  }

  const cost = await loadCostPlan(db, s.clock, config.sync, config.zoom.ratePerSecond.medium);
  if (cost.warnings.length > 0) {
    incidents.push({
      key: 'sync-cost',
      kind: 'sync-cost',
      text: `sync cost: ${cost.warnings[0]}`,
      facts: { recurringPeak: cost.projected.recurringPeak, budgetPerDay: cost.budgetPerDay, daysUntilOverBudget: cost.growth.daysUntilOverBudget },
    });
  }

  const audit = await db.query<{ figures: { chainOk?: boolean; chainFinding?: string } | null; finished_at: Date }>(
    `SELECT figures, finished_at FROM archive.job_runs WHERE job = 'audit' AND outcome IN ('succeeded', 'failed') ORDER BY started_at DESC LIMIT 1`,
  );
  const last = audit.rows[0];
  if (last?.figures?.chainOk === false) {
    incidents.push({
      key: 'audit-chain',
      kind: 'audit-chain',
      text: `the audit chain FAILED verification (${last.finished_at.toISOString()}): ${last.figures.chainFinding ?? 'see the audit job run'}; run \`zoom-chat-archiver audit verify\``,
      facts: { at: last.finished_at.toISOString() },
    });
  }
  return incidents;
}

/**
 * Where notices start: the audit row and listing-miss ids as of the first alert pass, so enabling
 * alerts on an old archive does not replay its history into the channel.
 */
export interface NoticeWatermark {
  auditId: number;
  listingMissId: number;
}

export async function currentWatermark(db: Queryable): Promise<NoticeWatermark> {
  const res = await db.query<{ audit_id: number; miss_id: number }>(
    'SELECT (SELECT coalesce(max(id), 0) FROM archive.audit_log)::bigint AS audit_id, (SELECT coalesce(max(id), 0) FROM archive.listing_misses)::bigint AS miss_id',
  );
  return { auditId: Number(res.rows[0]?.audit_id ?? 0), listingMissId: Number(res.rows[0]?.miss_id ?? 0) };
}

/** Notices of what happened after the watermark, oldest first. */
export async function evaluateNotices(db: Queryable, since: NoticeWatermark): Promise<Notice[]> {
  const notices: Notice[] = [];
  const exports = await db.query<{ export_id: string; versions: number | null; sessions: number | null; bytes: number; sha256: string; filter_kind: string }>(
    `SELECT e.export_id, (e.counts ->> 'versions')::bigint AS versions, (e.counts ->> 'sessions')::bigint AS sessions, e.bytes, e.sha256, e.filter ->> 'kind' AS filter_kind
     FROM archive.audit_log a JOIN archive.exports e ON e.export_id = a.subject_id
     WHERE a.action = 'export.complete' AND a.subject_type = 'export' AND a.id > $1 AND e.state = 'complete'
     ORDER BY a.id`,
    [since.auditId],
  );
  for (const e of exports.rows) {
    notices.push({
      key: `export:${e.export_id}`,
      kind: 'export-complete',
      text: `export ${e.export_id} complete (${e.filter_kind} selection): ${n(Number(e.versions ?? 0))} version(s) in ${n(Number(e.sessions ?? 0))} session(s), ${formatBytes(Number(e.bytes))} (${n(Number(e.bytes))} bytes), SHA-256 ${e.sha256}`,
      facts: { exportId: e.export_id, bytes: Number(e.bytes), sha256: e.sha256 },
    });
  }

  const misses = await db.query<{ sync_run_id: number; kinds: Record<string, number>; windows: string[] }>(
    `SELECT sync_run_id, jsonb_object_agg(kind, n) AS kinds, array_agg(DISTINCT m ORDER BY m) AS windows
     FROM (SELECT sync_run_id, kind, to_char(month_start, 'YYYY-MM') AS m, count(*) OVER (PARTITION BY sync_run_id, kind) AS n
           FROM archive.listing_misses WHERE id > $1 AND sync_run_id IS NOT NULL) x
     GROUP BY sync_run_id ORDER BY sync_run_id`,
    [since.listingMissId],
  );
  for (const m of misses.rows) {
    const total = Object.values(m.kinds).reduce((a, b) => a + Number(b), 0);
    const kinds = Object.entries(m.kinds).map(([k, c]) => `${n(Number(c))} ${k}`).join(', ');
    notices.push({
      key: `listing-miss:${m.sync_run_id}`,
      kind: 'listing-miss',
      text: `sync pass #${m.sync_run_id} found ${n(total)} listing miss(es), versions no listing had shown (${kinds}) in window(s) ${m.windows.join(', ')}; archived now (see sync_listing_misses and docs/sync.md, "Calibration")`,
      facts: { syncRunId: m.sync_run_id, kinds: m.kinds, windows: m.windows },
    });
  }

  const heads = await db.query<{ id: number; details: { chain_seq: number; row_hash: string; audit_id: number; at: string; published_at: string } }>(
    `SELECT id, details FROM archive.audit_log WHERE subject_type = 'audit_chain' AND action = 'audit.head.published' AND id > $1 ORDER BY id`,
    [since.auditId],
  );
  for (const h of heads.rows) {
    const d = h.details;
    notices.push({
      key: `chain-head:${h.id}`,
      kind: 'chain-head',
      text: `audit chain head ${d.published_at.slice(0, 10)}: ${d.chain_seq}:${d.row_hash} (audit row ${d.audit_id}, written ${d.at}). Keep this message: \`zoom-chat-archiver audit verify --head ${d.chain_seq}:${d.row_hash}\` proves the archive's history up to it was not rewritten`,
      facts: { chainSeq: d.chain_seq, rowHash: d.row_hash },
    });
  }
  return notices;
}
