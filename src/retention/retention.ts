import { createHash } from 'node:crypto';
import type { RetentionConfig } from '../config/config.js';
import type { Pool, PoolClient } from '../db/pool.js';
import type { IsoDate } from '../domain/types.js';
import { ArchiverError, InputError } from '../errors.js';
import { DAY_MS, isIsoDate, startOfDayMs, utcToday } from '../util/dates.js';
import type { Clock } from '../util/clock.js';

/**
 * Retention: disposing of messages whose retention period has ended, never of anything a legal hold
 * covers. Off by default (everything is kept forever).
 *
 * - The unit is a **message** with all its versions: a message goes when its last version (the
 *   original, its last edit, its deletion) is older than the cutoff of its session's type
 *   (RETENTION_DAYS, RETENTION_DAYS_BY_TYPE), counted in whole UTC days before the plan's day.
 * - A message any version of which `held_messages` returns is kept whole: matters that are active,
 *   and matters deleted in Zoom (what was held stays held here). Only a matter deleted through this
 *   project releases its hold. So is every message a custodian of such a matter sent or received,
 *   whatever its date: held_messages finds a custodian's sessions through those messages, so
 *   disposing of them would silently release what the matter holds there. Legal-hold zip files,
 *   export bundles, sessions and the audit log are never touched.
 * - `retention plan` computes the plan in a transaction that is rolled back: it changes nothing.
 *   The plan's id carries its day and a fingerprint of exactly what it disposes of (each version's
 *   id and content hash, and the policy), so `retention apply --plan <id>` disposes of that plan or
 *   of nothing: it refuses when anything differs.
 * - Apply takes the locks first, computes the plan under them, and hands the versions to the
 *   database's one disposal path (archive.dispose_versions), which checks the holds again itself,
 *   lists every version that goes (identity and content hash) in the audit chain, and deletes them.
 *   `audit verify` and `archive verify` pass afterwards and report the disposal as such.
 */

export interface RetentionPolicy {
  days: number | null;
  daysByType: Readonly<Record<string, number | null>>;
}

export interface RetentionCutoffs {
  /** Messages whose last version is before this instant go (null: none by default). */
  default: string | null;
  /** Per session type; null: that type is kept forever. */
  byType: Record<string, string | null>;
}

export interface HeldExclusion {
  matterId: string;
  matterName: string;
  matterState: string;
  /** Distinct messages kept for this matter (held, or a custodian's own, or both). */
  messages: number;
  versions: number;
  /** Messages held_messages returns for the matter. */
  heldMessages: number;
  /** Messages a custodian of the matter sent or received, kept because they tie sessions to the custodian. */
  custodianMessages: number;
  reason: string;
}

export interface RetentionPlan {
  planId: string;
  asOf: IsoDate;
  policy: RetentionPolicy;
  cutoffs: RetentionCutoffs;
  dispose: {
    messages: number;
    versions: number;
    sessions: number;
    /** Bytes of the versions' rows as stored (before indexes). */
    bytes: number;
    /** The oldest and newest last-version times among the messages disposed of. */
    oldest: string | null;
    newest: string | null;
    byType: Array<{ type: string; messages: number; versions: number }>;
  };
  /** Messages past their cutoff that a legal hold keeps, by matter (a message held by two matters counts under each). */
  held: HeldExclusion[];
  heldTotal: { messages: number; versions: number };
}

export class RetentionError extends ArchiverError {}

export function policyFrom(config: Readonly<RetentionConfig>): RetentionPolicy {
  return { days: config.days, daysByType: { ...config.daysByType } };
}

export function retentionIsOff(policy: RetentionPolicy): boolean {
  return policy.days === null && Object.values(policy.daysByType).every((d) => d === null);
}

export function cutoffsFor(policy: RetentionPolicy, asOf: IsoDate): RetentionCutoffs {
  const at = (days: number | null) => (days === null ? null : new Date(startOfDayMs(asOf) - days * DAY_MS).toISOString());
  return { default: at(policy.days), byType: Object.fromEntries(Object.entries(policy.daysByType).map(([type, days]) => [type, at(days)])) };
}

/** `rp-<day>-<16 hex>`: the plan's day, and the start of its fingerprint. */
export function parsePlanId(value: string): { asOf: IsoDate; planId: string } {
  const m = /^rp-(\d{4}-\d{2}-\d{2})-([0-9a-f]{16})$/.exec(value.trim());
  if (!m || !isIsoDate(m[1] as string)) throw new InputError(`--plan must be a plan id as \`retention plan\` prints it (rp-<yyyy-mm-dd>-<16 hex>), got ${JSON.stringify(value)}`, 'plan');
  return { asOf: m[1] as IsoDate, planId: value.trim() };
}

function describePolicy(policy: RetentionPolicy): string {
  return JSON.stringify({ days: policy.days, by_type: Object.fromEntries(Object.entries(policy.daysByType).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) });
}

const SELECT_CANDIDATES = `
CREATE TEMP TABLE zca_retention_due ON COMMIT DROP AS
WITH msg AS (
  SELECT v.session_id, v.message_id, max(v.action_at) AS last_at
  FROM archive.message_versions v GROUP BY v.session_id, v.message_id
)
SELECT m.session_id, m.message_id, m.last_at, coalesce(s.type, '') AS type
FROM msg m LEFT JOIN archive.sessions s ON s.session_id = m.session_id
WHERE m.last_at < CASE WHEN $2::jsonb ? coalesce(s.type, '') THEN ($2::jsonb ->> coalesce(s.type, ''))::timestamptz ELSE $1::timestamptz END`;

/**
 * What a hold keeps among the due messages: what held_messages returns, and every message a
 * custodian of a holding matter sent or received, whatever its date: those messages are what tie a
 * session to the custodian, and without them the session (and what the matter holds in it) would
 * drop out of held_messages. archive.dispose_versions refuses the same set.
 */
const SELECT_HELD = `
CREATE TEMP TABLE zca_retention_held ON COMMIT DROP AS
SELECT DISTINCT x.matter_id, x.session_id, x.message_id, x.why
FROM (
  SELECT h.matter_id, h.session_id, h.message_id, 'held' AS why FROM public.held_messages h
  UNION ALL
  SELECT c.matter_id, v.session_id, v.message_id, 'custodian' FROM archive.legal_hold_matters lm
  JOIN archive.legal_hold_custodians c ON c.matter_id = lm.matter_id
  JOIN archive.message_versions v ON lower(v.sender) = lower(c.email)
  WHERE lm.state IN ('active', 'deleted_in_zoom')
  UNION ALL
  SELECT c.matter_id, v.session_id, v.message_id, 'custodian' FROM archive.legal_hold_matters lm
  JOIN archive.legal_hold_custodians c ON c.matter_id = lm.matter_id
  JOIN archive.message_versions v ON lower(v.receiver) = lower(c.email)
  WHERE lm.state IN ('active', 'deleted_in_zoom')
) x
JOIN zca_retention_due d ON d.session_id = x.session_id AND d.message_id = x.message_id`;

const SELECT_VERSIONS = `
CREATE TEMP TABLE zca_retention_versions ON COMMIT DROP AS
SELECT v.id, v.session_id, v.message_id, v.content_sha256, pg_column_size(v.*)::bigint AS bytes, d.type, d.last_at
FROM archive.message_versions v
JOIN zca_retention_due d ON d.session_id = v.session_id AND d.message_id = v.message_id
WHERE NOT EXISTS (SELECT 1 FROM zca_retention_held h WHERE h.session_id = d.session_id AND h.message_id = d.message_id)`;

/** Computes the plan inside the caller's transaction (temporary tables, dropped at its end). */
async function computePlan(client: PoolClient, policy: RetentionPolicy, asOf: IsoDate): Promise<{ plan: RetentionPlan; versionIds: number[] }> {
  const cutoffs = cutoffsFor(policy, asOf);
  await client.query(SELECT_CANDIDATES, [cutoffs.default, JSON.stringify(cutoffs.byType)]);
  await client.query(SELECT_HELD);
  await client.query(SELECT_VERSIONS);

  const totals = (
    await client.query<{ messages: number; versions: number; sessions: number; bytes: number; oldest: Date | null; newest: Date | null }>(
      `SELECT count(DISTINCT (session_id, message_id))::int AS messages, count(*)::int AS versions, count(DISTINCT session_id)::int AS sessions,
              coalesce(sum(bytes), 0)::bigint AS bytes, min(last_at) AS oldest, max(last_at) AS newest
       FROM zca_retention_versions`,
    )
  ).rows[0]!;
  const byType = (
    await client.query<{ type: string; messages: number; versions: number }>(
      `SELECT type, count(DISTINCT (session_id, message_id))::int AS messages, count(*)::int AS versions FROM zca_retention_versions GROUP BY type ORDER BY type`,
    )
  ).rows;
  const held = (
    await client.query<{ matter_id: string; matter_name: string; matter_state: string; messages: number; held: number; custodian: number; versions: number }>(
      `SELECT h.matter_id, m.matter_name, m.state AS matter_state,
              count(DISTINCT (h.session_id, h.message_id))::int AS messages,
              count(DISTINCT (h.session_id, h.message_id)) FILTER (WHERE h.why = 'held')::int AS held,
              count(DISTINCT (h.session_id, h.message_id)) FILTER (WHERE h.why = 'custodian')::int AS custodian,
              (SELECT count(*) FROM archive.message_versions v
               JOIN (SELECT DISTINCT x.session_id, x.message_id FROM zca_retention_held x WHERE x.matter_id = h.matter_id) x
                 ON x.session_id = v.session_id AND x.message_id = v.message_id)::int AS versions
       FROM zca_retention_held h JOIN archive.legal_hold_matters m ON m.matter_id = h.matter_id
       GROUP BY h.matter_id, m.matter_name, m.state ORDER BY h.matter_id`,
    )
  ).rows;
  const heldTotal = (
    await client.query<{ messages: number; versions: number }>(
      `SELECT count(*)::int AS messages,
              (SELECT count(*) FROM archive.message_versions v JOIN (SELECT DISTINCT session_id, message_id FROM zca_retention_held) x ON x.session_id = v.session_id AND x.message_id = v.message_id)::int AS versions
       FROM (SELECT DISTINCT session_id, message_id FROM zca_retention_held) m`,
    )
  ).rows[0]!;

  const versions = (await client.query<{ id: number; content_sha256: Buffer }>('SELECT id, content_sha256 FROM zca_retention_versions ORDER BY id')).rows;
  const fingerprint = createHash('sha256').update(`zca-retention-plan/1\n${asOf}\n${describePolicy(policy)}\n`);
  const id = Buffer.alloc(8);
  for (const v of versions) {
    id.writeBigInt64BE(BigInt(v.id));
    fingerprint.update(id).update(v.content_sha256);
  }
  const plan: RetentionPlan = {
    planId: `rp-${asOf}-${fingerprint.digest('hex').slice(0, 16)}`,
    asOf,
    policy,
    cutoffs,
    dispose: {
      messages: totals.messages,
      versions: totals.versions,
      sessions: totals.sessions,
      bytes: Number(totals.bytes),
      oldest: totals.oldest?.toISOString() ?? null,
      newest: totals.newest?.toISOString() ?? null,
      byType: byType.map((t) => ({ type: t.type === '' ? '(unknown)' : t.type, messages: t.messages, versions: t.versions })),
    },
    held: held.map((h) => ({
      matterId: h.matter_id,
      matterName: h.matter_name,
      matterState: h.matter_state,
      messages: h.messages,
      versions: h.versions,
      heldMessages: h.held,
      custodianMessages: h.custodian,
      reason: `${h.held} held by legal-hold matter ${h.matter_id}${h.matter_state === 'deleted_in_zoom' ? ', deleted in Zoom: what was held stays held here' : ` (${h.matter_state})`}; ${h.custodian} sent or received by its custodians (they tie its sessions to them)`,
    })),
    heldTotal,
  };
  return { plan, versionIds: versions.map((v) => v.id) };
}

function planDay(clock: Clock, asOf: IsoDate | undefined): IsoDate {
  const today = utcToday(clock.now());
  if (asOf !== undefined && asOf > today) throw new InputError(`the plan's day ${asOf} is in the future (today is ${today} UTC)`, 'plan');
  return asOf ?? today;
}

/** `retention plan`: what would be disposed of today. Runs in a transaction that is rolled back. */
export async function planRetention(pool: Pool, policy: RetentionPolicy, clock: Clock, asOf?: IsoDate): Promise<RetentionPlan> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    return (await computePlan(client, policy, planDay(clock, asOf))).plan;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

export interface RetentionOutcome {
  plan: RetentionPlan;
  /** The `retention.apply` audit event (null when there was nothing to dispose of). */
  auditId: number | null;
  disposedSha256: string | null;
}

/**
 * `retention apply`: computes the plan under the disposal's locks and disposes of exactly it. With
 * `expectedPlanId` (from `retention plan`), disposes of nothing unless the plan computed now for the
 * same day is that plan.
 */
export async function applyRetention(
  pool: Pool,
  policy: RetentionPolicy,
  options: { clock: Clock; actor: string; expectedPlanId?: string; statementTimeoutMs?: number },
): Promise<RetentionOutcome> {
  if (retentionIsOff(policy)) throw new InputError('retention is off: set RETENTION_DAYS (or RETENTION_DAYS_BY_TYPE) to dispose of anything', 'RETENTION_DAYS');
  const expected = options.expectedPlanId === undefined ? undefined : parsePlanId(options.expectedPlanId);
  const asOf = planDay(options.clock, expected?.asOf);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // The locks archive.dispose_versions takes, taken before the plan is computed, so the plan and the
    // disposal see the same archive: no hold, session or version can change in between.
    await client.query(`SELECT pg_advisory_xact_lock(-630991247733364860), pg_advisory_xact_lock(-8592202621149244150)`);
    await client.query('LOCK TABLE archive.legal_hold_matters, archive.legal_hold_custodians, archive.sessions, archive.message_versions IN SHARE MODE');
    const { plan, versionIds } = await computePlan(client, policy, asOf);
    if (expected && plan.planId !== expected.planId) {
      throw new RetentionError(
        'RETENTION_PLAN_STALE',
        `the archive no longer matches plan ${expected.planId}: as of ${asOf} the plan is now ${plan.planId} (${plan.dispose.messages} messages, ${plan.dispose.versions} versions; ${plan.heldTotal.messages} held). Nothing was disposed of; run retention plan again.`,
      );
    }
    if (versionIds.length === 0) {
      await client.query('COMMIT');
      return { plan, auditId: null, disposedSha256: null };
    }
    const planDetails = {
      plan_id: plan.planId,
      as_of: plan.asOf,
      policy: { days: policy.days, by_type: policy.daysByType },
      cutoffs: { default: plan.cutoffs.default, by_type: plan.cutoffs.byType },
      bytes: plan.dispose.bytes,
      held_messages_kept: plan.heldTotal.messages,
    };
    let summary: { disposed_sha256: string };
    try {
      summary = (await client.query<{ s: { disposed_sha256: string } }>('SELECT archive.dispose_versions($1::bigint[], $2::jsonb, $3) AS s', [versionIds, JSON.stringify(planDetails), options.actor])).rows[0]!.s;
    } catch (err) {
      throw asRetentionError(err);
    }
    // The file references of what went go with it (names and ids of files of disposed messages); the
    // content store is append-only and keeps content, which chat_files then no longer lists for them.
    await client.query('DELETE FROM archive.file_refs WHERE version_id = ANY($1::bigint[])', [versionIds]);
    const auditId = (await client.query<{ id: number }>(`SELECT max(id)::int AS id FROM archive.audit_log WHERE subject_type = 'retention_plan' AND subject_id = $1 AND action = 'retention.apply'`, [plan.planId])).rows[0]?.id ?? null;
    await client.query('COMMIT');
    return { plan, auditId, disposedSha256: summary.disposed_sha256 };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** archive.dispose_versions' refusals as typed errors (SQLSTATE ZC409 stale plan, ZC423 held data). */
function asRetentionError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message;
  if (code === 'ZC409') return new RetentionError('RETENTION_PLAN_STALE', `${message}; run retention plan again`, { cause: err });
  if (code === 'ZC423') return new RetentionError('RETENTION_HELD', message, { cause: err });
  return err;
}

/** Versions disposed of by retention so far (every `retention.apply` event): a counter for /metrics. */
export async function countDisposedVersions(db: Pick<Pool, 'query'>): Promise<number> {
  const res = await db.query<{ n: number }>(`SELECT coalesce(sum((details ->> 'versions')::bigint), 0)::bigint AS n FROM archive.audit_log WHERE subject_type = 'retention_plan' AND action = 'retention.apply'`);
  return Number(res.rows[0]?.n ?? 0);
}
