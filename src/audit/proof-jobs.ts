import { requireZoomCredentials } from '../config/config.js';
import { alertsConfigured, runAlertPass } from '../alerts/alert-pass.js';
import { applyRetention, policyFrom, retentionIsOff } from '../retention/retention.js';
import type { JobDefinition, JobDependencies } from '../service/jobs.js';
import type { ZoomClient } from '../zoom/client.js';
import { formatHead, publishChainHead, readHeadFile } from './head.js';
import { sealPendingWindows } from './seals.js';
import { verifyAuditChain } from './verify-chain.js';

/**
 * The service's jobs for the archive's proofs and lifecycle (registered in src/service/jobs.ts):
 *
 * - `audit` (daily, SCHEDULE_AUDIT): seals what waits, recomputes the whole audit chain (against the
 *   heads in AUDIT_HEAD_FILE too) and, when it verifies, publishes the head (the file, an
 *   `audit.head.published` event, which the alerts job posts as the daily head message). A chain that
 *   fails verification fails the job and opens the `audit-chain` alert.
 * - `alerts` (every 5 minutes, SCHEDULE_ALERTS; off unless ALERT_ZOOM_USER_ID is set): src/alerts.
 *   It does not wait for the Zoom turn the report jobs take: an alert must not wait hours behind a
 *   backfill. It posts through the process's one Zoom client (its token, its rate limiter), a few
 *   messages an hour at most.
 * - `retention` (SCHEDULE_RETENTION, off by default): applies the retention policy, when one is set.
 */

export function auditJob(deps: JobDependencies, schedule: string): JobDefinition {
  return {
    name: 'audit',
    schedule,
    description: 'tamper evidence: seal what waits, verify the whole audit hash chain (and the heads in AUDIT_HEAD_FILE), then publish its head (AUDIT_HEAD_FILE, the daily Zoom message)',
    catchUpOnStart: true,
    usesZoom: false,
    async run(ctx) {
      const sealsWritten = await sealPendingWindows(deps.pool, 'audit job', 'system:audit');
      const headFile = deps.config.audit.headFile;
      const heads = headFile ? await readHeadFile(headFile) : [];
      const chain = await verifyAuditChain(deps.pool, { heads, signal: ctx.signal });
      const figures = {
        sealsWritten,
        chainOk: chain.ok,
        chainRows: chain.rowsChecked,
        headsChecked: chain.headsChecked,
        chainFinding: chain.findings[0]?.message ?? null,
        chainMs: chain.durationMs,
      };
      if (!chain.ok) {
        ctx.logger.error({ finding: chain.findings[0] }, 'AUDIT CHAIN BROKEN: the audit log no longer verifies; the head is not published; run audit verify');
        return { outcome: 'failed', figures, error: `the audit chain failed verification: ${chain.findings[0]?.message ?? 'unknown'}` };
      }
      const published = await publishChainHead({ db: deps.pool, clock: deps.clock, headFile, actor: 'system:audit' });
      ctx.logger.info({ head: formatHead(published.head), file: published.file }, 'audit chain verified; head published');
      return { outcome: 'succeeded', figures: { ...figures, headPublished: formatHead(published.head), headFile: published.file } };
    },
  };
}

export function alertsJob(deps: JobDependencies, schedule: string): JobDefinition {
  return {
    name: 'alerts',
    schedule,
    description: 'alerts in Zoom Team Chat: horizon risk, failing jobs, legal-hold files, sync cost, the audit chain; exports finished, listing misses, the daily chain head (off unless ALERT_ZOOM_USER_ID is set)',
    catchUpOnStart: false,
    usesZoom: false,
    async run(ctx) {
      if (!alertsConfigured(deps.config.alerts)) return { outcome: 'skipped', figures: {}, error: 'alerts are not configured (ALERT_ZOOM_USER_ID with ALERT_ZOOM_CHANNEL or ALERT_ZOOM_CONTACT)' };
      if (!deps.zoom) requireZoomCredentials(deps.config);
      const summary = await runAlertPass({ pool: deps.pool, zoom: deps.zoom as ZoomClient, config: deps.config, clock: deps.clock, logger: ctx.logger, signal: ctx.signal });
      const figures = { incidentsOpen: summary.incidentsOpen, opened: summary.opened, resolved: summary.resolved, notices: summary.notices, messagesSent: summary.messagesSent, deferred: summary.deferred };
      if (summary.failure) return { outcome: 'failed', figures, error: `${summary.failure.code}: ${summary.failure.message}` };
      return { outcome: 'succeeded', figures };
    },
  };
}

export function retentionJob(deps: JobDependencies, schedule: string): JobDefinition {
  return {
    name: 'retention',
    schedule,
    description: 'retention: dispose of messages past RETENTION_DAYS (never held ones), recorded in the audit chain; off by default',
    catchUpOnStart: false,
    usesZoom: false,
    async run() {
      const policy = policyFrom(deps.config.retention);
      if (retentionIsOff(policy)) return { outcome: 'skipped', figures: {}, error: 'retention is off (RETENTION_DAYS and RETENTION_DAYS_BY_TYPE are not set)' };
      const outcome = await applyRetention(deps.pool, policy, { clock: deps.clock, actor: 'system:retention' });
      return {
        outcome: 'succeeded',
        figures: {
          planId: outcome.plan.planId,
          versionsDisposed: outcome.auditId === null ? 0 : outcome.plan.dispose.versions,
          messagesDisposed: outcome.auditId === null ? 0 : outcome.plan.dispose.messages,
          heldMessagesKept: outcome.plan.heldTotal.messages,
          auditId: outcome.auditId,
        },
      };
    },
  };
}
