import type { FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit-log.js';
import type { Config } from '../config/config.js';
import type { Pool, Queryable } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../util/clock.js';
import type { ReadAudit } from '../read-model/content-read.js';
import type { Authenticator, AuthenticatedToken } from './auth.js';
import type { InFlightWork } from './in-flight-work.js';
import type { JobDefinition, JobName } from './jobs.js';
import type { ServiceMetrics } from './metrics.js';
import type { Scheduler } from './scheduler.js';
import { InternalError } from '../errors.js';

/** What the route modules are built from; assembled once by the service root. */
export interface ApiContext {
  config: Readonly<Config>;
  /** The API's own pool (api-pool.ts): every connection has the API statement timeout. */
  pool: Pool;
  /** The service's main pool, for long background work started over HTTP (exports): no statement timeout. */
  backgroundPool: Pool;
  logger: Logger;
  clock: Clock;
  auth: Authenticator;
  metrics: ServiceMetrics;
  inFlight: InFlightWork;
  /** Registered jobs and the scheduler, for /v1/status and /metrics (absent with --no-scheduler). */
  jobs: readonly JobDefinition[];
  scheduler: Scheduler | undefined;
  /** True once shutdown began: /readyz answers 503. */
  isShuttingDown(): boolean;
  /** Starts a run of the job now, in the background (POST /v1/jobs/{job}/run). */
  triggerJob(job: JobName): 'started' | 'already-running' | 'shutting-down';
}

/** Statement timeout of API queries (set on every API connection): a runaway search is cancelled and answered with 503 QUERY_TIMEOUT. */
export const API_STATEMENT_TIMEOUT_MS = 15_000;

export function tokenOf(request: FastifyRequest): AuthenticatedToken {
  if (!request.apiToken) throw new InternalError('route reached without authentication');
  return request.apiToken;
}

/**
 * Records a read of message content (or a bundle download) in the audit log: who (the token's
 * name), what, on which subject, and with which parameters — never what was returned beyond a count.
 * Written in the same transaction as the read where there is one, so a response is never sent for a
 * read the audit log does not show.
 */
export async function auditRead(
  db: Queryable,
  request: FastifyRequest,
  entry: { action: string; subjectType?: string; subjectId?: string; parameters: Record<string, unknown> },
): Promise<void> {
  const audit = readAuditFor(request, entry);
  await recordAudit(db, {
    actor: audit.actor,
    action: audit.action,
    ...(audit.subjectType !== null ? { subjectType: audit.subjectType } : {}),
    ...(audit.subjectId !== null ? { subjectId: audit.subjectId } : {}),
    details: audit.details,
  });
}

/** The audit entry of a read, for queries that write it in the same statement (src/read-model/content-read.ts). */
export function readAuditFor(request: FastifyRequest, entry: { action: string; subjectType?: string; subjectId?: string; parameters: Record<string, unknown> }): ReadAudit {
  return {
    actor: tokenOf(request).actor,
    action: entry.action,
    subjectType: entry.subjectType ?? null,
    subjectId: entry.subjectId ?? null,
    details: {
      parameters: jsonSafe(entry.parameters),
      request_id: request.id,
      remote_address: request.ip,
      user_agent: request.headers['user-agent'] ?? null,
    },
  };
}

function jsonSafe(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v instanceof Date ? v.toISOString() : v;
  return out;
}
